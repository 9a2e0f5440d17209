//! The in-memory [`JobStore`]: the dev-server's default and the reference the
//! Redis store is tested against.
//!
//! All state sits behind one `std::sync::Mutex`; every method is a single
//! critical section that never spans an `.await`, which gives the same
//! atomicity a Lua script gives in Redis. Data is kept in the shape Redis
//! keeps it (instants in whole milliseconds, slots by field name plus the
//! plan's order, a due index ordered by score then id) so both stores return
//! identical values.
//!
//! Retention is modelled like Redis models it: a job (and an idempotency
//! key) expires a retention period of *real* time after its last write, and
//! expired entries are dropped lazily when touched or met in the due index.
//! This is the only place the store reads the clock, because Redis' own
//! expiry runs on the server's clock too.
//!
//! The companions live beside it, one file per contract: `limits.rs`
//! (sliding windows and budget counters under their own lock), `ops.rs`
//! (the console's hourly counters and sweep log) and `source_cache.rs`
//! ([`MemorySourceCache`]); erasure is one critical section here.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

mod limits;
mod ops;
mod source_cache;

use self::limits::MemoryLimits;
pub use self::ops::MemoryOps;
pub use self::source_cache::MemorySourceCache;
use super::erase::{EraseStore, Erased};
use super::ops::{
    HourCounts, JobPage, ListQuery, OpsStore, StoreAbout, SweepLog, PREFIX_CANDIDATES, STATUSES,
};
use super::BoxFuture;
use super::{
    add_ms, dur_ms, refile_score, to_ms, trunc_ms, Claim, Created, Finish, JobStore,
    ManualRetryGate, NewJob, Record, Result, Retention, SavePlan, StoreError, HISTORY_LIMIT,
};
use crate::model::{
    completeness, HistoryEntry, HistoryEvent, Job, JobId, JobStatus, JobSummary, Lease, Slot,
    SlotKey, SlotStatus,
};

/// The in-memory store. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    retention: Retention,
    inner: Mutex<Inner>,
    /// The spend limits (their own lock: they never touch a job).
    limits: MemoryLimits,
    /// Hourly counters and the sweep log (shared with the memory source
    /// cache, which counts its hits and misses there).
    ops: std::sync::Arc<MemoryOps>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<JobId, Entry>,
    /// Creates since expired entries were last purged.
    creates_since_purge: usize,
    idempotency: HashMap<String, IdemEntry>,
    /// (score in epoch ms, job id): ordered like a Redis sorted set.
    due: BTreeSet<(i64, String)>,
    due_score: HashMap<JobId, i64>,
    /// The operators' index (`store::ops`): per status, (created ms, id)
    /// ordered like a Redis sorted set...
    by_status: HashMap<JobStatus, BTreeSet<(i64, String)>>,
    /// ...and where each job is filed.
    filed: HashMap<JobId, (JobStatus, i64)>,
}

/// One job. Its JSON documents (questionnaire, plan, source data) are kept
/// as text, as Redis keeps them: a parsed `serde_json::Value` tree takes
/// several times the memory of its text, and a dev-server holds thousands of
/// finished jobs.
#[derive(Debug)]
struct Entry {
    /// The job's scalar fields (`questionnaire` null, `plan` none: see
    /// below); `slots` and `completeness` are filled in on read.
    job: Job,
    questionnaire: Box<str>,
    plan: Option<Box<str>>,
    completeness: u8,
    slot_order: Vec<String>,
    slots: BTreeMap<String, Slot>,
    data: BTreeMap<String, Box<str>>,
    fence: u64,
    /// The job's history, oldest first, at most [`HISTORY_LIMIT`] entries.
    history: VecDeque<HistoryEntry>,
    expires: Instant,
}

#[derive(Debug)]
struct IdemEntry {
    job: JobId,
    fingerprint: String,
    expires: Instant,
}

