//! The operators' console: `GET /api/ops` (overview), `GET /api/ops/jobs`
//! (list, filter, find by id prefix), `GET /api/ops/jobs/{job_id}` (one
//! job), and its actions as `POST` forms answered by a redirect (`303 See
//! Other`) to the page that shows the result.
//!
//! Three layers: [`view`] reads what the store keeps into serialisable
//! view models; [`pages`] renders them (`maud`, auto-escaping, no script);
//! this module holds the handlers, which read their input, call one of
//! them, and encode the answer (HTML, or the view as JSON with `Accept:
//! application/json`). The routes are axum's, in the API's router
//! (`router::console`), nested under [`PREFIX`] with their own fallback
//! (404 `route_not_found`) and method refusals (405 with `Allow`); the
//! [`gate`] around all of them checks [`access`] first, so a request
//! without credentials learns nothing of which paths exist.
//!
//! Off unless `OPS_TOKEN` is set (404 for every path); see [`access`].

pub mod access;
pub mod pages;
pub mod view;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, State};
use axum::middleware::Next;
use axum::response::IntoResponse;
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderValue, Request, Response, StatusCode};
use serde::Serialize;

use super::router::{Collected, Reply};
use super::{ApiError, App};
use crate::engine::EngineError;
use crate::model::{JobId, JobStatus};
use crate::store::limits::{weighted, window_ms, Window};
use access::{Denied, Role};
use pages::Frame;

/// The console's path prefix.
pub const PREFIX: &str = "/api/ops";

/// A refused request: status, machine-readable code, plain message. As a
/// handler's answer it is a marker the [`gate`] renders (HTML, or JSON
/// with `Accept: application/json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    allow: Option<&'static str>,
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            allow: None,
            retry_after: None,
        }
    }

    /// 405 `method_not_allowed`, `Allow: {allow}`.
    pub(crate) fn method(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This page does not take that method.",
            )
        }
    }

    fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "There is no such page.",
        )
    }

    fn read_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "The read-only token cannot act; use the operators' token.",
        )
    }

    fn store(e: &crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "console could not read the store");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "The store cannot be read right now; try again shortly.",
        )
    }
}

impl IntoResponse for Refusal {
    /// An empty answer carrying the refusal, which [`gate`] renders.
    fn into_response(self) -> axum::response::Response {
        let mut response = axum::response::Response::default();
        response.extensions_mut().insert(self);
        response
    }
}

/// A console handler's answer.
type Page = Result<Reply, Refusal>;

/// Around every console route and the console's fallback: reads the body
/// (under the API's limit and deadline, as every route does), answers 404
/// as an unknown API route while the console is off, lets the request in
/// by its credentials ([`authenticate`]; the [`Role`] goes to the handler
/// as a request extension), renders a [`Refusal`] and puts the console's
/// headers ([`access::secure`]) on every answer it gives.
pub(crate) async fn gate(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    let req = match Collected::from_request(req, &app).await {
        Ok(Collected(req)) => req,
        Err(e) => return IntoResponse::into_response(e),
    };
    if !app.config.ops.enabled() {
        return IntoResponse::into_response(ApiError::RouteNotFound);
    }
    let json = wants_json(req.headers());
    let mut response = match authenticate(&app, &req).await {
        Ok(role) => {
            let mut req = req.map(Body::from);
            req.extensions_mut().insert(role);
            next.run(req).await
        }
        Err(refusal) => refusal.into_response(),
    };
    if let Some(refusal) = response.extensions_mut().remove::<Refusal>() {
        response = refused(&app, &refusal, json).map(Body::from);
    }
    access::secure(
        response.headers_mut(),
        &access::content_security_policy(pages::CSS),
    );
    response
}

/// A console path no route takes (after the [`gate`] let it in).
pub(crate) async fn not_found() -> Refusal {
    Refusal::not_found()
}

fn wants_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// What a console page knows of its request: the role the [`gate`] let
/// in, whether JSON was asked for, the day's CSRF token and the notice of
/// an action's redirect.
pub(crate) struct Visit {
    role: Role,
    json: bool,
    csrf: String,
    notice: Option<String>,
}

impl Visit {
    fn frame<'a>(&'a self, app: &App) -> Frame<'a> {
        Frame {
            environment: app.config.ops.environment.as_str(),
            can_act: self.role == Role::Admin,
            csrf: &self.csrf,
            notice: self.notice.clone(),
        }
    }
}

