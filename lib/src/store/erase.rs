//! Erasure: `DELETE /api/professional-report/{job_id}` removes every trace
//! of a job in one atomic step (its keys, its due entry, its idempotency
//! key). A worker still holding the job's lease is fenced out by the
//! store's existing rule: every fenced write (and `claim`, `release`,
//! `gate_manual_retry`) finds no job and changes nothing, and no
//! transition re-creates a key of a job that does not exist.

use super::memory::MemoryStore;
use super::redis::{corrupt, string, RedisStore};
use super::scripts::EraseCall;
use super::BoxFuture;
use super::{Result, StoreError};
use crate::model::JobId;

/// What `erase` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erased {
    /// The job existed and is gone now.
    Erased,
    /// There was no such job (unknown, expired or erased before).
    Missing,
}

/// The erasure contract (memory and Redis; contract-tested on both).
pub trait EraseStore: Send + Sync {
    /// Removes the job, its slots, data and history, its due entry and its
    /// idempotency key, atomically. Afterwards every read answers "unknown"
    /// and every write for it is refused (`LeaseLost`, `NotFound`, `None`).
    fn erase(&self, id: JobId) -> BoxFuture<'_, Result<Erased>>;
}

impl EraseStore for MemoryStore {
    fn erase(&self, id: JobId) -> BoxFuture<'_, Result<Erased>> {
        Box::pin(async move { Ok(self.erase_now(id)) })
    }
}

impl EraseStore for RedisStore {
    fn erase(&self, id: JobId) -> BoxFuture<'_, Result<Erased>> {
        Box::pin(async move {
            let k = self.keys(id);
            // The idempotency key's name is in the job hash (see create.lua);
            // the script checks it is still what we read, so its KEYS list
            // every key it touches (Upstash requires it).
            for _ in 0..3 {
                let mut conn = self.conn.clone();
                let idem: Option<String> = ::redis::cmd("HGET")
                    .arg(&k.job)
                    .arg("idem")
                    .query_async(&mut conn)
                    .await
                    .map_err(super::redis::unavailable)?;
                let inv = EraseCall {
                    keys: k.clone(),
                    job_id: id,
                    idem,
                };
                let reply = self.status_reply(&inv).await?;
                match reply.into_iter().next().map(string).transpose()?.as_deref() {
                    Some("erased") => return Ok(Erased::Erased),
                    Some("missing") => return Ok(Erased::Missing),
                    Some("changed") => continue,
                    _ => return Err(corrupt("unexpected erase reply")),
                }
            }
            Err(StoreError::Unavailable(
                "erase: the job kept changing; try again".to_owned(),
            ))
        })
    }
}