impl MemoryStore {
    /// An empty store applying `retention` to every write.
    pub fn new(retention: Retention) -> Self {
        Self {
            retention,
            inner: Mutex::new(Inner::default()),
            limits: MemoryLimits::default(),
            ops: Default::default(),
        }
    }

    /// The hourly counters and sweep log, for a memory source cache to
    /// count its hits and misses in ([`MemorySourceCache::with_ops`]).
    pub fn ops_counters(&self) -> std::sync::Arc<MemoryOps> {
        self.ops.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied
        // transition visible (each one validates before it mutates), so a
        // poisoned lock is still safe to use.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn expiry(&self, deadline_at: DateTime<Utc>, now: DateTime<Utc>) -> Instant {
        Instant::now() + self.retention.ttl(deadline_at, now)
    }

    fn create_now(&self, mut new: NewJob, pending_grace: Duration) -> Result<Created> {
        let mut inner = self.lock();
        if let Some(taken) = inner.already_created(&new) {
            return taken;
        }
        let id = new.id;
        let idempotency = new.idempotency.take();
        let expires = self.expiry(trunc_ms(new.deadline_at), trunc_ms(new.now));
        let entry = Entry::pending(new, expires);
        let snapshot = entry.snapshot();
        let due = to_ms(add_ms(entry.job.created_at, pending_grace));
        inner.purge_now_and_then();
        let created = to_ms(entry.job.created_at);
        inner.jobs.insert(id, entry);
        inner.set_due(id, Some(due));
        inner.file(id, JobStatus::Pending, created);
        if let Some(idem) = idempotency {
            inner.idempotency.insert(
                idem.key,
                IdemEntry {
                    job: id,
                    fingerprint: idem.fingerprint,
                    expires,
                },
            );
        }
        Ok(Created::New(snapshot))
    }

    fn claim_now(&self, id: JobId, owner: &str, now: DateTime<Utc>, ttl: Duration) -> Claim {
        let now = trunc_ms(now);
        let mut inner = self.lock();
        let Some(entry) = inner.live(id) else {
            return Claim::Gone;
        };
        if matches!(entry.job.status, JobStatus::Completed | JobStatus::Failed) {
            return Claim::Finished(entry.job.status);
        }
        if let Some(held) = entry.job.lease.as_ref().filter(|l| now < l.expires_at) {
            return Claim::Held {
                until: held.expires_at,
            };
        }
        entry.fence += 1;
        let lease = Lease {
            job_id: id,
            owner: owner.to_owned(),
            token: entry.fence,
            expires_at: add_ms(now, ttl),
        };
        entry.job.lease = Some(lease.clone());
        if entry.job.status == JobStatus::Pending {
            entry.job.status = JobStatus::Processing;
        }
        entry.job.updated_at = now;
        entry.expires = self.expiry(entry.job.deadline_at, now);
        let claimed = HistoryEntry {
            token: Some(lease.token),
            job_status: Some(entry.job.status),
            progress: Some(entry.job.progress),
            ..HistoryEntry::new(now, HistoryEvent::Claimed)
        };
        entry.log(claimed);
        let (status, created) = (entry.job.status, to_ms(entry.job.created_at));
        inner.set_due(id, Some(to_ms(lease.expires_at)));
        inner.file(id, status, created);
        Claim::Granted(lease)
    }

    fn renew_now(&self, lease: &Lease, now: DateTime<Utc>, ttl: Duration) -> Result<Lease> {
        let now = trunc_ms(now);
        let mut inner = self.lock();
        let entry = inner.leased(lease, now)?;
        let renewed = Lease {
            expires_at: add_ms(now, ttl),
            ..lease.clone()
        };
        if let Some(current) = entry.job.lease.as_mut() {
            current.expires_at = renewed.expires_at;
        }
        entry.expires = self.expiry(entry.job.deadline_at, now);
        inner.set_due(lease.job_id, Some(to_ms(renewed.expires_at)));
        Ok(renewed)
    }

