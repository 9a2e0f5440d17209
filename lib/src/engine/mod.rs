//! The durable job engine: turns stored jobs into reports, survives being
//! killed at any line, and retries what failed.
//!
//! Every piece of work happens under a lease from the store. A job's work is
//! its slots (home × source); each slot's answer is saved, fenced by the
//! lease, the moment it arrives. So whoever picks a job up again (the next
//! sweep, after a lease expired) continues from the checkpoints and never
//! fetches again a source that already answered.
//!
//! Three entry points do work, all through [`Engine::run_round`]:
//! - [`Engine::process`]: the first round, right after `start`;
//! - [`Engine::sweep`]: one bounded step over the due index (cron, dev-server loop);
//! - [`Engine::manual_retry`]: a client's retry of one job's missing sources.
//!
//! Reading jobs and their reports is in `reads.rs`; the API's answers are
//! shaped from them in the HTTP layer.

pub mod budget;
mod config;
mod erase;
pub mod ops;
mod reads;
mod round;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use config::EngineConfig;
pub use reads::{will_auto_retry, JobReport, VISIBILITY_WINDOW};

use crate::directory::{Directory, Home};
use crate::geo::Geocoder;
use crate::model::{Job, JobId, JobStatus, Lease, Slot, SlotStatus, SourceType};
use crate::questionnaire::{Questionnaire, ValidationErrors};
use crate::report::Plan;
use crate::retry::RetryPolicy;
use crate::sources::{SourceOutcome, Sources};
use crate::store::{
    Claim, Created, Finish, Idempotency, JobStore, ManualRetryGate, NewJob, Record, SavePlan,
    StoreError,
};
use round::RoundKind;

/// Progress once candidates are chosen; the fetches fill the rest up to 100.
const PROGRESS_PLANNED: u8 = 20;

/// Engine errors. The HTTP layer maps each to a status in one place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The questionnaire is invalid.
    #[error("invalid questionnaire")]
    Invalid(ValidationErrors),
    /// No such job.
    #[error("job not found")]
    NotFound,
    /// The report is not built yet.
    #[error("report not ready")]
    NotReady {
        /// Current status.
        status: JobStatus,
        /// Current progress.
        progress: u8,
    },
    /// The job failed; there is no report.
    #[error("job failed: {0}")]
    JobFailed(String),
    /// A manual retry is only for `partial`/`completed` jobs.
    #[error("job is {0}: only partial or completed jobs can be retried")]
    RetryNotAllowed(JobStatus),
    /// The job is past its retry deadline.
    #[error("the retry window of this job has closed")]
    RetryWindowClosed,
    /// A manual retry ran too recently.
    #[error("a retry of this job ran moments ago")]
    RetryTooSoon {
        /// When the next manual retry is accepted.
        retry_after: Duration,
    },
    /// Another worker holds the job's lease right now.
    #[error("the job is being worked on right now")]
    Busy,
    /// No job under this id is visible here yet, but the id was made moments
    /// ago ([`VISIBILITY_WINDOW`]): the job may exist on the primary
    /// and not have reached the replica this read landed on. Poll again.
    #[error("the job was created moments ago and is not visible here yet; poll again")]
    NotVisibleYet,
    /// The job was erased (`DELETE`) while this request worked on it.
    #[error("the job was erased; nothing more is done for it")]
    Erased,
    /// The idempotency key was used for a different body.
    #[error("idempotency key already used for a different request")]
    IdempotencyConflict {
        /// The job created under that key.
        existing: JobId,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A stored job the engine wrote does not decode (its plan or its
    /// questionnaire): corruption, or a version skew between instances.
    #[error("the stored {part} of a job does not decode")]
    CorruptJob {
        /// What did not decode.
        part: JobPart,
        /// Why (absent when the part is missing altogether).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The plan could not be encoded (every plan encodes: a bug).
    #[error("the plan could not be encoded")]
    PlanEncoding(#[source] serde_json::Error),
}

/// The parts of a stored job the engine decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobPart {
    /// The plan checkpoint (the chosen homes and their slots).
    Plan,
    /// The stored canonical questionnaire.
    Questionnaire,
}

impl std::fmt::Display for JobPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plan => "plan",
            Self::Questionnaire => "questionnaire",
        })
    }
}

impl EngineError {
    /// `part` of a stored job did not decode, for `source`.
    pub(crate) fn corrupt(
        part: JobPart,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::CorruptJob {
            part,
            source: Some(Box::new(source)),
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::IdempotencyConflict { existing } => Self::IdempotencyConflict { existing },
            other => Self::Store(other),
        }
    }
}

/// `Result` with [`EngineError`].
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RoundReport {
    /// Slots fetched.
    pub fetched: usize,
    /// Fetches that were retries of a missing slot.
    pub retried: usize,
    /// Retries that now have their answer (loaded or not found).
    pub recovered: usize,
    /// Slots still missing after the round.
    pub still_missing: usize,
    /// Status the job ended the round with.
    pub status: Option<JobStatus>,
    /// Whether the job ended the round final (`partial` with no more
    /// automatic retries).
    pub finalized: bool,
    /// `home_id/source_type` of every missing slot this round fetched again,
    /// as chosen from the job read under the round's lease.
    pub retried_sources: Vec<String>,
}

