//! [`LimitStore`] on Redis: `lua/rate_limit.lua` and `lua/spend_budget.lua`,
//! one atomic script per call, every key in `KEYS`.
//!
//! Keys under the store's prefix `{p}`:
//! - `{p}rl:{name}:{bucket}`: hits of one sliding-window bucket (a string
//!   counter living two windows and a second);
//! - `{p}budget:{YYYY-MM-DD}`: paid calls taken that UTC day (two days);
//! - `{p}budget:{YYYY-MM-DD}:client:{hash}`: those taken for one client.

use ::redis::Value;
use chrono::{DateTime, Utc};

use super::scripts::{RateLimitCall, RateWindow, SpendBudgetCall};
use super::{corrupt, string, unavailable, RedisStore};
use crate::store::limits::{
    bucket, window_ms, ClientBudget, HitOutcome, LimitStore, Spend, Window, WindowCount,
};
use crate::store::{to_ms, BoxFuture, Result};

/// How long a budget day's counter lives: two days, so yesterday's count is
/// still there to read around midnight.
const BUDGET_TTL_MS: i64 = 2 * 24 * 3600 * 1000;

fn ints(v: Value) -> Result<Vec<u64>> {
    let items = match v {
        Value::Array(items) => items,
        _ => return Err(corrupt("expected an array reply")),
    };
    items
        .into_iter()
        .map(|v| {
            string(v)?
                .parse::<u64>()
                .map_err(|_| corrupt("expected an integer"))
        })
        .collect()
}

impl RedisStore {
    fn budget_key(&self, day: &str) -> String {
        format!("{}budget:{day}", self.prefix)
    }

    async fn hit_windows(&self, windows: &[Window], now: DateTime<Utc>) -> Result<HitOutcome> {
        if windows.is_empty() {
            return Ok(HitOutcome::Allowed(Vec::new()));
        }
        let now_ms = to_ms(now);
        let inv = RateLimitCall {
            now_ms,
            windows: windows
                .iter()
                .map(|w| {
                    let wms = window_ms(w.window);
                    let b = bucket(now_ms, wms);
                    RateWindow {
                        current: format!("{}rl:{}:{b}", self.prefix, w.key),
                        previous: format!("{}rl:{}:{}", self.prefix, w.key, b - 1),
                        limit: w.limit,
                        window_ms: wms,
                    }
                })
                .collect(),
        };
        let reply = self.run(&inv).await?;
        let n = ints(reply)?;
        match n.split_first() {
            Some((1, rest)) => Ok(HitOutcome::Allowed(
                rest.chunks(2)
                    .map(|c| WindowCount {
                        current: c[0],
                        previous: c.get(1).copied().unwrap_or(0),
                    })
                    .collect(),
            )),
            Some((0, [index, current, previous])) => Ok(HitOutcome::Refused {
                index: usize::try_from(*index).map_err(|_| corrupt("window index"))?,
                count: WindowCount {
                    current: *current,
                    previous: *previous,
                },
            }),
            _ => Err(corrupt("unexpected rate limit reply")),
        }
    }
}

impl RedisStore {
    async fn peek_window(&self, w: &Window, now: DateTime<Utc>) -> Result<WindowCount> {
        let b = bucket(to_ms(now), window_ms(w.window));
        let mut conn = self.conn.clone();
        let n: Vec<Option<u64>> = ::redis::cmd("MGET")
            .arg(format!("{}rl:{}:{b}", self.prefix, w.key))
            .arg(format!("{}rl:{}:{}", self.prefix, w.key, b - 1))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(WindowCount {
            current: n.first().copied().flatten().unwrap_or(0),
            previous: n.get(1).copied().flatten().unwrap_or(0),
        })
    }
}

impl LimitStore for RedisStore {
    fn hit<'a>(
        &'a self,
        windows: &'a [Window],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<HitOutcome>> {
        Box::pin(self.hit_windows(windows, now))
    }

    fn spend<'a>(
        &'a self,
        day: &'a str,
        limit: u64,
        client: Option<ClientBudget<'a>>,
    ) -> BoxFuture<'a, Result<Spend>> {
        Box::pin(async move {
            let inv = SpendBudgetCall {
                counter: self.budget_key(day),
                limit,
                lifetime_ms: BUDGET_TTL_MS,
                client: client.map(|c| (self.budget_key(c.counter), c.limit)),
            };
            let reply = self.run(&inv).await?;
            match ints(reply)?.as_slice() {
                [1, used] => Ok(Spend::Granted { used: *used }),
                [0, used] => Ok(Spend::Spent { used: *used }),
                [2, used] => Ok(Spend::ClientSpent { used: *used }),
                _ => Err(corrupt("unexpected budget reply")),
            }
        })
    }

    fn peek<'a>(
        &'a self,
        window: &'a Window,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<WindowCount>> {
        Box::pin(self.peek_window(window, now))
    }

    fn spent<'a>(&'a self, day: &'a str) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let used: Option<u64> = ::redis::cmd("GET")
                .arg(self.budget_key(day))
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(used.unwrap_or(0))
        })
    }
}