    fn release_now(&self, lease: &Lease, now: DateTime<Utc>) {
        let now = trunc_ms(now);
        let mut inner = self.lock();
        let Some(entry) = inner.live(lease.job_id) else {
            return;
        };
        if entry.job.lease.as_ref().map(|l| l.token) != Some(lease.token) {
            return;
        }
        entry.job.lease = None;
        entry.job.updated_at = now;
        entry.expires = self.expiry(entry.job.deadline_at, now);
        let released = HistoryEntry {
            token: Some(lease.token),
            job_status: Some(entry.job.status),
            ..HistoryEntry::new(now, HistoryEvent::Released)
        };
        entry.log(released);
        let score = refile_score(
            entry.job.status,
            entry.job.will_auto_retry,
            &entry.ordered_slots(),
            entry.job.deadline_at,
            now,
        );
        inner.set_due(lease.job_id, score);
    }

    fn save_plan_now(&self, lease: &Lease, plan: SavePlan, now: DateTime<Utc>) -> Result<Job> {
        let SavePlan {
            plan,
            slots,
            progress,
            message,
        } = plan;
        let now = trunc_ms(now);
        let mut inner = self.lock();
        let entry = inner.leased(lease, now)?;
        let mut order = Vec::with_capacity(slots.len());
        for slot in slots {
            let field = slot.key().field();
            if !order.contains(&field) {
                order.push(field.clone());
            }
            entry.slots.entry(field).or_insert(slot);
        }
        entry.slot_order = order;
        entry.plan = Some(to_text(&plan));
        entry.job.progress = entry.job.progress.max(progress.min(100));
        entry.job.message = message;
        entry.job.updated_at = now;
        entry.completeness = completeness(&entry.ordered_slots());
        entry.expires = self.expiry(entry.job.deadline_at, now);
        let planned = HistoryEntry {
            token: Some(lease.token),
            progress: Some(entry.job.progress),
            completeness: Some(entry.completeness),
            ..HistoryEntry::new(now, HistoryEvent::Planned)
        };
        entry.log(planned);
        Ok(entry.snapshot())
    }

    fn record_now(&self, lease: &Lease, record: Record, now: DateTime<Utc>) -> Result<JobSummary> {
        let Record {
            slot,
            data,
            progress,
            message,
            outcome,
        } = record;
        let now = trunc_ms(now);
        let mut inner = self.lock();
        let entry = inner.leased(lease, now)?;
        let field = slot.key().field();
        let source = slot.source_type;
        match (&slot.status, data) {
            (SlotStatus::Loaded, Some(data)) => {
                entry.data.insert(field.clone(), to_text(&data));
            }
            (SlotStatus::Loaded, None) => {}
            _ => {
                entry.data.remove(&field);
            }
        }
        let mut recorded = HistoryEntry {
            token: Some(lease.token),
            slot: Some(field.clone()),
            slot_status: Some(slot.status.clone()),
            attempts: Some(slot.attempts),
            started_at: slot.attempt_started_at.map(trunc_ms),
            ..HistoryEntry::new(now, HistoryEvent::Recorded)
        };
        entry.slots.insert(field, slot);
        entry.job.progress = entry.job.progress.max(progress.min(100));
        entry.job.message = message;
        entry.job.updated_at = now;
        entry.completeness = completeness(&entry.ordered_slots());
        entry.expires = self.expiry(entry.job.deadline_at, now);
        recorded.progress = Some(entry.job.progress);
        recorded.completeness = Some(entry.completeness);
        entry.log(recorded);
        if let Some(outcome) = outcome {
            let field = super::ops::outcome_field(source.as_str(), outcome);
            self.ops.count(super::ops::hour_of(now), &field);
        }
        Ok(entry.summary())
    }

