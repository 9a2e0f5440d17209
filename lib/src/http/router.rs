//! The API as one `axum::Router`, and the tower layers around it.
//!
//! Every host serves the value [`api`] builds: the dev-server on its hyper
//! loop, each Vercel function (built with the one endpoint it serves, so
//! every other path is a 404), and the tests in-process with
//! `tower::ServiceExt::oneshot`. Routing, path and query extraction and
//! the method check are axum's; request ids, trace spans and trailing
//! slashes are tower-http layers; the body limit is axum's
//! [`DefaultBodyLimit`], its refusal mapped to our 413 JSON error.
//!
//! The operators' console is a router of its own ([`console`]) nested
//! under `/api/ops`: its own 404 and 405 answers (HTML or JSON, `Allow`
//! naming the path's methods) and its gate ([`ops::gate`]) in place of
//! CORS; [`ConsolePath`] undoes Vercel's rewrite of its sub-paths.
//!
//! Two pieces stay our own, each because tower-http's layer would change
//! an answer the suites pin:
//!
//! - **CORS** ([`cors`]): `tower_http::cors::CorsLayer` answers every
//!   `OPTIONS` itself with 200 (ours: 204 for a path this router serves,
//!   404 `route_not_found` for any other), sends `*` without an `Origin`,
//!   puts the preflight headers on a refused origin's answer too, and
//!   writes `Vary` in lower case.
//! - **The body read deadline** ([`BodyDeadline`]): tower-http's
//!   `RequestBodyTimeoutLayer` times the gap between two chunks, so a
//!   client dripping a byte at a time never trips it; ours bounds the
//!   whole body (408 `body_timeout`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, State};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::routing::{get, on, post, MethodFilter, MethodRouter};
use axum::{RequestExt, Router};
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::Layer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use super::{
    handlers, ops, query_param, ApiError, App, Background, CorsOrigins, Endpoint, Route,
    TokioBackground, ROUTES,
};

/// The API as a tower service: the router behind the trailing-slash trim
/// (`/health/` is `/health`) and [`ConsolePath`], which must run before
/// routing.
pub type Api = NormalizePath<ConsolePath<Router>>;

/// The API over `app`: every endpoint, or only `only` (a Vercel function
/// serves one; every other path answers 404).
pub fn api(app: App, only: Option<Endpoint>) -> Api {
    let max_body = app.config.max_body_bytes;
    let cors_origins = Arc::new(app.config.cors.clone());
    let app = Arc::new(app);
    let mut router = Router::new();
    for route in ROUTES
        .iter()
        .filter(|r| only.is_none_or(|o| o == r.endpoint))
    {
        router = router.route(route.path, method_router(route));
        // `…/status?job_id=…`: how Vercel may hand a dynamic segment over.
        if let Some(bare) = bare_path(route) {
            router = router.route(bare, method_router(route));
        }
    }
    // The console answers for itself: its own access rules and headers,
    // no CORS (it is never called from another site).
    let mut router = router.fallback(route_not_found);
    // Without allowed origins the middleware would add nothing: it is left
    // out, so the default deployment pays nothing for it.
    if *cors_origins != CorsOrigins::None {
        router = router.layer(axum::middleware::from_fn_with_state(cors_origins, cors));
    }
    if only.is_none_or(|o| o == Endpoint::Ops) {
        router = router.nest(ops::PREFIX, console(app.clone()));
    }
    router = router
        .layer(DefaultBodyLimit::max(max_body))
        .layer(PropagateRequestIdLayer::x_request_id());
    // The request span is at `debug`: under a filter that leaves it off the
    // layer would only wrap every request's future for nothing (5xx causes
    // are logged by `ApiError` itself). Decided once, as the filter is set
    // before the router is built and never changes.
    if tracing::enabled!(tracing::Level::DEBUG) {
        router = router.layer(TraceLayer::new_for_http().make_span_with(request_span));
    }
    let router = router
        .layer(SetRequestIdLayer::x_request_id(RequestIds::new()))
        .with_state(app);
    NormalizePathLayer::trim_trailing_slash().layer(ConsolePath(router))
}

