//! Logging setup shared by every binary.
//!
//! Logs go through `tracing`. On Vercel they are JSON lines (one per event,
//! easy to search in the dashboard); locally they are human-readable.
//! `RUST_LOG` filters as usual (default `info`). Nothing in the library logs
//! questionnaire contents, e-mails, phone numbers, URLs with passwords or
//! API keys: log fields are ids, counts, statuses and error kinds.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let vercel = crate::config::is_vercel(&|k: &str| std::env::var(k).ok());
    let result = if vercel {
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