    fn finish_now(&self, lease: &Lease, finish: Finish, now: DateTime<Utc>) -> Result<Job> {
        let now = trunc_ms(now);
        let mut inner = self.lock();
        let entry = inner.leased(lease, now)?;
        entry.job.status = finish.status();
        entry.job.message = finish.message().to_owned();
        entry.job.error = finish.error().map(str::to_owned);
        entry.job.will_auto_retry = finish.will_auto_retry();
        if finish.status().has_report() {
            entry.job.progress = 100;
        }
        entry.job.lease = None;
        entry.job.updated_at = now;
        entry.expires = self.expiry(entry.job.deadline_at, now);
        let finished = HistoryEntry {
            token: Some(lease.token),
            job_status: Some(entry.job.status),
            progress: Some(entry.job.progress),
            completeness: Some(entry.completeness),
            will_auto_retry: Some(entry.job.will_auto_retry),
            ..HistoryEntry::new(now, HistoryEvent::Finished)
        };
        entry.log(finished);
        let score = refile_score(
            entry.job.status,
            entry.job.will_auto_retry,
            &entry.ordered_slots(),
            entry.job.deadline_at,
            now,
        );
        let job = entry.snapshot();
        inner.set_due(lease.job_id, score);
        inner.file(job.id, job.status, to_ms(job.created_at));
        Ok(job)
    }

    fn gate_now(
        &self,
        id: JobId,
        now: DateTime<Utc>,
        min_interval: Duration,
    ) -> Result<ManualRetryGate> {
        let now = trunc_ms(now);
        let mut inner = self.lock();
        let entry = inner.live(id).ok_or(StoreError::NotFound)?;
        if let Some(last) = entry.job.last_manual_retry_at {
            let open_at = to_ms(last).saturating_add(dur_ms(min_interval));
            let left = open_at - to_ms(now);
            if left > 0 {
                return Ok(ManualRetryGate::TooSoon {
                    retry_after: Duration::from_millis(left.unsigned_abs()),
                });
            }
        }
        entry.job.last_manual_retry_at = Some(now);
        entry.expires = self.expiry(entry.job.deadline_at, now);
        entry.log(HistoryEntry::new(now, HistoryEvent::ManualRetryRequested));
        Ok(ManualRetryGate::Allowed)
    }

    /// The synchronous body of [`EraseStore::erase`]: one critical
    /// section removes the job, its due entry and its idempotency key.
    fn erase_now(&self, id: JobId) -> Erased {
        let mut inner = self.lock();
        let existed = inner.live(id).is_some();
        inner.drop_job(id);
        inner.idempotency.retain(|_, e| e.job != id);
        if existed {
            Erased::Erased
        } else {
            Erased::Missing
        }
    }

    fn due_now(&self, now: DateTime<Utc>, limit: usize) -> Vec<JobId> {
        let now_ms = to_ms(now);
        let mut inner = self.lock();
        let candidates: Vec<(i64, String)> = inner
            .due
            .iter()
            .take_while(|(score, _)| *score <= now_ms)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for (score, member) in candidates {
            if out.len() >= limit {
                break;
            }
            match JobId::parse(&member) {
                Ok(id) if inner.live(id).is_some() => out.push(id),
                Ok(id) => {
                    inner.due.remove(&(score, member));
                    inner.due_score.remove(&id);
                }
                Err(_) => {
                    inner.due.remove(&(score, member));
                }
            }
        }
        out
    }
}

impl Inner {
    /// The answer to a create whose idempotency key or id is taken by a
    /// live job (that job, or the key's conflict); `None` for a new job.
    fn already_created(&mut self, new: &NewJob) -> Option<Result<Created>> {
        if let Some(idem) = &new.idempotency {
            // A key whose job is gone (expired or erased) is treated as
            // absent, as in Redis.
            let stale = self
                .idempotency_entry(&idem.key)
                .map(|e| e.job)
                .filter(|job| *job != new.id);
            if let Some(job) = stale {
                if self.live(job).is_none() {
                    self.idempotency.remove(&idem.key);
                }
            }
            if let Some(existing) = self.idempotency_entry(&idem.key) {
                if existing.fingerprint != idem.fingerprint {
                    return Some(Err(StoreError::IdempotencyConflict {
                        existing: existing.job,
                    }));
                }
                let id = existing.job;
                return Some(match self.live(id) {
                    Some(entry) => Ok(Created::Existing(entry.snapshot())),
                    None => Err(StoreError::Corrupt(
                        "idempotency key refers to a job that no longer exists".into(),
                    )),
                });
            }
        }
        self.live(new.id)
            .map(|entry| Ok(Created::Existing(entry.snapshot())))
    }

