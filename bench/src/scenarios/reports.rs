//! 2. Whole reports per second through the engine, in process, over the
//!    sandbox sources: no faults, and 20% transient faults (503) on every
//!    source; memory and Redis stores. For Redis also the round trips and
//!    bytes stored per job.
//!
//! A run submits `--jobs` jobs and processes them 16 at a time (like 16
//! concurrent `start`s), then drives the retry sweep with a manual clock,
//! ten simulated minutes per step, until no job is due any more: every
//! missing source is retried at its backoff time without the bench
//! sleeping through the backoff. The time is wall-clock time for all of it,
//! so "reports/s" counts the work, not the waiting a real deployment does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use care_report::engine::{Clock, Engine, EngineConfig, ManualClock};
use care_report::model::{JobId, JobStatus};
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::store::{JobStore, MemoryStore, RedisConfig, RedisStore};
use care_report_testing::rig::EngineRig;
use futures::StreamExt;

use crate::{bytes, redis_stats, Opts};

/// 20% of attempts of every source answer 503.
pub const TRANSIENT_20: &str =
    "cqc:rate=0.2;fsa:rate=0.2;google_places:rate=0.2;neighbourhood:rate=0.2;firecrawl:rate=0.2;seed=7";

/// How many jobs are processed at once.
const CONCURRENCY: usize = 16;

/// An engine over the sandbox with a manual clock.
pub struct Rig {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The clock the engine reads.
    pub clock: Arc<ManualClock>,
    /// Kept alive while the engine runs.
    _sandbox: Arc<Sandbox>,
}

/// Builds an engine over `store` and a fresh sandbox with `faults`.
pub async fn rig(
    store: Arc<dyn JobStore>,
    faults: &str,
    config: EngineConfig,
) -> anyhow::Result<Rig> {
    let plan = if faults.is_empty() {
        FaultPlan::none()
    } else {
        FaultPlan::parse(faults)?
    };
    let rig = EngineRig::new(store)
        .faults(plan)
        .config(config)
        .start_at(chrono::Utc::now())
        .build()
        .await;
    Ok(Rig {
        engine: Arc::new(rig.engine),
        clock: rig.clock,
        _sandbox: rig.sandbox,
    })
}

struct Outcome {
    store: &'static str,
    faults: &'static str,
    jobs: usize,
    completed: usize,
    partial: usize,
    failed: usize,
    first_round: Duration,
    total: Duration,
    sweeps: usize,
    round_trips: Option<f64>,
    /// Bytes sent to and received from Redis per job.
    net_per_job: Option<(f64, f64)>,
    bytes_per_job: Option<f64>,
    used_memory_per_job: Option<f64>,
}

/// Runs the scenario and prints its table.
pub async fn run(opts: &Opts, redis_url: &str) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for (faults_label, faults) in [("none", ""), ("20% transient", TRANSIENT_20)] {
        for redis in [false, true] {
            eprintln!(
                "bench: reports, faults {faults_label}, {}",
                if redis { "redis" } else { "memory" }
            );
            rows.push(one(opts, redis_url, redis, faults_label, faults).await?);
        }
    }

    println!("## 2. Whole reports per second (engine in process, sandbox sources)\n");
    println!(
        "{} jobs per run, {CONCURRENCY} processed at once, then the retry sweep under a manual clock until nothing is due. \
         \"Round trips\" are the commands the store sends (EVALSHA, ZRANGEBYSCORE, ...), counted by `INFO commandstats`; \
         bytes are `MEMORY USAGE` of a job's four keys after it finished (and `used_memory` growth per job); \
         bytes sent / received are Redis' `total_net_input_bytes` / `total_net_output_bytes` per job.\n",
        opts.jobs
    );
    println!("| faults | store | completed / partial / failed | first round s | total s | sweeps | whole reports/s | Redis round trips/job | bytes sent / received per job | bytes stored/job (MEMORY USAGE) | used_memory growth/job |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for o in rows {
        println!(
            "| {} | {} | {} / {} / {} | {:.2} | {:.2} | {} | {:.1} | {} | {} | {} | {} |",
            o.faults,
            o.store,
            o.completed,
            o.partial,
            o.failed,
            o.first_round.as_secs_f64(),
            o.total.as_secs_f64(),
            o.sweeps,
            o.completed as f64 / o.total.as_secs_f64(),
            o.round_trips.map_or("-".into(), |v| format!("{v:.1}")),
            o.net_per_job
                .map_or("-".into(), |(i, o)| format!("{} / {}", bytes(i), bytes(o))),
            o.bytes_per_job.map_or("-".into(), bytes),
            o.used_memory_per_job.map_or("-".into(), bytes),
        );
        debug_assert!(o.jobs > 0);
    }
    println!();
    Ok(())
}