/// What one sweep step did (the cron endpoint's `result`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Due jobs looked at.
    pub checked: usize,
    /// Missing sources fetched again.
    pub retried: usize,
    /// Of those, how many now have their answer.
    pub succeeded: usize,
    /// Jobs that became `completed` in this sweep.
    pub completed: usize,
    /// Jobs finalized as partial (deadline passed or retries exhausted).
    pub finalized: usize,
    /// Interrupted or never-started jobs taken over and processed.
    pub resumed: usize,
    /// Due jobs another worker held at the time (left for later).
    pub busy: usize,
    /// Jobs whose round failed (store errors); left for the next sweep.
    pub errors: usize,
    /// Whether due jobs were left because the budget ran out.
    pub budget_exhausted: bool,
}

/// What a manual retry did (the API shows it as `retry_result`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManualRetryReport {
    /// `home_id/source_type` of every slot retried.
    pub retried_sources: Vec<String>,
    /// How many now have their answer.
    pub success_count: usize,
    /// How many are still missing.
    pub still_missing: usize,
    /// Human summary.
    pub message: String,
}

/// Everything the engine works with.
pub struct Engine {
    store: Arc<dyn JobStore>,
    sources: Arc<Sources>,
    directory: Arc<Directory>,
    geocoder: Geocoder,
    policy: RetryPolicy,
    config: EngineConfig,
    clock: Arc<dyn Clock>,
    worker: String,
    per_source: HashMap<SourceType, Arc<Semaphore>>,
    shutdown: CancellationToken,
    /// Paid calls per UTC day (see [`budget`]); `None` counts nothing.
    daily_paid_calls: Option<u64>,
    /// Of those, how many one client's jobs may take; `None`: no share.
    client_paid_calls: Option<u64>,
    /// The rounds running in this process, by job: erasing a job cancels
    /// its token, so its round starts no further fetch (see `erase`).
    /// Each entry carries its lease's fencing token, so a round removes only
    /// its own entry.
    rounds: std::sync::Mutex<HashMap<JobId, (u64, CancellationToken)>>,
    /// Jobs this process erased within the visibility window, so a fresh
    /// id it erased itself is "not found", not "not visible yet"
    /// ([`VISIBILITY_WINDOW`]). Another instance cannot know: there a
    /// job erased in its first seconds reads as pending for the rest of the
    /// window (docs/STORE.md "Consistency across instances"). Pruned on every erasure.
    erased: std::sync::Mutex<HashMap<JobId, DateTime<Utc>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store.kind())
            .field("worker", &self.worker)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Parts to build an [`Engine`] from.
