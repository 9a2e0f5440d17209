//! The retry policy's variables (docs/STORE.md): the settings module
//! reads them and hands the engine a plain [`RetryPolicy`].

use std::time::Duration;

use super::{env_str, ConfigError};
use crate::retry::{RetryPolicy, MAX_JITTER};

/// Environment variable: base delay before the first retry, in seconds.
pub(crate) const ENV_BASE_DELAY_SECS: &str = "RETRY_BASE_DELAY_SECS";
/// Environment variable: backoff multiplier per retry already made.
pub(crate) const ENV_MULTIPLIER: &str = "RETRY_MULTIPLIER";
/// Environment variable: maximum number of retries per source.
pub(crate) const ENV_MAX_RETRIES: &str = "RETRY_MAX_RETRIES";
/// Environment variable: the job's retry window from creation, in seconds.
pub(crate) const ENV_DEADLINE_SECS: &str = "RETRY_DEADLINE_SECS";
/// Environment variable: jitter as a fraction of the delay, in `[0, 0.5]`.
pub(crate) const ENV_JITTER: &str = "RETRY_JITTER";
/// Environment variable: seed of the deterministic jitter.
pub(crate) const ENV_JITTER_SEED: &str = "RETRY_JITTER_SEED";

/// The defaults overridden by the variables of the `ENV_*` constants,
/// read through `lookup` (so tests need not mutate the process
/// environment). An unset or empty variable keeps its default.
pub fn retry_policy(lookup: impl Fn(&str) -> Option<String>) -> Result<RetryPolicy, ConfigError> {
    let get = |var: &'static str| env_str(&lookup, var).map(|v| (var, v));
    // Retry knobs are not secrets, so the bad value may be echoed.
    let invalid = |var: &'static str, value: &str, reason: &'static str| {
        ConfigError::invalid(var, format!("{reason}, got {value:?}"))
    };
    let mut policy = RetryPolicy::default();
    if let Some((var, v)) = get(ENV_BASE_DELAY_SECS) {
        let secs: u64 = v
            .parse()
            .map_err(|_| invalid(var, &v, "expected whole seconds (e.g. 300)"))?;
        policy.base_delay = Duration::from_secs(secs);
    }
    if let Some((var, v)) = get(ENV_MULTIPLIER) {
        let m: f64 = v
            .parse()
            .map_err(|_| invalid(var, &v, "expected a number ≥ 1 (e.g. 1.5)"))?;
        if !m.is_finite() || !(1.0..=100.0).contains(&m) {
            return Err(invalid(var, &v, "expected a number between 1 and 100"));
        }
        policy.multiplier = m;
    }
    if let Some((var, v)) = get(ENV_MAX_RETRIES) {
        policy.max_retries = v
            .parse()
            .map_err(|_| invalid(var, &v, "expected a whole number (e.g. 10)"))?;
    }
    if let Some((var, v)) = get(ENV_DEADLINE_SECS) {
        let secs: u64 = v
            .parse()
            .map_err(|_| invalid(var, &v, "expected whole seconds (e.g. 10800)"))?;
        if secs == 0 {
            return Err(invalid(var, &v, "expected a positive number of seconds"));
        }
        policy.deadline = Duration::from_secs(secs);
    }
    if let Some((var, v)) = get(ENV_JITTER) {
        let j: f64 = v
            .parse()
            .map_err(|_| invalid(var, &v, "expected a fraction (e.g. 0.1)"))?;
        if !j.is_finite() || !(0.0..=MAX_JITTER).contains(&j) {
            return Err(invalid(var, &v, "expected a fraction between 0 and 0.5"));
        }
        policy.jitter = j;
    }
    if let Some((var, v)) = get(ENV_JITTER_SEED) {
        policy.seed = v
            .parse()
            .map_err(|_| invalid(var, &v, "expected an unsigned 64-bit integer"))?;
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_the_spec() {
        let p = RetryPolicy::default();
        assert_eq!(p.base_delay, Duration::from_secs(300));
        assert_eq!(p.multiplier, 1.5);
        assert_eq!(p.max_retries, 10);
        assert_eq!(p.deadline, Duration::from_secs(3 * 3600));
        assert_eq!(p.jitter, 0.1);
        assert_eq!(retry_policy(|_| None), Ok(p));
    }

    #[test]
    fn env_overrides_every_knob() {
        let p = retry_policy(env(&[
            (ENV_BASE_DELAY_SECS, "60"),
            (ENV_MULTIPLIER, "2"),
            (ENV_MAX_RETRIES, "3"),
            (ENV_DEADLINE_SECS, "600"),
            (ENV_JITTER, "0.25"),
            (ENV_JITTER_SEED, "42"),
        ]))
        .unwrap();
        assert_eq!(
            p,
            RetryPolicy {
                base_delay: Duration::from_secs(60),
                multiplier: 2.0,
                max_retries: 3,
                deadline: Duration::from_secs(600),
                jitter: 0.25,
                seed: 42,
            }
        );
        // Empty counts as unset.
        assert_eq!(
            retry_policy(env(&[(ENV_MULTIPLIER, " ")])).unwrap(),
            RetryPolicy::default()
        );
    }

    #[test]
    fn bad_env_values_name_the_variable() {
        for (var, value) in [
            (ENV_BASE_DELAY_SECS, "five"),
            (ENV_BASE_DELAY_SECS, "-1"),
            (ENV_MULTIPLIER, "0.5"),
            (ENV_MULTIPLIER, "NaN"),
            (ENV_MAX_RETRIES, "-3"),
            (ENV_DEADLINE_SECS, "0"),
            (ENV_JITTER, "0.6"),
            (ENV_JITTER, "-0.1"),
            (ENV_JITTER_SEED, "x"),
        ] {
            let err = retry_policy(env(&[(var, value)])).unwrap_err();
            let named = &err.name;
            assert_eq!(*named, var);
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}