    /// Every [`PURGE_EVERY_CREATES`] creates, drops every expired job and
    /// idempotency key, as Redis' own expiry would have.
    fn purge_now_and_then(&mut self) {
        self.creates_since_purge += 1;
        if self.creates_since_purge < PURGE_EVERY_CREATES {
            return;
        }
        self.creates_since_purge = 0;
        self.purge_expired(Instant::now());
    }

    /// Drops every job and idempotency key expired at `now`; answers how
    /// many jobs.
    fn purge_expired(&mut self, now: Instant) -> usize {
        let expired: Vec<JobId> = self
            .jobs
            .iter()
            .filter(|(_, e)| e.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        let n = expired.len();
        for id in expired {
            self.drop_job(id);
        }
        self.idempotency.retain(|_, e| e.expires > now);
        n
    }

    /// Removes a job with its due entry and its place in the operators'
    /// index.
    fn drop_job(&mut self, id: JobId) {
        self.jobs.remove(&id);
        self.set_due(id, None);
        if let Some((status, created)) = self.filed.remove(&id) {
            if let Some(set) = self.by_status.get_mut(&status) {
                set.remove(&(created, id.to_string()));
            }
        }
    }

    /// Files `id` (created at `created` ms) under `status` in the
    /// operators' index, and out of any other status.
    fn file(&mut self, id: JobId, status: JobStatus, created: i64) {
        if let Some((old, old_created)) = self.filed.insert(id, (status, created)) {
            if let Some(set) = self.by_status.get_mut(&old) {
                set.remove(&(old_created, id.to_string()));
            }
        }
        self.by_status
            .entry(status)
            .or_default()
            .insert((created, id.to_string()));
    }

    /// The job, unless it is unknown or expired (then it is dropped).
    fn live(&mut self, id: JobId) -> Option<&mut Entry> {
        if self
            .jobs
            .get(&id)
            .is_some_and(|e| e.expires <= Instant::now())
        {
            self.drop_job(id);
        }
        self.jobs.get_mut(&id)
    }

    fn idempotency_entry(&mut self, key: &str) -> Option<&IdemEntry> {
        if self
            .idempotency
            .get(key)
            .is_some_and(|e| e.expires <= Instant::now())
        {
            self.idempotency.remove(key);
        }
        self.idempotency.get(key)
    }

    /// The job if `lease` is its current, unexpired lease; else `LeaseLost`.
    fn leased(&mut self, lease: &Lease, now: DateTime<Utc>) -> Result<&mut Entry> {
        let entry = self.live(lease.job_id).ok_or(StoreError::LeaseLost)?;
        match &entry.job.lease {
            Some(current) if current.token == lease.token && now < current.expires_at => Ok(entry),
            _ => Err(StoreError::LeaseLost),
        }
    }

    /// Files `id` at `score` in the due index, or removes it (`None`).
    fn set_due(&mut self, id: JobId, score: Option<i64>) {
        if let Some(old) = self.due_score.remove(&id) {
            self.due.remove(&(old, id.to_string()));
        }
        if let Some(score) = score {
            self.due.insert((score, id.to_string()));
            self.due_score.insert(id, score);
        }
    }
}

impl Entry {
    /// A new `pending` job from `new` (its idempotency key already taken
    /// out), expiring at `expires`, with its `Created` history entry.
    fn pending(new: NewJob, expires: Instant) -> Self {
        let now = trunc_ms(new.now);
        let deadline_at = trunc_ms(new.deadline_at);
        let job = Job {
            id: new.id,
            status: JobStatus::Pending,
            progress: 0,
            message: new.message,
            created_at: now,
            updated_at: now,
            deadline_at,
            error: None,
            questionnaire: serde_json::Value::Null,
            plan: None,
            slots: Vec::new(),
            completeness: 0,
            lease: None,
            will_auto_retry: true,
            last_manual_retry_at: None,
            client: new.client,
        };
        let mut entry = Entry {
            job,
            questionnaire: to_text(&new.questionnaire),
            plan: None,
            completeness: 0,
            slot_order: Vec::new(),
            slots: BTreeMap::new(),
            data: BTreeMap::new(),
            fence: 0,
            history: VecDeque::new(),
            expires,
        };
        entry.log(HistoryEntry {
            progress: Some(0),
            ..HistoryEntry::new(now, HistoryEvent::Created)
        });
        entry
    }

