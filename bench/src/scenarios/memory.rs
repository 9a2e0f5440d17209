//! 5. Dev-server resident memory with 10k finished jobs in the memory store.
//!
//! Drives the real release dev-server (memory store, sandbox sources,
//! default settings): one job first, so the sandbox, the HTTP client pools
//! and the runtime are warm, then `VmRSS`; then `--memory-jobs` `start`s
//! over 16 connections, waits until every job's status is final, and reads
//! `VmRSS` and `VmHWM` (the peak, reached while thousands of jobs were in
//! flight) again.

use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::load::{Conn, RequestSpec};
use crate::procs::{self, DevServer};
use crate::{bytes, Opts};

const CONNECTIONS: usize = 16;

/// Runs the scenario and prints its table.
pub async fn run(opts: &Opts) -> anyhow::Result<()> {
    let logs = procs::log_dir();
    let server = DevServer::start(
        &[
            ("SOURCES_MODE", "sandbox".to_owned()),
            // Per-job lines at info would be most of the log; not memory.
            ("RUST_LOG", "warn".to_owned()),
        ],
        &logs.join("memory.log"),
    )?;
    let addr = server.addr;
    let warm = super::one_finished_job(addr).await?;
    let (rss_idle, _) = procs::rss_kib(server.pid())?;
    let mut conn = Conn::open(addr).await?;
    let report_len = conn
        .send(&RequestSpec::get(
            &format!("/api/professional-report/result/{warm}"),
            200,
        ))
        .await?
        .body
        .len();

    let n = opts.memory_jobs;
    eprintln!("bench: memory, starting {n} jobs");
    let began = Instant::now();
    let per_conn = n.div_ceil(CONNECTIONS);
    let batches: Vec<anyhow::Result<Vec<String>>> = futures::stream::iter(0..CONNECTIONS)
        .map(|i| async move {
            let mut conn = Conn::open(addr).await?;
            let mut ids = Vec::new();
            for _ in 0..per_conn.min(n.saturating_sub(i * per_conn)) {
                ids.push(super::start_job(&mut conn).await?);
            }
            Ok(ids)
        })
        .buffer_unordered(CONNECTIONS)
        .collect()
        .await;
    let mut pending: Vec<String> = Vec::with_capacity(n);
    for batch in batches {
        pending.extend(batch?);
    }
    let submitted = began.elapsed();

    // Poll until every job is final; re-poll only the unfinished ones.
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for id in pending {
            let status = super::job_status(&mut conn, &id).await?;
            if super::finished(&status) {
                *outcomes.entry(status).or_default() += 1;
            } else {
                still.push(id);
            }
        }
        pending = still;
        if began.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("{} jobs unfinished after 600 s", pending.len());
        }
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let finished_after = began.elapsed();
    // Let the last rounds' tasks and connections wind down.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss, hwm) = procs::rss_kib(server.pid())?;
    let per_job = (rss.saturating_sub(rss_idle) * 1024) as f64 / n as f64;

    println!("## 5. Dev-server resident memory (memory store)\n");
    println!(
        "{n} jobs started over {CONNECTIONS} connections to the release dev-server (sandbox sources), all waited for until final. \
         One report's `result` JSON is {} for scale.\n",
        bytes(report_len as f64)
    );
    println!("| RSS after 1 job | RSS with {n} finished jobs | growth per job | peak RSS (VmHWM) | outcomes | all submitted after s | all final after s | jobs/s end to end |");
    println!("|---:|---:|---:|---:|---|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.0} |",
        bytes((rss_idle * 1024) as f64),
        bytes((rss * 1024) as f64),
        bytes(per_job),
        bytes((hwm * 1024) as f64),
        outcomes
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        submitted.as_secs_f64(),
        finished_after.as_secs_f64(),
        n as f64 / finished_after.as_secs_f64()
    );
    println!();
    drop(server);
    Ok(())
}
