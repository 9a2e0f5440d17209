//! The console's view models: what each page shows, read from the store
//! (its operators' facts, `store::ops`) and the engine, independent of the
//! HTTP layer and of the templates. Each is serialisable: the same value
//! is the page's JSON (`Accept: application/json`) and the template's
//! input.
//!
//! Nothing here is more than the family gave or the service made: the
//! stored (already minimised) questionnaire, the homes chosen, the slots'
//! states and the history. The client's hashed address bucket is left out.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::Engine;
use crate::model::{HistoryEntry, Job, JobId, JobStatus, JobSummary, Slot, SlotStatus, SourceType};
use crate::store::limits::budget_day;
use crate::store::ops::{
    hour_of, HourCounts, JobPage, ListQuery, Outcome, StoreAbout, SweepLog, STATUSES,
};
use crate::store::StoreError;

/// Rows per page of the jobs list.
pub const PAGE_SIZE: usize = 25;
/// Partial jobs the overview explains (newest first).
pub const PARTIAL_SHOWN: usize = 25;

/// One missing (home, source) slot of a partial job, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingSlot {
    /// The home.
    pub home_name: String,
    /// Its directory id.
    pub home_id: String,
    /// The source.
    pub source: SourceType,
    /// The last error.
    pub error: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// The next automatic attempt, if one is scheduled.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A partial job and why it is partial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartialJob {
    /// Its id.
    pub id: JobId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Whether the sweep still retries it by itself.
    pub will_auto_retry: bool,
    /// When the sweep next looks at it (the due index), if it will.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Seconds left in its retry window (0 once closed).
    pub window_left_secs: i64,
    /// The slots still missing.
    pub missing: Vec<MissingSlot>,
}

/// One source's last 24 hours.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SourceHealth {
    /// The source.
    pub source: Option<SourceType>,
    /// Attempts that loaded data.
    pub loaded: u64,
    /// Attempts the source answered "no record".
    pub not_found: u64,
    /// Transient failures.
    pub transient: u64,
    /// Permanent failures.
    pub permanent: u64,
    /// Failures among all attempts, in percent (`None` without attempts).
    pub failure_rate_percent: Option<u64>,
    /// Source-cache hits.
    pub cache_hits: u64,
    /// Source-cache misses (an upstream call followed).
    pub cache_misses: u64,
    /// Hits among lookups, in percent (`None` without lookups).
    pub cache_hit_rate_percent: Option<u64>,
}

/// The day's paid-call budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// The UTC day.
    pub day: String,
    /// Paid calls taken that day.
    pub used: Option<u64>,
    /// The day's limit (`None`: unmetered).
    pub limit: Option<u64>,
}

/// `GET /api/ops`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overview {
    /// When it was read.
    pub now: DateTime<Utc>,
    /// Live jobs per status.
    pub counts: Vec<(JobStatus, u64)>,
    /// The newest partial jobs, and why.
    pub partial: Vec<PartialJob>,
    /// Per source, the last 24 hours.
    pub sources: Vec<SourceHealth>,
    /// The budget.
    pub budget: Budget,
    /// The last sweeps, newest first.
    pub sweeps: Vec<SweepLog>,
    /// What the store says about itself.
    pub store: StoreAbout,
}

/// `GET /api/ops/jobs`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobList {
    /// The status filter.
    pub status: Option<JobStatus>,
    /// The id (prefix) searched.
    pub q: Option<String>,
    /// The page (from 1).
    pub page: usize,
    /// Pages in all.
    pub pages: usize,
    /// Jobs matching in all.
    pub total: u64,
    /// This page's jobs, newest first.
    pub rows: Vec<JobSummary>,
}

/// One home's slots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HomeSlots {
    /// Its directory id.
    pub home_id: String,
    /// Its name.
    pub home_name: String,
    /// Its (home, source) slots, in plan order.
    pub slots: Vec<Slot>,
}

/// `GET /api/ops/jobs/{job_id}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobDetail {
    /// The job's status fields.
    pub summary: JobSummary,
    /// Its retry deadline.
    pub deadline_at: DateTime<Utc>,
    /// Whether the sweep still retries it by itself.
    pub will_auto_retry: bool,
    /// When the sweep next looks at it, if it will.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// The last manual retry.
    pub last_manual_retry_at: Option<DateTime<Utc>>,
    /// The questionnaire as stored (already minimised at start).
    pub questionnaire: serde_json::Value,
    /// Its homes, each with every slot.
    pub homes: Vec<HomeSlots>,
    /// Its history, oldest first.
    pub history: Vec<HistoryEntry>,
}

fn ops(engine: &Engine) -> Result<&dyn crate::store::OpsStore, StoreError> {
    engine
        .store()
        .ops()
        .ok_or_else(|| StoreError::Unavailable("this store keeps no operators' facts".into()))
}

/// Reads the overview; `daily_limit` is the configured budget.
pub async fn overview(engine: &Engine, daily_limit: Option<u64>) -> Result<Overview, StoreError> {
    let ops = ops(engine)?;
    let now = engine.now();
    ops.prune(now).await?;
    let to = hour_of(now);
    let hours = ops.hours(to - 23 * 3_600_000, to).await?;
    let used = match engine.store().limits() {
        Some(l) => Some(l.spent(&budget_day(now)).await?),
        None => None,
    };
    Ok(Overview {
        now,
        counts: ops.counts().await?,
        partial: partial_jobs(engine, now).await?,
        sources: source_health(&hours),
        budget: Budget {
            day: budget_day(now),
            used,
            limit: daily_limit,
        },
        sweeps: ops.sweeps().await?,
        store: ops.about().await?,
    })
}