impl FromRequestParts<Arc<App>> for Visit {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refusal> {
        // Always there behind the gate; without it nothing is shown.
        let role = parts.extensions.get::<Role>().copied().ok_or_else(|| {
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Sign in with the operators' token as the password.",
            )
        })?;
        Ok(Self {
            role,
            json: wants_json(&parts.headers),
            csrf: access::csrf_token(&app.config.ops, app.engine.now()),
            notice: notice(parts.uri.query()),
        })
    }
}

/// The raw `{id}` or `{source}` segment (empty when it cannot be read,
/// which no id or source is).
fn segment(path: Result<Path<String>, PathRejection>) -> String {
    path.map(|Path(s)| s).unwrap_or_default()
}

/// Lets a request in by its Basic credentials, unless its client has
/// failed too often lately.
async fn authenticate(app: &App, req: &Request<Bytes>) -> Result<Role, Refusal> {
    let limits = app.engine.store().limits();
    let client =
        super::limits::client_key(super::limits::client_ip(req, app.config.limits.client_ip));
    let window = Window {
        key: format!("ops-login:{client}"),
        limit: access::LOGIN_FAILURES,
        window: access::LOGIN_WINDOW,
    };
    let now = app.engine.now();
    if let (Some(limits), true) = (limits, req.headers().contains_key(header::AUTHORIZATION)) {
        let count = limits
            .peek(&window, now)
            .await
            .map_err(|e| Refusal::store(&e))?;
        if weighted(count, crate::store::to_ms(now), window_ms(window.window)) >= window.limit {
            return Err(Refusal {
                retry_after: Some(access::LOGIN_WINDOW.as_secs()),
                ..Refusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_failed_logins",
                    "Too many failed logins from this address; wait before trying again.",
                )
            });
        }
    }
    match access::role(&app.config.ops, req.headers()) {
        Ok(role) => Ok(role),
        Err(denied) => {
            if let (Denied::Wrong, Some(limits)) = (denied, limits) {
                tracing::info!("operators' console: failed login");
                limits
                    .hit(std::slice::from_ref(&window), now)
                    .await
                    .map_err(|e| Refusal::store(&e))?;
            }
            Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Sign in with the operators' token as the password.",
            ))
        }
    }
}

/// An action needs the full token, this host's origin and the CSRF token.
fn check_action(app: &App, req: &Request<Bytes>, role: Role) -> Result<(), Refusal> {
    if role != Role::Admin {
        return Err(Refusal::read_only());
    }
    let given = form_field(req, "csrf").or_else(|| {
        req.headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let csrf_ok = given.is_some_and(|t| access::csrf_ok(&app.config.ops, &t, app.engine.now()));
    if !csrf_ok || !access::same_origin(req) {
        return Err(Refusal::new(StatusCode::FORBIDDEN, "csrf_invalid", "This form is out of date or was not sent from the console; reload the page and try again."));
    }
    Ok(())
}

/// A field of an `application/x-www-form-urlencoded` body.
fn form_field(req: &Request<Bytes>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.body())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn job_id(raw: &str) -> Result<JobId, Refusal> {
    JobId::parse(raw).map_err(|_| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_job_id",
            "That is not a job id.",
        )
    })
}

fn job_missing() -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        "job_not_found",
        "No such job: it was never made, has expired or was erased.",
    )
}

/// `GET /api/ops`: the overview.
pub(crate) async fn overview(State(app): State<Arc<App>>, visit: Visit) -> Page {
    let v = view::overview(&app.engine, app.config.limits.daily_paid_calls)
        .await
        .map_err(|e| Refusal::store(&e))?;
    let frame = visit.frame(&app);
    Ok(answer(visit.json, &frame, &v, pages::overview(&frame, &v)))
}

/// `GET /api/ops/jobs`: the jobs, filtered, found by id prefix, paged.
pub(crate) async fn jobs(
    State(app): State<Arc<App>>,
    visit: Visit,
    RawQuery(query): RawQuery,
) -> Page {
    let (status, q, page) = list_query(query.as_deref())?;
    let v = view::job_list(&app.engine, status, q, page)
        .await
        .map_err(|e| Refusal::store(&e))?;
    let frame = visit.frame(&app);
    Ok(answer(visit.json, &frame, &v, pages::job_list(&frame, &v)))
}

