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
//! `?wait=N` (N ≤ [`MAX_WAIT`] seconds) is a long poll: the request is
//! held until the job changes or N seconds pass, re-reading the job's
//! summary every [`WAIT_POLL`] (one small read, as a client's own poll
//! would be, without a request or a function invocation each time). "The
//! job changes" means its `ETag` differs from the one the client sent in
//! `If-None-Match`, or, without one, from the job as it was when the
//! request arrived. A final job (`completed`, `failed`) answers at once.
//! The status functions' `maxDuration` (`vercel.json`) leaves room for it.
//!
//! The `ETag` is weak (`W/"…"`): the job's last update in milliseconds and
//! a hash of what a poller acts on (status, progress, completeness,
//! error), not of the bytes. Its update time lets a read that is *older*
//! than what the client already holds be told apart: a read from an
//! Upstash replica that has not caught up (docs/STORE.md "Consistency across instances") is
//! answered 304 (the client keeps its newer copy), so progress never goes
//! back in what a client sees. A job created moments ago that this server
//! cannot see yet is answered as `pending`, "not visible here yet"
//! (`engine::VISIBILITY_WINDOW`), never 404.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};

use super::answers::StatusView;
use super::{json_response, query_param, ApiError, App};
use crate::engine::EngineError;
use crate::model::{JobId, JobStatus};
use crate::store::to_ms;

/// The poll hint while a job is pending or processing.
pub(crate) const BUSY_POLL: Duration = Duration::from_secs(2);

/// The longest `?wait`: 25 s, inside the status functions' `maxDuration`
/// of 30 s (`vercel.json`) with room for the answer.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(25);

/// How often a held request re-reads the job's summary.
pub(crate) const WAIT_POLL: Duration = Duration::from_secs(1);

/// The status answer of job `id` for `req` (200 with the view, or 304),
/// after waiting for a change when `?wait=N` asks for it.
pub(super) async fn answer(
    app: &App,
    id: JobId,
    req: &Request<Bytes>,
) -> Result<Response<Bytes>, ApiError> {
    let wait = wait_param(req.uri().query())?;
    let known = Known::from_headers(req.headers());
    let view = read(app, id).await?;
    let view = match wait {
        Some(wait) if !is_final(view.status) => {
            let reference = known.clone().or_current(&view);
            hold(app, id, view, &reference, wait).await?
        }
        _ => view,
    };
    let tag = etag(&view);
    let hint = poll_hint(app, &view).await?;
    let mut response = if known.unchanged(&tag) {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_response(StatusCode::OK, &view)
    };
    set_headers(response.headers_mut(), &tag, hint);
    Ok(response)
}

fn set_headers(headers: &mut HeaderMap, tag: &str, hint: Option<Duration>) {
    if let Ok(v) = HeaderValue::from_str(tag) {
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
}

/// `?wait=N`: `None` when absent; 400 `invalid_parameter` unless N is a
/// whole number of seconds from 0 to 25.
fn wait_param(query: Option<&str>) -> Result<Option<Duration>, ApiError> {
    let Some(raw) = query_param(query, "wait") else {
        return Ok(None);
    };
    match raw.parse::<u64>() {
        Ok(secs) if Duration::from_secs(secs) <= MAX_WAIT => Ok(Some(Duration::from_secs(secs))),
        _ => Err(ApiError::InvalidParameter {
            name: "wait",
            problem: "must be a whole number of seconds from 0 to 25",
        }),
    }
}

/// The job's status view; a fresh id this server cannot see yet is a
/// pending job, "not visible here yet" ([`EngineError::NotVisibleYet`]).
async fn read(app: &App, id: JobId) -> Result<StatusView, ApiError> {
    match app.engine.summary(id).await {
        Ok(summary) => Ok(StatusView::of(&summary)),
        Err(EngineError::NotVisibleYet) => Ok(not_visible_yet(id)),
        Err(e) => Err(e.into()),
    }
}

/// The view of a job created moments ago that this server cannot see yet:
/// pending, at 0 %, created when its id says (version 7 ids carry it).
fn not_visible_yet(id: JobId) -> StatusView {
    let at = id.created_at().unwrap_or_default();
    StatusView {
        job_id: id,
        status: JobStatus::Pending,
        progress: 0,
        message: "The job was created moments ago and is not visible here yet: poll again"
            .to_owned(),
        created_at: at,
        updated_at: at,
        error: None,
        is_partial: false,
        completeness: 0,
    }
}

fn is_final(status: JobStatus) -> bool {
    matches!(status, JobStatus::Completed | JobStatus::Failed)
}

/// Re-reads the job every [`WAIT_POLL`] until it differs from `reference`,
/// becomes final, or `wait` has passed (tokio's clock: pausable in tests,
/// bounding this request's wall time); the last view read.
async fn hold(
    app: &App,
    id: JobId,
    mut view: StatusView,
    reference: &Known,
    wait: Duration,
) -> Result<StatusView, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    while reference.unchanged(&etag(&view)) && !is_final(view.status) {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep(WAIT_POLL.min(deadline - now)).await;
        view = read(app, id).await?;
    }
    Ok(view)
}