async fn one(
    opts: &Opts,
    redis_url: &str,
    redis: bool,
    faults_label: &'static str,
    faults: &str,
) -> anyhow::Result<Outcome> {
    let prefix = format!(
        "bench:reports:{}:{}:",
        std::process::id(),
        if faults.is_empty() { "clean" } else { "faulty" }
    );
    let store: Arc<dyn JobStore> = if redis {
        Arc::new(
            RedisStore::connect(
                redis_url,
                RedisConfig {
                    prefix: prefix.clone(),
                    ..RedisConfig::default()
                },
            )
            .await?,
        )
    } else {
        Arc::new(MemoryStore::default())
    };
    let rig = rig(store.clone(), faults, EngineConfig::default()).await?;
    let mut stats = if redis {
        Some(redis_stats::connect(redis_url).await?)
    } else {
        None
    };
    let mut used_before = 0;
    if let Some(conn) = stats.as_mut() {
        used_before = redis_stats::used_memory(conn).await?;
        redis_stats::reset(conn).await?;
    }

    let q = super::questionnaire();
    let began = Instant::now();
    let engine = &rig.engine;
    let ids: Vec<anyhow::Result<JobId>> = futures::stream::iter(0..opts.jobs)
        .map(|_| {
            let q = q.clone();
            async move {
                let id = engine.submit(q, None).await?.job().id;
                engine.process(id).await?;
                Ok(id)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let ids: Vec<JobId> = ids.into_iter().collect::<anyhow::Result<_>>()?;
    let first_round = began.elapsed();

    // Retries: step the clock past each backoff and sweep, until the due
    // index is empty (every job completed or final) or past the deadline.
    let mut sweeps = 0;
    let horizon = chrono::Duration::days(2);
    while !store.due(rig.clock.now() + horizon, 1).await?.is_empty() {
        rig.clock.advance(Duration::from_secs(600));
        engine.sweep().await?;
        sweeps += 1;
        if sweeps > 200 {
            anyhow::bail!("jobs still due after 200 sweeps");
        }
    }
    let total = began.elapsed();

    // Read before the status reads below add their own round trips.
    let (calls, net) = match stats.as_mut() {
        Some(conn) => (
            Some(redis_stats::round_trips(conn).await?),
            Some(redis_stats::net_bytes(conn).await?),
        ),
        None => (None, None),
    };

    let (mut completed, mut partial, mut failed) = (0, 0, 0);
    for id in &ids {
        match store.get(*id).await?.map(|j| j.status) {
            Some(JobStatus::Completed) => completed += 1,
            Some(JobStatus::Partial) => partial += 1,
            _ => failed += 1,
        }
    }

    let round_trips = calls.map(|c| c as f64 / ids.len() as f64);
    let n = ids.len() as f64;
    let net_per_job = net.map(|(i, o)| (i as f64 / n, o as f64 / n));
    let (mut bytes_per_job, mut used_memory_per_job) = (None, None);
    if let Some(conn) = stats.as_mut() {
        let used_after = redis_stats::used_memory(conn).await?;
        used_memory_per_job =
            Some(used_after.saturating_sub(used_before) as f64 / ids.len() as f64);
        let keys: Vec<String> = ids
            .iter()
            .flat_map(|id| {
                let job = format!("{prefix}job:{id}");
                [
                    format!("{job}:slots"),
                    format!("{job}:data"),
                    format!("{job}:history"),
                    job,
                ]
            })
            .collect();
        bytes_per_job =
            Some(redis_stats::memory_usage(conn, &keys).await? as f64 / ids.len() as f64);
    }
    Ok(Outcome {
        store: if redis { "redis" } else { "memory" },
        faults: faults_label,
        jobs: ids.len(),
        completed,
        partial,
        failed,
        first_round,
        total,
        sweeps,
        round_trips,
        net_per_job,
        bytes_per_job,
        used_memory_per_job,
    })
}
