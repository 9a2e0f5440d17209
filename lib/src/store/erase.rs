//! Erasure: `DELETE /api/professional-report/{job_id}` removes every trace
//! of a job in one atomic step (its keys, its due entry, its idempotency
//! key). A worker still holding the job's lease is fenced out by the
//! store's existing rule: every fenced write (and `claim`, `release`,
//! `gate_manual_retry`) finds no job and changes nothing, and no
//! transition re-creates a key of a job that does not exist.

use super::BoxFuture;
use super::Result;
use crate::model::JobId;

/// What `erase` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erased {
    /// The job existed and is gone now.
    Erased,
    /// There was no such job (unknown, expired or erased before).
    Missing,
}

/// The erasure contract (memory and Redis; contract-tested on both; the
/// Redis one is `redis/lua/erase.lua`, through `redis/erase.rs`).
pub trait EraseStore: Send + Sync {
    /// Removes the job, its slots, data and history, its due entry and its
    /// idempotency key, atomically. Afterwards every read answers "unknown"
    /// and every write for it is refused (`LeaseLost`, `NotFound`, `None`).
    fn erase(&self, id: JobId) -> BoxFuture<'_, Result<Erased>>;
}
