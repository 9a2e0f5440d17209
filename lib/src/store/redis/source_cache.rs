//! [`SourceCache`] and [`UpstreamLease`] for [`RedisStore`]: the cache lives
//! in the job store's Redis, shared by every instance.
//!
//! Layout under the store's prefix `{p}`, each key with a TTL:
//! - `{p}cache:{source}:{key}`: hash `{exp, at, v}` (expiry and fetch
//!   instants in epoch ms, the value as JSON), TTL = the source's TTL;
//! - `{p}cache:{source}:{key}:fill`: `token|until_ms`, the single-flight
//!   fill lock, TTL = the fill lock's TTL;
//! - `{p}lease:{name}`: `token|until_ms`, the upstream lease (or
//!   `cooldown|until_ms`), TTL = the lease's or cool-down's length.
//!
//! One Lua script per transition (`lua/cache/`), each naming its `KEYS` and
//! `ARGV` in its header, called through its struct in `store::redis::scripts`.

use std::time::Duration;

use ::redis::Value;
use chrono::{DateTime, Utc};

use super::scripts::{
    CacheAbandonCall, CacheBeginCall, CacheCompleteCall, LeaseAcquireCall, LeaseReleaseCall,
};
use super::RedisStore;
use crate::store::source_cache::{CacheEntry, FillGate, LeaseGate, SourceCache, UpstreamLease};
use crate::store::{dur_ms, from_ms, to_ms, BoxFuture, Result, StoreError};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("source cache: {what}"))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parts(v: Value) -> Result<Vec<String>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| text(i).ok_or_else(|| corrupt("unexpected reply item")))
            .collect(),
        _ => Err(corrupt("unexpected reply")),
    }
}

fn ms_left(s: Option<&String>) -> Duration {
    Duration::from_millis(s.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0))
}

impl RedisStore {
    fn cache_key(&self, source: &str, key: &str) -> String {
        format!("{}cache:{source}:{key}", self.prefix())
    }
}

impl SourceCache for RedisStore {
    fn begin<'a>(
        &'a self,
        source: &'a str,
        key: &'a str,
        token: &'a str,
        now: DateTime<Utc>,
        fill_ttl: Duration,
    ) -> BoxFuture<'a, Result<FillGate>> {
        Box::pin(async move {
            let k = self.cache_key(source, key);
            let v = self
                .run(&CacheBeginCall {
                    fill: format!("{k}:fill"),
                    entry: k,
                    token: token.to_owned(),
                    now_ms: to_ms(now),
                    fill_ttl_ms: dur_ms(fill_ttl),
                    hour: Some(self.cache_counts(source, now)),
                })
                .await?;
            let p = parts(v)?;
            match p.first().map(String::as_str) {
                Some("hit") => {
                    let at = p.get(1).and_then(|s| s.parse::<i64>().ok());
                    let value = p
                        .get(2)
                        .and_then(|s| serde_json::from_str(s).ok())
                        .ok_or_else(|| corrupt("undecodable entry"))?;
                    Ok(FillGate::Hit(CacheEntry {
                        value,
                        fetched_at: at.and_then(from_ms).unwrap_or(now),
                    }))
                }
                Some("fill") => Ok(FillGate::Fill),
                Some("wait") => Ok(FillGate::Wait(ms_left(p.get(1)))),
                _ => Err(corrupt("unexpected begin reply")),
            }
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
            let k = self.cache_key(source, key);
            let _ = self
                .run(&CacheCompleteCall {
                    fill: format!("{k}:fill"),
                    entry: k,
                    token: token.to_owned(),
                    now_ms: to_ms(now),
                    ttl_ms: dur_ms(ttl),
                    value: value.to_string(),
                })
                .await?;
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
            let k = self.cache_key(source, key);
            let _ = self
                .run(&CacheAbandonCall {
                    fill: format!("{k}:fill"),
                    token: token.to_owned(),
                })
                .await?;
            Ok(())
        })
    }
}

impl UpstreamLease for RedisStore {
    fn acquire<'a>(
        &'a self,
        name: &'a str,
        token: &'a str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<LeaseGate>> {
        Box::pin(async move {
            let v = self
                .run(&LeaseAcquireCall {
                    lease: format!("{}lease:{name}", self.prefix()),
                    token: token.to_owned(),
                    now_ms: to_ms(now),
                    ttl_ms: dur_ms(ttl),
                })
                .await?;
            let p = parts(v)?;
            match p.first().map(String::as_str) {
                Some("ok") => Ok(LeaseGate::Granted),
                Some("busy") => Ok(LeaseGate::Busy(ms_left(p.get(1)))),
                Some("cooldown") => Ok(LeaseGate::CoolingDown(ms_left(p.get(1)))),
                _ => Err(corrupt("unexpected lease reply")),
            }
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
            let _ = self
                .run(&LeaseReleaseCall {
                    lease: format!("{}lease:{name}", self.prefix()),
                    token: token.to_owned(),
                    now_ms: to_ms(now),
                    cooldown_ms: dur_ms(cooldown),
                })
                .await?;
            Ok(())
        })
    }
}
