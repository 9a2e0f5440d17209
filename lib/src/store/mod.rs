//! The job store: exactly what the engine needs, behind one narrow trait.
//!
//! Two implementations behave identically and are held to that by one
//! contract test suite: [`MemoryStore`] (the dev-server's default, tests) and
//! [`RedisStore`] (production: Vercel KV / Upstash). Every transition is one
//! atomic step (a Lua script in Redis, one critical section in memory), so a
//! process may die between any two calls without leaving a half-written job.
//!
//! Time is always a parameter (`now`): the store never reads the clock, so
//! leases, due times and deadlines can be tested without sleeping.
//!
//! Layout: the contracts and the values they share are here, one file per
//! companion store (the job store in this file, `limits.rs`, `ops.rs`,
//! `source_cache.rs`, `erase.rs`, `health.rs`); each backend implements
//! all of them in its own directory, mirroring those files: `memory/`, and
//! `redis/` with its Lua scripts (`redis/lua/`) and their Rust callers
//! (`redis/scripts.rs`).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{
    HistoryEntry, Job, JobId, JobStatus, JobSummary, Lease, Slot, SlotKey, SlotStatus,
};

pub mod erase;
pub mod health;
pub mod limits;
pub mod ops;
pub mod source_cache;

mod memory;
pub(crate) mod redis;

pub use self::erase::{EraseStore, Erased};
pub use self::limits::LimitStore;
pub use self::memory::{MemoryOps, MemoryStore};
pub use self::ops::OpsStore;
pub use self::redis::{RedisConfig, RedisStore, TlsCa};

/// Store errors. `Unavailable` is the only one that is not the caller's or
/// the data's fault: the API answers it with 503 `store_unavailable`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing store could not be reached or answered with an error.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The backing store is out of memory and refuses writes (Redis
    /// `maxmemory` reached with eviction off, as it must be): 503
    /// `store_full`, distinct from unreachable.
    #[error("store full: {0}")]
    Full(String),
    /// The store refuses every request: Upstash's plan limit of requests
    /// is reached (`ERR max requests limit exceeded`, the Free plan's
    /// monthly commands): 503 `store_request_limit`, distinct from
    /// unreachable, which a retry in seconds may fix.
    #[error("store request limit reached: {0}")]
    RequestLimit(String),
    /// The Redis server's TLS certificate was refused, or TLS settings do
    /// not fit the URL: a deployment mistake, not an outage (500
    /// `server_misconfigured` on a function).
    #[error("store TLS: {0}")]
    Tls(String),
    /// The write was made under a lease that expired or was taken over.
    #[error("lease lost")]
    LeaseLost,
    /// The idempotency key was already used with a different request body.
    #[error("idempotency key already used for a different request (job {existing})")]
    IdempotencyConflict {
        /// The job created under that key.
        existing: JobId,
    },
    /// The job does not exist (or expired).
    #[error("job not found")]
    NotFound,
    /// A stored record could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An idempotency key with the fingerprint (hash) of the request body it
/// was first used with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    /// The client's key (bounded length, printable ASCII; checked by the API).
    pub key: String,
    /// Hex digest of the canonical request body.
    pub fingerprint: String,
}

/// What `create` needs. Its `Debug` leaves out the questionnaire (personal
/// data) and the idempotency key.
#[derive(Clone)]
pub struct NewJob {
    /// The new job's id.
    pub id: JobId,
    /// The validated questionnaire in its stored form
    /// (`Questionnaire::to_stored_json`).
    pub questionnaire: serde_json::Value,
    /// Optional idempotency key.
    pub idempotency: Option<Idempotency>,
    /// Creation instant.
    pub now: DateTime<Utc>,
    /// Nothing is retried after this instant.
    pub deadline_at: DateTime<Utc>,
    /// Human message for the new job.
    pub message: String,
    /// The hashed bucket name of the client starting it ([`Job::client`]).
    pub client: Option<String>,
}

impl std::fmt::Debug for NewJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewJob")
            .field("id", &self.id)
            .field("questionnaire", &crate::model::Redacted)
            .field(
                "idempotency",
                &self.idempotency.as_ref().map(|_| crate::model::Redacted),
            )
            .field("now", &self.now)
            .field("deadline_at", &self.deadline_at)
            .field("message", &self.message)
            .finish()
    }
}