/// The operators' console ([`ops`]), to nest under [`ops::PREFIX`]: each
/// page and action with the methods it takes (`GET` serves `HEAD` too),
/// any other method 405 with the `Allow` of that path, any other path 404,
/// all of them the console's own answers behind its [`ops::gate`].
fn console(app: Arc<App>) -> Router<Arc<App>> {
    let refuse = |allow: &'static str| move || async move { ops::Refusal::method(allow) };
    Router::new()
        .route("/", get(ops::overview).fallback(refuse("GET")))
        .route("/jobs", get(ops::jobs).fallback(refuse("GET")))
        .route("/jobs/{id}", get(ops::job).fallback(refuse("GET")))
        .route(
            "/jobs/{id}/erase",
            get(ops::erase_confirm)
                .post(ops::erase)
                .fallback(refuse("GET, POST")),
        )
        .route(
            "/jobs/{id}/retry",
            post(ops::retry).fallback(refuse("POST")),
        )
        .route(
            "/sources/{source}/retry",
            post(ops::retry_source).fallback(refuse("POST")),
        )
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn_with_state(app, ops::gate))
}

/// Undoes `vercel.json`'s rewrite of `/api/ops/{path}` to
/// `/api/ops?path={path}` (how the one console function receives every
/// console path) before routing, so the console's routes see the path as
/// sent. Every other request passes untouched.
#[derive(Clone, Debug)]
pub struct ConsolePath<S>(S);

impl<S, B> tower::Service<Request<B>> for ConsolePath<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(uri) = console_path(req.uri()) {
            *req.uri_mut() = uri;
        }
        self.0.call(req)
    }
}

/// `/api/ops?path=jobs/x/retry&…` as `/api/ops/jobs/x/retry?path=…&…`
/// (each segment percent-encoded again; empty ones dropped); `None` for
/// any other URI.
fn console_path(uri: &http::Uri) -> Option<http::Uri> {
    use std::fmt::Write;
    if uri.path() != ops::PREFIX {
        return None;
    }
    let sub = query_param(uri.query(), "path")?;
    let mut path = ops::PREFIX.to_owned();
    for segment in sub.split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        for b in segment.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                path.push(char::from(b));
            } else {
                let _ = write!(path, "%{b:02X}");
            }
        }
    }
    if path == ops::PREFIX {
        return None;
    }
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{path}{query}").parse().ok()
}

/// The span a request's logs carry (at `debug`: an `info` span on every
/// request cost the status path about 10 µs of CPU in the bench, see
/// BENCHMARKS.md "HTTP on axum"): method, the route's template and the
/// request id (`x-request-id`: a client's own, else a new UUID; the answer
/// echoes it), logged only when it is a plain token of at most 64
/// characters. Never the path or the query as sent: a client may put
/// anything in a job id's place (an e-mail address, say), and what a client
/// sends is no business of the logs; a path no route takes is logged as `-`.
fn request_span(req: &http::Request<Body>) -> tracing::Span {
    use tracing::field::Empty;
    let span =
        tracing::debug_span!("request", method = %req.method(), route = Empty, request_id = Empty);
    // Off under the default filter: then nothing below runs on the hot path.
    if span.is_disabled() {
        return span;
    }
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        // A client's own id is logged only when it looks like one.
        .filter(|v| {
            v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or("-");
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("-", axum::extract::MatchedPath::as_str);
    span.record("route", route);
    span.record("request_id", id);
    span
}

/// Request ids (`x-request-id`, when the client sent none): UUIDs of
/// version 8 made of 64 random bits drawn once per process and a counter,
/// so an id costs no system call (tower-http's `MakeRequestUuid` reads the
/// system's random source on every request) and two instances' ids differ
/// all the same. An id only names a request in the logs; it guards nothing.
#[derive(Clone)]
struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        Self {
            prefix: uuid::Uuid::new_v4().as_u64_pair().0,
            next: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.prefix.to_be_bytes());
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        let id = uuid::Builder::from_custom_bytes(bytes).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut text))
            .ok()
            .map(RequestId::new)
    }
}

