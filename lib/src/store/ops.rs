//! What the operators' console reads: facts the store keeps about all jobs,
//! written by the same atomic steps that change the jobs, never found by
//! walking the keyspace (`SCAN` is billed per call on Upstash and walks
//! everything; ../shared/research/UPSTASH_CONSOLE_WAITING.md, B).
//!
//! - **Jobs by status**: an index of every live job (newest first), one per
//!   status, and one by id for prefix search. The counters are the
//!   per-status indexes' sizes, so a count and its list never disagree.
//!   `create`, `claim` and `finish` file a job under its new status in the
//!   same step as the change; erasure removes it from every index. A job
//!   whose keys expired is dropped from the indexes by [`OpsStore::prune`]
//!   (the sweep calls it; every console read calls it first), which checks
//!   that the job is really gone.
//! - **Per-source outcomes per hour** (loaded, transient, permanent, not
//!   found), counted by `record` when the answer is committed, and
//!   **source-cache hits and misses** per hour, counted by the cache's
//!   `begin`; each hour's counters live [`HOUR_RETENTION`].
//! - **The last sweeps' reports**, newest first, at most [`SWEEP_LOG_LIMIT`].
//!
//! The daily budget used is the budget counter itself
//! ([`super::LimitStore::spent`]).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{BoxFuture, Result};
use crate::model::{JobId, JobStatus, JobSummary};

/// How long one hour's counters are kept after the hour began: the console
/// shows the last 24 hours; the margin covers a clock that lags.
pub const HOUR_RETENTION: Duration = Duration::from_secs(48 * 3600);

/// How many sweep reports are kept.
pub const SWEEP_LOG_LIMIT: usize = 20;

/// The most ids one prune step checks (the sweep repeats it until none is
/// left); bounded so a script never runs long.
pub const PRUNE_BATCH: usize = 100;

/// The most candidates an id-prefix search looks at.
pub const PREFIX_CANDIDATES: usize = 200;

/// Every job status, in the order the console shows them.
pub const STATUSES: [JobStatus; 5] = [
    JobStatus::Pending,
    JobStatus::Processing,
    JobStatus::Completed,
    JobStatus::Partial,
    JobStatus::Failed,
];

/// How one committed attempt at a source ended, for the per-source counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The source answered with data (from the source cache or upstream).
    Loaded,
    /// The source has no record of the home.
    NotFound,
    /// A failure worth retrying (timeout, 5xx, 429, budget spent).
    Transient,
    /// A failure not worth retrying (bad key, 4xx).
    Permanent,
}

impl Outcome {
    /// Every outcome, in display order.
    pub const ALL: [Outcome; 4] = [
        Outcome::Loaded,
        Outcome::NotFound,
        Outcome::Transient,
        Outcome::Permanent,
    ];

    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::NotFound => "not_found",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        }
    }
}

/// The start of the hour `now` falls in, in epoch milliseconds: the name
/// of that hour's counters.
pub fn hour_of(now: DateTime<Utc>) -> i64 {
    let ms = super::to_ms(now);
    ms - ms.rem_euclid(3_600_000)
}

/// The counter field of a committed attempt at `source`.
pub fn outcome_field(source: &str, outcome: Outcome) -> String {
    format!("src:{source}:{}", outcome.as_str())
}

/// The counter field of a source-cache lookup of `source`.
pub fn cache_field(source: &str, hit: bool) -> String {
    format!("cache:{source}:{}", if hit { "hit" } else { "miss" })
}

/// One hour's counters, by field (see [`outcome_field`], [`cache_field`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HourCounts {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// Field → count; absent fields are zero.
    pub counts: BTreeMap<String, u64>,
}

/// What [`OpsStore::list`] asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only jobs in this status (`None`: all).
    pub status: Option<JobStatus>,
    /// Only jobs whose id starts with this ([`valid_prefix`]).
    pub id_prefix: Option<String>,
    /// Rows to skip (newest first).
    pub offset: usize,
    /// Rows to return.
    pub limit: usize,
}