    /// Appends to the history, dropping the oldest entry beyond the limit
    /// (as `LTRIM` does in Redis).
    fn log(&mut self, entry: HistoryEntry) {
        self.history.push_back(entry);
        while self.history.len() > HISTORY_LIMIT {
            self.history.pop_front();
        }
    }

    fn ordered_slots(&self) -> Vec<Slot> {
        super::order_slots(&self.slot_order, self.slots.clone())
    }

    fn snapshot(&self) -> Job {
        Job {
            questionnaire: from_text(&self.questionnaire),
            plan: self.plan.as_deref().map(from_text),
            slots: self.ordered_slots(),
            completeness: self.completeness,
            ..self.job.clone()
        }
    }

    fn summary(&self) -> JobSummary {
        JobSummary {
            completeness: self.completeness,
            ..self.job.summary()
        }
    }
}

fn to_text(value: &serde_json::Value) -> Box<str> {
    value.to_string().into_boxed_str()
}

/// Text this store wrote from a `Value` always parses back; `Null` stands
/// in for the impossible failure rather than a panic.
fn from_text(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// Expired entries are purged after this many creates (each purge walks
/// every job once), so a long-running dev-server does not keep jobs nobody
/// reads again.
const PURGE_EVERY_CREATES: usize = 256;

impl JobStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn due_at(&self, id: JobId) -> BoxFuture<'_, Result<Option<DateTime<Utc>>>> {
        Box::pin(async move {
            let mut inner = self.lock();
            if inner.live(id).is_none() {
                return Ok(None);
            }
            Ok(inner.due_score.get(&id).copied().and_then(super::from_ms))
        })
    }

    fn replay<'a>(&'a self, idem: &'a super::Idempotency) -> BoxFuture<'a, Result<Option<Job>>> {
        Box::pin(async move {
            let mut inner = self.lock();
            let Some(entry) = inner.idempotency_entry(&idem.key) else {
                return Ok(None);
            };
            if entry.fingerprint != idem.fingerprint {
                return Ok(None);
            }
            let id = entry.job;
            Ok(inner.live(id).map(|e| e.snapshot()))
        })
    }

    fn limits(&self) -> Option<&dyn super::LimitStore> {
        Some(&self.limits)
    }

    fn erasure(&self) -> Option<&dyn super::EraseStore> {
        Some(self)
    }

    fn ops(&self) -> Option<&dyn super::ops::OpsStore> {
        Some(self)
    }

    fn ping(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn create(&self, new: NewJob, pending_grace: Duration) -> BoxFuture<'_, Result<Created>> {
        Box::pin(async move { self.create_now(new, pending_grace) })
    }

