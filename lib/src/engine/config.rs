//! The engine's tunables, read from the environment once.

use std::time::Duration;

use crate::settings::{env_parse, ConfigError};

/// How the engine schedules its work. Every field has an environment
/// variable (see the README's table); defaults suit Vercel's limits.
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

impl EngineConfig {
    /// Reads the variables of the fields' docs through `lookup` (for
    /// [`crate::settings::Settings`]; tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let secs = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
            Ok(env_parse::<u64>(&lookup, name)?.map_or(default, Duration::from_secs))
        };
        let count = |name: &str, default: usize| -> Result<usize, ConfigError> {
            match env_parse::<usize>(&lookup, name)? {
                Some(0) => Err(ConfigError::invalid(name, "must be at least 1")),
                Some(n) => Ok(n),
                None => Ok(default),
            }
        };
        let config = Self {
            lease_ttl: secs("LEASE_TTL_SECS", d.lease_ttl)?,
            pending_grace: secs("PENDING_GRACE_SECS", d.pending_grace)?,
            sweep_budget: secs("SWEEP_BUDGET_SECS", d.sweep_budget)?,
            sweep_batch: count("SWEEP_BATCH", d.sweep_batch)?,
            sweep_job_concurrency: count("SWEEP_JOB_CONCURRENCY", d.sweep_job_concurrency)?,
            manual_retry_min_interval: secs(
                "MANUAL_RETRY_MIN_INTERVAL_SECS",
                d.manual_retry_min_interval,
            )?,
            fetch_concurrency: count("FETCH_CONCURRENCY", d.fetch_concurrency)?,
            per_source_concurrency: count(
                "FETCH_CONCURRENCY_PER_SOURCE",
                d.per_source_concurrency,
            )?,
        };
        if config.lease_ttl < Duration::from_secs(3) {
            return Err(ConfigError::invalid("LEASE_TTL_SECS", "must be at least 3"));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_overrides() {
        let env: HashMap<&str, &str> = [("LEASE_TTL_SECS", "30"), ("SWEEP_BATCH", "7")].into();
        let c = EngineConfig::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.lease_ttl, Duration::from_secs(30));
        assert_eq!(c.sweep_batch, 7);
        assert_eq!(c.sweep_budget, EngineConfig::default().sweep_budget);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err =
            EngineConfig::from_lookup(|k| (k == "SWEEP_BATCH").then(|| "0".into())).unwrap_err();
        assert!(err.to_string().contains("SWEEP_BATCH"), "{err}");
        let err =
            EngineConfig::from_lookup(|k| (k == "LEASE_TTL_SECS").then(|| "x".into())).unwrap_err();
        assert!(err.to_string().contains("LEASE_TTL_SECS"), "{err}");
    }
}
