//! Process counters an operator can read (`GET /health` shows them).
//!
//! Some failures are absorbed on purpose so one bug cannot stop the
//! service: a panic inside a source adapter becomes a transient failure of
//! that one fetch (retried like a timeout), so the job still completes.
//! Absorbed must not mean unseen: each such event is logged at error level
//! *and* counted here, and the reliability suite asserts the count stayed
//! zero under load. Counters are per process (on Vercel, per function
//! instance) and start at zero; they are monotonic and never reset.

use std::sync::atomic::{AtomicU64, Ordering};

static SOURCE_ADAPTER_PANICS: AtomicU64 = AtomicU64::new(0);

/// Panics caught in source adapters since this process started.
pub fn source_adapter_panics() -> u64 {
    SOURCE_ADAPTER_PANICS.load(Ordering::Relaxed)
}

/// Counts one caught adapter panic; answers the new total.
pub(crate) fn count_source_adapter_panic() -> u64 {
    SOURCE_ADAPTER_PANICS.fetch_add(1, Ordering::Relaxed) + 1
}
