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

/// How logs are written ([`init`]); the settings module reads it from
/// `RUST_LOG` and the host (JSON lines on Vercel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// The `RUST_LOG` filter, checked to parse (`info` when unset).
    pub filter: String,
    /// JSON lines (on Vercel) or human-readable lines.
    pub json: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".to_owned(),
            json: false,
        }
    }
}

/// Installs the global subscriber once; later calls do nothing. The
/// filter was checked when the settings were read.
pub fn init(log: &LogConfig) {
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

    #[test]
    fn a_chain_shows_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("root cause"));
        assert_eq!(Chain(&e).to_string(), "outer: root cause");
    }
}
