//! 4. Cold start of each `api/` function binary: process start to first
//!    complete response (median of `--runs`), and release binary sizes.
//!
//! Each run spawns the release binary outside Vercel (no
//! `VERCEL_IPC_PATH`: `vercel_runtime` then serves plain HTTP on
//! `127.0.0.1:$VERCEL_DEV_PORT`), connects as soon as the port accepts
//! (polling every 100 µs), sends one `GET` on the function's route and
//! reads the whole answer. The first request builds the service (Redis
//! connection, HTTP client, directory), so that is inside the time. Every
//! function answers its route after building the service, whatever the
//! method: `start` and `retry` answer a `GET` with 405, the job endpoints
//! 404 for an unknown job; the cron function runs a sweep over an empty
//! prefix. Functions run with their production profile (live sources,
//! which need no network until a job is processed).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::load::quantile;
use crate::{ms, procs, Opts};

/// Binary name and the path a `GET` is sent to.
const FUNCTIONS: &[(&str, &str)] = &[
    ("health", "/api/health"),
    ("openapi", "/api/openapi.json"),
    ("start", "/api/professional-report/start"),
    (
        "status",
        "/api/professional-report/status/00000000-0000-4000-8000-000000000000",
    ),
    (
        "result",
        "/api/professional-report/result/00000000-0000-4000-8000-000000000000",
    ),
    (
        "retry",
        "/api/professional-report/retry/00000000-0000-4000-8000-000000000000",
    ),
    (
        "missing-sources",
        "/api/professional-report/missing-sources/00000000-0000-4000-8000-000000000000",
    ),
    (
        "retry-status",
        "/api/professional-report/retry-status/00000000-0000-4000-8000-000000000000",
    ),
    ("cron-retry-missing-data", "/api/cron/retry-missing-data"),
];

struct Row {
    name: &'static str,
    size: u64,
    status: u16,
    samples: Vec<Duration>,
}

/// Runs the scenario and prints its table.
pub async fn run(opts: &Opts, redis_url: &str) -> anyhow::Result<()> {
    let runs = opts.runs;
    let redis_url = redis_url.to_owned();
    let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Row>> {
        let logs = procs::log_dir();
        let mut rows = Vec::new();
        for &(name, path) in FUNCTIONS {
            eprintln!("bench: cold start of {name}");
            let bin = procs::binary(name)?;
            let size = std::fs::metadata(&bin)?.len();
            let mut samples = Vec::with_capacity(runs);
            let mut status = 0;
            for i in 0..runs {
                let log = logs.join(format!("cold-{name}-{i}.log"));
                let (took, s) = cold_start(&bin, path, &redis_url, &log)?;
                samples.push(took);
                status = s;
            }
            samples.sort_unstable();
            rows.push(Row {
                name,
                size,
                status,
                samples,
            });
        }
        Ok(rows)
    })
    .await??;

    println!("## 4. Cold start of the function binaries\n");
    println!(
        "Process start to the first complete response, {runs} runs each; the first request builds the service (Redis connect included).\n"
    );
    println!("| function | release binary | status answered | median ms | min ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.1} MiB | {} | {} | {} | {} |",
            r.name,
            r.size as f64 / 1024.0 / 1024.0,
            r.status,
            ms(quantile(&r.samples, 0.5)),
            ms(r.samples.first().copied().unwrap_or_default()),
            ms(r.samples.last().copied().unwrap_or_default()),
        );
    }
    println!();
    Ok(())
}

/// One cold start: time from spawn to the end of the first response.
fn cold_start(
    bin: &std::path::Path,
    path: &str,
    redis_url: &str,
    log: &std::path::Path,
) -> anyhow::Result<(Duration, u16)> {
    let port = procs::free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let env = [
        ("VERCEL_DEV_PORT", port.to_string()),
        ("REDIS_URL", redis_url.to_owned()),
        (
            "REDIS_KEY_PREFIX",
            format!("bench:cold:{}:", std::process::id()),
        ),
    ];
    let log_file = std::fs::File::create(log)?;
    let mut cmd = procs::command(bin, &env);
    cmd.stdout(log_file.try_clone()?).stderr(log_file);
    let began = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("spawn {}", bin.display()))?;
    let result = (|| -> anyhow::Result<(Duration, u16)> {
        let mut stream = loop {
            match TcpStream::connect(addr) {
                Ok(s) => break s,
                Err(_) if began.elapsed() < Duration::from_secs(10) => {
                    if let Some(status) = child.try_wait()? {
                        bail!("{} exited early ({status})", bin.display());
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
                Err(e) => bail!("{} never listened: {e}", bin.display()),
            }
        };
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").as_bytes(),
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        let took = began.elapsed();
        let status = std::str::from_utf8(&answer)
            .ok()
            .and_then(|s| s.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .context("no HTTP status in the answer")?;
        Ok((took, status))
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}