/// A route with a `{job_id}` segment also answers without it (the id then
/// comes from `?job_id=`), except erasure: `/api/professional-report`
/// itself is the synchronous route.
fn bare_path(route: &Route) -> Option<&'static str> {
    let bare = route.path.strip_suffix("/{job_id}")?;
    (route.endpoint != Endpoint::Delete).then_some(bare)
}

/// The route's handler for its method, a 204 preflight for `OPTIONS`, and
/// for any other method 405 naming the allowed one (erasure: 404, as the
/// path is only a route for `DELETE`).
fn method_router(route: &'static Route) -> MethodRouter<Arc<App>> {
    let filter = MethodFilter::try_from(route.method.clone()).expect("a route's method");
    let handler = match route.endpoint {
        Endpoint::Health => on(filter, handlers::health),
        Endpoint::OpenApi => on(filter, handlers::openapi),
        Endpoint::Start => on(filter, handlers::start),
        Endpoint::ProfessionalReport => on(filter, handlers::professional_report),
        Endpoint::Status => on(filter, handlers::status),
        Endpoint::Result => on(filter, handlers::result),
        Endpoint::Retry => on(filter, handlers::retry),
        Endpoint::MissingSources => on(filter, handlers::missing_sources),
        Endpoint::RetryStatus => on(filter, handlers::retry_status),
        Endpoint::Cron => on(filter, handlers::cron),
        Endpoint::Delete => on(filter, handlers::erase),
        // Not in ROUTES: the console has its own router ([`console`]).
        Endpoint::Ops => on(filter, route_not_found),
    };
    if route.endpoint == Endpoint::Delete {
        return handler.options(route_not_found).fallback(route_not_found);
    }
    let allow = route.method.as_str();
    handler
        .options(preflight)
        .fallback(move |_: Collected| async move { ApiError::MethodNotAllowed { allow } })
}

/// A preflight for a path this router serves: 204; [`cors`] adds the
/// `Access-Control-*` headers when the origin is allowed.
async fn preflight(_: Collected) -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Any path no route takes. The body is read first, as on every route:
/// an oversized body is 413 wherever it is sent.
async fn route_not_found(_: Collected) -> ApiError {
    ApiError::RouteNotFound
}

/// A library response as an axum one.
pub(crate) struct Reply(pub(crate) Response<Bytes>);

impl IntoResponse for Reply {
    fn into_response(self) -> axum::response::Response {
        self.0.map(Body::from)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        ApiError::into_response(self).map(Body::from)
    }
}

/// The request with its body read whole, under the body limit
/// ([`DefaultBodyLimit`]) and the host's [`BodyDeadline`], as the handlers
/// read it.
pub(crate) struct Collected(pub(crate) Request<Bytes>);

impl FromRequest<Arc<App>> for Collected {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, app: &Arc<App>) -> Result<Self, ApiError> {
        let deadline = req.extensions().get::<BodyDeadline>().copied();
        let (parts, body) = req.with_limited_body().into_parts();
        let read = body.collect();
        let read = match deadline {
            Some(BodyDeadline(d)) => tokio::time::timeout(d, read)
                .await
                .map_err(|_| ApiError::BodyTimeout)?,
            None => read.await,
        };
        match read {
            Ok(collected) => Ok(Self(Request::from_parts(parts, collected.to_bytes()))),
            Err(e) if over_limit(&e) => Err(ApiError::PayloadTooLarge {
                limit: app.config.max_body_bytes,
            }),
            Err(_) => Err(ApiError::IncompleteBody),
        }
    }
}

/// Whether reading a body failed at [`DefaultBodyLimit`]'s limit (the
/// limit's error is wrapped in axum's).
fn over_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// How long the whole request body may take to arrive, set by a host that
/// reads bodies off a socket (the dev-server) as a request extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyDeadline(pub Duration);

