//! The operators' console: `GET /api/ops` (overview), `GET /api/ops/jobs`
//! (list, filter, find by id prefix), `GET /api/ops/jobs/{job_id}` (one
//! job), and its actions as `POST` forms answered by a redirect (`303 See
//! Other`) to the page that shows the result.
//!
//! Three layers, so the router under them can change (issue 21 moves the
//! HTTP layer to axum) without touching the rest: [`view`] reads what the
//! store keeps into serialisable view models; [`pages`] renders them
//! (`maud`, auto-escaping, no script); this module only parses a request,
//! checks [`access`], calls one of them, and encodes the answer (HTML, or
//! the view as JSON with `Accept: application/json`).
//!
//! Off unless `OPS_TOKEN` is set (404 for every path); see [`access`].

pub mod access;
pub mod pages;
pub mod view;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use serde::Serialize;

use super::App;
use crate::engine::EngineError;
use crate::model::{JobId, JobStatus};
use crate::store::limits::{weighted, window_ms, Window};
use access::{Denied, Role};
use pages::Frame;

/// The console's path prefix.
pub const PREFIX: &str = "/api/ops";

/// One console route.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    Overview,
    Jobs,
    Job(String),
    EraseConfirm(String),
    Retry(String),
    Erase(String),
    RetrySource(String),
}

impl Route {
    /// The route of `sub` (the path after `/api/ops`) for `method`.
    fn parse(method: &Method, sub: &str) -> Result<Self, Refusal> {
        let segs: Vec<&str> = sub.split('/').filter(|s| !s.is_empty()).collect();
        let get = method == Method::GET || method == Method::HEAD;
        let post = method == Method::POST;
        let owned = |s: &str| s.to_owned();
        match (segs.as_slice(), get, post) {
            ([], true, _) => Ok(Self::Overview),
            (["jobs"], true, _) => Ok(Self::Jobs),
            (["jobs", id], true, _) => Ok(Self::Job(owned(id))),
            (["jobs", id, "erase"], true, _) => Ok(Self::EraseConfirm(owned(id))),
            (["jobs", id, "erase"], _, true) => Ok(Self::Erase(owned(id))),
            (["jobs", id, "retry"], _, true) => Ok(Self::Retry(owned(id))),
            (["sources", s, "retry"], _, true) => Ok(Self::RetrySource(owned(s))),
            ([] | ["jobs"] | ["jobs", _], _, _) => Err(Refusal::method("GET")),
            (["jobs", _, "erase"], _, _) => Err(Refusal::method("GET, POST")),
            (["jobs", _, "retry"] | ["sources", _, "retry"], _, _) => Err(Refusal::method("POST")),
            _ => Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "route_not_found",
                "There is no such page.",
            )),
        }
    }

    fn is_action(&self) -> bool {
        matches!(self, Self::Retry(_) | Self::Erase(_) | Self::RetrySource(_))
    }
}

/// A refused request: status, machine-readable code, plain message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Refusal {
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

    fn method(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This page does not take that method.",
            )
        }
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

/// Serves one console request (the router sends it every path under
/// [`PREFIX`]).
pub async fn handle(app: &App, req: Request<Bytes>) -> Response<Bytes> {
    if !app.config.ops.enabled() {
        return super::ApiError::RouteNotFound.into_response();
    }
    let json = wants_json(&req);
    let mut response = match serve(app, &req, json).await {
        Ok(r) => r,
        Err(refusal) => refused(app, &refusal, json),
    };
    access::secure(
        response.headers_mut(),
        &access::content_security_policy(pages::CSS),
    );
    response
}

fn wants_json(req: &Request<Bytes>) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// The sub-path after `/api/ops`: the request's own, or (behind Vercel's
/// rewrite of `/api/ops/*` to the one function) its `path` parameter.
fn sub_path(req: &Request<Bytes>) -> String {
    let path = req.uri().path();
    let own = path.strip_prefix(PREFIX).unwrap_or_default();
    if !own.trim_matches('/').is_empty() {
        return own.to_owned();
    }
    super::query_param(req.uri().query(), "path").unwrap_or_default()
}

async fn serve(app: &App, req: &Request<Bytes>, json: bool) -> Result<Response<Bytes>, Refusal> {
    let role = authenticate(app, req).await?;
    let route = Route::parse(req.method(), &sub_path(req))?;
    let config = &app.config.ops;
    let now = app.engine.now();
    let csrf = access::csrf_token(config, now);
    let frame = Frame {
        environment: config.environment.as_str(),
        can_act: role == Role::Admin,
        csrf: &csrf,
        notice: notice(req.uri().query()),
    };
    if route.is_action() {
        check_action(app, req, role)?;
        return act(app, req, route).await;
    }
    read(app, req, route, &frame, json).await
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
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "The read-only token cannot act; use the operators' token.",
        ));
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

