//! [`OpsStore`] for [`RedisStore`]: the operators' facts in the job
//! store's Redis.
//!
//! Layout under the prefix `{p}`:
//! - `{p}ops:jobs` (every live job) and `{p}ops:status:{status}` (one per
//!   status): sorted sets id → created ms, written by `create.lua`,
//!   `claim.lua` and `finish.lua` in the step that changes the status
//!   (common.lua's `ops_file`), emptied of a job by `erase.lua`;
//! - `{p}ops:ids`: sorted set of every id at score 0 (lexical order, for
//!   an id-prefix search with `ZRANGEBYLEX`);
//! - `{p}ops:expiry`: sorted set id → when the job's keys expire (ms), set
//!   by every job write (common.lua's `ops_touch`) and read by
//!   `ops_prune.lua`;
//! - `{p}ops:hour:{hour ms}`: hash of one hour's counters (`record.lua`,
//!   `cache/begin.lua`), TTL [`HOUR_RETENTION`];
//! - `{p}ops:sweeps`: list of the last sweeps' reports (JSON, newest first).
//!
//! The index keys' TTL is extended with every job write, as the due
//! index's is, so they expire only once no job is left.

use ::redis::Value;
use chrono::{DateTime, Utc};

use super::scripts::{HourCount, OpsKeys, OpsPruneCall};
use super::{corrupt, unavailable, RedisStore};
use crate::model::{JobId, JobStatus, JobSummary};
use crate::store::health::{judge, EvictionPolicy, Verdict};
use crate::store::ops::{
    cache_field, hour_of, newest_first, HourCounts, JobPage, ListQuery, OpsStore, StoreAbout,
    SweepLog, HOUR_RETENTION, PREFIX_CANDIDATES, PRUNE_BATCH, STATUSES, SWEEP_LOG_LIMIT,
};
use crate::store::{dur_ms, from_ms, to_ms, BoxFuture, Result};

/// How long the sweep log lives after the last sweep.
const SWEEP_LOG_TTL_SECS: i64 = 7 * 24 * 3600;

/// Prune steps one [`OpsStore::prune`] call makes at most.
const PRUNE_STEPS: usize = 10;

impl RedisStore {
    /// The operators' index keys.
    pub(super) fn ops_keys(&self) -> OpsKeys {
        let p = &self.prefix;
        OpsKeys {
            jobs: format!("{p}ops:jobs"),
            ids: format!("{p}ops:ids"),
            expiry: format!("{p}ops:expiry"),
            statuses: STATUSES.map(|st| format!("{p}ops:status:{st}")),
        }
    }

    fn hour_key(&self, hour_ms: i64) -> String {
        format!("{}ops:hour:{hour_ms}", self.prefix)
    }

    /// `field` of the hour `now` falls in, to add one to.
    pub(super) fn hour_count(&self, now: DateTime<Utc>, field: String) -> HourCount {
        HourCount {
            key: self.hour_key(hour_of(now)),
            field,
            ttl_ms: dur_ms(HOUR_RETENTION),
        }
    }

    /// `cache/begin.lua`'s counters for `source` at `now`: key, hit field,
    /// miss field, TTL.
    pub(super) fn cache_counts(
        &self,
        source: &str,
        now: DateTime<Utc>,
    ) -> (String, String, String, i64) {
        (
            self.hour_key(hour_of(now)),
            cache_field(source, true),
            cache_field(source, false),
            dur_ms(HOUR_RETENTION),
        )
    }

    fn sweeps_key(&self) -> String {
        format!("{}ops:sweeps", self.prefix)
    }

