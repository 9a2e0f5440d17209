//! The engine's variables (docs/ENVIRONMENT.md).

use std::time::Duration;

use super::{env_parse, ConfigError};
use crate::engine::EngineConfig;

/// The engine's config: the variables its fields' docs name, read through
/// `lookup` (tests pass a map).
pub(super) fn engine_config(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<EngineConfig, ConfigError> {
    let d = EngineConfig::default();
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
    let config = EngineConfig {
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
        per_source_concurrency: count("FETCH_CONCURRENCY_PER_SOURCE", d.per_source_concurrency)?,
    };
    if config.lease_ttl < Duration::from_secs(3) {
        return Err(ConfigError::invalid("LEASE_TTL_SECS", "must be at least 3"));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_overrides() {
        let env: HashMap<&str, &str> = [("LEASE_TTL_SECS", "30"), ("SWEEP_BATCH", "7")].into();
        let c = engine_config(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.lease_ttl, Duration::from_secs(30));
        assert_eq!(c.sweep_batch, 7);
        assert_eq!(c.sweep_budget, EngineConfig::default().sweep_budget);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = engine_config(|k| (k == "SWEEP_BATCH").then(|| "0".into())).unwrap_err();
        assert!(err.to_string().contains("SWEEP_BATCH"), "{err}");
        let err = engine_config(|k| (k == "LEASE_TTL_SECS").then(|| "x".into())).unwrap_err();
        assert!(err.to_string().contains("LEASE_TTL_SECS"), "{err}");
    }
}
