//! The source cache and the upstream lease: what the sources share across
//! jobs and instances, behind two narrow traits.
//!
//! [`SourceCache`] keeps one answer per (source, key) with a per-source TTL
//! and makes concurrent fetches of the same key single-flight: the first
//! caller gets [`FillGate::Fill`] and a fill lock, the others
//! [`FillGate::Wait`] until the answer is stored (a [`FillGate::Hit`]) or the
//! lock is given back or expires. [`UpstreamLease`] lets one request at a
//! time run against a named upstream across every instance (Overpass'
//! usage policy), with a cool-down after a refusal.
//!
//! Both are implemented by [`MemorySourceCache`] (the dev-server, tests) and
//! by [`crate::store::RedisStore`] (production: the job store's Redis,
//! `redis/source_cache.rs`, one Lua script per transition), and held
//! to one contract by `lib/tests/store/source_cache.rs`. As in the job
//! store, time is a parameter (`now`): entries and locks expire by it, so a
//! manual clock drives expiry in tests. Every key has a TTL (an entry its
//! source's TTL, a fill lock or lease its own short TTL), so nothing here
//! outlives its use; docs/STORE.md lists them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::BoxFuture;
use super::Result;

pub use super::memory::MemorySourceCache;

/// A cached answer: the value and when it was fetched upstream.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheEntry {
    /// The cached value (the sources decide its shape).
    pub value: serde_json::Value,
    /// When it was fetched (epoch-millisecond precision).
    pub fetched_at: DateTime<Utc>,
}

/// The answer of [`SourceCache::begin`].
#[derive(Clone, Debug, PartialEq)]
pub enum FillGate {
    /// A live entry: use it.
    Hit(CacheEntry),
    /// No entry; the caller now holds the fill lock and must end it with
    /// [`SourceCache::complete`] or [`SourceCache::abandon`].
    Fill,
    /// Another caller holds the fill lock for this long at most: ask again
    /// later.
    Wait(Duration),
}

/// The shared source cache (see the module docs).
///
/// Keys are `source` plus `key` (both short, printable). Rules: an entry is
/// live while `now < fetched_at + ttl` as given to `complete`; a fill lock is
/// live while `now < taken + fill_ttl`; `begin` by the lock's own holder
/// (same token) is granted `Fill` again.
pub trait SourceCache: Send + Sync + 'static {
    /// A live entry as `Hit`; otherwise takes the fill lock (`Fill`) unless
    /// another token holds a live one (`Wait` with its time left). One
    /// atomic step.
    fn begin<'a>(
        &'a self,
        source: &'a str,
        key: &'a str,
        token: &'a str,
        now: DateTime<Utc>,
        fill_ttl: Duration,
    ) -> BoxFuture<'a, Result<FillGate>>;

    /// Stores `value` fetched at `now`, live for `ttl`, and drops the fill
    /// lock when `token` holds it. One atomic step.
    fn complete<'a>(
        &'a self,
        source: &'a str,
        key: &'a str,
        token: &'a str,
        value: &'a serde_json::Value,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<()>>;

    /// Drops the fill lock when `token` holds it (the fetch failed: nothing
    /// is cached, and a waiter may fetch itself).
    fn abandon<'a>(
        &'a self,
        source: &'a str,
        key: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
}

/// The answer of [`UpstreamLease::acquire`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseGate {
    /// The caller holds the lease until it releases it or `ttl` passes.
    Granted,
    /// Another request holds it, for this long at most (it is usually
    /// given back much sooner).
    Busy(Duration),
    /// A cool-down after a refusal runs for exactly this long.
    CoolingDown(Duration),
}

/// One request at a time per named upstream, across instances.
pub trait UpstreamLease: Send + Sync + 'static {
    /// Takes the lease `name` for `token` until `now + ttl`, unless another
    /// token holds it or a cool-down runs. One atomic step.
    fn acquire<'a>(
        &'a self,
        name: &'a str,
        token: &'a str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<LeaseGate>>;

    /// Gives the lease back when `token` holds it; with a non-zero
    /// `cooldown`, nobody gets it before `now + cooldown` (after a 429).
    /// One atomic step.
    fn release<'a>(
        &'a self,
        name: &'a str,
        token: &'a str,
        now: DateTime<Utc>,
        cooldown: Duration,
    ) -> BoxFuture<'a, Result<()>>;
}