async fn read(
    app: &App,
    req: &Request<Bytes>,
    route: Route,
    frame: &Frame<'_>,
    json: bool,
) -> Result<Response<Bytes>, Refusal> {
    let engine = &app.engine;
    match route {
        Route::Overview => {
            let v = view::overview(engine, app.config.limits.daily_paid_calls)
                .await
                .map_err(|e| Refusal::store(&e))?;
            Ok(answer(json, frame, &v, pages::overview(frame, &v)))
        }
        Route::Jobs => {
            let (status, q, page) = list_query(req.uri().query())?;
            let v = view::job_list(engine, status, q, page)
                .await
                .map_err(|e| Refusal::store(&e))?;
            Ok(answer(json, frame, &v, pages::job_list(frame, &v)))
        }
        Route::Job(raw) => {
            let id = job_id(&raw)?;
            let v = view::job_detail(engine, id)
                .await
                .map_err(|e| Refusal::store(&e))?
                .ok_or_else(job_missing)?;
            Ok(answer(json, frame, &v, pages::job_detail(frame, &v)))
        }
        Route::EraseConfirm(raw) => {
            let id = job_id(&raw)?;
            if frame.can_act {
                Ok(html(StatusCode::OK, pages::erase_confirm(frame, id)))
            } else {
                Err(Refusal::new(
                    StatusCode::FORBIDDEN,
                    "read_only",
                    "The read-only token cannot act; use the operators' token.",
                ))
            }
        }
        _ => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "There is no such page.",
        )),
    }
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

/// Runs an action and redirects to the page that shows its result.
async fn act(app: &App, req: &Request<Bytes>, route: Route) -> Result<Response<Bytes>, Refusal> {
    let engine = &app.engine;
    match route {
        Route::Retry(raw) => {
            let id = job_id(&raw)?;
            let notice = match engine.manual_retry(id).await {
                Ok((_, r)) => format!(
                    "retried&n={}&recovered={}",
                    r.retried_sources.len(),
                    r.success_count
                ),
                Err(e) => retry_refusal(&e)?.to_owned(),
            };
            Ok(see_other(&format!("{PREFIX}/jobs/{id}?notice={notice}")))
        }
        Route::Erase(raw) => erase(app, &raw, form_field(req, "confirm")).await,
        Route::RetrySource(raw) => {
            let source = pages::parse_source(&raw).ok_or_else(|| {
                Refusal::new(StatusCode::BAD_REQUEST, "invalid_source", "No such source.")
            })?;
            let r = engine
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
        _ => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "There is no such page.",
        )),
    }
}

/// Erases a job once its id was typed again (the confirmation step).
async fn erase(app: &App, raw: &str, confirm: Option<String>) -> Result<Response<Bytes>, Refusal> {
    let id = job_id(raw)?;
    if confirm.as_deref().map(str::trim) != Some(raw) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "confirmation_mismatch",
            "Type the job's id exactly to confirm its erasure.",
        ));
    }
    Ok(match app.engine.erase(id).await {
        Ok(()) => see_other(&format!("{PREFIX}/jobs?notice=erased")),
        Err(EngineError::NotFound) => return Err(job_missing()),
        Err(e) => return Err(engine_refusal(&e)),
    })
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

fn see_other(location: &str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn html(status: StatusCode, markup: maud::Markup) -> Response<Bytes> {
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
fn answer<T: Serialize>(
    json: bool,
    frame: &Frame<'_>,
    view: &T,
    markup: maud::Markup,
) -> Response<Bytes> {
    if json {
        let body = serde_json::json!({
            "environment": frame.environment,
            "read_only": !frame.can_act,
            "csrf": frame.can_act.then_some(frame.csrf),
            "view": view,
        });
        super::json_response(StatusCode::OK, &body)
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
        html(r.status, pages::error(&frame, title, &r.message))
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

    fn req(uri: &str) -> Request<Bytes> {
        Request::builder().uri(uri).body(Bytes::new()).unwrap()
    }

    #[test]
    fn sub_paths_come_from_the_path_or_from_the_rewrite() {
        assert_eq!(sub_path(&req("/api/ops/jobs/x")), "/jobs/x");
        // Behind vercel.json's rewrite the function may see its own path.
        assert_eq!(sub_path(&req("/api/ops?path=jobs/x/retry")), "jobs/x/retry");
        assert_eq!(sub_path(&req("/api/ops")), "");
    }

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(Route::parse(&Method::GET, ""), Ok(Route::Overview));
        assert_eq!(Route::parse(&Method::GET, "/jobs/"), Ok(Route::Jobs));
        assert_eq!(
            Route::parse(&Method::POST, "/jobs/a/erase"),
            Ok(Route::Erase("a".into()))
        );
        assert_eq!(
            Route::parse(&Method::GET, "/jobs/a/erase"),
            Ok(Route::EraseConfirm("a".into()))
        );
        assert_eq!(
            Route::parse(&Method::POST, "sources/cqc/retry"),
            Ok(Route::RetrySource("cqc".into()))
        );
        assert_eq!(
            Route::parse(&Method::POST, "/jobs").map_err(|r| r.status),
            Err(StatusCode::METHOD_NOT_ALLOWED)
        );
        assert_eq!(
            Route::parse(&Method::GET, "/nope").map_err(|r| r.status),
            Err(StatusCode::NOT_FOUND)
        );
    }

    #[test]
    fn notices_are_fixed_sentences_with_numbers_only() {
        let n = notice(Some("notice=retried&n=3&recovered=%3Cb%3E")).unwrap();
        assert_eq!(n, "Retried 3 missing sources now; 0 now have their answer.");
        assert_eq!(notice(Some("notice=%3Cscript%3E")), None);
        assert_eq!(notice(None), None);
    }
}