/// What [`JobStore::save_plan`] writes.
#[derive(Clone, Debug, PartialEq)]
pub struct SavePlan {
    /// The plan (the engine's `Plan` as JSON).
    pub plan: serde_json::Value,
    /// Its slots, in plan order; existing ones are kept as they are.
    pub slots: Vec<Slot>,
    /// Progress to raise to (never lowered).
    pub progress: u8,
    /// The job's new message.
    pub message: String,
}

/// What [`JobStore::record`] writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The slot's new state.
    pub slot: Slot,
    /// Its data, stored only when the slot is `Loaded`.
    pub data: Option<serde_json::Value>,
    /// Progress to raise to (never lowered; above 100 counts as 100).
    pub progress: u8,
    /// The job's new message.
    pub message: String,
    /// How the attempt ended, for the per-source hourly counts
    /// ([`ops`]); `None` counts nothing (no upstream was asked).
    pub outcome: Option<ops::Outcome>,
}

/// The answer of `create`.
#[derive(Clone, Debug, PartialEq)]
pub enum Created {
    /// A new job was stored.
    New(Job),
    /// The idempotency key was used before with the same body: that job.
    Existing(Job),
}

impl Created {
    /// The job, new or existing.
    pub fn job(&self) -> &Job {
        match self {
            Self::New(j) | Self::Existing(j) => j,
        }
    }
}

/// How a job ends a processing round: only the three end states exist,
/// each with what it needs (an error only for a failure, the auto-retry
/// flag only for a partial report).
#[derive(Clone, Debug, PartialEq)]
pub enum Finish {
    /// Every expected source loaded.
    Completed {
        /// Human message.
        message: String,
    },
    /// A report with missing sources.
    Partial {
        /// Human message.
        message: String,
        /// Whether the sweep will still retry by itself. When false the job
        /// is final and leaves the due index.
        will_auto_retry: bool,
    },
    /// No report can be built.
    Failed {
        /// Human message.
        message: String,
        /// Why, for the client.
        error: String,
    },
}

impl Finish {
    /// The status the job takes.
    pub fn status(&self) -> JobStatus {
        match self {
            Self::Completed { .. } => JobStatus::Completed,
            Self::Partial { .. } => JobStatus::Partial,
            Self::Failed { .. } => JobStatus::Failed,
        }
    }

    /// The job's new message.
    pub fn message(&self) -> &str {
        match self {
            Self::Completed { message }
            | Self::Partial { message, .. }
            | Self::Failed { message, .. } => message,
        }
    }

    /// The error, for a failure.
    pub fn error(&self) -> Option<&str> {
        match self {
            Self::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the sweep will still retry by itself (only ever for a
    /// partial report).
    pub fn will_auto_retry(&self) -> bool {
        matches!(
            self,
            Self::Partial {
                will_auto_retry: true,
                ..
            }
        )
    }
}

/// The answer of [`JobStore::claim`]: a lease, or why there is none. Each
/// reason means something different to a caller (busy, nothing left to do,
/// no such job), so none is folded into another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A new lease (with a fresh fencing token) was granted.
    Granted(Lease),
    /// Another worker holds an unexpired lease, until this instant.
    Held {
        /// When that lease lapses unless renewed.
        until: DateTime<Utc>,
    },
    /// The job is `completed` or `failed`: there is no work left on it.
    Finished(JobStatus),
    /// No such job (never created, expired or erased).
    Gone,
}

impl Claim {
    /// The granted lease, if any.
    pub fn lease(self) -> Option<Lease> {
        match self {
            Self::Granted(lease) => Some(lease),
            _ => None,
        }
    }
}

/// A manual-retry throttle decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManualRetryGate {
    /// Recorded; go ahead.
    Allowed,
    /// Refused: the last manual retry was too recent; try again after this.
    TooSoon {
        /// Time left until a manual retry is accepted.
        retry_after: Duration,
    },
}

/// Tunables the store applies on every write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Keys live this long after the job's last update...
    pub ttl_after_update: Duration,
    /// ...and never expire before the job's deadline plus this margin.
    pub margin_after_deadline: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            ttl_after_update: Duration::from_secs(24 * 3600),
            margin_after_deadline: Duration::from_secs(3600),
        }
    }
}

