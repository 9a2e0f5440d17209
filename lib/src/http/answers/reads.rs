//! The answers of the endpoints that read one job: status, result (and
//! the synchronous route's report), missing sources, retry status. Each is
//! a pure function of what the engine read and `now`; each is the schema of
//! the same name in the OpenAPI document, derived from the struct.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::window_hours;
use crate::engine::{will_auto_retry, JobReport};
use crate::model::{Job, JobId, JobStatus, JobSummary, MissingSource, SourceType};
use crate::report::wire::ProfessionalReport;
use crate::retry::RetryPolicy;

/// The answer of `GET …/status/{job_id}`: where the job stands.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = Status)]
pub struct StatusView {
    /// The job.
    pub job_id: JobId,
    /// Its status.
    pub status: JobStatus,
    /// 0–100.
    #[schema(maximum = 100)]
    pub progress: u8,
    /// Human message.
    pub message: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// The error of a failed job.
    pub error: Option<String>,
    /// Whether the report is partial.
    pub is_partial: bool,
    /// Completeness in percent.
    #[schema(maximum = 100)]
    pub completeness: u8,
}

impl StatusView {
    /// The view of a job's summary.
    pub fn of(job: &JobSummary) -> Self {
        Self {
            job_id: job.id,
            status: job.status,
            progress: if job.status.has_report() || job.status == JobStatus::Failed {
                100
            } else {
                job.progress
            },
            message: job.message.clone(),
            created_at: job.created_at,
            updated_at: job.updated_at,
            error: job.error.clone(),
            is_partial: job.status == JobStatus::Partial,
            completeness: job.completeness,
        }
    }
}

/// The answer of `POST /api/professional-report`, the original backend's
/// synchronous call: the questionnaire as stored, the report, when it was
/// generated, its id and the job's status. The report's `jobId` names the
/// job.
// No `job_id` at the top, as the original backend (`report_routes.py`):
// the client takes an answer with one for the start of a polling round.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ReportAnswer {
    /// The questionnaire as stored (its canonical form: no contact details).
    #[schema(value_type = Object)]
    pub questionnaire: serde_json::Value,
    /// The report, in the client's shape.
    #[schema(schema_with = professional_report_schema)]
    pub report: ProfessionalReport,
    /// When the report was assembled.
    pub generated_at: DateTime<Utc>,
    /// The report's id.
    #[schema(format = Uuid)]
    pub report_id: String,
    /// The job's status (`completed` or `partial`).
    #[schema(schema_with = settled_status)]
    pub status: JobStatus,
}

/// The report's schema: the OpenAPI document's hand-written
/// `ProfessionalReport` component (lib/tests/schema/professional_report.schema.json
/// is its full contract).
fn professional_report_schema() -> utoipa::openapi::Ref {
    utoipa::openapi::Ref::from_schema_name("ProfessionalReport")
}

/// [`ReportAnswer::status`]'s schema: a job with a report has settled.
fn settled_status() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([
            JobStatus::Completed.as_str(),
            JobStatus::Partial.as_str(),
        ]))
        .build()
}

/// The answer of `GET …/result/{job_id}`: the synchronous call's answer,
/// plus the job's id, completeness and missing sources.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = Report)]
pub struct ResultView {
    /// The synchronous answer's fields.
    #[serde(flatten)]
    pub answer: ReportAnswer,
    /// The job.
    pub job_id: JobId,
    /// Whether some sources are still missing.
    pub is_partial: bool,
    /// Completeness in percent.
    #[schema(maximum = 100)]
    pub completeness: u8,
    /// The missing (home, source) pairs (as in the report).
    pub missing_data_sources: Vec<MissingSource>,
}

/// The answer of `GET …/missing-sources/{job_id}`: every source the
/// report still lacks.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = MissingSources)]
pub struct MissingSourcesView {
    /// The job.
    pub job_id: JobId,
    /// Every missing (home, source) pair.
    pub missing_sources: Vec<MissingSource>,
    /// The same, grouped by source type.
    pub missing_by_type: BTreeMap<SourceType, Vec<MissingSource>>,
    /// How many are missing.
    pub total_missing: usize,
    /// Whether the report is partial.
    pub is_partial: bool,
    /// Completeness in percent.
    #[schema(maximum = 100)]
    pub completeness: u8,
}

