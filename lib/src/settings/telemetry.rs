//! The log settings' variable, `RUST_LOG` (telemetry takes a plain
//! [`LogConfig`]).

use tracing_subscriber::EnvFilter;

use super::{env_str, is_vercel, ConfigError};
use crate::telemetry::LogConfig;

/// The variable holding the log filter.
pub(crate) const ENV_RUST_LOG: &str = "RUST_LOG";

/// The log filter from `RUST_LOG` read through `lookup`: `info` when unset
/// or empty, an error naming the variable when it does not parse.
pub(crate) fn filter_from_lookup(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<EnvFilter, ConfigError> {
    match env_str(lookup, ENV_RUST_LOG) {
        None => Ok(EnvFilter::new("info")),
        Some(spec) => EnvFilter::try_new(&spec).map_err(|e| {
            ConfigError::invalid(
                ENV_RUST_LOG,
                format!("not a log filter ({e}); e.g. `info` or `info,care_report=debug`"),
            )
        }),
    }
}

/// Reads `RUST_LOG`: `info` when unset or empty, an error naming the
/// variable when it does not parse, because falling back to `info`
/// silently would hide the lines an operator asked for; JSON lines on Vercel.
pub(super) fn log_settings(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<LogConfig, ConfigError> {
    Ok(LogConfig {
        filter: filter_from_lookup(lookup)?.to_string(),
        json: is_vercel(lookup),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(value: Option<&str>) -> Result<EnvFilter, ConfigError> {
        let value = value.map(str::to_owned);
        filter_from_lookup(&move |k: &str| (k == ENV_RUST_LOG).then(|| value.clone()).flatten())
    }

    #[test]
    fn unset_or_empty_is_info() {
        assert_eq!(filter(None).unwrap().to_string(), "info");
        assert_eq!(filter(Some("  ")).unwrap().to_string(), "info");
    }

    #[test]
    fn a_valid_filter_is_used() {
        let f = filter(Some("warn,care_report=debug")).unwrap().to_string();
        assert!(f.contains("care_report=debug"), "{f}");
        assert!(f.contains("warn"), "{f}");
    }

    #[test]
    fn a_malformed_filter_is_an_error_naming_the_variable() {
        for bad in ["info,care_report=loudest", "[{", "care_report=debug=info"] {
            let e = filter(Some(bad)).expect_err(bad);
            assert_eq!(e.name, ENV_RUST_LOG, "{bad}");
            assert!(e.to_string().starts_with("invalid RUST_LOG: "), "{e}");
        }
    }
}
