//! Read-only answers for the API: status, result, missing sources, retry
//! status. Pure functions of a stored job and `now`, plus the engine methods
//! that read the job and call them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Engine, EngineError, JobPart, Result};
use crate::directory::Directory;
use crate::judgement::FamilyNeeds;
use crate::model::{
    Job, JobId, JobStatus, JobSummary, MissingSource, SlotKey, SlotStatus, SourceType,
};
use crate::questionnaire::Questionnaire;
use crate::report::wire::ProfessionalReport;
use crate::report::{judged, Plan};
use crate::retry::RetryPolicy;

/// `GET …/status/{job_id}`.
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

/// The original backend's synchronous answer (`report_routes.py`):
/// `{questionnaire, report, generated_at, report_id, status}`, what
/// `POST /api/professional-report` answers. No `job_id` at the top: the
/// client takes an answer with one for the start of a polling round; the
/// job's id is the report's `jobId`.
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

/// `GET …/result/{job_id}`: the [`ReportAnswer`] plus the job's facts.
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

/// `GET …/missing-sources/{job_id}`.
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

/// `GET …/retry-status/{job_id}`.
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

/// Hours elapsed since creation and remaining until the deadline, rounded
/// to a hundredth.
pub(crate) fn window_hours(job: &Job, now: DateTime<Utc>) -> (f64, f64) {
    let hours = |d: chrono::Duration| (d.num_seconds().max(0) as f64 / 36.0).round() / 100.0;
    (hours(now - job.created_at), hours(job.deadline_at - now))
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
        let will_auto_retry = match job.status {
            JobStatus::Partial => {
                job.will_auto_retry && super::round::auto_retry_left(job, policy, now)
            }
            // Still being built: whatever fails will be retried.
            JobStatus::Pending | JobStatus::Processing => window_open,
            JobStatus::Completed | JobStatus::Failed => false,
        };
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

/// How long after its creation an id the store does not hold is taken for
/// a job not visible to this reader yet rather than an unknown one. A read
/// may land on an Upstash replica that has not seen a job created moments
/// ago through another instance's connection (docs/STORE.md "Consistency across instances");
/// replication takes milliseconds, so 10 s is ample, and short enough that
/// an id nobody created (or a job erased within it) is 404 soon after.
pub(crate) const VISIBILITY_WINDOW: chrono::Duration = chrono::Duration::seconds(10);

impl Engine {
    /// Reads a job; [`EngineError::NotFound`] when unknown, or
    /// [`EngineError::NotVisibleYet`] when its id is fresh.
    pub async fn job(&self, id: JobId) -> Result<Job> {
        match self.store.get(id).await? {
            Some(job) => Ok(job),
            None => Err(self.unseen(id)),
        }
    }

    /// Why job `id` is not in the store: [`EngineError::NotVisibleYet`]
    /// when its id was made within [`VISIBILITY_WINDOW`] (it may exist and
    /// not have reached this reader), [`EngineError::NotFound`] otherwise.
    pub fn unseen(&self, id: JobId) -> EngineError {
        if id.is_fresh(self.now(), VISIBILITY_WINDOW) && !self.erased_here(id) {
            tracing::info!(job_id = %id, "job not visible yet: its id is fresh; answered 'poll again'");
            EngineError::NotVisibleYet
        } else {
            EngineError::NotFound
        }
    }

    /// The status view, from the job's summary alone (one small read).
    pub async fn status(&self, id: JobId) -> Result<StatusView> {
        match self.store.summary(id).await? {
            Some(summary) => Ok(StatusView::of(&summary)),
            None => Err(self.unseen(id)),
        }
    }

    /// The report of a `completed` or `partial` job, assembled from its
    /// plan and every slot's saved answer.
    pub async fn result(&self, id: JobId) -> Result<ResultView> {
        let job = self.job(id).await?;
        has_report(&job)?;
        let data = if job.slots.iter().any(|s| s.status == SlotStatus::Loaded) {
            self.store.source_data(id).await?
        } else {
            Vec::new()
        };
        ResultView::of_stored(job, &data, &self.directory)
    }

    /// The missing-sources view.
    pub async fn missing_sources(&self, id: JobId) -> Result<MissingSourcesView> {
        Ok(MissingSourcesView::of(&self.job(id).await?))
    }

    /// The retry-status view.
    pub async fn retry_status(&self, id: JobId) -> Result<RetryStatusView> {
        let job = self.job(id).await?;
        Ok(RetryStatusView::of(&job, &self.policy, self.now()))
    }
}

impl ResultView {
    /// The report of a stored `completed` or `partial` job with its saved
    /// source data (`data`), as of the job's last update: the plan decoded
    /// once, the needs it carries (the stored questionnaire is decoded only
    /// for a plan stored before plans carried them), and the source
    /// records decoded once per home.
    pub fn of_stored(
        job: Job,
        data: &[(SlotKey, serde_json::Value)],
        directory: &Directory,
    ) -> Result<ResultView> {
        has_report(&job)?;
        let mut plan = stored_plan(&job)?;
        let needs = match plan.needs.take() {
            Some(needs) => needs,
            None => FamilyNeeds::from_questionnaire(&stored_questionnaire(&job)?),
        };
        let report = judged(
            needs,
            &plan,
            &job.id.to_string(),
            &job.slots,
            data,
            directory,
            job.updated_at,
        );
        Ok(ResultView {
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
        })
    }
}

/// `Ok` when the job has a report to show: it is `completed` or `partial`.
/// A failed job says why; one still being built says how far it got.
fn has_report(job: &Job) -> Result<()> {
    match job.status {
        JobStatus::Completed | JobStatus::Partial => Ok(()),
        JobStatus::Failed => {
            Err(EngineError::JobFailed(job.error.clone().unwrap_or_else(
                || "the report could not be built".to_owned(),
            )))
        }
        status => Err(EngineError::NotReady {
            status,
            progress: job.progress,
        }),
    }
}

/// The finished job's plan; a job without one, or with one that does not
/// read back, is corrupt.
fn stored_plan(job: &Job) -> Result<Plan> {
    let plan = job.plan.clone().ok_or(EngineError::CorruptJob {
        part: JobPart::Plan,
        source: None,
    })?;
    serde_json::from_value(plan).map_err(|e| EngineError::corrupt(JobPart::Plan, e))
}

/// The job's questionnaire. The stored one is the validated canonical form:
/// it decodes, or the job is corrupt.
fn stored_questionnaire(job: &Job) -> Result<Questionnaire> {
    Questionnaire::from_stored(&job.questionnaire)
        .map_err(|e| EngineError::corrupt(JobPart::Questionnaire, e))
}
