//! Spend limits kept in the store, so every instance shares them: sliding
//! window request limits (per client and overall) and a daily budget of
//! paid upstream calls.
//!
//! The request limit is the sliding window of Upstash's ratelimit library
//! (`upstash/ratelimit-js`, `src/lua-scripts/single/sliding-window.ts`,
//! `requestSlidingWindowScript`): time is cut into fixed buckets of one
//! window each; a request at `now` counts every request of the current
//! bucket plus the previous bucket's count weighted by the share of the
//! window that still overlaps it, `floor((1 - (now % w) / w) * previous)`.
//! It is refused when that sum already reaches the limit, else the current
//! bucket is incremented and lives `2 w + 1 s`. Unlike Upstash's script,
//! ours checks several windows (a client's and the overall one) in one
//! atomic step and increments none of them when any refuses, so a refused
//! request never uses up the overall allowance.
//!
//! The budget is a plain counter per UTC day: a paid call takes one unit
//! unless the day's units are spent. A call made for a known client also
//! takes one unit of that client's own counter for the day, in the same
//! atomic step, and is refused when the client's share is spent: so one
//! client (one address, or every request without one) cannot spend the
//! whole day's budget and leave every other family without paid sources.
//!
//! The memory store (`memory/limits.rs`) and the Redis store
//! (`redis/lua/rate_limit.lua`, `redis/lua/spend_budget.lua`) implement the
//! same contract; the safety suite (`lib/tests/safety.rs`) runs its limit
//! and budget cases against both.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::BoxFuture;
use super::Result;

/// One sliding window to check: at most `limit` hits per `window` under
/// `key` (a bucket name such as `start:client:<hash>`; the store adds its
/// prefix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The bucket's name.
    pub key: String,
    /// Hits allowed per window (at least 1).
    pub limit: u64,
    /// The window's length (at least 1 ms).
    pub window: Duration,
}

/// A window's counts as the store saw them at `now` (after the hit when
/// it was allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowCount {
    /// Hits in the current bucket.
    pub current: u64,
    /// Hits in the previous bucket.
    pub previous: u64,
}

/// What `hit` decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HitOutcome {
    /// Counted in every window; their counts after the hit, in order.
    Allowed(Vec<WindowCount>),
    /// Refused (nothing counted) by the window at `index`, with its counts.
    Refused {
        /// Which of the given windows refused (the first full one).
        index: usize,
        /// Its counts.
        count: WindowCount,
    },
}

/// A client's own counter of a budget day: its name (as
/// [`client_budget_day`] makes it) and the share it may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientBudget<'a> {
    /// The counter's name.
    pub counter: &'a str,
    /// Units this client may take that day.
    pub limit: u64,
}

/// What `spend` decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spend {
    /// One unit taken; `used` units of the day are now taken.
    Granted {
        /// Units taken today, this one included.
        used: u64,
    },
    /// The day's units are spent; nothing was taken.
    Spent {
        /// Units taken today.
        used: u64,
    },
    /// The client's share of the day is spent (the day's budget may not
    /// be); nothing was taken.
    ClientSpent {
        /// Units this client took today.
        used: u64,
    },
}

/// The limits contract.
///
/// `hit`: for each window, the bucket `floor(now_ms / window_ms)` and the
/// one before; refuses when any window's weighted count
/// ([`weighted`]) is already at its limit, else adds one to every
/// window's current bucket. Atomic: concurrent hits never exceed a limit.
///
/// `spend`: takes one unit of `day`'s budget unless `limit` units are
/// taken already, and with a [`ClientBudget`] one unit of the client's
/// counter too unless its share is taken (both or neither, atomically); a
/// day's counters live two days. `spent` reads a counter (a day's, or a
/// client's by its [`client_budget_day`] name).
pub trait LimitStore: Send + Sync {
    /// Counts one hit in every window, or refuses without counting.
    fn hit<'a>(
        &'a self,
        windows: &'a [Window],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<HitOutcome>>;

    /// Takes one unit of the day's budget (and of the client's share).
    fn spend<'a>(
        &'a self,
        day: &'a str,
        limit: u64,
        client: Option<ClientBudget<'a>>,
    ) -> BoxFuture<'a, Result<Spend>>;

    /// Units of the day's budget taken so far.
    fn spent<'a>(&'a self, day: &'a str) -> BoxFuture<'a, Result<u64>>;

    /// A window's counts at `now`, counting nothing (a read: the
    /// console's failed-login limit asks it before checking a password).
    fn peek<'a>(
        &'a self,
        window: &'a Window,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<WindowCount>>;
}

/// Milliseconds of a window, at least 1.
pub(crate) fn window_ms(w: Duration) -> i64 {
    super::dur_ms(w).max(1)
}

/// The bucket `now` falls in for a window of `window_ms`.
pub(crate) fn bucket(now_ms: i64, window_ms: i64) -> i64 {
    now_ms.div_euclid(window_ms)
}

