//! 3. Sweep cost against store size: 1k, 10k and 100k stored jobs in a
//!    RedisStore, of which the same 1k are due; time one `Engine::sweep`.
//!
//! How exactly 1k are due: every job is created `pending` through the
//! store API (`create` files a pending job in the due index at
//! `created + pending_grace`, the take-over time of a job nobody started).
//! The 1k due jobs are created an hour before the sweep's clock; all the
//! others at the sweep's clock, so they are in the due index (the worst
//! case for the index: every stored job is in the sorted set) but due two
//! minutes later. The sweep then takes over the 1k exactly as it would
//! after a crash and builds each report (plan, 25 fetches, finish), with
//! the default 4 jobs at a time; its budget is raised so one sweep does
//! all 1k. Beside the whole sweep, the table shows the due-index read
//! alone (`store.due` of one 50-job batch, and of all 1k), which is the
//! only part of a sweep whose cost could depend on the store size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use care_report::engine::{Clock, EngineConfig};
use care_report::model::JobId;
use care_report::retry::RetryPolicy;
use care_report::store::{JobStore, NewJob, RedisConfig, RedisStore};
use chrono::{DateTime, Utc};
use futures::StreamExt;

use crate::load::quantile;
use crate::{ms, redis_stats, Opts};

struct Row {
    size: usize,
    fill: Duration,
    due_batch: Duration,
    due_all: Duration,
    sweep: Duration,
    checked: usize,
    resumed: usize,
    round_trips: f64,
}

/// Runs the scenario and prints its table.
pub async fn run(opts: &Opts, redis_url: &str) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for &size in &opts.sizes {
        eprintln!("bench: sweep with {size} stored jobs");
        rows.push(one(opts, redis_url, size).await?);
    }

    println!("## 3. Sweep time against store size (RedisStore)\n");
    println!(
        "{} due `pending` jobs among N stored jobs that are all in the due index; one `Engine::sweep` takes over and builds every due report \
         (sandbox sources, default `SWEEP_JOB_CONCURRENCY=4`). Due read: median `store.due(now, 50)` (one sweep batch) and `store.due(now, {})`.\n",
        opts.due, opts.due
    );
    println!("| stored jobs | fill s | due read, 50 ms | due read, all due ms | sweep s | jobs checked / resumed | round trips per due job | sweep time vs smallest |");
    println!("|---:|---:|---:|---:|---:|---|---:|---:|");
    let base = rows.first().map(|r| r.sweep.as_secs_f64()).unwrap_or(1.0);
    for r in &rows {
        println!(
            "| {} | {:.1} | {} | {} | {:.2} | {} / {} | {:.1} | {:.2}× |",
            r.size,
            r.fill.as_secs_f64(),
            ms(r.due_batch),
            ms(r.due_all),
            r.sweep.as_secs_f64(),
            r.checked,
            r.resumed,
            r.round_trips,
            r.sweep.as_secs_f64() / base
        );
    }
    println!();
    Ok(())
}

async fn one(opts: &Opts, redis_url: &str, size: usize) -> anyhow::Result<Row> {
    let due = opts.due.min(size);
    let prefix = format!("bench:sweep:{}:{size}:", std::process::id());
    let store = Arc::new(
        RedisStore::connect(
            redis_url,
            RedisConfig {
                prefix,
                ..RedisConfig::default()
            },
        )
        .await?,
    );
    let config = EngineConfig {
        sweep_budget: Duration::from_secs(600),
        ..EngineConfig::default()
    };
    let pending_grace = config.pending_grace;
    let rig = super::reports::rig(store.clone(), "", config).await?;
    let now = rig.clock.now();
    let policy = RetryPolicy::default();
    let q = super::questionnaire();

    let fill_began = Instant::now();
    let created: Vec<anyhow::Result<()>> = futures::stream::iter(0..size)
        .map(|i| {
            // The first `due` jobs are an hour old: past their grace.
            let at: DateTime<Utc> = if i < due {
                now - chrono::Duration::hours(1)
            } else {
                now
            };
            let new = NewJob {
                client: None,
                id: JobId::new(),
                questionnaire: q.clone(),
                idempotency: None,
                now: at,
                deadline_at: policy.deadline_for(at),
                message: "Queued: the report will be built in the background".to_owned(),
            };
            let store = store.clone();
            async move {
                store.create(new, pending_grace).await?;
                Ok(())
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    created.into_iter().collect::<anyhow::Result<()>>()?;
    let fill = fill_began.elapsed();

    let mut batch = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let ids = store.due(now, 50).await?;
        batch.push(t.elapsed());
        anyhow::ensure!(
            ids.len() == due.min(50),
            "expected {} due, got {}",
            due.min(50),
            ids.len()
        );
    }
    batch.sort_unstable();
    let mut all = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let ids = store.due(now, due).await?;
        all.push(t.elapsed());
        anyhow::ensure!(ids.len() == due, "expected {due} due, got {}", ids.len());
    }
    all.sort_unstable();

    let mut stats = redis_stats::connect(redis_url).await?;
    redis_stats::reset(&mut stats).await?;
    let t = Instant::now();
    let report = rig.engine.sweep().await?;
    let sweep = t.elapsed();
    let calls = redis_stats::round_trips(&mut stats).await?;
    anyhow::ensure!(
        !report.budget_exhausted && report.errors == 0,
        "sweep did not finish cleanly: {report:?}"
    );
    Ok(Row {
        size,
        fill,
        due_batch: quantile(&batch, 0.5),
        due_all: quantile(&all, 0.5),
        sweep,
        checked: report.checked,
        resumed: report.resumed,
        round_trips: calls as f64 / due as f64,
    })
}
