//! The engine's tunables: a plain value; the settings module reads them
//! from the environment (`settings/engine.rs`).

use std::time::Duration;

/// How the engine schedules its work. Every field has an environment
/// variable (docs/ENVIRONMENT.md); defaults suit Vercel's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long a processing lease lasts unless renewed (`LEASE_TTL_SECS`,
    /// default 60 s). A crashed worker's job is resumed this long after its
    /// last renewal. Renewed every third of it while work goes on.
    pub lease_ttl: Duration,
    /// How long a `pending` job may wait for its start before the sweep takes
    /// it over (`PENDING_GRACE_SECS`, default 120 s).
    pub pending_grace: Duration,
    /// Time budget of one sweep (`SWEEP_BUDGET_SECS`, default 45 s). The
    /// sweep stops taking new jobs when less than a fifth of it is left, and
    /// at its end rounds stop starting fetches; fetches in flight finish
    /// within their own timeouts (30 s at most), so a sweep ends well within
    /// the cron function's `maxDuration` of 120 s.
    pub sweep_budget: Duration,
    /// How many due jobs one sweep reads from the index at a time
    /// (`SWEEP_BATCH`, default 50).
    pub sweep_batch: usize,
    /// How many jobs one sweep works on at once (`SWEEP_JOB_CONCURRENCY`,
    /// default 4).
    pub sweep_job_concurrency: usize,
    /// Minimum time between two manual retries of one job
    /// (`MANUAL_RETRY_MIN_INTERVAL_SECS`, default 30 s).
    pub manual_retry_min_interval: Duration,
    /// Source fetches in flight at once per job (`FETCH_CONCURRENCY`,
    /// default 10).
    pub fetch_concurrency: usize,
    /// Fetches in flight at once per source type, across all jobs of this
    /// process (`FETCH_CONCURRENCY_PER_SOURCE`, default 4), so one slow API
    /// is not hammered.
    pub per_source_concurrency: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(60),
            pending_grace: Duration::from_secs(120),
            sweep_budget: Duration::from_secs(45),
            sweep_batch: 50,
            sweep_job_concurrency: 4,
            manual_retry_min_interval: Duration::from_secs(30),
            fetch_concurrency: 10,
            per_source_concurrency: 4,
        }
    }
}