/// `GET /api/ops/jobs/{id}`: one job.
pub(crate) async fn job(
    State(app): State<Arc<App>>,
    visit: Visit,
    id: Result<Path<String>, PathRejection>,
) -> Page {
    let id = job_id(&segment(id))?;
    let v = view::job_detail(&app.engine, id)
        .await
        .map_err(|e| Refusal::store(&e))?
        .ok_or_else(job_missing)?;
    let frame = visit.frame(&app);
    Ok(answer(
        visit.json,
        &frame,
        &v,
        pages::job_detail(&frame, &v),
    ))
}

/// `GET /api/ops/jobs/{id}/erase`: the erasure's confirmation form.
pub(crate) async fn erase_confirm(
    State(app): State<Arc<App>>,
    visit: Visit,
    id: Result<Path<String>, PathRejection>,
) -> Page {
    let id = job_id(&segment(id))?;
    let frame = visit.frame(&app);
    if !frame.can_act {
        return Err(Refusal::read_only());
    }
    Ok(html(StatusCode::OK, pages::erase_confirm(&frame, id)))
}

/// The jobs list's `status`, `q` and `page` parameters.
fn list_query(query: Option<&str>) -> Result<(Option<JobStatus>, Option<String>, usize), Refusal> {
    let param = |name: &str| super::query_param(query, name).filter(|v| !v.trim().is_empty());
    let status = match param("status") {
        None => None,
        Some(s) => Some(
            view::statuses()
                .into_iter()
                .find(|st| st.as_str() == s)
                .ok_or_else(|| {
                    Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_status",
                        "Status must be pending, processing, completed, partial or failed.",
                    )
                })?,
        ),
    };
    let q = match param("q") {
        None => None,
        Some(q) if crate::store::ops::valid_prefix(q.trim()) => Some(q.trim().to_ascii_lowercase()),
        Some(_) => return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "Search by a job id or its first characters (letters, digits and hyphens, at most 64).",
        )),
    };
    let page = match param("page") {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_page",
                    "Page must be a whole number from 1.",
                )
            })?,
    };
    Ok((status, q, page))
}

/// `POST /api/ops/jobs/{id}/retry`: retries the job's missing sources and
/// redirects to its page, which shows the result.
pub(crate) async fn retry(
    State(app): State<Arc<App>>,
    visit: Visit,
    id: Result<Path<String>, PathRejection>,
    Collected(req): Collected,
) -> Page {
    check_action(&app, &req, visit.role)?;
    let id = job_id(&segment(id))?;
    let notice = match app.engine.manual_retry(id).await {
        Ok((_, r)) => format!(
            "retried&n={}&recovered={}",
            r.retried_sources.len(),
            r.success_count
        ),
        Err(e) => retry_refusal(&e)?.to_owned(),
    };
    Ok(see_other(&format!("{PREFIX}/jobs/{id}?notice={notice}")))
}

/// `POST /api/ops/jobs/{id}/erase`: erases the job once its id was typed
/// again (the confirmation step), and redirects to the list.
pub(crate) async fn erase(
    State(app): State<Arc<App>>,
    visit: Visit,
    id: Result<Path<String>, PathRejection>,
    Collected(req): Collected,
) -> Page {
    check_action(&app, &req, visit.role)?;
    let raw = segment(id);
    let id = job_id(&raw)?;
    let confirm = form_field(&req, "confirm");
    if confirm.as_deref().map(str::trim) != Some(raw.as_str()) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "confirmation_mismatch",
            "Type the job's id exactly to confirm its erasure.",
        ));
    }
    match app.engine.erase(id).await {
        Ok(()) => Ok(see_other(&format!("{PREFIX}/jobs?notice=erased"))),
        Err(EngineError::NotFound) => Err(job_missing()),
        Err(e) => Err(engine_refusal(&e)),
    }
}

/// `POST /api/ops/sources/{source}/retry`: retries one source's slots on
/// every partial job, and redirects to the overview.
pub(crate) async fn retry_source(
    State(app): State<Arc<App>>,
    visit: Visit,
    source: Result<Path<String>, PathRejection>,
    Collected(req): Collected,
) -> Page {
    check_action(&app, &req, visit.role)?;
    let source = pages::parse_source(&segment(source)).ok_or_else(|| {
        Refusal::new(StatusCode::BAD_REQUEST, "invalid_source", "No such source.")
    })?;
    let r = app
        .engine
        .retry_source(source)
        .await
        .map_err(|e| engine_refusal(&e))?;
    let notice = format!(
        "source_retried&source={}&jobs={}&n={}&recovered={}&more={}",
        source.as_str(),
        r.jobs,
        r.retried,
        r.recovered,
        u8::from(r.more_left)
    );
    Ok(see_other(&format!("{PREFIX}?notice={notice}")))
}