/// Upstash's weighted count at `now_ms`: the current bucket plus the
/// previous bucket's share that still overlaps the window. Integer
/// arithmetic; `redis/lua/rate_limit.lua` computes the same value (exactly: every
/// operand is an integer far below 2^53).
pub(crate) fn weighted(count: WindowCount, now_ms: i64, window_ms: i64) -> u64 {
    let into = u128::from(now_ms.rem_euclid(window_ms).unsigned_abs());
    let w = u128::from(window_ms.unsigned_abs().max(1));
    let prev = u128::from(count.previous) * (w - into) / w;
    u64::try_from(prev)
        .unwrap_or(u64::MAX)
        .saturating_add(count.current)
}

/// How many more hits the window takes at `now_ms`.
pub fn remaining(count: WindowCount, limit: u64, now_ms: i64, window_ms: i64) -> u64 {
    limit.saturating_sub(weighted(count, now_ms, window_ms))
}

/// How long until a window whose counts are `count` at `now_ms` takes one
/// more hit (assuming no other hit meanwhile); zero when it takes one now.
/// Pure, so both stores and the HTTP layer agree on `Retry-After`.
pub fn retry_after(count: WindowCount, limit: u64, now_ms: i64, window_ms: i64) -> Duration {
    let w = window_ms.max(1);
    if weighted(count, now_ms, w) < limit {
        return Duration::ZERO;
    }
    let start = bucket(now_ms, w) * w;
    let limit = i128::from(limit);
    let cur = i128::from(count.current);
    let prev = i128::from(count.previous);
    // The hits of the current bucket become the previous ones in the next
    // bucket, where nothing is current yet.
    let next_bucket = || start + w + first_room(cur, limit, w);
    let at = if cur < limit {
        // Later in this bucket the previous bucket's weight falls off.
        let r = first_room(prev, limit - cur, w);
        if r < w {
            start + r
        } else {
            next_bucket()
        }
    } else {
        next_bucket()
    };
    Duration::from_millis(u64::try_from(at - now_ms).unwrap_or(1).max(1))
}

/// The smallest offset `r` in `0..=w` into a bucket at which
/// `floor(previous * (w - r) / w) < room`, i.e. `previous * (w - r) < room * w`
/// (`room` at least 1): `r = w - ceil(room * w / previous) + 1`.
fn first_room(previous: i128, room: i128, w: i64) -> i64 {
    let w128 = i128::from(w);
    if previous <= 0 {
        return 0;
    }
    let y = (room * w128 + previous - 1) / previous;
    i64::try_from((w128 - y + 1).clamp(0, w128)).unwrap_or(w)
}

/// The budget day `now` falls in (UTC), as the counter's name.
pub fn budget_day(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

/// The name of `client`'s own counter of the budget day `now` falls in
/// (`client` is the hashed bucket name of `http::limits::client_key`,
/// never an address).
pub fn client_budget_day(now: DateTime<Utc>, client: &str) -> String {
    format!("{}:client:{client}", budget_day(now))
}

/// Time from `now` until the next UTC midnight, when a new budget day
/// starts (at least one second).
pub(crate) fn until_budget_reset(now: DateTime<Utc>) -> Duration {
    let next = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc());
    next.and_then(|n| (n - now).to_std().ok())
        .unwrap_or(Duration::from_secs(1))
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(current: u64, previous: u64) -> WindowCount {
        WindowCount { current, previous }
    }

    #[test]
    fn weighted_count_follows_upstash() {
        // Half-way through the bucket, half of the previous bucket counts.
        assert_eq!(weighted(c(3, 10), 1_500, 1_000), 3 + 5);
        // At the very start all of it counts; floor as in Upstash.
        assert_eq!(weighted(c(0, 10), 2_000, 1_000), 10);
        assert_eq!(weighted(c(0, 3), 2_999, 1_000), 0);
    }

    #[test]
    fn retry_after_is_the_first_instant_with_room() {
        let (limit, w) = (10, 1_000);
        for (count, now) in [
            (c(10, 0), 1_200),
            (c(4, 10), 1_100),
            (c(9, 9), 1_000),
            (c(25, 3), 1_999),
        ] {
            let wait = retry_after(count, limit, now, w);
            assert!(wait > Duration::ZERO, "{count:?}");
            let at = now + i64::try_from(wait.as_millis()).unwrap();
            // Counts seen from instant t: the same buckets while t stays in
            // the bucket, rolled over after.
            let seen = |t: i64| {
                if bucket(t, w) == bucket(now, w) {
                    count
                } else if bucket(t, w) == bucket(now, w) + 1 {
                    c(0, count.current)
                } else {
                    c(0, 0)
                }
            };
            assert!(weighted(seen(at), at, w) < limit, "{count:?} at {at}");
            assert!(
                weighted(seen(at - 1), at - 1, w) >= limit,
                "{count:?} at {}",
                at - 1
            );
        }
        assert_eq!(retry_after(c(1, 1), 10, 1_000, 1_000), Duration::ZERO);
    }

    #[test]
    fn budget_days_end_at_utc_midnight() {
        let noon = DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(budget_day(noon), "2026-01-01");
        assert_eq!(until_budget_reset(noon), Duration::from_secs(12 * 3600));
    }
}
