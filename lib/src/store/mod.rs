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

use std::time::Duration;

use async_trait_shim::BoxFuture;
use chrono::{DateTime, Utc};

use crate::model::{Job, JobId, JobStatus, Lease, Slot, SlotKey};

/// Store errors. `Unavailable` is the only one that is not the caller's or
/// the data's fault: the API answers it with 503 `store_unavailable`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing store could not be reached or answered with an error.
    #[error("store unavailable: {0}")]
    Unavailable(String),
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

/// What `create` needs.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// The new job's id.
    pub id: JobId,
    /// The validated questionnaire, as received.
    pub questionnaire: serde_json::Value,
    /// Optional idempotency key.
    pub idempotency: Option<Idempotency>,
    /// Creation instant.
    pub now: DateTime<Utc>,
    /// Nothing is retried after this instant.
    pub deadline_at: DateTime<Utc>,
    /// Human message for the new job.
    pub message: String,
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

/// How a job ends a processing round.
#[derive(Clone, Debug, PartialEq)]
pub struct Finish {
    /// `Completed`, `Partial` or `Failed`.
    pub status: JobStatus,
    /// Human message.
    pub message: String,
    /// The error, for `Failed`.
    pub error: Option<String>,
    /// For `Partial`: whether the sweep will still retry by itself. When
    /// false the job is final and leaves the due index.
    pub will_auto_retry: bool,
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

/// The store contract.
///
/// The due index holds every job that needs the sweep's attention, scored by
/// when: a `pending` job at `created + pending_grace`, a leased job at its
/// lease expiry, a `partial` job that will auto-retry at the earliest
/// `next_attempt_at` of its missing slots (never later than its deadline).
/// Completed, failed and final partial jobs are not in it.
pub trait JobStore: Send + Sync + 'static {
    /// `"memory"` or `"redis"`.
    fn kind(&self) -> &'static str;

    /// Checks the store answers.
    fn ping(&self) -> BoxFuture<'_, Result<()>>;

    /// Creates a `pending` job, due at `now + pending_grace` so that a job
    /// nobody starts is picked up by the sweep. With an idempotency key: the
    /// same key and fingerprint return the existing job; the same key with
    /// another fingerprint is [`StoreError::IdempotencyConflict`].
    fn create(&self, new: NewJob, pending_grace: Duration) -> BoxFuture<'_, Result<Created>>;

    /// Reads a job (without loaded source data). `None` when unknown.
    fn get(&self, id: JobId) -> BoxFuture<'_, Result<Option<Job>>>;

    /// The data of every `Loaded` slot of a job.
    fn source_data(&self, id: JobId) -> BoxFuture<'_, Result<Vec<(SlotKey, serde_json::Value)>>>;

    /// Grants a new lease (a fresh fencing token) when the job exists, is not
    /// `completed`/`failed`, and holds no unexpired lease; `None` otherwise.
    /// A `pending` job becomes `processing`. The job is due again at the
    /// lease's expiry, so a dead worker's job is resumed.
    fn claim(
        &self,
        id: JobId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Option<Lease>>>;

    /// Extends a live lease to `now + ttl`. [`StoreError::LeaseLost`] when it
    /// expired or another lease was granted.
    fn renew(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Lease>>;

    /// Gives a lease back without finishing (e.g. on shutdown). The job
    /// becomes due at once if it was `processing`, else at its next retry.
    /// Releasing a lost lease is a no-op.
    fn release(&self, lease: &Lease, now: DateTime<Utc>) -> BoxFuture<'_, Result<()>>;

    /// The checkpoint written before any fetch: stores the plan and creates
    /// its slots (slots that already exist are kept as they are, so a
    /// resumed job never loses an answer), sets progress and message. Fenced.
    fn save_plan(
        &self,
        lease: &Lease,
        plan: serde_json::Value,
        slots: Vec<Slot>,
        progress: u8,
        message: String,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>>;

    /// Records one slot's new state (and its data when loaded) together with
    /// completeness, progress (kept at the maximum of old and new) and
    /// message, in one atomic step. Fenced. Returns the updated job.
    fn record(
        &self,
        lease: &Lease,
        slot: Slot,
        data: Option<serde_json::Value>,
        progress: u8,
        message: String,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>>;

    /// Ends a processing round and releases the lease in one step: sets the
    /// status, message, error and auto-retry flag and re-files the job in the
    /// due index (see the trait docs). Fenced.
    fn finish(
        &self,
        lease: &Lease,
        finish: Finish,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>>;

    /// Records a manual retry request unless one was recorded less than
    /// `min_interval` ago. [`StoreError::NotFound`] for an unknown job.
    fn gate_manual_retry(
        &self,
        id: JobId,
        now: DateTime<Utc>,
        min_interval: Duration,
    ) -> BoxFuture<'_, Result<ManualRetryGate>>;

    /// Up to `limit` ids of jobs due at `now`, earliest first, read from the
    /// due index (never by scanning keys). Ids whose job has expired are
    /// dropped from the index on the way.
    fn due(&self, now: DateTime<Utc>, limit: usize) -> BoxFuture<'_, Result<Vec<JobId>>>;
}

/// The boxed-future shape of the trait's methods, so `dyn JobStore` works
/// without a macro crate.
pub mod async_trait_shim {
    use std::future::Future;
    use std::pin::Pin;

    /// A `Send` boxed future borrowing for `'a`.
    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
}
