//! `GET /api/professional-report/status/{job_id}` with what a poller needs
//! to wait without hammering: an `ETag`, `Cache-Control: no-cache`, 304 on
//! a matching `If-None-Match`, and a `Retry-After` hint.
//!
//! Why: clients poll the status until the job settles (the original
//! frontend, the README's tour). The answer's body is unchanged; a
//! conditional request saves its bytes (not the request or the one small
//! store read), and `Retry-After` tells a well-behaved poller how long to
//! wait: about 2 s while the job is pending or processing (a report takes
//! seconds), the time until the next automatic retry while it is partial,
//! none once it is final. This follows Trigger.dev's Electric polling and
//! the recommendation of ../shared/research/UPSTASH_CONSOLE_WAITING.md,
//! section C.1.
//!
//! The `ETag` is weak (`W/"…"`): a hash of what a poller acts on (status,
//! progress, completeness, error and the last update), not of the bytes.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use sha2::{Digest, Sha256};

use super::{hex, json_response, ApiError, App};
use crate::engine::views::StatusView;
use crate::model::{JobId, JobStatus};
use crate::store::to_ms;

/// The poll hint while a job is pending or processing.
pub(crate) const BUSY_POLL: Duration = Duration::from_secs(2);

/// The status answer of job `id` for `req` (200 with the view, or 304).
pub(super) async fn answer(
    app: &App,
    id: JobId,
    req: &Request<Bytes>,
) -> Result<Response<Bytes>, ApiError> {
    let view = app.engine.status(id).await?;
    let tag = etag(&view);
    let hint = poll_hint(app, &view).await?;
    let mut response = if matches(req.headers(), &tag) {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_response(StatusCode::OK, &view)
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, v);
    }
    // May be stored, but must be revalidated: the ETag makes that cheap.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(wait) = hint {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
    }
    Ok(response)
}

/// The weak entity tag of a status view.
pub(crate) fn etag(view: &StatusView) -> String {
    let state = format!(
        "{}|{}|{}|{}|{}",
        view.status,
        view.progress,
        view.completeness,
        to_ms(view.updated_at),
        view.error.as_deref().unwrap_or_default()
    );
    format!("W/\"{}\"", hex(&Sha256::digest(state.as_bytes())[..12]))
}

/// Whether `If-None-Match` names `tag` (weak comparison, RFC 9110 §13.1.2;
/// `*` matches any current answer).
fn matches(headers: &HeaderMap, tag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || opaque(t) == opaque(tag))
}

/// How long a poller should wait before asking again: [`BUSY_POLL`] while
/// the job is pending or processing; until its next automatic retry (its
/// place in the due index) while partial; none when it is final.
async fn poll_hint(app: &App, view: &StatusView) -> Result<Option<Duration>, ApiError> {
    match view.status {
        JobStatus::Pending | JobStatus::Processing => Ok(Some(BUSY_POLL)),
        JobStatus::Partial => {
            let due = app.engine.store().due_at(view.job_id).await?;
            let now = app.engine.now();
            Ok(due.map(|at| (at - now).to_std().unwrap_or(BUSY_POLL).max(BUSY_POLL)))
        }
        JobStatus::Completed | JobStatus::Failed => Ok(None),
    }
}