async fn partial_jobs(engine: &Engine, now: DateTime<Utc>) -> Result<Vec<PartialJob>, StoreError> {
    let query = ListQuery {
        status: Some(JobStatus::Partial),
        id_prefix: None,
        offset: 0,
        limit: PARTIAL_SHOWN,
    };
    let page = ops(engine)?.list(&query).await?;
    let mut out = Vec::with_capacity(page.rows.len());
    for row in page.rows {
        let Some(job) = engine.store().get(row.id).await? else {
            continue;
        };
        let next_retry_at = engine.store().due_at(job.id).await?;
        out.push(PartialJob {
            id: job.id,
            created_at: job.created_at,
            will_auto_retry: job.will_auto_retry,
            next_retry_at,
            window_left_secs: (job.deadline_at - now).num_seconds().max(0),
            missing: missing_slots(&job),
        });
    }
    Ok(out)
}

fn missing_slots(job: &Job) -> Vec<MissingSlot> {
    job.slots
        .iter()
        .filter(|s| s.status == SlotStatus::Missing)
        .map(|s| MissingSlot {
            home_name: s.home_name.clone(),
            home_id: s.home_id.clone(),
            source: s.source_type,
            error: s.error.clone(),
            attempts: s.attempts,
            next_attempt_at: s.next_attempt_at,
        })
        .collect()
}

fn percent(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| part.saturating_mul(100) / whole)
}

/// The source cache's names for a source's entries: the neighbourhood
/// caches its two upstreams' answers (`sources::neighbourhood`).
fn cache_names(source: SourceType) -> Vec<&'static str> {
    match source {
        SourceType::Neighbourhood => vec!["postcodes", "overpass"],
        other => vec![other.as_str()],
    }
}

/// Per source, the sums of `hours`' counters.
pub fn source_health(hours: &[HourCounts]) -> Vec<SourceHealth> {
    let sum = |field: &str| -> u64 { hours.iter().filter_map(|h| h.counts.get(field)).sum() };
    SourceType::ALL
        .into_iter()
        .map(|source| {
            let n = |o: Outcome| sum(&crate::store::ops::outcome_field(source.as_str(), o));
            let (loaded, not_found) = (n(Outcome::Loaded), n(Outcome::NotFound));
            let (transient, permanent) = (n(Outcome::Transient), n(Outcome::Permanent));
            let cached = |hit: bool| -> u64 {
                cache_names(source)
                    .iter()
                    .map(|name| sum(&crate::store::ops::cache_field(name, hit)))
                    .sum()
            };
            let (hits, misses) = (cached(true), cached(false));
            let failed = transient + permanent;
            SourceHealth {
                source: Some(source),
                loaded,
                not_found,
                transient,
                permanent,
                failure_rate_percent: percent(failed, failed + loaded + not_found),
                cache_hits: hits,
                cache_misses: misses,
                cache_hit_rate_percent: percent(hits, hits + misses),
            }
        })
        .collect()
}

/// Reads one page of jobs (`page` from 1).
pub async fn job_list(
    engine: &Engine,
    status: Option<JobStatus>,
    q: Option<String>,
    page: usize,
) -> Result<JobList, StoreError> {
    let ops = ops(engine)?;
    ops.prune(engine.now()).await?;
    let page = page.max(1);
    let query = ListQuery {
        status,
        id_prefix: q.clone(),
        offset: (page - 1).saturating_mul(PAGE_SIZE),
        limit: PAGE_SIZE,
    };
    let JobPage { rows, total } = ops.list(&query).await?;
    let pages = usize::try_from(total)
        .unwrap_or(usize::MAX)
        .div_ceil(PAGE_SIZE)
        .max(1);
    Ok(JobList {
        status,
        q,
        page,
        pages,
        total,
        rows,
    })
}

/// Reads one job; `None` when the store does not hold it.
pub async fn job_detail(engine: &Engine, id: JobId) -> Result<Option<JobDetail>, StoreError> {
    let store = engine.store();
    let Some(job) = store.get(id).await? else {
        return Ok(None);
    };
    let history = match store.history(id).await {
        Ok(h) => h,
        // Erased or expired between the two reads.
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let next_retry_at = store.due_at(id).await?;
    let mut homes: Vec<HomeSlots> = Vec::new();
    for slot in &job.slots {
        match homes.iter_mut().find(|h| h.home_id == slot.home_id) {
            Some(h) => h.slots.push(slot.clone()),
            None => homes.push(HomeSlots {
                home_id: slot.home_id.clone(),
                home_name: slot.home_name.clone(),
                slots: vec![slot.clone()],
            }),
        }
    }
    Ok(Some(JobDetail {
        summary: job.summary(),
        deadline_at: job.deadline_at,
        will_auto_retry: job.will_auto_retry,
        next_retry_at,
        last_manual_retry_at: job.last_manual_retry_at,
        questionnaire: job.questionnaire,
        homes,
        history,
    }))
}

/// Every status, for filters.
pub fn statuses() -> [JobStatus; 5] {
    STATUSES
}