    fn get(&self, id: JobId) -> BoxFuture<'_, Result<Option<Job>>> {
        Box::pin(async move { Ok(self.lock().live(id).map(|e| e.snapshot())) })
    }

    fn summary(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobSummary>>> {
        Box::pin(async move { Ok(self.lock().live(id).map(|e| e.summary())) })
    }

    fn source_data(&self, id: JobId) -> BoxFuture<'_, Result<Vec<(SlotKey, serde_json::Value)>>> {
        Box::pin(async move {
            let mut inner = self.lock();
            let entry = inner.live(id).ok_or(StoreError::NotFound)?;
            Ok(entry
                .ordered_slots()
                .into_iter()
                .filter(|s| s.status == SlotStatus::Loaded)
                .filter_map(|s| {
                    let key = s.key();
                    entry.data.get(&key.field()).map(|d| (key, from_text(d)))
                })
                .collect())
        })
    }

    fn claim(
        &self,
        id: JobId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Claim>> {
        let owner = owner.to_owned();
        Box::pin(async move { Ok(self.claim_now(id, &owner, now, ttl)) })
    }

    fn renew(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Lease>> {
        let lease = lease.clone();
        Box::pin(async move { self.renew_now(&lease, now, ttl) })
    }

    fn release(&self, lease: &Lease, now: DateTime<Utc>) -> BoxFuture<'_, Result<()>> {
        let lease = lease.clone();
        Box::pin(async move {
            self.release_now(&lease, now);
            Ok(())
        })
    }

    fn save_plan(
        &self,
        lease: &Lease,
        plan: SavePlan,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>> {
        let lease = lease.clone();
        Box::pin(async move { self.save_plan_now(&lease, plan, now) })
    }

    fn record(
        &self,
        lease: &Lease,
        record: Record,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<JobSummary>> {
        let lease = lease.clone();
        Box::pin(async move { self.record_now(&lease, record, now) })
    }

    fn finish(
        &self,
        lease: &Lease,
        finish: Finish,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>> {
        let lease = lease.clone();
        Box::pin(async move { self.finish_now(&lease, finish, now) })
    }

    fn gate_manual_retry(
        &self,
        id: JobId,
        now: DateTime<Utc>,
        min_interval: Duration,
    ) -> BoxFuture<'_, Result<ManualRetryGate>> {
        Box::pin(async move { self.gate_now(id, now, min_interval) })
    }

    fn due(&self, now: DateTime<Utc>, limit: usize) -> BoxFuture<'_, Result<Vec<JobId>>> {
        Box::pin(async move { Ok(self.due_now(now, limit)) })
    }

    fn history(&self, id: JobId) -> BoxFuture<'_, Result<Vec<HistoryEntry>>> {
        Box::pin(async move {
            let mut inner = self.lock();
            let entry = inner.live(id).ok_or(StoreError::NotFound)?;
            Ok(entry.history.iter().cloned().collect())
        })
    }
}

impl EraseStore for MemoryStore {
    fn erase(&self, id: JobId) -> BoxFuture<'_, Result<Erased>> {
        Box::pin(async move { Ok(self.erase_now(id)) })
    }
}

impl MemoryStore {
    /// The ids a list query looks at: a prefix search's first
    /// [`PREFIX_CANDIDATES`] ids in id order (as Redis' lexical index
    /// gives them), else every job filed under the status (or any).
    fn candidates(inner: &Inner, query: &ListQuery) -> Vec<JobId> {
        let in_status = |st: &JobStatus| query.status.is_none_or(|want| want == *st);
        let mut ids: Vec<(JobId, JobStatus)> =
            inner.filed.iter().map(|(id, (st, _))| (*id, *st)).collect();
        if let Some(prefix) = &query.id_prefix {
            ids.retain(|(id, _)| id.to_string().starts_with(prefix.as_str()));
            ids.sort_by_key(|(id, _)| id.to_string());
            ids.truncate(PREFIX_CANDIDATES);
        }
        ids.into_iter()
            .filter(|(_, st)| in_status(st))
            .map(|(id, _)| id)
            .collect()
    }
}

