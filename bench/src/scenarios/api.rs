//! 1. `status` and `start` on the release dev-server (memory and Redis
//!    stores) at 1, 16 and 64 keep-alive connections, next to
//!    `redis-benchmark -t get` at the same concurrency on the same Redis.
//!
//! `status` reads a finished job (25 slots), the realistic payload. `start`
//! runs on a dev-server with `PROCESS_ON_START=false`, so the time is the
//! 202 alone (validate, store, answer): processing would otherwise run on
//! the same two cores during the measurement and pile up thousands of
//! jobs' fetches behind it.

use std::time::Duration;

use crate::load::{self, LoadResult, RequestSpec};
use crate::procs::{self, DevServer, RedisBench};
use crate::{ms, redis_stats, Opts};

const CONNECTIONS: [usize; 3] = [1, 16, 64];

struct Row {
    endpoint: &'static str,
    store: &'static str,
    result: LoadResult,
    /// dev-server and redis-server CPU time per request.
    cpu: Cpu,
}

#[derive(Default)]
struct Cpu {
    server: Option<Duration>,
    redis: Option<Duration>,
    /// This process: the load generator.
    client: Option<Duration>,
}

/// Runs one load point and the CPU time the two servers spent on it.
async fn measured(
    server: &DevServer,
    redis_pid: Option<u32>,
    req: RequestSpec,
    connections: usize,
    warmup: Duration,
    secs: Duration,
) -> anyhow::Result<(LoadResult, Cpu)> {
    let me = std::process::id();
    let before = (
        procs::cpu_time(server.pid()).ok(),
        redis_pid.and_then(|p| procs::cpu_time(p).ok()),
        procs::cpu_time(me).ok(),
    );
    let result = load::run(server.addr, req, connections, warmup, secs).await?;
    let n = u32::try_from(result.total_requests.max(1)).unwrap_or(u32::MAX);
    let per = |pid: Option<u32>, before: Option<Duration>| {
        let after = procs::cpu_time(pid?).ok()?;
        Some(after.saturating_sub(before?) / n)
    };
    let cpu = Cpu {
        server: per(Some(server.pid()), before.0),
        redis: per(redis_pid, before.1),
        client: per(Some(me), before.2),
    };
    Ok((result, cpu))
}

fn us(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.0}", d.as_secs_f64() * 1e6))
}

/// Runs the scenario and prints its table.
pub async fn run(opts: &Opts, redis_url: &str) -> anyhow::Result<()> {
    let warmup = Duration::from_secs(opts.warmup_secs);
    let secs = Duration::from_secs(opts.secs);
    let port = procs::redis_port(redis_url)?;
    let redis_pid = redis_stats::server_pid(&mut redis_stats::connect(redis_url).await?)
        .await
        .ok();

    let mut ceiling: Vec<(usize, RedisBench)> = Vec::new();
    for c in CONNECTIONS {
        // About `secs` of work at the rates seen here (1 connection is
        // latency-bound, more are CPU-bound).
        let n = if c == 1 { 12_000 } else { 30_000 } * opts.secs;
        eprintln!("bench: redis-benchmark -t get -c {c} -n {n}");
        let r =
            tokio::task::spawn_blocking(move || procs::redis_benchmark_get(port, redis_pid, c, n))
                .await??;
        ceiling.push((c, r));
    }

    let logs = procs::log_dir();
    let mut rows = Vec::new();
    for (store, redis) in [("memory", false), ("redis", true)] {
        let mut env = vec![("SOURCES_MODE", "sandbox".to_owned())];
        if redis {
            env.push(("REDIS_URL", redis_url.to_owned()));
            env.push((
                "REDIS_KEY_PREFIX",
                format!("bench:api:{}:", std::process::id()),
            ));
        }

        let server = DevServer::start(&env, &logs.join(format!("api-status-{store}.log")))?;
        let id = super::one_finished_job(server.addr).await?;
        let req = RequestSpec::get(&format!("/api/professional-report/status/{id}"), 200);
        for c in CONNECTIONS {
            eprintln!("bench: status, {store}, {c} connections");
            let (result, cpu) = measured(&server, redis_pid, req.clone(), c, warmup, secs).await?;
            rows.push(Row {
                endpoint: "status",
                store,
                result,
                cpu,
            });
        }
        drop(server);

        let mut env = env.clone();
        env.push(("PROCESS_ON_START", "false".to_owned()));
        let server = DevServer::start(&env, &logs.join(format!("api-start-{store}.log")))?;
        for c in CONNECTIONS {
            eprintln!("bench: start, {store}, {c} connections");
            let (result, cpu) =
                measured(&server, redis_pid, super::start_request(), c, warmup, secs).await?;
            rows.push(Row {
                endpoint: "start",
                store,
                result,
                cpu,
            });
        }
    }

    println!("## 1. API on the dev-server against the Redis GET ceiling\n");
    println!("Redis ceiling: `redis-benchmark -t get -P 1 -c N` on the same private redis-server, in the same run. \
CPU columns: user + system time of the dev-server, of redis-server and of the load generator (this process) per request (from `/proc/<pid>/stat`, 10 ms ticks, warm-up included); \
for the ceiling, redis-server's CPU per GET.\n");
    println!("| endpoint | store | connections | req/s | p50 ms | p99 ms | errors | dev-server CPU µs/req | redis CPU µs/req | load generator CPU µs/req | Redis GET req/s | Redis GET p50 / p99 ms | redis CPU µs/GET | ratio to Redis |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let r = &row.result;
        let ceil = ceiling
            .iter()
            .find(|(c, _)| *c == r.connections)
            .map(|(_, b)| b.clone());
        let (ceil_rps, ceil_lat, ceil_cpu, ratio) = match ceil {
            Some(b) => (
                format!("{:.0}", b.rps),
                format!("{:.3} / {:.3}", b.p50_ms, b.p99_ms),
                us(b.server_cpu),
                format!("{:.2}", r.rps() / b.rps),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let redis_cpu = if row.store == "redis" {
            us(row.cpu.redis)
        } else {
            "-".into()
        };
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.endpoint,
            row.store,
            r.connections,
            r.rps(),
            ms(r.quantile(0.5)),
            ms(r.quantile(0.99)),
            r.errors,
            us(row.cpu.server),
            redis_cpu,
            us(row.cpu.client),
            ceil_rps,
            ceil_lat,
            ceil_cpu,
            ratio
        );
    }
    println!();
    Ok(())
}
