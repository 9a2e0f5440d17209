//! [`MemorySourceCache`]: the in-memory [`SourceCache`] and
//! [`UpstreamLease`] (the dev-server's, and the reference the Redis one is
//! tested against). One `std::sync::Mutex`, one critical section per
//! method, never across an `.await`: the same atomicity as a Lua script.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::MemoryOps;
use crate::store::ops::{cache_field, hour_of};
use crate::store::source_cache::{CacheEntry, FillGate, LeaseGate, SourceCache, UpstreamLease};
use crate::store::{dur_ms, from_ms, to_ms, BoxFuture, Result};

/// Entries beyond this many trigger a purge of the expired ones on the next
/// write, so a long-running dev-server's memory stays bounded by live data.
const PURGE_ABOVE: usize = 10_000;

/// The holder of a lease during a cool-down (the Lua scripts use the same).
const COOLDOWN: &str = "cooldown";

#[derive(Debug)]
struct Entry {
    expires_ms: i64,
    fetched_ms: i64,
    value: serde_json::Value,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Fill locks and leases: key → (holder token, live until ms).
    locks: HashMap<String, (String, i64)>,
}

/// The in-memory source cache and upstream lease.
#[derive(Debug, Default)]
pub struct MemorySourceCache {
    inner: Mutex<Inner>,
    /// Where hits and misses are counted (the memory job store's
    /// counters, `store::ops`); `None` counts nothing.
    ops: Option<std::sync::Arc<MemoryOps>>,
}

impl MemorySourceCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts hits and misses in `ops` (a memory job store's
    /// [`super::MemoryStore::ops_counters`]), as the Redis cache counts
    /// them in the job store's Redis.
    pub fn with_ops(mut self, ops: std::sync::Arc<MemoryOps>) -> Self {
        self.ops = Some(ops);
        self
    }

    fn count(&self, source: &str, now: DateTime<Utc>, hit: bool) {
        if let Some(ops) = &self.ops {
            ops.count(hour_of(now), &cache_field(source, hit));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Live entries (for tests and the bench).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn entry_key(source: &str, key: &str) -> String {
    format!("{source}:{key}")
}

impl SourceCache for MemorySourceCache {
    fn begin<'a>(
        &'a self,
        source: &'a str,
        key: &'a str,
        token: &'a str,
        now: DateTime<Utc>,
        fill_ttl: Duration,
    ) -> BoxFuture<'a, Result<FillGate>> {
        Box::pin(async move {
            let now_ms = to_ms(now);
            let k = entry_key(source, key);
            let mut inner = self.lock();
            match inner.entries.get(&k) {
                Some(e) if e.expires_ms > now_ms => {
                    self.count(source, now, true);
                    return Ok(FillGate::Hit(CacheEntry {
                        value: e.value.clone(),
                        fetched_at: from_ms(e.fetched_ms).unwrap_or(now),
                    }));
                }
                Some(_) => {
                    inner.entries.remove(&k);
                }
                None => {}
            }
            let lock_key = format!("{k}:fill");
            if let Some((holder, until)) = inner.locks.get(&lock_key) {
                if *until > now_ms && holder != token {
                    let left = u64::try_from(until - now_ms).unwrap_or(0);
                    return Ok(FillGate::Wait(Duration::from_millis(left)));
                }
            }
            inner.locks.insert(
                lock_key,
                (token.to_owned(), now_ms.saturating_add(dur_ms(fill_ttl))),
            );
            self.count(source, now, false);
            Ok(FillGate::Fill)
        })
    }

    fn complete<'a>(
        &'a self,
        source: &'a str,
        key: &'a str,
        token: &'a str,
        value: &'a serde_json::Value,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let now_ms = to_ms(now);
            let k = entry_key(source, key);
            let mut inner = self.lock();
            if inner.entries.len() >= PURGE_ABOVE {
                inner.entries.retain(|_, e| e.expires_ms > now_ms);
                inner.locks.retain(|_, (_, until)| *until > now_ms);
            }
            let lock_key = format!("{k}:fill");
            if inner.locks.get(&lock_key).is_some_and(|(h, _)| h == token) {
                inner.locks.remove(&lock_key);
            }
            inner.entries.insert(
                k,
                Entry {
                    expires_ms: now_ms.saturating_add(dur_ms(ttl)),
                    fetched_ms: now_ms,
                    value: value.clone(),
                },
            );
            Ok(())
        })
    }

    fn abandon<'a>(
        &'a self,
        source: &'a str,
        key: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let lock_key = format!("{}:fill", entry_key(source, key));
            let mut inner = self.lock();
            if inner.locks.get(&lock_key).is_some_and(|(h, _)| h == token) {
                inner.locks.remove(&lock_key);
            }
            Ok(())
        })
    }
}

impl UpstreamLease for MemorySourceCache {
    fn acquire<'a>(
        &'a self,
        name: &'a str,
        token: &'a str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<LeaseGate>> {
        Box::pin(async move {
            let now_ms = to_ms(now);
            let k = format!("lease:{name}");
            let mut inner = self.lock();
            if let Some((holder, until)) = inner.locks.get(&k) {
                if *until > now_ms {
                    let left = Duration::from_millis(u64::try_from(until - now_ms).unwrap_or(0));
                    return Ok(if holder == COOLDOWN {
                        LeaseGate::CoolingDown(left)
                    } else {
                        LeaseGate::Busy(left)
                    });
                }
            }
            inner
                .locks
                .insert(k, (token.to_owned(), now_ms.saturating_add(dur_ms(ttl))));
            Ok(LeaseGate::Granted)
        })
    }

    fn release<'a>(
        &'a self,
        name: &'a str,
        token: &'a str,
        now: DateTime<Utc>,
        cooldown: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let now_ms = to_ms(now);
            let k = format!("lease:{name}");
            let mut inner = self.lock();
            if inner.locks.get(&k).is_some_and(|(h, _)| h == token) {
                if cooldown.is_zero() {
                    inner.locks.remove(&k);
                } else {
                    inner.locks.insert(
                        k,
                        (COOLDOWN.to_owned(), now_ms.saturating_add(dur_ms(cooldown))),
                    );
                }
            }
            Ok(())
        })
    }
}
