//! `POST /api/professional-report`: the original backend's synchronous
//! contract (`report_routes.py`), which the original frontend calls.
//!
//! It starts exactly the job `start` starts (the same [`super::accept`]:
//! validation, idempotency, the store, processing in the host's
//! background, retries afterwards), then waits until the job first
//! settles (`completed`, `partial` or `failed`), reading the job's small
//! summary every [`POLL_INTERVAL`]. Settled with a report: 200
//! `{questionnaire, report, generated_at, report_id, status}` with no
//! top-level `job_id` (the client would take that for the start of a
//! polling round); the job's id is the report's `jobId` and the
//! `Content-Location` header is its `result` URL. Failed: the JSON error
//! `result` gives. Not settled within [`SyncConfig::wait`]: 202 with the
//! body `start` gives, and the job carries on. Erased meanwhile (`DELETE`):
//! 404 `job_not_found` saying so, at the next poll, rather than waiting
//! out the rest of the wait for a job that is gone.
//!
//! The wait is on tokio's clock (pausable in tests), not the engine's:
//! it bounds this request's wall time, below the function's `maxDuration`.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};

use super::answers::ResultView;
use super::{accept, json_response, start_answer, Accepted, ApiError, App, Background};
use crate::engine::EngineError;
use crate::model::{Job, JobId, JobStatus};

/// How often the job's summary is read while waiting: short against a
/// report's seconds, long against a summary read's milliseconds.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Default wait: 240 s, under the function's `maxDuration` of 300 s
/// (`vercel.json`) with a minute to spare for the answer itself.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(240);

/// Longest wait accepted: below the 300 s `maxDuration`.
pub const MAX_WAIT: Duration = Duration::from_secs(290);

/// Settings of the synchronous route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    /// How long the request waits for the job to settle
    /// (`SYNC_REPORT_WAIT_SECS`, default 240, at most 290; 0 answers 202 at
    /// once).
    pub wait: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self { wait: DEFAULT_WAIT }
    }
}

/// Whether a job has settled for the first time.
fn settled(status: JobStatus) -> bool {
    matches!(
        status,
        JobStatus::Completed | JobStatus::Partial | JobStatus::Failed
    )
}

/// Waits up to `wait` for job `id` to settle; its status when it did.
/// [`EngineError::Erased`] as soon as the job is gone (it was just stored,
/// so only an erasure removes it).
async fn wait_for(app: &App, id: JobId, wait: Duration) -> Result<Option<JobStatus>, ApiError> {
    if wait.is_zero() {
        return Ok(None);
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let Some(summary) = app.engine.store().summary(id).await? else {
            tracing::info!(job_id = %id, "job erased while the synchronous route waited");
            return Err(ApiError::Engine(EngineError::Erased));
        };
        if settled(summary.status) {
            return Ok(Some(summary.status));
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}

/// How the synchronous request ends.
enum Outcome {
    /// Settled with a report.
    Report(Box<ResultView>),
    /// Not settled within the wait: the job as it stands now.
    Waiting(Box<Job>),
}

/// The handler: accept (parse and start, as `start` does), wait, encode.
pub(super) async fn professional_report(
    app: &App,
    req: Request<Bytes>,
    bg: &dyn Background,
) -> Result<Response<Bytes>, ApiError> {
    let Accepted {
        job,
        replayed,
        allowance,
    } = accept(app, req, bg).await?;
    let mut response = match settle(app, job).await? {
        Outcome::Waiting(job) => start_answer(&job, replayed),
        Outcome::Report(view) => report_answer(&view, replayed),
    };
    allowance.apply(&mut response);
    Ok(response)
}

/// Waits for `job` to settle; its report, or the job as it stands when the
/// wait ran out. A failed job is the JSON error `result` gives.
async fn settle(app: &App, mut job: Job) -> Result<Outcome, ApiError> {
    let id = job.id;
    let status = if settled(job.status) {
        Some(job.status)
    } else {
        wait_for(app, id, app.config.sync.wait).await?
    };
    match status {
        None => {
            if let Some(s) = app.engine.store().summary(id).await? {
                job.status = s.status;
                job.message = s.message;
            }
            Ok(Outcome::Waiting(Box::new(job)))
        }
        Some(JobStatus::Failed) => Err(app.engine.report(id).await.err().map_or(
            ApiError::Engine(crate::engine::EngineError::JobFailed(
                "the report could not be built".into(),
            )),
            ApiError::from,
        )),
        Some(_) => Ok(Outcome::Report(Box::new(ResultView::of(
            app.engine.report(id).await?,
        )))),
    }
}

/// The 200: the synchronous answer, with the job's result URL in
/// `Content-Location`.
fn report_answer(view: &ResultView, replayed: bool) -> Response<Bytes> {
    let mut response = json_response(StatusCode::OK, &view.answer);
    let headers = response.headers_mut();
    let location = format!("/api/professional-report/result/{}", view.job_id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(header::CONTENT_LOCATION, v);
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}