impl Retention {
    /// How long a job's keys live after a write at `now`: the time after
    /// the last update, but never less than until the deadline plus the
    /// margin (a job must not vanish while it may still be retried), and at
    /// least one second.
    pub fn ttl(&self, deadline_at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
        let ms = retention_ms(
            dur_ms(self.ttl_after_update),
            dur_ms(self.margin_after_deadline),
            to_ms(deadline_at),
            to_ms(now),
        );
        Duration::from_millis(u64::try_from(ms).unwrap_or(MIN_TTL_MS.unsigned_abs()))
    }
}

// Both stores keep instants as epoch milliseconds (Redis stores them that
// way), so the memory store truncates to milliseconds too: the two must
// return identical jobs.

/// Epoch milliseconds.
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Back from epoch milliseconds.
pub(crate) fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// `t` truncated to whole milliseconds.
pub(crate) fn trunc_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    from_ms(to_ms(t)).unwrap_or(t)
}

/// A duration in milliseconds, saturating.
pub(crate) fn dur_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `t + d` truncated to milliseconds, saturating at the far future.
pub(crate) fn add_ms(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    from_ms(to_ms(t).saturating_add(dur_ms(d))).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The retention rule in milliseconds; `redis/lua/common.lua` mirrors it.
pub(crate) fn retention_ms(
    ttl_after_ms: i64,
    margin_ms: i64,
    deadline_ms: i64,
    now_ms: i64,
) -> i64 {
    let until_deadline = deadline_ms.saturating_add(margin_ms).saturating_sub(now_ms);
    ttl_after_ms.max(until_deadline).max(MIN_TTL_MS)
}

/// The shortest TTL a job's keys get (one second), so a write never sets a
/// zero or negative expiry. Generated into the Lua prelude
/// (`store::redis::scripts::prelude`).
pub(crate) const MIN_TTL_MS: i64 = 1000;

/// A job's slots in plan order (`order` holds [`SlotKey::field`] names),
/// followed by any slot outside the plan in field order.
pub(crate) fn order_slots(
    order: &[String],
    mut slots: std::collections::BTreeMap<String, Slot>,
) -> Vec<Slot> {
    let mut out = Vec::with_capacity(slots.len());
    for field in order {
        if let Some(slot) = slots.remove(field) {
            out.push(slot);
        }
    }
    out.extend(slots.into_values());
    out
}

/// Where a job sits in the due index after a processing round ends
/// (`finish`, or `release` of a non-processing job): `None` when it leaves
/// the index. `redis/lua/common.lua`'s `refile` mirrors it.
pub(crate) fn refile_score(
    status: JobStatus,
    will_auto_retry: bool,
    slots: &[Slot],
    deadline_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<i64> {
    match status {
        JobStatus::Completed | JobStatus::Failed => None,
        JobStatus::Partial if !will_auto_retry => None,
        JobStatus::Partial => {
            let deadline = to_ms(deadline_at);
            let earliest = slots
                .iter()
                .filter(|s| s.status == SlotStatus::Missing)
                .filter_map(|s| s.next_attempt_at.map(to_ms))
                .min()
                .unwrap_or(deadline);
            Some(earliest.min(deadline))
        }
        JobStatus::Pending | JobStatus::Processing => Some(to_ms(now)),
    }
}

/// The most bytes one slot's data may have as stored JSON. The largest
/// request the service makes is a job's read with every slot's data
/// (`read.lua`), and Upstash refuses requests and answers over 10 MB
/// ("large reads count too", `redis/overall/billing.mdx`; ../shared/
/// research/UPSTASH_CONSOLE_WAITING.md, A.6): 25 slots at this cap, a
/// questionnaire at its own cap and a plan stay well under it
/// (`lib/tests/store/upstash.rs` measures it). The adapters keep far below it
/// (every text field is cut to 2,000 characters, lists to a few items);
/// the engine refuses to store more (`engine::storable`).
pub const MAX_SLOT_DATA_BYTES: usize = 256 * 1024;

/// How many history entries a job keeps (the oldest are dropped beyond
/// it). A job makes about 2 + 25 entries in its first round and a few per
/// retry round; 10 retries of all 25 slots stay well under this.
/// Generated into the Lua prelude (`store::redis::scripts::prelude`).
pub const HISTORY_LIMIT: usize = 1000;

/// The store contract.
///
/// The due index holds every job that needs the sweep's attention, scored by
/// when: a `pending` job at `created + pending_grace`, a leased job at its
/// lease expiry, a `partial` job that will auto-retry at the earliest
/// `next_attempt_at` of its missing slots (never later than its deadline).
/// Completed, failed and final partial jobs are not in it.
///
/// Common rules: instants are stored with millisecond precision (returned
/// jobs carry truncated times); a lease is live while `now < expires_at`;
/// every write refreshes the TTL of the job's keys (see [`Retention`]);
/// `updated_at` moves on `create`, `claim`, `release`, `save_plan`,
/// `record` and `finish` (not on `renew` or `gate_manual_retry`). A fenced
/// write under a lease that is not the job's current one, or that expired
/// at `now`, or for a job that no longer exists, is [`StoreError::LeaseLost`]
/// and changes nothing.
///
/// Every committed transition except `renew` also appends one
/// [`HistoryEntry`] to the job's history in the same atomic step (at most
/// [`HISTORY_LIMIT`] are kept); a refused write appends nothing.
pub trait JobStore: Send + Sync + 'static {
    /// `"memory"` or `"redis"`.
    fn kind(&self) -> &'static str;

    /// Checks the store answers.
    fn ping(&self) -> BoxFuture<'_, Result<()>>;

    /// Creates a `pending` job, due at `now + pending_grace` so that a job
    /// nobody starts is picked up by the sweep. With an idempotency key: the
    /// same key and fingerprint return the existing job; the same key with
    /// another fingerprint is [`StoreError::IdempotencyConflict`]. The key
    /// lives as long as the job's keys did when it was created. Creating an
    /// id that already exists returns that job as `Existing`, unchanged (ids
    /// are random, so this only happens when a timed-out call is retried).
    /// A new job has progress 0, completeness 0 and `will_auto_retry`.
    fn create(&self, new: NewJob, pending_grace: Duration) -> BoxFuture<'_, Result<Created>>;

    /// Reads a job (without loaded source data). `None` when unknown.
    fn get(&self, id: JobId) -> BoxFuture<'_, Result<Option<Job>>>;

    /// Reads only a job's status fields (equal to `get(id)?.summary()`),
    /// without decoding its questionnaire, plan and slots. `None` when
    /// unknown.
    fn summary(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobSummary>>>;

    /// The data of every `Loaded` slot of a job, in slot order.
    /// [`StoreError::NotFound`] for an unknown job.
    fn source_data(&self, id: JobId) -> BoxFuture<'_, Result<Vec<(SlotKey, serde_json::Value)>>>;

    /// Grants a new lease (a fresh fencing token) when the job exists, is not
    /// `completed`/`failed`, and holds no unexpired lease; otherwise says
    /// which of those it is ([`Claim`]).
    /// A `pending` job becomes `processing`; a `partial` job stays `partial`
    /// (a manual retry may claim even a final partial job). The job is due
    /// again at the lease's expiry, so a dead worker's job is resumed.
    /// Of concurrent claims exactly one wins.
    fn claim(
        &self,
        id: JobId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Claim>>;

    /// Extends a live lease to `now + ttl`. [`StoreError::LeaseLost`] when it
    /// expired or another lease was granted.
    fn renew(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Lease>>;

    /// Gives a lease back without finishing (e.g. on shutdown). The job
    /// becomes due at once if it was `pending`/`processing`; a `partial` job
    /// is re-filed as `finish` would with its stored auto-retry flag.
    /// Releasing a lease that is no longer the job's current one is a no-op;
    /// an expired but not taken-over lease is still released.
    fn release(&self, lease: &Lease, now: DateTime<Utc>) -> BoxFuture<'_, Result<()>>;

    /// The checkpoint written before any fetch: stores the plan and creates
    /// its slots (slots that already exist are kept as they are, so a
    /// resumed job never loses an answer), sets progress and message. Fenced.
    fn save_plan(
        &self,
        lease: &Lease,
        plan: SavePlan,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>>;

    /// Records one slot's new state (and its data when loaded) together with
    /// completeness, progress (kept at the maximum of old and new) and
    /// message, in one atomic step. Fenced. Returns the job's updated
    /// summary (a round records every answer and needs no more back). Data is
    /// stored only for a `Loaded` slot; any other status drops the slot's
    /// data. Progress above 100 counts as 100.
    fn record(
        &self,
        lease: &Lease,
        record: Record,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<JobSummary>>;

    /// Ends a processing round and releases the lease in one step: sets the
    /// status, message, error and auto-retry flag and re-files the job in the
    /// due index (see the trait docs). Fenced. `Completed` and `Partial` set
    /// progress to 100 (a report exists); `Failed` keeps it. The stored
    /// `will_auto_retry` is the given one for `Partial`, false for
    /// `Completed`/`Failed`. A partial job that will auto-retry is due at the
    /// earliest `next_attempt_at` of its `Missing` slots, capped at its
    /// deadline (the deadline when none has one).
    fn finish(
        &self,
        lease: &Lease,
        finish: Finish,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>>;

    /// Records a manual retry request unless one was recorded less than
    /// `min_interval` ago, as one atomic check-and-set.
    /// [`StoreError::NotFound`] for an unknown job.
    fn gate_manual_retry(
        &self,
        id: JobId,
        now: DateTime<Utc>,
        min_interval: Duration,
    ) -> BoxFuture<'_, Result<ManualRetryGate>>;

    /// Up to `limit` ids of jobs due at `now` (score ≤ `now`), earliest first
    /// (ties by id), read from the due index (never by scanning keys). Ids
    /// whose job has expired are dropped from the index on the way. Listing
    /// claims nothing: the caller claims each id.
    fn due(&self, now: DateTime<Utc>, limit: usize) -> BoxFuture<'_, Result<Vec<JobId>>>;

    /// The job's history, oldest first: one entry per committed transition
    /// (see the trait docs). [`StoreError::NotFound`] for an unknown job.
    fn history(&self, id: JobId) -> BoxFuture<'_, Result<Vec<HistoryEntry>>>;

    /// The job `idem`'s key made with the same fingerprint, when it still
    /// exists: a replay, found without writing anything (so the API can
    /// answer it before any limit). `None` for an unknown key, another
    /// fingerprint (`create` answers that as a conflict) or a job that is
    /// gone. Both real stores answer; a wrapper that does not forward it
    /// finds none, and `create` still returns the existing job.
    fn replay<'a>(&'a self, idem: &'a Idempotency) -> BoxFuture<'a, Result<Option<Job>>> {
        let _ = idem;
        Box::pin(async { Ok(None) })
    }

    /// When job `id` is next due in the due index (see the trait docs):
    /// for a partial job that will auto-retry, its next retry. `None` when
    /// it is not in the index (final, finished or unknown). A read of one
    /// entry; a wrapper that does not forward it knows none.
    fn due_at(&self, id: JobId) -> BoxFuture<'_, Result<Option<DateTime<Utc>>>> {
        let _ = id;
        Box::pin(async { Ok(None) })
    }

    /// The store's spend limits ([`LimitStore`]), when it keeps them. Both
    /// real stores do; a wrapper that does not forward this has no limits.
    fn limits(&self) -> Option<&dyn LimitStore> {
        None
    }

    /// The store's erasure ([`EraseStore`]), when it offers it. Both real
    /// stores do.
    fn erasure(&self) -> Option<&dyn EraseStore> {
        None
    }

    /// The operators' facts ([`OpsStore`]), when the store keeps them.
    /// Both real stores do.
    fn ops(&self) -> Option<&dyn OpsStore> {
        None
    }
}

/// The boxed-future shape of the store traits' methods (the `futures`
/// crate's own), so `dyn JobStore` works without a macro crate.
pub use futures::future::BoxFuture;