    /// One prune step: the ids expired by `now_ms`; `Ok(None)` when none.
    async fn prune_step(&self, now_ms: i64) -> Result<Option<usize>> {
        let ops = self.ops_keys();
        let mut conn = self.conn.clone();
        let ids: Vec<String> = ::redis::cmd("ZRANGEBYSCORE")
            .arg(&ops.expiry)
            .arg("-inf")
            .arg(now_ms)
            .arg("LIMIT")
            .arg(0)
            .arg(PRUNE_BATCH)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(None);
        }
        let candidates = ids
            .into_iter()
            .map(|id| (format!("{}job:{id}", self.prefix), id))
            .collect();
        let call = OpsPruneCall {
            ops,
            now_ms,
            candidates,
        };
        let dropped: i64 = ::redis::from_redis_value(self.run(&call).await?)
            .map_err(|_| corrupt("prune reply"))?;
        Ok(Some(usize::try_from(dropped).unwrap_or(0)))
    }

    /// The summaries of `ids` that still exist, read concurrently.
    async fn summaries(&self, ids: Vec<JobId>) -> Result<Vec<JobSummary>> {
        let reads = ids.into_iter().map(|id| self.summary_of(id));
        let found = futures::future::try_join_all(reads).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// A prefix search: the first [`PREFIX_CANDIDATES`] ids by id order.
    async fn prefix_candidates(&self, prefix: &str) -> Result<Vec<JobId>> {
        let mut conn = self.conn.clone();
        let mut max = format!("[{prefix}").into_bytes();
        max.push(0xff);
        let ids: Vec<String> = ::redis::cmd("ZRANGEBYLEX")
            .arg(self.ops_keys().ids)
            .arg(format!("[{prefix}"))
            .arg(max)
            .arg("LIMIT")
            .arg(0)
            .arg(PREFIX_CANDIDATES)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(ids.iter().filter_map(|i| JobId::parse(i).ok()).collect())
    }

    async fn list_prefix(&self, query: &ListQuery, prefix: &str) -> Result<JobPage> {
        let ids = self.prefix_candidates(prefix).await?;
        let mut rows = self.summaries(ids).await?;
        rows.retain(|r| query.status.is_none_or(|st| r.status == st));
        Ok(JobPage::of_all(rows, query))
    }

    async fn list_index(&self, query: &ListQuery) -> Result<JobPage> {
        let ops = self.ops_keys();
        let key = match query.status {
            Some(st) => status_key(&ops, st),
            None => ops.jobs,
        };
        if query.limit == 0 {
            return Ok(JobPage::default());
        }
        let mut conn = self.conn.clone();
        let (total, ids): (u64, Vec<String>) = ::redis::pipe()
            .cmd("ZCARD")
            .arg(&key)
            .cmd("ZREVRANGE")
            .arg(&key)
            .arg(query.offset)
            .arg(query.offset + query.limit - 1)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let ids = ids.iter().filter_map(|i| JobId::parse(i).ok()).collect();
        let mut rows = self.summaries(ids).await?;
        newest_first(&mut rows);
        Ok(JobPage { rows, total })
    }
}

fn status_key(ops: &OpsKeys, status: JobStatus) -> String {
    let i = STATUSES.iter().position(|s| *s == status).unwrap_or(0);
    ops.statuses[i].clone()
}

/// A hash reply (RESP2 flat array or RESP3 map) as field → count.
fn counts(v: Value) -> Result<std::collections::BTreeMap<String, u64>> {
    let map: std::collections::HashMap<String, u64> =
        ::redis::from_redis_value(v).map_err(|_| corrupt("hour counters"))?;
    Ok(map.into_iter().collect())
}

/// `INFO memory`'s `name:value` line's value.
fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

