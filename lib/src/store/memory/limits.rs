//! The in-memory [`LimitStore`]: the sliding windows and budget counters of
//! `store::limits`, under one mutex.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::store::limits::{
    bucket, weighted, window_ms, ClientBudget, HitOutcome, LimitStore, Spend, Window, WindowCount,
};
use crate::store::{to_ms, BoxFuture, Result};

/// The in-memory limits (the memory store holds one). One mutex, one
/// critical section per call, like a Lua script. Old buckets are dropped
/// as windows move on; budget days older than yesterday are dropped.
#[derive(Debug, Default)]
pub(crate) struct MemoryLimits {
    inner: Mutex<MemoryLimitsInner>,
}

#[derive(Debug, Default)]
struct MemoryLimitsInner {
    /// key -> (bucket, count) of the buckets still in use.
    buckets: HashMap<String, Vec<(i64, u64)>>,
    budget: HashMap<String, u64>,
}

impl MemoryLimits {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryLimitsInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The synchronous body of [`LimitStore::hit`].
    fn hit_now(&self, windows: &[Window], now: DateTime<Utc>) -> HitOutcome {
        let now_ms = to_ms(now);
        let mut inner = self.lock();
        let mut counts = Vec::with_capacity(windows.len());
        for w in windows {
            let wms = window_ms(w.window);
            let b = bucket(now_ms, wms);
            let list = inner.buckets.entry(w.key.clone()).or_default();
            list.retain(|(bb, _)| *bb >= b - 1);
            let of = |x: i64| list.iter().find(|(bb, _)| *bb == x).map_or(0, |(_, n)| *n);
            counts.push(WindowCount {
                current: of(b),
                previous: of(b - 1),
            });
        }
        for (index, (w, count)) in windows.iter().zip(&counts).enumerate() {
            if weighted(*count, now_ms, window_ms(w.window)) >= w.limit {
                return HitOutcome::Refused {
                    index,
                    count: *count,
                };
            }
        }
        for (w, count) in windows.iter().zip(counts.iter_mut()) {
            let b = bucket(now_ms, window_ms(w.window));
            let list = inner.buckets.entry(w.key.clone()).or_default();
            match list.iter_mut().find(|(bb, _)| *bb == b) {
                Some((_, n)) => *n += 1,
                None => list.push((b, 1)),
            }
            count.current += 1;
        }
        HitOutcome::Allowed(counts)
    }

    /// The synchronous body of [`LimitStore::spend`].
    fn spend_now(&self, day: &str, limit: u64, client: Option<ClientBudget<'_>>) -> Spend {
        let mut inner = self.lock();
        prune_days(&mut inner.budget, day);
        let used = inner.budget.get(day).copied().unwrap_or(0);
        if used >= limit {
            return Spend::Spent { used };
        }
        if let Some(c) = client {
            let mine = inner.budget.entry(c.counter.to_owned()).or_insert(0);
            if *mine >= c.limit {
                return Spend::ClientSpent { used: *mine };
            }
            *mine += 1;
        }
        let used = inner.budget.entry(day.to_owned()).or_insert(0);
        *used += 1;
        Spend::Granted { used: *used }
    }

    /// The synchronous body of [`LimitStore::spent`].
    fn spent_now(&self, day: &str) -> u64 {
        self.lock().budget.get(day).copied().unwrap_or(0)
    }
}

impl LimitStore for MemoryLimits {
    fn hit<'a>(
        &'a self,
        windows: &'a [Window],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<HitOutcome>> {
        Box::pin(async move { Ok(self.hit_now(windows, now)) })
    }

    fn spend<'a>(
        &'a self,
        day: &'a str,
        limit: u64,
        client: Option<ClientBudget<'a>>,
    ) -> BoxFuture<'a, Result<Spend>> {
        Box::pin(async move { Ok(self.spend_now(day, limit, client)) })
    }

    fn spent<'a>(&'a self, day: &'a str) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move { Ok(self.spent_now(day)) })
    }

    fn peek<'a>(
        &'a self,
        window: &'a Window,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<WindowCount>> {
        Box::pin(async move {
            let b = bucket(to_ms(now), window_ms(window.window));
            let inner = self.lock();
            let of = |x: i64| {
                inner
                    .buckets
                    .get(&window.key)
                    .and_then(|l| l.iter().find(|(bb, _)| *bb == x))
                    .map_or(0, |(_, n)| *n)
            };
            Ok(WindowCount {
                current: of(b),
                previous: of(b - 1),
            })
        })
    }
}