/// The limits of a server that reads requests off a socket (the
/// dev-server's loop, `crate::host::hyper`, whose docs say more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time for a whole request head; also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// Time for a whole request body ([`BodyDeadline`]).
    pub body_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// The raw `{job_id}` of a request: the path segment, or (when the route
/// has none, or it is the literal `[job_id]` of Vercel's file name) the
/// `job_id` query parameter; empty when neither is given.
pub(crate) struct RawJobId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for RawJobId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segment = Path::<String>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|Path(s)| s)
            .filter(|s| !(s.starts_with('[') && s.ends_with(']')));
        let raw = segment.or_else(|| query_param(parts.uri.query(), "job_id"));
        Ok(Self(raw.unwrap_or_default()))
    }
}

/// Where a request's background work runs: the [`Background`] a host put
/// in the request's extensions (a Vercel function: the invocation's
/// `wait_until`), else a tokio task.
#[derive(Clone)]
pub struct BackgroundHandle(pub Arc<dyn Background>);

impl<S: Send + Sync> FromRequestParts<S> for BackgroundHandle {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self(Arc::new(TokioBackground))))
    }
}

/// Adds the CORS headers to every answer of the API (module docs say why
/// this is not tower-http's `CorsLayer`).
async fn cors(
    State(origins): State<Arc<CorsOrigins>>,
    req: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut response = next.run(req).await;
    cors_headers(&origins, origin.as_ref(), response.headers_mut());
    response
}

fn cors_headers(origins: &CorsOrigins, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
    if let CorsOrigins::List(_) = origins {
        // The answer depends on the Origin header, allowed or not, so a
        // cache must not serve one origin's answer to another.
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    let allow = match (origins, origin) {
        (CorsOrigins::None, _) | (_, None) => return,
        (CorsOrigins::Any, Some(_)) => HeaderValue::from_static("*"),
        (CorsOrigins::List(list), Some(o)) => {
            let Some(o_str) = o.to_str().ok() else { return };
            if !list
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(o_str))
            {
                return;
            }
            o.clone()
        }
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, idempotency-key, authorization"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(
            "location, content-location, retry-after, idempotent-replayed, ratelimit-limit, ratelimit-remaining, ratelimit-reset, ratelimit-policy",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_uuids_and_instances_differ() {
        let request = Request::new(());
        let ids = |maker: &mut RequestIds| -> Vec<uuid::Uuid> {
            (0..3)
                .map(|_| {
                    let id = maker.make_request_id(&request).expect("an id");
                    uuid::Uuid::parse_str(id.header_value().to_str().unwrap()).unwrap()
                })
                .collect()
        };
        let mut one = RequestIds::new();
        let first = ids(&mut one);
        assert!(first.iter().all(|id| id.get_version_num() == 8));
        assert!(first[0] != first[1] && first[1] != first[2]);
        // A clone (the layer's per-connection copy) shares the counter.
        assert!(!first.contains(&ids(&mut one.clone())[0]));
        assert_ne!(ids(&mut RequestIds::new())[0], first[0]);
    }

    #[test]
    fn console_paths_come_from_the_path_or_from_the_rewrite() {
        let path = |uri: &str| console_path(&uri.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(path("/api/ops/jobs/x"), None);
        // Behind vercel.json's rewrite the function may see its own path.
        assert_eq!(
            path("/api/ops?path=jobs/x/retry").as_deref(),
            Some("/api/ops/jobs/x/retry?path=jobs/x/retry")
        );
        assert_eq!(path("/api/ops"), None);
        assert_eq!(path("/api/ops?path=%2F"), None);
        assert_eq!(
            path("/api/ops?path=jobs//a%20b/").as_deref(),
            Some("/api/ops/jobs/a%20b?path=jobs//a%20b/")
        );
    }

    #[test]
    fn bare_paths_take_the_id_from_the_query_except_erasure() {
        let bare: Vec<_> = ROUTES.iter().filter_map(bare_path).collect();
        assert!(bare.contains(&"/api/professional-report/status"));
        assert!(!bare.contains(&"/api/professional-report"));
    }
}