impl OpsStore for RedisStore {
    fn about(&self) -> BoxFuture<'_, Result<StoreAbout>> {
        Box::pin(async move {
            let policy = self.eviction_policy().await?;
            let (eviction_policy, warning) = match &policy {
                EvictionPolicy::Off => (Some("noeviction".to_owned()), None),
                EvictionPolicy::Evicts(p) => (Some(p.clone()), None),
                EvictionPolicy::Unknown => (None, None),
            };
            let eviction_warning = match judge(&policy, false) {
                Verdict::Ok => warning,
                Verdict::Warn(m) | Verdict::Refuse(m) => Some(m),
            };
            let mut conn = self.conn.clone();
            // Refused or unknown on some hosts: then memory is not shown.
            let info: Option<String> = ::redis::cmd("INFO")
                .arg("memory")
                .query_async(&mut conn)
                .await
                .ok();
            let info = info.unwrap_or_default();
            Ok(StoreAbout {
                kind: "redis",
                eviction_policy,
                eviction_warning,
                used_memory: info_field(&info, "used_memory_human"),
                max_memory: info_field(&info, "maxmemory_human"),
            })
        })
    }
    fn prune(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<usize>> {
        Box::pin(async move {
            let mut dropped = 0;
            for _ in 0..PRUNE_STEPS {
                match self.prune_step(to_ms(now)).await? {
                    Some(n) => dropped += n,
                    None => break,
                }
            }
            Ok(dropped)
        })
    }

    fn counts(&self) -> BoxFuture<'_, Result<Vec<(JobStatus, u64)>>> {
        Box::pin(async move {
            let ops = self.ops_keys();
            let mut pipe = ::redis::pipe();
            for key in &ops.statuses {
                pipe.cmd("ZCARD").arg(key);
            }
            let mut conn = self.conn.clone();
            let n: Vec<u64> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
            Ok(STATUSES.into_iter().zip(n).collect())
        })
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<JobPage>> {
        Box::pin(async move {
            match &query.id_prefix {
                Some(prefix) => self.list_prefix(query, prefix).await,
                None => self.list_index(query).await,
            }
        })
    }

    fn indexed(&self) -> BoxFuture<'_, Result<Vec<(JobId, JobStatus)>>> {
        Box::pin(async move {
            let ops = self.ops_keys();
            let mut pipe = ::redis::pipe();
            for key in &ops.statuses {
                pipe.cmd("ZRANGE").arg(key).arg(0).arg(-1);
            }
            let mut conn = self.conn.clone();
            let lists: Vec<Vec<String>> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
            let mut out = Vec::new();
            for (st, ids) in STATUSES.into_iter().zip(lists) {
                for id in ids {
                    let id = JobId::parse(&id).map_err(|e| corrupt(format!("index id: {e}")))?;
                    out.push((id, st));
                }
            }
            Ok(out)
        })
    }

    fn hours(&self, from: i64, to: i64) -> BoxFuture<'_, Result<Vec<HourCounts>>> {
        Box::pin(async move {
            let hours: Vec<i64> = (from..=to).step_by(3_600_000).collect();
            let mut pipe = ::redis::pipe();
            for h in &hours {
                pipe.cmd("HGETALL").arg(self.hour_key(*h));
            }
            let mut conn = self.conn.clone();
            let replies: Vec<Value> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
            let mut out = Vec::new();
            for (h, v) in hours.into_iter().zip(replies) {
                let counts = counts(v)?;
                if let (false, Some(hour)) = (counts.is_empty(), from_ms(h)) {
                    out.push(HourCounts { hour, counts });
                }
            }
            Ok(out)
        })
    }

    fn log_sweep(&self, log: SweepLog) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let json = serde_json::to_string(&log).map_err(|e| corrupt(e.to_string()))?;
            let key = self.sweeps_key();
            let mut conn = self.conn.clone();
            // One transaction: the list never holds more than the limit.
            let () = ::redis::pipe()
                .atomic()
                .cmd("LPUSH")
                .arg(&key)
                .arg(json)
                .ignore()
                .cmd("LTRIM")
                .arg(&key)
                .arg(0)
                .arg(SWEEP_LOG_LIMIT - 1)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(SWEEP_LOG_TTL_SECS)
                .ignore()
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn sweeps(&self) -> BoxFuture<'_, Result<Vec<SweepLog>>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let items: Vec<String> = ::redis::cmd("LRANGE")
                .arg(self.sweeps_key())
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            items
                .iter()
                .map(|i| serde_json::from_str(i).map_err(|e| corrupt(format!("sweep log: {e}"))))
                .collect()
        })
    }
}