impl OpsStore for MemoryStore {
    fn about(&self) -> BoxFuture<'_, Result<StoreAbout>> {
        // A process's memory: nothing is evicted; its size is the
        // process's, not measured here.
        Box::pin(async {
            Ok(StoreAbout {
                kind: "memory",
                ..StoreAbout::default()
            })
        })
    }
    fn prune(&self, _now: DateTime<Utc>) -> BoxFuture<'_, Result<usize>> {
        // Expiry here runs on the real clock, as Redis' does.
        Box::pin(async move { Ok(self.lock().purge_expired(Instant::now())) })
    }

    fn counts(&self) -> BoxFuture<'_, Result<Vec<(JobStatus, u64)>>> {
        Box::pin(async move {
            let inner = self.lock();
            Ok(STATUSES
                .iter()
                .map(|st| (*st, inner.by_status.get(st).map_or(0, |s| s.len() as u64)))
                .collect())
        })
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<JobPage>> {
        Box::pin(async move {
            let mut inner = self.lock();
            let ids = Self::candidates(&inner, query);
            let rows: Vec<JobSummary> = ids
                .into_iter()
                .filter_map(|id| inner.live(id).map(|e| e.summary()))
                .collect();
            Ok(JobPage::of_all(rows, query))
        })
    }

    fn indexed(&self) -> BoxFuture<'_, Result<Vec<(JobId, JobStatus)>>> {
        Box::pin(async move {
            let inner = self.lock();
            Ok(inner.filed.iter().map(|(id, (st, _))| (*id, *st)).collect())
        })
    }

    fn hours(&self, from: i64, to: i64) -> BoxFuture<'_, Result<Vec<HourCounts>>> {
        Box::pin(async move { Ok(self.ops.hours(from, to)) })
    }

    fn log_sweep(&self, log: SweepLog) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.ops.log_sweep(log);
            Ok(())
        })
    }

    fn sweeps(&self) -> BoxFuture<'_, Result<Vec<SweepLog>>> {
        Box::pin(async move { Ok(self.ops.sweeps()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Idempotency;

    fn new_job(key: Option<&str>) -> NewJob {
        let now = Utc::now();
        NewJob {
            client: None,
            id: JobId::new(),
            questionnaire: serde_json::json!({"q": 1}),
            idempotency: key.map(|k| Idempotency {
                key: k.into(),
                fingerprint: "f".into(),
            }),
            now,
            deadline_at: now,
            message: "m".into(),
        }
    }

    #[test]
    fn purge_drops_expired_jobs_their_due_entries_and_keys() {
        let store = MemoryStore::new(Retention {
            ttl_after_update: Duration::from_secs(1),
            margin_after_deadline: Duration::ZERO,
        });
        let old = store
            .create_now(new_job(Some("k")), Duration::ZERO)
            .unwrap();
        let mut inner = store.lock();
        // Not expired yet: kept.
        assert_eq!(inner.purge_expired(Instant::now()), 0);
        assert_eq!(inner.jobs.len(), 1);
        // Two seconds later (as the purge sees it): gone, with its traces.
        assert_eq!(
            inner.purge_expired(Instant::now() + Duration::from_secs(2)),
            1
        );
        assert!(inner.jobs.is_empty());
        assert!(inner.filed.is_empty() && inner.by_status.values().all(BTreeSet::is_empty));
        assert!(inner.due.is_empty() && inner.due_score.is_empty());
        assert!(inner.idempotency.is_empty());
        drop(inner);
        assert_eq!(store.lock().live(old.job().id).map(|_| ()), None);
    }

    #[test]
    fn documents_are_kept_as_text_and_read_back_equal() {
        let store = MemoryStore::default();
        let created = store.create_now(new_job(None), Duration::ZERO).unwrap();
        let inner = store.lock();
        let entry = &inner.jobs[&created.job().id];
        assert_eq!(&*entry.questionnaire, r#"{"q":1}"#);
        assert_eq!(entry.snapshot().questionnaire, serde_json::json!({"q": 1}));
    }
}
