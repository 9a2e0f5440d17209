//! The API's handlers, one per endpoint: each takes the shared [`App`],
//! the request (its body read by [`Collected`]) and, on the job routes, the
//! raw job id; parses, calls one engine method, and encodes the answer.

use std::sync::Arc;

use axum::extract::State;
use http::StatusCode;

use super::answers::{
    Erased, Health, HealthStatus, MissingSourcesView, RetryAnswer, RetryStatusView, SweepAnswer,
};
use super::router::{BackgroundHandle, Collected, RawJobId, Reply};
use super::{
    accept, authorize_cron, formats, json_response, limits, openapi, start_answer, status, sync,
    truncate, ApiError, App,
};
use crate::model::JobId;
use crate::store::StoreError;

type Answer = Result<Reply, ApiError>;

fn ok<T: serde::Serialize>(value: &T) -> Answer {
    Ok(Reply(json_response(StatusCode::OK, value)))
}

/// The job id of a job route, or 400 `invalid_job_id` naming (the start
/// of) what was given.
fn job_id(raw: &RawJobId) -> Result<JobId, ApiError> {
    JobId::parse(&raw.0).map_err(|_| ApiError::InvalidJobId(truncate(&raw.0, 64)))
}

/// `GET /health`: liveness and store reachability.
pub(super) async fn health(State(app): State<Arc<App>>, _: Collected) -> Answer {
    let store = app.engine.store();
    // Unreachable is the only way a ping fails that a client can act on;
    // the cause goes to the log (once, in `ApiError::into_response`).
    store
        .ping()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    ok(&Health {
        status: HealthStatus::Ok,
        store: store.kind(),
        sources: app.sources_mode,
        directory: app.engine.directory().label().to_owned(),
        version: env!("CARGO_PKG_VERSION"),
        source_adapter_panics: crate::metrics::source_adapter_panics(),
    })
}

/// `GET /api/openapi.json`.
pub(super) async fn openapi(_: Collected) -> Answer {
    ok(&openapi::document())
}

/// `POST /api/professional-report/start`: 202 with the job.
pub(super) async fn start(
    State(app): State<Arc<App>>,
    BackgroundHandle(bg): BackgroundHandle,
    Collected(req): Collected,
) -> Answer {
    let accepted = accept(&app, req, bg.as_ref()).await?;
    let mut response = start_answer(&accepted.job, accepted.replayed);
    accepted.allowance.apply(&mut response);
    Ok(Reply(response))
}

/// `POST /api/professional-report`: the synchronous contract ([`sync`]).
pub(super) async fn professional_report(
    State(app): State<Arc<App>>,
    BackgroundHandle(bg): BackgroundHandle,
    Collected(req): Collected,
) -> Answer {
    Ok(Reply(
        sync::professional_report(&app, req, bg.as_ref()).await?,
    ))
}

/// `GET /api/professional-report/status/{job_id}`.
pub(super) async fn status(
    State(app): State<Arc<App>>,
    id: RawJobId,
    Collected(req): Collected,
) -> Answer {
    Ok(Reply(status::answer(&app, job_id(&id)?, &req).await?))
}

/// `GET /api/professional-report/result/{job_id}`.
pub(super) async fn result(
    State(app): State<Arc<App>>,
    id: RawJobId,
    Collected(req): Collected,
) -> Answer {
    Ok(Reply(formats::result(&app, job_id(&id)?, &req).await?))
}

/// `GET /api/professional-report/missing-sources/{job_id}`.
pub(super) async fn missing_sources(
    State(app): State<Arc<App>>,
    id: RawJobId,
    _: Collected,
) -> Answer {
    let job = app.engine.job(job_id(&id)?).await?;
    ok(&MissingSourcesView::of(&job))
}

/// `GET /api/professional-report/retry-status/{job_id}`.
pub(super) async fn retry_status(
    State(app): State<Arc<App>>,
    id: RawJobId,
    _: Collected,
) -> Answer {
    let engine = &app.engine;
    let job = engine.job(job_id(&id)?).await?;
    ok(&RetryStatusView::of(&job, engine.policy(), engine.now()))
}

/// `DELETE /api/professional-report/{job_id}`: erasure.
pub(super) async fn erase(State(app): State<Arc<App>>, id: RawJobId, _: Collected) -> Answer {
    let id = job_id(&id)?;
    app.engine.erase(id).await?;
    ok(&Erased {
        job_id: id,
        erased: true,
    })
}

/// `POST /api/professional-report/retry/{job_id}`: a manual retry, under
/// the retry limits.
pub(super) async fn retry(
    State(app): State<Arc<App>>,
    id: RawJobId,
    Collected(req): Collected,
) -> Answer {
    let id = job_id(&id)?;
    let allowance = limits::check(&app, &req, limits::Action::Retry).await?;
    let engine = &app.engine;
    let (job, result) = engine.manual_retry(id).await?;
    let mut response = json_response(StatusCode::OK, &RetryAnswer::of(&job, result, engine.now()));
    allowance.apply(&mut response);
    Ok(Reply(response))
}

/// `GET /api/cron/retry-missing-data`: the sweep, behind the cron secret.
pub(super) async fn cron(State(app): State<Arc<App>>, Collected(req): Collected) -> Answer {
    authorize_cron(&app.config, req.headers())?;
    let report = app.engine.sweep().await?;
    ok(&SweepAnswer::of(report, app.engine.now()))
}