/// The entity tags a client holds (`If-None-Match`).
#[derive(Clone, Debug, Default)]
struct Known {
    /// Any tag (`*`).
    any: bool,
    /// (update time in ms when the tag carries one, the opaque tag).
    tags: Vec<(Option<i64>, String)>,
}

impl Known {
    fn from_headers(headers: &HeaderMap) -> Self {
        let mut known = Self::default();
        for tag in headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
        {
            let tag = tag.trim();
            if tag == "*" {
                known.any = true;
            } else if !tag.is_empty() {
                known.tags.push(parse_tag(tag));
            }
        }
        known
    }

    /// These tags, or the current view's when the client sent none.
    fn or_current(self, view: &StatusView) -> Self {
        if self.any || !self.tags.is_empty() {
            return self;
        }
        Self {
            any: false,
            tags: vec![parse_tag(&etag(view))],
        }
    }

    /// Whether the answer tagged `tag` tells the client nothing new: the
    /// same tag (weak comparison, RFC 9110 §13.1.2; `*` matches any), or a
    /// state older than one the client holds (a replica behind).
    fn unchanged(&self, tag: &str) -> bool {
        let (at, opaque) = parse_tag(tag);
        self.any
            || self.tags.iter().any(|(held_at, held)| {
                *held == opaque || matches!((held_at, at), (Some(h), Some(a)) if a < *h)
            })
    }
}

/// A tag's update time (when it carries one) and its opaque part.
fn parse_tag(tag: &str) -> (Option<i64>, String) {
    let opaque = tag
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_owned();
    let at = opaque
        .split_once('-')
        .and_then(|(ms, _)| ms.parse::<i64>().ok());
    (at, opaque)
}

/// The weak entity tag of a status view: its last update in milliseconds
/// (which [`parse_tag`] reads back: progress never goes back), then a hash
/// of what the answer shows. The hash only tells two states of one job
/// apart, and must be the same on every instance: 64-bit FNV-1a, fixed by
/// its definition, not a keyed or cryptographic hash (a SHA-256 here was a
/// sixth of the status route's instructions).
pub(crate) fn etag(view: &StatusView) -> String {
    let updated = to_ms(view.updated_at);
    let mut hash = Fnv1a::default();
    hash.write(view.status.as_str().as_bytes());
    hash.write(&[b'|', view.progress, b'|', view.completeness, b'|']);
    hash.write(&updated.to_le_bytes());
    hash.write(b"|");
    hash.write(view.error.as_deref().unwrap_or_default().as_bytes());
    format!("W/\"{updated}-{:016x}\"", hash.0)
}

/// 64-bit FNV-1a (the offset basis and prime of its specification).
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's test vectors: the same hash on every instance
    /// and every release.
    #[test]
    fn fnv1a_is_the_specified_hash() {
        let of = |s: &str| {
            let mut h = Fnv1a::default();
            h.write(s.as_bytes());
            h.0
        };
        assert_eq!(of(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(of("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(of("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_tag_changes_with_what_the_answer_shows() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123Z")
            .unwrap()
            .to_utc();
        let view = StatusView {
            job_id: JobId::parse("0193a5b4-7c00-7000-8000-000000000001").unwrap(),
            status: JobStatus::Processing,
            progress: 40,
            message: "Fetching".to_owned(),
            created_at: at,
            updated_at: at,
            error: None,
            is_partial: false,
            completeness: 40,
        };
        let tag = etag(&view);
        assert!(tag.starts_with("W/\"1796637600123-"), "{tag}");
        assert_eq!(parse_tag(&tag).0, Some(1_796_637_600_123));
        assert_eq!(etag(&view.clone()), tag);
        let further = StatusView {
            progress: 60,
            ..view.clone()
        };
        assert_ne!(etag(&further), tag);
        let failed = StatusView {
            error: Some("no homes".to_owned()),
            ..view
        };
        assert_ne!(etag(&failed), tag);
    }
}
