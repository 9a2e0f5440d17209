//! The typed answers of the API: what each endpoint sends, shaped from
//! what the engine did or read (the answers of the endpoints that read one
//! job are in `reads.rs`). Each is the schema of the same
//! name in [`super::openapi::document`], derived (`utoipa::ToSchema`) from
//! the struct; `lib/tests/http_api.rs` checks every answer the handlers give
//! against it. The engine's own outcome types are not serialized here
//! as they are: each answer copies what it shows, so renaming an engine
//! field never changes the API.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

mod reads;

pub use reads::{
    MissingSourcesView, NextRetry, ReportAnswer, ResultView, RetryStatusView, StatusView,
};

use super::ErrorCode;
use crate::engine::{ManualRetryReport, SweepReport};
use crate::model::{Job, JobId, JobStatus};

/// The answer of `POST …/start` (202 Accepted), and of the synchronous
/// call when the job has not settled in time: the job and where to poll.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StartAccepted {
    /// The job.
    pub job_id: JobId,
    /// Its status now.
    pub status: JobStatus,
    /// The job's message, or that the request was a replay.
    pub message: String,
    /// Where to poll.
    pub status_url: String,
    /// Where the report will be.
    pub result_url: String,
}

impl StartAccepted {
    /// The answer for `job`; `replayed` when its idempotency key found it.
    pub fn of(job: &Job, replayed: bool) -> Self {
        let id = job.id;
        Self {
            job_id: id,
            status: job.status,
            message: if replayed {
                "This request was already accepted; here is its job".to_owned()
            } else {
                job.message.clone()
            },
            status_url: status_url(id),
            result_url: format!("/api/professional-report/result/{id}"),
        }
    }
}

/// The status URL of job `id` (also the 202's `Location`).
pub(crate) fn status_url(id: JobId) -> String {
    format!("/api/professional-report/status/{id}")
}

/// Hours elapsed since creation and remaining until the deadline, rounded
/// to a hundredth.
pub(crate) fn window_hours(job: &Job, now: DateTime<Utc>) -> (f64, f64) {
    let hours = |d: chrono::Duration| (d.num_seconds().max(0) as f64 / 36.0).round() / 100.0;
    (hours(now - job.created_at), hours(job.deadline_at - now))
}

/// The answer of `POST …/retry/{job_id}`: the job after the retry, and
/// what the retry did.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub(crate) struct RetryAnswer {
    /// The job.
    pub job_id: JobId,
    /// Its status after the retry.
    pub status: JobStatus,
    /// Whether sources are still missing.
    pub is_partial: bool,
    /// Completeness in percent.
    #[schema(maximum = 100)]
    pub completeness: u8,
    /// What the retry did.
    pub retry_result: RetryResult,
    /// Hours since the job was created.
    pub time_elapsed_hours: f64,
    /// Hours left in the retry window.
    pub time_remaining_hours: f64,
}

impl RetryAnswer {
    /// The answer for `job` after the retry `result`, as of `now`.
    pub(crate) fn of(job: &Job, result: ManualRetryReport, now: DateTime<Utc>) -> Self {
        let (time_elapsed_hours, time_remaining_hours) = window_hours(job, now);
        Self {
            job_id: job.id,
            status: job.status,
            is_partial: job.is_partial(),
            completeness: job.completeness,
            retry_result: RetryResult::from(result),
            time_elapsed_hours,
            time_remaining_hours,
        }
    }
}

/// What a manual retry did: the sources it fetched again, how many now
/// have their answer, how many are still missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct RetryResult {
    /// `home_id/source_type` of every slot retried.
    pub retried_sources: Vec<String>,
    /// How many now have their answer.
    pub success_count: usize,
    /// How many are still missing.
    pub still_missing: usize,
    /// Human summary.
    pub message: String,
}

impl From<ManualRetryReport> for RetryResult {
    fn from(r: ManualRetryReport) -> Self {
        Self {
            retried_sources: r.retried_sources,
            success_count: r.success_count,
            still_missing: r.still_missing,
            message: r.message,
        }
    }
}

/// What one sweep step did, in counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct SweepCounts {
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

impl From<SweepReport> for SweepCounts {
    fn from(r: SweepReport) -> Self {
        Self {
            checked: r.checked,
            retried: r.retried,
            succeeded: r.succeeded,
            completed: r.completed,
            finalized: r.finalized,
            resumed: r.resumed,
            busy: r.busy,
            errors: r.errors,
            budget_exhausted: r.budget_exhausted,
        }
    }
}

/// The answer of the retry sweep, `GET /api/cron/retry-missing-data`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub(crate) struct SweepAnswer {
    /// Whether no job's round failed.
    pub success: bool,
    /// When the sweep ran, on the engine's clock (like every other time the
    /// API shows).
    pub timestamp: DateTime<Utc>,
    /// The counts.
    pub result: SweepCounts,
    /// The counts in words.
    pub message: String,
}

impl SweepAnswer {
    /// The answer for a sweep's `report`, run at `now`.
    pub(crate) fn of(report: SweepReport, now: DateTime<Utc>) -> Self {
        let message = format!(
            "Checked {} due jobs: {} sources retried ({} loaded), {} completed, {} finalized, {} resumed",
            report.checked,
            report.retried,
            report.succeeded,
            report.completed,
            report.finalized,
            report.resumed
        );
        Self {
            success: report.errors == 0,
            timestamp: now,
            result: SweepCounts::from(report),
            message,
        }
    }
}

/// `GET /health`'s `status`: the only value, since a store that does not
/// answer makes the endpoint a 503 error instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Service and store are up.
    Ok,
}

/// The answer of `GET /health`: the service is up and its store answers.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: HealthStatus,
    /// `memory` or `redis`.
    #[schema(schema_with = store_kinds)]
    pub store: &'static str,
    /// `sandbox` or `live`.
    #[schema(schema_with = source_modes)]
    pub sources: &'static str,
    /// The care-home directory's label.
    pub directory: String,
    /// The crate's version.
    pub version: &'static str,
    /// Panics caught in source adapters since the process started: absorbed
    /// bugs are counted so they are seen (`lib/src/metrics.rs`).
    pub source_adapter_panics: u64,
}

/// [`Health::store`]'s schema: the store kinds (`JobStore::kind`).
fn store_kinds() -> Object {
    one_of_words(&["memory", "redis"])
}

/// [`Health::sources`]'s schema: the source modes.
fn source_modes() -> Object {
    one_of_words(&["sandbox", "live"])
}

/// A string that is one of `words`.
fn one_of_words(words: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(words.iter().copied()))
        .build()
}

/// [`Erased::erased`]'s schema: `true`, never `false`.
fn always_true() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .build()
}

/// The answer of `DELETE …/{job_id}`: the job and everything stored for it
/// is erased.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Erased {
    /// The job that was erased.
    pub job_id: JobId,
    /// Always `true`: a job that is not there is a 404 instead.
    #[schema(schema_with = always_true)]
    pub erased: bool,
}

/// Every error answer: schema `Error`. `detail` repeats the message,
/// because FastAPI-era clients (the original frontend among them) show
/// `data.detail || data.message`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// The error.
    #[schema(inline)]
    pub error: ErrorDetail,
    /// The message again.
    pub detail: String,
}

/// The `error` object of an [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The machine-readable code.
    #[schema(inline)]
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// Facts a client can act on (limits, fields, retry times); absent
    /// rather than null when there are none.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}
