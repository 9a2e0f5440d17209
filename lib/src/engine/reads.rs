//! Reading jobs: a job, its summary, its report (assembled from the plan
//! and the saved source answers) and whether the sweep will still retry it.
//! The answers the API shapes from these live in the HTTP layer
//! (`crate::http::answers`).

use chrono::{DateTime, Utc};

use super::{Engine, EngineError, JobPart, Result};
use crate::directory::Directory;
use crate::judgement::FamilyNeeds;
use crate::model::{Job, JobId, JobStatus, JobSummary, SlotKey, SlotStatus};
use crate::questionnaire::Questionnaire;
use crate::report::wire::ProfessionalReport;
use crate::report::{judged, Plan};
use crate::retry::RetryPolicy;

/// How long after its creation an id the store does not hold is taken for
/// a job not visible to this reader yet rather than an unknown one. A read
/// may land on an Upstash replica that has not seen a job created moments
/// ago through another instance's connection (docs/STORE.md "Consistency across instances");
/// replication takes milliseconds, so 10 s is ample, and short enough that
/// an id nobody created (or a job erased within it) is 404 soon after.
pub const VISIBILITY_WINDOW: chrono::Duration = chrono::Duration::seconds(10);

/// A settled job (`completed` or `partial`) with its report.
#[derive(Clone, Debug)]
pub struct JobReport {
    /// The job as stored.
    pub job: Job,
    /// Its report, in the client's shape, as of the job's last update.
    pub report: ProfessionalReport,
}

impl JobReport {
    /// The report of a stored `completed` or `partial` job with its saved
    /// source data (`data`), as of the job's last update: the plan decoded
    /// once, the needs it carries (the stored questionnaire is decoded only
    /// for a plan stored before plans carried them), and the source
    /// records decoded once per home.
    pub fn of_stored(
        job: Job,
        data: &[(SlotKey, serde_json::Value)],
        directory: &Directory,
    ) -> Result<JobReport> {
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
        Ok(JobReport { job, report })
    }
}

/// Whether the sweep will still retry `job` by itself at `now`: a partial
/// job while it has a scheduled retry inside its window, a job still being
/// built while the window is open (whatever fails will be retried), a
/// settled or failed one never.
pub fn will_auto_retry(job: &Job, policy: &RetryPolicy, now: DateTime<Utc>) -> bool {
    match job.status {
        JobStatus::Partial => {
            job.will_auto_retry && super::round::auto_retry_left(job, policy, now)
        }
        JobStatus::Pending | JobStatus::Processing => !policy.past_deadline(job.deadline_at, now),
        JobStatus::Completed | JobStatus::Failed => false,
    }
}

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

    /// A job's summary alone (one small read: what a status poll needs).
    pub async fn summary(&self, id: JobId) -> Result<JobSummary> {
        match self.store.summary(id).await? {
            Some(summary) => Ok(summary),
            None => Err(self.unseen(id)),
        }
    }

    /// The report of a `completed` or `partial` job, assembled from its
    /// plan and every slot's saved answer.
    pub async fn report(&self, id: JobId) -> Result<JobReport> {
        let job = self.job(id).await?;
        has_report(&job)?;
        let data = if job.slots.iter().any(|s| s.status == SlotStatus::Loaded) {
            self.store.source_data(id).await?
        } else {
            Vec::new()
        };
        JobReport::of_stored(job, &data, &self.directory)
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
