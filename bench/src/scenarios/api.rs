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
use crate::{ms, Opts};

const CONNECTIONS: [usize; 3] = [1, 16, 64];

struct Row {
    endpoint: &'static str,
    store: &'static str,
    result: LoadResult,
}

/// Runs the scenario and prints its table.
pub async fn run(opts: &Opts, redis_url: &str) -> anyhow::Result<()> {
    let warmup = Duration::from_secs(opts.warmup_secs);
    let secs = Duration::from_secs(opts.secs);
    let port = procs::redis_port(redis_url)?;

    let mut ceiling: Vec<(usize, RedisBench)> = Vec::new();
    for c in CONNECTIONS {
        // About `secs` of work at the rates seen here (1 connection is
        // latency-bound, more are CPU-bound).
        let n = if c == 1 { 12_000 } else { 30_000 } * opts.secs;
        eprintln!("bench: redis-benchmark -t get -c {c} -n {n}");
        let r =
            tokio::task::spawn_blocking(move || procs::redis_benchmark_get(port, c, n)).await??;
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
            let result = load::run(server.addr, req.clone(), c, warmup, secs).await?;
            rows.push(Row {
                endpoint: "status",
                store,
                result,
            });
        }
        drop(server);

        let mut env = env.clone();
        env.push(("PROCESS_ON_START", "false".to_owned()));
        let server = DevServer::start(&env, &logs.join(format!("api-start-{store}.log")))?;
        for c in CONNECTIONS {
            eprintln!("bench: start, {store}, {c} connections");
            let result = load::run(server.addr, super::start_request(), c, warmup, secs).await?;
            rows.push(Row {
                endpoint: "start",
                store,
                result,
            });
        }
    }

    println!("## 1. API on the dev-server against the Redis GET ceiling\n");
    println!("Redis ceiling: `redis-benchmark -t get -P 1 -c N` on the same private redis-server, in the same run.\n");
    println!("| endpoint | store | connections | req/s | p50 ms | p99 ms | errors | Redis GET req/s | Redis GET p50 / p99 ms | ratio to Redis |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let r = &row.result;
        let ceil = ceiling
            .iter()
            .find(|(c, _)| *c == r.connections)
            .map(|(_, b)| b.clone());
        let (ceil_rps, ceil_lat, ratio) = match ceil {
            Some(b) => (
                format!("{:.0}", b.rps),
                format!("{:.3} / {:.3}", b.p50_ms, b.p99_ms),
                format!("{:.2}", r.rps() / b.rps),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            row.endpoint,
            row.store,
            r.connections,
            r.rps(),
            ms(r.quantile(0.5)),
            ms(r.quantile(0.99)),
            r.errors,
            ceil_rps,
            ceil_lat,
            ratio
        );
    }
    println!();
    Ok(())
}