/// Drops the counters of days before yesterday (every counter's name
/// starts with its day, `YYYY-MM-DD`, which sorts as a date), keeping the
/// map small; `today` is the day being spent.
fn prune_days(budget: &mut HashMap<String, u64>, today: &str) {
    if budget.len() <= 4 {
        return;
    }
    let mut days: Vec<&str> = budget.keys().filter_map(|k| k.get(..10)).collect();
    days.push(today.get(..10).unwrap_or(today));
    days.sort_unstable();
    days.dedup();
    let keep: Vec<String> = days.iter().rev().take(2).map(|d| (*d).to_owned()).collect();
    budget.retain(|k, _| keep.iter().any(|d| k.starts_with(d.as_str())));
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn c(current: u64, previous: u64) -> WindowCount {
        WindowCount { current, previous }
    }

    #[test]
    fn memory_refuses_without_counting_and_windows_slide() {
        let m = MemoryLimits::default();
        let t = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        let client = Window {
            key: "a".into(),
            limit: 2,
            window: Duration::from_secs(1),
        };
        let overall = Window {
            key: "all".into(),
            limit: 3,
            window: Duration::from_secs(1),
        };
        let both = [client.clone(), overall.clone()];
        assert!(matches!(m.hit_now(&both, t(0)), HitOutcome::Allowed(_)));
        assert!(matches!(m.hit_now(&both, t(1)), HitOutcome::Allowed(_)));
        assert_eq!(
            m.hit_now(&both, t(2)),
            HitOutcome::Refused {
                index: 0,
                count: c(2, 0)
            }
        );
        // The refusal used none of the overall allowance.
        let other = [
            Window {
                key: "b".into(),
                ..client
            },
            overall,
        ];
        assert!(matches!(m.hit_now(&other, t(3)), HitOutcome::Allowed(_)));
        assert!(matches!(
            m.hit_now(&other, t(4)),
            HitOutcome::Refused { index: 1, .. }
        ));
        // Late in the next bucket the old hits weigh almost nothing.
        assert!(matches!(m.hit_now(&both, t(1_900)), HitOutcome::Allowed(_)));
    }

    #[test]
    fn budget_days() {
        let m = MemoryLimits::default();
        assert_eq!(
            m.spend_now("2026-01-01", 2, None),
            Spend::Granted { used: 1 }
        );
        assert_eq!(
            m.spend_now("2026-01-01", 2, None),
            Spend::Granted { used: 2 }
        );
        assert_eq!(m.spend_now("2026-01-01", 2, None), Spend::Spent { used: 2 });
        assert_eq!(
            m.spend_now("2026-01-02", 2, None),
            Spend::Granted { used: 1 }
        );
        assert_eq!(m.spent_now("2026-01-01"), 2);
        // A client's share: refused when spent, and then the day's budget
        // is not touched either.
        let share = |counter| ClientBudget { counter, limit: 1 };
        let a = "2026-01-02:client:a";
        assert_eq!(
            m.spend_now("2026-01-02", 5, Some(share(a))),
            Spend::Granted { used: 2 }
        );
        assert_eq!(
            m.spend_now("2026-01-02", 5, Some(share(a))),
            Spend::ClientSpent { used: 1 }
        );
        assert_eq!(m.spent_now("2026-01-02"), 2);
        let b = "2026-01-02:client:b";
        assert_eq!(
            m.spend_now("2026-01-02", 5, Some(share(b))),
            Spend::Granted { used: 3 }
        );
        // Many clients' counters do not make today's pruned away.
        for i in 0..8 {
            let c = format!("2026-01-02:client:{i}");
            let client = ClientBudget {
                counter: &c,
                limit: 1,
            };
            m.spend_now("2026-01-02", 100, Some(client));
        }
        assert_eq!(m.spent_now(a), 1);
        assert_eq!(m.spent_now("2026-01-02"), 11);
    }
}