impl MissingSourcesView {
    /// The view of `job`.
    pub fn of(job: &Job) -> Self {
        let missing_sources: Vec<MissingSource> = job.missing().map(MissingSource::from).collect();
        let mut missing_by_type: BTreeMap<SourceType, Vec<MissingSource>> = BTreeMap::new();
        for m in &missing_sources {
            missing_by_type
                .entry(m.source_type)
                .or_default()
                .push(m.clone());
        }
        Self {
            job_id: job.id,
            total_missing: missing_sources.len(),
            missing_sources,
            missing_by_type,
            is_partial: job.is_partial(),
            completeness: job.completeness,
        }
    }
}

/// One missing source's schedule, in `retry-status`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct NextRetry {
    /// The source.
    pub source_type: SourceType,
    /// The home's id.
    pub home_id: String,
    /// The home's name.
    pub home_name: String,
    /// When the sweep will try again (`None`: it will not).
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Seconds from now until then (0 when due; `None`: never).
    pub time_until_retry_seconds: Option<i64>,
    /// Retries made so far.
    pub retry_count: u32,
    /// The cap.
    pub max_retries: u32,
}

/// The answer of `GET …/retry-status/{job_id}`: when each missing source
/// is retried next.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = RetryStatus)]
pub struct RetryStatusView {
    /// The job.
    pub job_id: JobId,
    /// Its status.
    pub status: JobStatus,
    /// Whether the report is partial.
    pub is_partial: bool,
    /// Completeness in percent.
    #[schema(maximum = 100)]
    pub completeness: u8,
    /// How many sources are missing.
    pub missing_sources_count: usize,
    /// The schedule of each missing source.
    pub next_retries: Vec<NextRetry>,
    /// Hours since the job was created.
    pub time_elapsed_hours: f64,
    /// Hours left in the retry window (0 when closed).
    pub time_remaining_hours: f64,
    /// When the retry window closes.
    pub deadline_at: DateTime<Utc>,
    /// Whether the sweep will still retry by itself.
    pub will_auto_retry: bool,
}

impl RetryStatusView {
    /// The view of `job` at `now`.
    pub fn of(job: &Job, policy: &RetryPolicy, now: DateTime<Utc>) -> Self {
        let window_open = !policy.past_deadline(job.deadline_at, now);
        let next_retries: Vec<NextRetry> = job
            .missing()
            .map(|s| {
                let next = if window_open { s.next_attempt_at } else { None };
                NextRetry {
                    source_type: s.source_type,
                    home_id: s.home_id.clone(),
                    home_name: s.home_name.clone(),
                    next_retry_at: next,
                    time_until_retry_seconds: next.map(|t| (t - now).num_seconds().max(0)),
                    retry_count: s.retry_count(),
                    max_retries: policy.max_retries,
                }
            })
            .collect();
        let will_auto_retry = will_auto_retry(job, policy, now);
        let (time_elapsed_hours, time_remaining_hours) = window_hours(job, now);
        Self {
            job_id: job.id,
            status: job.status,
            is_partial: job.is_partial(),
            completeness: job.completeness,
            missing_sources_count: next_retries.len(),
            next_retries,
            time_elapsed_hours,
            time_remaining_hours,
            deadline_at: job.deadline_at,
            will_auto_retry,
        }
    }
}

impl ResultView {
    /// The answer for a settled job's report.
    pub fn of(settled: JobReport) -> ResultView {
        let JobReport { job, report } = settled;
        ResultView {
            job_id: job.id,
            is_partial: report.is_partial,
            completeness: report.completeness,
            missing_data_sources: report.missing_data_sources.clone(),
            answer: ReportAnswer {
                questionnaire: job.questionnaire,
                generated_at: report.generated_at,
                report_id: report.report_id.clone(),
                status: job.status,
                report,
            },
        }
    }
}
