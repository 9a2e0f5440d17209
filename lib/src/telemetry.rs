//! Logging setup shared by every binary.
//!
//! Logs go through `tracing`. On Vercel they are JSON lines (one per event,
//! easy to search in the dashboard); locally they are human-readable.
//! `RUST_LOG` filters as usual (unset or empty: `info`); a `RUST_LOG` that
//! does not parse is a startup error naming the variable, because falling
//! back to `info` silently would hide the debug lines an operator asked for
//! (or show the ones they meant to silence). Nothing in the library logs
//! questionnaire contents, e-mails, phone numbers, URLs with passwords or
//! API keys: log fields are ids, counts, statuses and error kinds.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::settings::{env_str, ConfigError, LogSettings};

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

/// Installs the global subscriber once; later calls do nothing. The
/// filter was checked when the settings were read.
pub fn init(log: &LogSettings) {
    let filter = EnvFilter::new(&log.filter);
    let result = if log.json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init()
    } else {
        // Colours only for a terminal: piped into a file or a test's
        // buffer, escape codes would make the lines hard to read and grep.
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init()
    };
    // Already installed (tests, or a second call): keep the first.
    drop(result);
}

/// An error followed by its causes, `outer: cause: root`, for a log field:
/// typed errors keep their causes as `source()`, which `%error` alone would
/// not show.
pub(crate) struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(value: Option<&str>) -> Result<EnvFilter, ConfigError> {
        let value = value.map(str::to_owned);
        filter_from_lookup(&move |k: &str| (k == ENV_RUST_LOG).then(|| value.clone()).flatten())
    }

    #[test]
    fn a_chain_shows_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("root cause"));
        assert_eq!(Chain(&e).to_string(), "outer: root cause");
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