pub struct EngineParts {
    /// The job store.
    pub store: Arc<dyn JobStore>,
    /// The source adapters.
    pub sources: Arc<Sources>,
    /// The care-home directory.
    pub directory: Arc<Directory>,
    /// The retry policy.
    pub policy: RetryPolicy,
    /// Scheduling tunables.
    pub config: EngineConfig,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl Engine {
    /// Builds an engine. The geocoder shares the sources' HTTP client and
    /// their postcodes.io base URL.
    pub fn new(parts: EngineParts) -> Self {
        let geocoder = Geocoder::new(
            parts.sources.client().clone(),
            Some(parts.sources.config().postcodes_base().clone()),
        );
        let per_source = SourceType::ALL
            .into_iter()
            .map(|t| {
                (
                    t,
                    Arc::new(Semaphore::new(parts.config.per_source_concurrency)),
                )
            })
            .collect();
        Self {
            store: parts.store,
            sources: parts.sources,
            directory: parts.directory,
            geocoder,
            policy: parts.policy,
            config: parts.config,
            clock: parts.clock,
            worker: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            per_source,
            shutdown: CancellationToken::new(),
            daily_paid_calls: None,
            client_paid_calls: None,
            rounds: std::sync::Mutex::new(HashMap::new()),
            erased: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The scheduling tunables.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The directory in use.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The current time, from the engine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Asks running rounds to stop starting fetches, save what is in flight
    /// and give their leases back (graceful shutdown).
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Validates a questionnaire and stores a new `pending` job for it (see
    /// [`Engine::submit_for`]): for callers in process (tests, tools, the
    /// bench) that hold the client's JSON. The HTTP layer parses at its door
    /// and calls [`Engine::submit_for`] with the typed questionnaire.
    /// Processing is the caller's next step ([`Engine::process`]), so the
    /// host decides where it runs (`wait_until` on Vercel, a task locally).
    pub async fn submit(
        &self,
        questionnaire: serde_json::Value,
        idempotency: Option<Idempotency>,
    ) -> Result<Created> {
        let questionnaire = Questionnaire::parse(&questionnaire).map_err(EngineError::Invalid)?;
        self.submit_for(questionnaire, idempotency, None).await
    }

    /// Stores a new `pending` job for a validated questionnaire, in its
    /// canonical stored form, for a known client (its hashed bucket name,
    /// [`Job::client`], whose share of the daily budget the job spends;
    /// `None` in process). A stored form over `MAX_STORED_BYTES` is refused
    /// as invalid.
    pub async fn submit_for(
        &self,
        questionnaire: Questionnaire,
        idempotency: Option<Idempotency>,
        client: Option<String>,
    ) -> Result<Created> {
        // Only what the service reads is stored (see
        // `Questionnaire::to_stored_json`): no e-mail, phone or unknown field.
        let stored = questionnaire.to_stored_json();
        let size = serde_json::to_vec(&stored).map_or(usize::MAX, |v| v.len());
        if size > crate::questionnaire::MAX_STORED_BYTES {
            return Err(EngineError::Invalid(ValidationErrors {
                errors: vec![crate::questionnaire::FieldError {
                    path: "$".into(),
                    message: format!(
                        "is too large to store: {size} bytes, at most {}",
                        crate::questionnaire::MAX_STORED_BYTES
                    ),
                }],
            }));
        }
        let now = self.now();
        let new = NewJob {
            id: JobId::at(now),
            questionnaire: stored,
            idempotency,
            now,
            deadline_at: self.policy.deadline_for(now),
            message: "Queued: the report will be built in the background".to_owned(),
            client,
        };
        let created = self.store.create(new, self.config.pending_grace).await?;
        if let Created::New(job) = &created {
            tracing::info!(job_id = %job.id, "job created");
        }
        Ok(created)
    }

    /// The job an earlier start made under `idem` with the same body, if it
    /// still exists (see [`JobStore::replay`]); nothing is written.
    pub async fn replay(&self, idem: &Idempotency) -> Result<Option<Job>> {
        Ok(self.store.replay(idem).await?)
    }

    /// Runs a job's first processing round (or resumes it). `Ok(None)` when
    /// another worker holds its lease or it is already finished.
    pub async fn process(&self, id: JobId) -> Result<Option<RoundReport>> {
        match self.run_round(id, RoundKind::Process, &self.shutdown).await {
            Ok(Ran::Round(round)) => Ok(Some(round)),
            Ok(Ran::Held | Ran::Finished(_) | Ran::Erased) | Err(EngineError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Retries every missing source of a job now, through the same path as
    /// the sweep. Only for `partial`/`completed` jobs inside their retry
    /// window, and at most once per `manual_retry_min_interval`.
    pub async fn manual_retry(&self, id: JobId) -> Result<(Job, ManualRetryReport)> {
        let now = self.now();
        let job = self.job(id).await?;
        if !job.status.has_report() {
            return Err(EngineError::RetryNotAllowed(job.status));
        }
        if self.policy.past_deadline(job.deadline_at, now) {
            return Err(EngineError::RetryWindowClosed);
        }
        if job.status == JobStatus::Completed {
            let report = ManualRetryReport {
                retried_sources: Vec::new(),
                success_count: 0,
                still_missing: 0,
                message: "Nothing to retry: every source is loaded".to_owned(),
            };
            return Ok((job, report));
        }
        match self
            .store
            .gate_manual_retry(id, now, self.config.manual_retry_min_interval)
            .await?
        {
            ManualRetryGate::Allowed => {}
            ManualRetryGate::TooSoon { retry_after } => {
                return Err(EngineError::RetryTooSoon { retry_after })
            }
        }
        // What is retried is decided under the round's lease, from the job
        // as it is then: a sweep may have loaded some slots since `job` was
        // read above.
        let round = match self
            .run_round(id, RoundKind::Manual, &self.shutdown)
            .await?
        {
            Ran::Round(round) => round,
            Ran::Held => return Err(EngineError::Busy),
            Ran::Erased => return Err(EngineError::Erased),
            // Completed by a sweep since `job` was read: nothing to retry.
            Ran::Finished(JobStatus::Completed) => RoundReport::default(),
            Ran::Finished(status) => return Err(EngineError::RetryNotAllowed(status)),
        };
        let job = self.store.get(id).await?.ok_or(EngineError::Erased)?;
        let still_missing = job.missing().count();
        Ok((job, round::manual_answer(round, still_missing)))
    }

    /// One bounded sweep step: takes due jobs from the due index until none
    /// is left or the time budget is nearly spent, and works on each
    /// (resume, retry due sources, or finalize). Safe to run concurrently
    /// with itself and with manual retries: the lease decides who works.
    ///
    /// `Err` only when the due index cannot be read at all (store down):
    /// the cron answers 503 then, so the outage shows in Vercel's logs.
    pub async fn sweep(&self) -> Result<SweepReport> {
        let started = tokio::time::Instant::now();
        let budget = self.config.sweep_budget;
        // Stop taking new jobs with a fifth of the budget left: a job round
        // in flight may need it.
        let take_until = budget.mul_f64(0.8);
        let mut report = SweepReport::default();
        let mut seen = std::collections::HashSet::new();
        // At the end of the budget, rounds in flight stop starting fetches,
        // save what is in flight and give their jobs back (due at once).
        let stop = self.shutdown.child_token();
        let _budget_timer = AbortOnDrop::cancel_after(stop.clone(), budget);
        loop {
            if started.elapsed() >= take_until || self.shutdown.is_cancelled() {
                report.budget_exhausted = started.elapsed() >= take_until;
                break;
            }
            let now = self.now();
            let due = match self.store.due(now, self.config.sweep_batch).await {
                Ok(d) => d,
                Err(e) if report.checked == 0 => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, "sweep could not read the due index");
                    report.errors += 1;
                    break;
                }
            };
            // Jobs we already handled in this sweep and that are still due
            // (busy elsewhere, or failed) are left for the next sweep.
            let fresh: Vec<JobId> = due.into_iter().filter(|id| seen.insert(*id)).collect();
            if fresh.is_empty() {
                break;
            }
            self.sweep_batch(fresh, &stop, &mut report).await;
        }
        report.log_finished();
        self.keep_sweep(&report).await;
        Ok(report)
    }

    /// Drops expired jobs from the operators' index and keeps the sweep's
    /// report for the console (`store::ops`) when it found work: an idle
    /// deployment's cron then writes nothing (every command is billed on
    /// Upstash). A failure here is logged, never the sweep's: its work is
    /// done.
    async fn keep_sweep(&self, report: &SweepReport) {
        let Some(ops) = self.store.ops() else { return };
        let now = self.now();
        if let Err(e) = ops.prune(now).await {
            tracing::warn!(error = %e, "could not prune the operators' index");
        }
        if report.checked == 0 && report.errors == 0 {
            return;
        }
        let log = crate::store::ops::SweepLog {
            at: now,
            report: serde_json::to_value(report).unwrap_or_default(),
        };
        if let Err(e) = ops.log_sweep(log).await {
            tracing::warn!(error = %e, "could not keep the sweep's report");
        }
    }

    /// Works on a batch of due jobs, a few at a time, and counts what
    /// became of each in `report`. A job that fails is logged and left for
    /// the next sweep: one bad job does not stop the others.
    async fn sweep_batch(
        &self,
        batch: Vec<JobId>,
        stop: &CancellationToken,
        report: &mut SweepReport,
    ) {
        let outcomes: Vec<(JobId, Result<SweepAction>)> = futures::stream::iter(batch)
            .map(|id| async move { (id, self.sweep_one(id, stop).await) })
            .buffer_unordered(self.config.sweep_job_concurrency)
            .collect()
            .await;
        for (id, outcome) in outcomes {
            report.checked += 1;
            match outcome {
                Ok(action) => action.add_to(report),
                Err(e) => {
                    report.errors += 1;
                    tracing::warn!(job_id = %id, error = %e, "sweep could not work on a job");
                }
            }
        }
    }

    async fn sweep_one(&self, id: JobId, stop: &CancellationToken) -> Result<SweepAction> {
        let Some(job) = self.store.get(id).await? else {
            return Ok(SweepAction::Gone);
        };
        let kind = match job.status {
            JobStatus::Pending | JobStatus::Processing => RoundKind::Process,
            JobStatus::Partial => RoundKind::DueRetries,
            JobStatus::Completed | JobStatus::Failed => return Ok(SweepAction::Gone),
        };
        match self.run_round(id, kind, stop).await {
            Ok(Ran::Held) => Ok(SweepAction::Busy),
            Ok(Ran::Finished(_) | Ran::Erased) | Err(EngineError::NotFound) => {
                Ok(SweepAction::Gone)
            }
            Ok(Ran::Round(round)) => Ok(SweepAction::Round {
                round,
                resumed: kind == RoundKind::Process,
            }),
            Err(e) => Err(e),
        }
    }

    /// One round of work on a job under a fresh lease: plan if needed, fetch
    /// the slots `kind` selects, save each answer as it arrives, finish.
    /// `stop` ends the round early: no new fetches, in-flight answers are
    /// saved, the lease is released so the job is due again at once.
    async fn run_round(&self, id: JobId, kind: RoundKind, stop: &CancellationToken) -> Result<Ran> {
        let now = self.now();
        let lease = match self
            .store
            .claim(id, &self.worker, now, self.config.lease_ttl)
            .await?
        {
            Claim::Granted(lease) => lease,
            Claim::Held { .. } => return Ok(Ran::Held),
            Claim::Finished(status) => return Ok(Ran::Finished(status)),
            Claim::Gone => return Err(EngineError::NotFound),
        };
        let keepalive = LeaseKeeper::start(self, lease.clone());
        let registered = RoundRegistration::new(self, id, lease.token);
        let span = tracing::info_span!("round", job_id = %id, kind = ?kind, token = lease.token);
        let signals = Signals {
            lost: &keepalive.lost,
            stop,
            erased: &registered.erased,
        };
        let result = self
            .run_leased(id, kind, &lease, signals)
            .instrument(span)
            .await;
        keepalive.stop().await;
        match self.erased_or(id, &registered.erased, result).await {
            Ok(report) => Ok(Ran::Round(report)),
            Err(EngineError::Erased) => {
                tracing::info!(job_id = %id, "job erased mid-round; the round stopped");
                Ok(Ran::Erased)
            }
            Err(EngineError::Store(StoreError::LeaseLost)) => {
                tracing::warn!(job_id = %id, "lease lost mid-round; another worker continues");
                Ok(Ran::Held)
            }
            Err(e) => {
                // Give the job back so the next sweep can pick it up at once.
                if let Err(release_err) = self.store.release(&lease, self.now()).await {
                    tracing::warn!(job_id = %id, error = %release_err, "could not release lease");
                }
                Err(e)
            }
        }
    }

    /// `result` of a round on `id`, or [`EngineError::Erased`] when it
    /// failed because the job was erased: its `erased` token fired, or a
    /// write was refused and the job no longer exists.
    async fn erased_or(
        &self,
        id: JobId,
        erased: &CancellationToken,
        result: Result<RoundReport>,
    ) -> Result<RoundReport> {
        let refused = matches!(
            result,
            Err(EngineError::Store(StoreError::LeaseLost) | EngineError::NotFound)
        );
        if result.is_err()
            && (erased.is_cancelled()
                || (refused && matches!(self.store.summary(id).await, Ok(None))))
        {
            return Err(EngineError::Erased);
        }
        result
    }

    /// The round itself, under `lease`: finalize a job with nothing left to
    /// retry, or plan (once), fetch the slots the round selects, and finish.
    /// Every decision is in [`round`].
    async fn run_leased(
        &self,
        id: JobId,
        kind: RoundKind,
        lease: &Lease,
        signals: Signals<'_>,
    ) -> Result<RoundReport> {
        let Signals { lost, stop, erased } = signals;
        let job = self.store.get(id).await?.ok_or(EngineError::NotFound)?;
        if round::finalize_only(&job, kind, &self.policy, self.now()) {
            let mut report = RoundReport::default();
            report.record_end(&self.finish(lease, &job, true).await?);
            return Ok(report);
        }
        let Some((job, plan)) = self.ensure_plan(lease, job).await? else {
            return Ok(RoundReport {
                status: Some(JobStatus::Failed),
                ..RoundReport::default()
            });
        };
        let homes: HashMap<&str, &Home> = plan.homes().map(|h| (h.id.as_str(), h)).collect();
        let planned: HashSet<&str> = homes.keys().copied().collect();
        let selected = round::select(&job, kind, &self.policy, &planned, self.now());
        let mut report = self
            .fetch_selected(&job, lease, &homes, selected, signals)
            .await?;
        if erased.is_cancelled() {
            return Err(EngineError::Erased);
        }
        if lost.is_cancelled() {
            return Err(EngineError::Store(StoreError::LeaseLost));
        }
        let job = self.store.get(id).await?.ok_or(EngineError::NotFound)?;
        if stop.is_cancelled() && job.slots.iter().any(|s| s.status == SlotStatus::Pending) {
            // Interrupted: give the job back; it is due again at once.
            self.store.release(lease, self.now()).await?;
            report.still_missing = job.missing().count();
            report.status = Some(job.status);
            return Ok(report);
        }
        report.record_end(&self.finish(lease, &job, false).await?);
        Ok(report)
    }

    /// The job's plan: the stored checkpoint, or a new plan saved as the
    /// checkpoint before any fetch. `Ok(None)` when no plan can be made:
    /// the job has then been finished as failed.
    async fn ensure_plan(&self, lease: &Lease, job: Job) -> Result<Option<(Job, Plan)>> {
        if let Some(stored) = &job.plan {
            let plan: Plan = serde_json::from_value(stored.clone())
                .map_err(|e| EngineError::corrupt(JobPart::Plan, e))?;
            return Ok(Some((job, plan)));
        }
        let (plan, slots) = match self.plan(&job).await {
            Ok(planned) => planned,
            Err(reason) => {
                let finish = Finish::Failed {
                    message: "The report could not be built".to_owned(),
                    error: reason,
                };
                self.store.finish(lease, finish, self.now()).await?;
                return Ok(None);
            }
        };
        let message = format!(
            "Found {} matching homes; fetching {} sources",
            plan.homes().count(),
            slots.len()
        );
        let plan_json = serde_json::to_value(&plan).map_err(EngineError::PlanEncoding)?;
        let save = SavePlan {
            plan: plan_json,
            slots,
            progress: PROGRESS_PLANNED,
            message,
        };
        // The plan just made is the one used: it is not decoded back.
        let job = self.store.save_plan(lease, save, self.now()).await?;
        Ok(Some((job, plan)))
    }

    /// Fetches `selected` (at most `fetch_concurrency` at once), saving each
    /// answer the moment it arrives; stops starting fetches when the lease
    /// is lost or `stop` fires. The first store error, if any, is returned
    /// after the fetches in flight ended.
    async fn fetch_selected(
        &self,
        job: &Job,
        lease: &Lease,
        homes: &HashMap<&str, &Home>,
        selected: Vec<Slot>,
        signals: Signals<'_>,
    ) -> Result<RoundReport> {
        let tally = Tally::new(job);
        let counts = &tally;
        let results = futures::stream::iter(selected)
            .take_until(signals.lost.cancelled())
            .take_until(signals.stop.cancelled())
            .take_until(signals.erased.cancelled())
            .map(|slot| {
                // Owned slot in, the home looked up inside: a closure taking
                // a borrowed home hits rust-lang/rust#102211 (the round's
                // future would not be `Send` for every lifetime).
                let home = homes.get(slot.home_id.as_str()).copied();
                async move {
                    match home {
                        Some(home) => {
                            let at = FetchAt { job, lease, home };
                            self.fetch_and_record(at, slot, counts, signals).await
                        }
                        None => Ok(()),
                    }
                }
            })
            .buffer_unordered(self.config.fetch_concurrency)
            .collect::<Vec<Result<(), StoreError>>>()
            .await;
        let fetched = results.len();
        if let Some(err) = results.into_iter().find_map(|r| r.err()) {
            return Err(err.into());
        }
        Ok(tally.into_report(fetched))
    }

    /// One slot: fetch it (unless a retry's deadline passed while it waited
    /// for a permit) and record its next state, fenced by `lease`.
    async fn fetch_and_record(
        &self,
        at: FetchAt<'_>,
        slot: Slot,
        tally: &Tally,
        signals: Signals<'_>,
    ) -> Result<(), StoreError> {
        let FetchAt { job, lease, home } = at;
        let span = tracing::info_span!(
            "fetch",
            job_id = %job.id,
            source = slot.source_type.as_str(),
            home_id = %slot.home_id,
            attempt = slot.attempts + 1,
        );
        async {
            let was_missing = slot.status == SlotStatus::Missing;
            // A retry waiting for a permit may reach the deadline meanwhile:
            // it is then not made at all.
            let retry_deadline = was_missing.then_some(job.deadline_at);
            let gate = budget::JobGate {
                engine: self,
                job,
                erased: signals.erased,
            };
            let Some((started, outcome)) = self
                .fetch(slot.source_type, home, retry_deadline, &gate)
                .await
            else {
                return Ok(());
            };
            let now = self.now();
            let counted = counted_outcome(&outcome);
            let (next, data) = self.next_slot(job, &slot, outcome, started, now);
            let done = tally.answered(&slot, &next);
            let progress = progress_for(done, tally.total);
            let message = format!("Fetched {done} of {} sources", tally.total);
            self.store
                .record(
                    lease,
                    Record {
                        slot: next,
                        data,
                        progress,
                        message,
                        outcome: counted,
                    },
                    now,
                )
                .await
                .map(|_| ())
                .inspect_err(|e| stop_if_refused(e, signals.lost))
        }
        .instrument(span)
        .await
    }

    /// Finishes a round with what [`round::finish`] decides.
    async fn finish(&self, lease: &Lease, job: &Job, force_final: bool) -> Result<Job> {
        let now = self.now();
        let finish = round::finish(job, &self.policy, now, force_final);
        let status = finish.status();
        let job = self.store.finish(lease, finish, now).await?;
        tracing::info!(status = %status, completeness = job.completeness, "round finished");
        Ok(job)
    }

    /// Chooses the homes: read the stored questionnaire back (a typed
    /// decode: it was validated at the door), match, build the plan and its
    /// slots. `Err` is a reason the job fails (not retried): a stored
    /// questionnaire that does not decode fails this one job, and only here.
    async fn plan(&self, job: &Job) -> std::result::Result<(Plan, Vec<Slot>), String> {
        let q = Questionnaire::from_stored(&job.questionnaire)
            .map_err(|e| format!("stored questionnaire is invalid: {e}"))?;
        let plan = Plan::build(&q, &self.directory, &self.geocoder, self.now())
            .await
            .map_err(|e| e.to_string())?;
        let slots = plan
            .homes()
            .flat_map(|home| {
                SourceType::ALL
                    .into_iter()
                    .map(move |t| Slot::pending(home.id.clone(), home.name.clone(), t))
            })
            .collect();
        Ok((plan, slots))
    }

    /// Fetches one source for one home under the per-source limit: when
    /// the fetch started and its outcome. `None` when `retry_deadline` had
    /// passed by the time a permit was had (nothing was sent).
    async fn fetch(
        &self,
        source: SourceType,
        home: &Home,
        retry_deadline: Option<DateTime<Utc>>,
        gate: &budget::JobGate<'_>,
    ) -> Option<(DateTime<Utc>, SourceOutcome)> {
        // The semaphores are never closed, so acquire only fails if they
        // were; then fetching without the limit is the lesser evil.
        let _permit = match self.per_source.get(&source) {
            Some(sem) => sem.clone().acquire_owned().await.ok(),
            None => None,
        };
        let started = self.now();
        if retry_deadline.is_some_and(|d| self.policy.past_deadline(d, started))
            || gate.erased.is_cancelled()
        {
            return None;
        }
        // The daily budget is asked inside, after the source cache missed.
        let outcome = storable(self.sources.fetch_with(source, home, Some(gate)).await);
        Some((started, outcome))
    }

    /// A slot's next state after one fetch that started at `started` and
    /// ended at `now`, and the data to store with it.
    fn next_slot(
        &self,
        job: &Job,
        slot: &Slot,
        outcome: SourceOutcome,
        started: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> (Slot, Option<serde_json::Value>) {
        // Whole milliseconds, as the store keeps every other instant.
        let now = now.trunc_subsecs(3);
        let mut next = slot.clone();
        next.attempts = slot.attempts.saturating_add(1);
        next.attempt_started_at = Some(started.trunc_subsecs(3));
        next.last_attempt = Some(now);
        next.next_attempt_at = None;
        next.error = None;
        let data = match outcome {
            SourceOutcome::Loaded(data) => {
                next.status = SlotStatus::Loaded;
                Some(data)
            }
            SourceOutcome::NotFound => {
                next.status = SlotStatus::NotFound;
                None
            }
            SourceOutcome::NotConfigured => {
                next.status = SlotStatus::NotConfigured;
                None
            }
            SourceOutcome::Failed(failure) => {
                next.status = SlotStatus::Missing;
                let jitter_key = format!("{}/{}", job.id, slot.key().field());
                next.next_attempt_at = self
                    .policy
                    .next_attempt(
                        next.attempts,
                        failure.kind,
                        failure.retry_after,
                        &jitter_key,
                        now,
                        job.deadline_at,
                    )
                    .map(|t| t.trunc_subsecs(3));
                next.error = Some(failure.message);
                None
            }
        };
        (next, data)
    }
}

/// `outcome`, unless it is data over [`crate::store::MAX_SLOT_DATA_BYTES`]
/// as JSON: then a permanent failure, so no job's read can outgrow
/// Upstash's request limit (the adapters cut their fields far below it:
/// this is the guard, not the rule).
fn storable(outcome: SourceOutcome) -> SourceOutcome {
    let size = match &outcome {
        SourceOutcome::Loaded(data) => serde_json::to_vec(data).map_or(usize::MAX, |v| v.len()),
        _ => return outcome,
    };
    if size <= crate::store::MAX_SLOT_DATA_BYTES {
        return outcome;
    }
    tracing::error!(
        size,
        "a source's answer is too large to store; recorded as missing"
    );
    SourceOutcome::Failed(crate::sources::SourceFailure {
        kind: crate::sources::FailureKind::Permanent,
        retry_after: None,
        message: "the source's answer is too large to store".to_owned(),
    })
}

/// A write refused under the round's lease (taken over, or the job was
/// erased): the round starts no further fetch.
fn stop_if_refused(e: &StoreError, lost: &CancellationToken) {
    if matches!(e, StoreError::LeaseLost) {
        lost.cancel();
    }
}

/// A round's running counts, shared by its concurrent fetches.
struct Tally {
    total: usize,
    answered: AtomicUsize,
    retried: std::sync::Mutex<Vec<String>>,
    recovered: AtomicUsize,
}

impl Tally {
    fn new(job: &Job) -> Self {
        let answered = job
            .slots
            .iter()
            .filter(|s| s.status != SlotStatus::Pending)
            .count();
        Self {
            total: job.slots.len(),
            answered: AtomicUsize::new(answered),
            retried: std::sync::Mutex::new(Vec::new()),
            recovered: AtomicUsize::new(0),
        }
    }

    /// Counts one fetched slot (`was`, now `next`); answers how many slots
    /// of the job have had an answer, for progress.
    fn answered(&self, was: &Slot, next: &Slot) -> usize {
        if was.status != SlotStatus::Missing {
            return self.answered.fetch_add(1, Ordering::Relaxed) + 1;
        }
        if let Ok(mut retried) = self.retried.lock() {
            retried.push(was.key().field());
        }
        if next.status.is_done() {
            self.recovered.fetch_add(1, Ordering::Relaxed);
        }
        self.answered.load(Ordering::Relaxed)
    }

    fn into_report(self, fetched: usize) -> RoundReport {
        let retried_sources = self.retried.into_inner().unwrap_or_default();
        RoundReport {
            fetched,
            retried: retried_sources.len(),
            recovered: self.recovered.into_inner(),
            retried_sources,
            ..RoundReport::default()
        }
    }
}

impl RoundReport {
    fn record_end(&mut self, job: &Job) {
        self.still_missing = job.missing().count();
        self.status = Some(job.status);
        self.finalized = job.status == JobStatus::Partial && !job.will_auto_retry;
    }
}

/// Progress for `done` answered slots of `total`: 20 once planned, then up
/// to 99 while fetching; 100 only when the round finishes (set by `finish`).
fn progress_for(done: usize, total: usize) -> u8 {
    if total == 0 {
        return PROGRESS_PLANNED;
    }
    let span = 99 - usize::from(PROGRESS_PLANNED);
    let p = usize::from(PROGRESS_PLANNED) + done.min(total) * span / total;
    u8::try_from(p).unwrap_or(99)
}

/// How [`Engine::run_round`] went; a job that does not exist is
/// [`EngineError::NotFound`].
enum Ran {
    /// The round ran under a lease of ours.
    Round(RoundReport),
    /// Another worker holds the job (or took it over mid-round).
    Held,
    /// The job is completed or failed: nothing to do.
    Finished(JobStatus),
    /// The job was erased while the round ran; it stopped.
    Erased,
}

/// What ends a round early, read by its steps.
#[derive(Clone, Copy)]
struct Signals<'a> {
    /// The lease was lost (renewal refused, or a write refused).
    lost: &'a CancellationToken,
    /// Shutdown or the sweep's budget: save what is in flight, give back.
    stop: &'a CancellationToken,
    /// The job was erased: stop at once.
    erased: &'a CancellationToken,
}

/// Where one fetch belongs.
#[derive(Clone, Copy)]
struct FetchAt<'a> {
    job: &'a Job,
    lease: &'a Lease,
    home: &'a Home,
}

/// A round's entry in [`Engine`]'s registry of running rounds, removed
/// when the round ends.
struct RoundRegistration<'a> {
    engine: &'a Engine,
    id: JobId,
    token: u64,
    erased: CancellationToken,
}

impl<'a> RoundRegistration<'a> {
    fn new(engine: &'a Engine, id: JobId, token: u64) -> Self {
        let erased = CancellationToken::new();
        if let Ok(mut rounds) = engine.rounds.lock() {
            rounds.insert(id, (token, erased.clone()));
        }
        Self {
            engine,
            id,
            token,
            erased,
        }
    }
}

impl Drop for RoundRegistration<'_> {
    fn drop(&mut self) {
        if let Ok(mut rounds) = self.engine.rounds.lock() {
            // Only our own entry: a later round of the job may have its own.
            if rounds.get(&self.id).is_some_and(|(t, _)| *t == self.token) {
                rounds.remove(&self.id);
            }
        }
    }
}

enum SweepAction {
    Gone,
    Busy,
    Round { round: RoundReport, resumed: bool },
}

impl SweepAction {
    fn add_to(self, report: &mut SweepReport) {
        match self {
            Self::Gone => {}
            Self::Busy => report.busy += 1,
            Self::Round { round, resumed } => {
                report.retried += round.retried;
                report.succeeded += round.recovered;
                report.resumed += usize::from(resumed);
                report.completed += usize::from(round.status == Some(JobStatus::Completed));
                report.finalized += usize::from(round.finalized);
            }
        }
    }
}

impl SweepReport {
    /// Logs the finished sweep's counts, one line per sweep.
    fn log_finished(&self) {
        tracing::info!(
            checked = self.checked,
            retried = self.retried,
            succeeded = self.succeeded,
            completed = self.completed,
            finalized = self.finalized,
            resumed = self.resumed,
            busy = self.busy,
            errors = self.errors,
            "sweep finished"
        );
    }
}

/// How a fetch's outcome counts in the operators' per-source figures
/// (`store::ops`): `None` for a source with no key (nothing was asked).
fn counted_outcome(outcome: &crate::sources::SourceOutcome) -> Option<crate::store::ops::Outcome> {
    use crate::sources::{FailureKind, SourceOutcome};
    use crate::store::ops::Outcome;
    match outcome {
        SourceOutcome::Loaded(_) => Some(Outcome::Loaded),
        SourceOutcome::NotFound => Some(Outcome::NotFound),
        SourceOutcome::NotConfigured => None,
        SourceOutcome::Failed(f) if f.kind == FailureKind::Transient => Some(Outcome::Transient),
        SourceOutcome::Failed(_) => Some(Outcome::Permanent),
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl AbortOnDrop {
    /// Cancels `token` once `after` has passed, unless dropped before.
    fn cancel_after(token: CancellationToken, after: Duration) -> Self {
        AbortOnDrop(tokio::spawn(async move {
            tokio::time::sleep(after).await;
            token.cancel();
        }))
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews a lease every third of its time-to-live while a round runs, and
/// cancels `lost` when renewal fails, so the round stops writing at once.
struct LeaseKeeper {
    lost: CancellationToken,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl LeaseKeeper {
    fn start(engine: &Engine, lease: Lease) -> Self {
        let lost = CancellationToken::new();
        let stop = CancellationToken::new();
        let store = engine.store.clone();
        let clock = engine.clock.clone();
        let ttl = engine.config.lease_ttl;
        let (lost2, stop2) = (lost.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut lease = lease;
            loop {
                tokio::select! {
                    () = stop2.cancelled() => return,
                    () = tokio::time::sleep(ttl / 3) => {}
                }
                match store.renew(&lease, clock.now(), ttl).await {
                    Ok(renewed) => lease = renewed,
                    Err(StoreError::LeaseLost) => {
                        lost2.cancel();
                        return;
                    }
                    // A store hiccup: try again next tick; the lease has
                    // two more thirds of its life.
                    Err(e) => {
                        tracing::warn!(job_id = %lease.job_id, error = %e, "lease renewal failed")
                    }
                }
            }
        });
        Self { lost, stop, task }
    }

    async fn stop(mut self) {
        self.stop.cancel();
        let _ = (&mut self.task).await;
    }
}

impl Drop for LeaseKeeper {
    /// A round dropped mid-way (its future cancelled) must not keep renewing
    /// its lease: the job has to lapse so the sweep can resume it.
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_over_the_slot_cap_is_not_stored() {
        let small = SourceOutcome::Loaded(serde_json::json!({"a": 1}));
        assert_eq!(storable(small.clone()), small);
        let cap = crate::store::MAX_SLOT_DATA_BYTES;
        let at_cap = SourceOutcome::Loaded(serde_json::Value::String("x".repeat(cap - 2)));
        assert_eq!(storable(at_cap.clone()), at_cap);
        let over = SourceOutcome::Loaded(serde_json::Value::String("x".repeat(cap - 1)));
        assert!(matches!(
            storable(over),
            SourceOutcome::Failed(f) if f.kind == crate::sources::FailureKind::Permanent
        ));
    }

    #[test]
    fn progress_moves_from_planned_to_99() {
        assert_eq!(progress_for(0, 25), 20);
        assert_eq!(progress_for(25, 25), 99);
        assert!(progress_for(12, 25) > 20 && progress_for(12, 25) < 99);
        assert_eq!(progress_for(0, 0), 20);
    }
}