/// One page of jobs, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JobPage {
    /// The rows.
    pub rows: Vec<JobSummary>,
    /// How many jobs match in all (for a prefix search, of the candidates
    /// looked at).
    pub total: u64,
}

/// One sweep's report as kept.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct SweepLog {
    /// When the sweep finished.
    pub at: DateTime<Utc>,
    /// Its report (the cron endpoint's `result`).
    pub report: serde_json::Value,
}

/// What the store says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreAbout {
    /// `"memory"` or `"redis"`.
    pub kind: &'static str,
    /// Redis' `maxmemory-policy`, when it can be read.
    pub eviction_policy: Option<String>,
    /// The verdict on it (`store::health::judge`): `None` when safe, else
    /// the warning.
    pub eviction_warning: Option<String>,
    /// Memory in use, as the store words it (`INFO memory`), when known.
    pub used_memory: Option<String>,
    /// The memory limit, when known (`0B`: none).
    pub max_memory: Option<String>,
}

/// The operators' facts (memory and Redis; contract-tested on both).
pub trait OpsStore: Send + Sync {
    /// What the store reports about itself.
    fn about(&self) -> BoxFuture<'_, Result<StoreAbout>>;

    /// Drops from the indexes up to [`PRUNE_BATCH`] jobs whose keys expired
    /// by `now` (each checked to be really gone). Returns how many.
    fn prune(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<usize>>;

    /// Live jobs per status, in [`STATUSES`] order (zeros included).
    fn counts(&self) -> BoxFuture<'_, Result<Vec<(JobStatus, u64)>>>;

    /// Jobs matching `query`, newest first (ties by id).
    fn list<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<JobPage>>;

    /// Every live job id in the index with its status (for the invariant
    /// checker; a console never needs all).
    fn indexed(&self) -> BoxFuture<'_, Result<Vec<(JobId, JobStatus)>>>;

    /// The counters of the hours from `from` to `to` (hour starts, epoch
    /// ms, both included), oldest first; hours with no counts are left out.
    fn hours(&self, from: i64, to: i64) -> BoxFuture<'_, Result<Vec<HourCounts>>>;

    /// Keeps one sweep's report (dropping the oldest beyond
    /// [`SWEEP_LOG_LIMIT`]).
    fn log_sweep(&self, log: SweepLog) -> BoxFuture<'_, Result<()>>;

    /// The kept sweep reports, newest first.
    fn sweeps(&self) -> BoxFuture<'_, Result<Vec<SweepLog>>>;
}

/// Orders summaries newest first, ties by id (as both stores list them).
pub(crate) fn newest_first(rows: &mut [JobSummary]) {
    // A job id orders as its hyphenated lower-case text does (the UUID's
    // bytes): no string per comparison.
    rows.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });
}

impl JobPage {
    /// The page `query` asks for out of every matching row: newest first,
    /// `total` counting them all.
    pub(crate) fn of_all(mut rows: Vec<JobSummary>, query: &ListQuery) -> Self {
        newest_first(&mut rows);
        let total = rows.len() as u64;
        let rows = rows
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .collect();
        Self { rows, total }
    }
}

/// Whether `prefix` may be searched: 1 to 64 ASCII letters, digits and
/// hyphens (a job id's alphabet, whatever its form).
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_start_on_the_hour() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T15:42:10.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let h = hour_of(t);
        assert_eq!(
            super::super::from_ms(h).unwrap().to_rfc3339(),
            "2026-12-07T15:00:00+00:00"
        );
    }

    #[test]
    fn prefixes_are_id_alphabet_only() {
        assert!(valid_prefix("0f3a-"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("x*"));
        assert!(!valid_prefix("a b"));
        assert!(!valid_prefix(&"a".repeat(65)));
    }
}