/// A manual retry the engine refused, as the notice code shown on the
/// job's page; a store failure stays an error.
fn retry_refusal(e: &EngineError) -> Result<&'static str, Refusal> {
    Ok(match e {
        EngineError::RetryTooSoon { .. } => "retry_too_soon",
        EngineError::RetryWindowClosed => "retry_window_closed",
        EngineError::RetryNotAllowed(_) => "retry_not_allowed",
        EngineError::Busy => "busy",
        EngineError::NotFound | EngineError::Erased => return Err(job_missing()),
        other => return Err(engine_refusal(other)),
    })
}

fn engine_refusal(e: &EngineError) -> Refusal {
    match e {
        EngineError::Store(s) => Refusal::store(s),
        other => {
            tracing::error!(error = %other, "console action failed");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "The action failed; see the logs.",
            )
        }
    }
}

/// The text of an action's notice, from the redirect's query: fixed
/// sentences with whole numbers only, so nothing a request carries is
/// echoed as text.
fn notice(query: Option<&str>) -> Option<String> {
    let n = |name: &str| {
        super::query_param(query, name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let source = super::query_param(query, "source").and_then(|s| pages::parse_source(&s));
    Some(match super::query_param(query, "notice")?.as_str() {
        "retried" => format!(
            "Retried {} missing sources now; {} now have their answer.",
            n("n"),
            n("recovered")
        ),
        "erased" => "The job was erased.".to_owned(),
        "retry_too_soon" => {
            "A retry of this job ran moments ago; try again in a minute.".to_owned()
        }
        "retry_window_closed" => "This job's retry window has closed.".to_owned(),
        "retry_not_allowed" => "Only partial or completed jobs can be retried.".to_owned(),
        "busy" => "The job is being worked on right now; try again shortly.".to_owned(),
        "source_retried" => format!(
            "Retried {} on {} partial jobs: {} fetches, {} now answered.{}",
            source.map_or("the source", |s| s.as_str()),
            n("jobs"),
            n("n"),
            n("recovered"),
            if n("more") == 1 {
                " More partial jobs are left: run it again."
            } else {
                ""
            }
        ),
        _ => return None,
    })
}

fn see_other(location: &str) -> Reply {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Reply(r)
}

fn html(status: StatusCode, markup: maud::Markup) -> Reply {
    Reply(html_response(status, markup))
}

fn html_response(status: StatusCode, markup: maud::Markup) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(markup.into_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// The page's view as JSON (with the forms' CSRF token, for a JSON client's
/// actions), or its HTML.
fn answer<T: Serialize>(json: bool, frame: &Frame<'_>, view: &T, markup: maud::Markup) -> Reply {
    if json {
        let body = serde_json::json!({
            "environment": frame.environment,
            "read_only": !frame.can_act,
            "csrf": frame.can_act.then_some(frame.csrf),
            "view": view,
        });
        Reply(super::json_response(StatusCode::OK, &body))
    } else {
        html(StatusCode::OK, markup)
    }
}

fn refused(app: &App, r: &Refusal, json: bool) -> Response<Bytes> {
    let mut response = if json {
        let body = serde_json::json!({
            "error": {"code": r.code, "message": r.message},
            "detail": r.message,
        });
        super::json_response(r.status, &body)
    } else {
        let frame = Frame {
            environment: app.config.ops.environment.as_str(),
            can_act: false,
            csrf: "",
            notice: None,
        };
        let title = r.status.canonical_reason().unwrap_or("Refused");
        html_response(r.status, pages::error(&frame, title, &r.message))
    };
    let headers = response.headers_mut();
    if r.status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"care-report operators\", charset=\"UTF-8\""),
        );
    }
    if let Some(allow) = r.allow {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if let Some(secs) = r.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_fixed_sentences_with_numbers_only() {
        let n = notice(Some("notice=retried&n=3&recovered=%3Cb%3E")).unwrap();
        assert_eq!(n, "Retried 3 missing sources now; 0 now have their answer.");
        assert_eq!(notice(Some("notice=%3Cscript%3E")), None);
        assert_eq!(notice(None), None);
    }
}
