//! The HTTP API of README.md "API", independent of its host.
//!
//! Handlers take an `http::Request<Bytes>` and return an
//! `http::Response<Bytes>`; each host (a `vercel_runtime` function, the
//! dev-server's hyper loop, a test) collects the body first and hands the
//! request to [`handle`]. Each handler parses its input into typed values,
//! calls one engine method and encodes the answer; errors go through
//! [`ApiError`], which maps every failure to a status in one place.

pub mod answers;
pub(crate) mod error;
pub mod formats;
pub mod limits;
pub mod openapi;
pub mod ops;
mod status;
pub mod sync;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use error::{error_body, ApiError, ErrorCode};

use crate::engine::Engine;
use crate::model::JobId;
use crate::settings::{env_str, is_vercel, ConfigError};
use crate::store::{Created, Idempotency, StoreError};
use answers::{Erased, Health, HealthStatus, RetryAnswer, StartAccepted, SweepAnswer};

/// Default request body limit: 256 KiB (a questionnaire is a few KiB).
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// The API's endpoints. Each Vercel function serves exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /health` (also `/api/health`, where Vercel serves it).
    Health,
    /// `GET /api/openapi.json`.
    OpenApi,
    /// `POST /api/professional-report/start`.
    Start,
    /// `POST /api/professional-report`: the synchronous contract ([`sync`]).
    ProfessionalReport,
    /// `GET /api/professional-report/status/{job_id}`.
    Status,
    /// `GET /api/professional-report/result/{job_id}`.
    Result,
    /// `POST /api/professional-report/retry/{job_id}`.
    Retry,
    /// `GET /api/professional-report/missing-sources/{job_id}`.
    MissingSources,
    /// `GET /api/professional-report/retry-status/{job_id}`.
    RetryStatus,
    /// `GET /api/cron/retry-missing-data`.
    Cron,
    /// `DELETE /api/professional-report/{job_id}`: erasure.
    Delete,
    /// `/api/ops` and every path under it: the operators' console
    /// ([`ops`]), off unless `OPS_TOKEN` is set. Not a public API route
    /// (not in [`ROUTES`] nor the OpenAPI document).
    Ops,
}

/// One row of the route table.
#[derive(Clone, Debug)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path; `{job_id}` marks the dynamic segment.
    pub path: &'static str,
    /// The endpoint.
    pub endpoint: Endpoint,
}

/// Every route the router knows. The OpenAPI document must list exactly
/// these (a test checks it).
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::GET,
        path: "/health",
        endpoint: Endpoint::Health,
    },
    Route {
        method: Method::GET,
        path: "/api/health",
        endpoint: Endpoint::Health,
    },
    Route {
        method: Method::GET,
        path: "/api/openapi.json",
        endpoint: Endpoint::OpenApi,
    },
    Route {
        method: Method::POST,
        path: "/api/professional-report/start",
        endpoint: Endpoint::Start,
    },
    Route {
        method: Method::POST,
        path: "/api/professional-report",
        endpoint: Endpoint::ProfessionalReport,
    },
    Route {
        method: Method::GET,
        path: "/api/professional-report/status/{job_id}",
        endpoint: Endpoint::Status,
    },
    Route {
        method: Method::GET,
        path: "/api/professional-report/result/{job_id}",
        endpoint: Endpoint::Result,
    },
    Route {
        method: Method::POST,
        path: "/api/professional-report/retry/{job_id}",
        endpoint: Endpoint::Retry,
    },
    Route {
        method: Method::GET,
        path: "/api/professional-report/missing-sources/{job_id}",
        endpoint: Endpoint::MissingSources,
    },
    Route {
        method: Method::GET,
        path: "/api/professional-report/retry-status/{job_id}",
        endpoint: Endpoint::RetryStatus,
    },
    Route {
        method: Method::GET,
        path: "/api/cron/retry-missing-data",
        endpoint: Endpoint::Cron,
    },
    Route {
        method: Method::DELETE,
        path: "/api/professional-report/{job_id}",
        endpoint: Endpoint::Delete,
    },
];

/// Which origins a browser may call the API from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers at all.
    None,
    /// Any origin (`*`); the API uses no cookies.
    Any,
    /// Exactly these origins.
    List(Vec<String>),
}

/// HTTP settings.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Bearer secret for the cron endpoint (`CRON_SECRET`).
    pub cron_secret: Option<String>,
    /// Whether the cron endpoint refuses to run without a secret (Vercel).
    pub require_cron_secret: bool,
    /// Allowed browser origins (`CORS_ALLOWED_ORIGINS`: a comma list of
    /// origins, or `*` for any; unset or empty: none, so no website can
    /// drive the API from its visitors' browsers).
    pub cors: CorsOrigins,
    /// Request body limit in bytes (`MAX_BODY_BYTES`, default 256 KiB).
    pub max_body_bytes: usize,
    /// The synchronous route's wait (`SYNC_REPORT_WAIT_SECS`).
    pub sync: sync::SyncConfig,
    /// Rate limits, the daily budget and where client addresses come from.
    pub limits: limits::LimitsConfig,
    /// The operators' console (`OPS_TOKEN`, `OPS_READ_TOKEN`).
    pub ops: ops::access::OpsConfig,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("cron_secret", &self.cron_secret.as_ref().map(|_| "<set>"))
            .field("require_cron_secret", &self.require_cron_secret)
            .field("cors", &self.cors)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("sync", &self.sync)
            .field("limits", &self.limits)
            .field("ops", &self.ops)
            .finish()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            cron_secret: None,
            require_cron_secret: false,
            cors: CorsOrigins::None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            sync: sync::SyncConfig::default(),
            limits: limits::LimitsConfig::default(),
            ops: ops::access::OpsConfig::default(),
        }
    }
}

impl HttpConfig {
    /// Reads `CRON_SECRET`, `CORS_ALLOWED_ORIGINS`, `MAX_BODY_BYTES`, the
    /// synchronous route's and the limits' variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let cors = match env_str(&lookup, "CORS_ALLOWED_ORIGINS") {
            None => CorsOrigins::None,
            Some(v) if v == "*" => CorsOrigins::Any,
            Some(v) => {
                let list: Vec<String> = v
                    .split(',')
                    .map(|s| s.trim().trim_end_matches('/').to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                if list.is_empty() {
                    CorsOrigins::None
                } else {
                    CorsOrigins::List(list)
                }
            }
        };
        let max_body_bytes = crate::settings::env_parse::<usize>(&lookup, "MAX_BODY_BYTES")?
            .unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes < 1024 {
            return Err(ConfigError::invalid(
                "MAX_BODY_BYTES",
                "must be at least 1024",
            ));
        }
        Ok(Self {
            cron_secret: env_str(&lookup, "CRON_SECRET"),
            require_cron_secret: is_vercel(&lookup),
            cors,
            max_body_bytes,
            sync: sync::SyncConfig::from_lookup(&lookup)?,
            limits: limits::LimitsConfig::from_lookup(&lookup, is_vercel(&lookup))?,
            ops: ops::access::OpsConfig::from_lookup(&lookup)?,
        })
    }
}

/// Where background work runs: a tokio task on the dev-server, the
/// invocation's `wait_until` on Vercel, inline in some tests.
pub trait Background: Send + Sync {
    /// Runs `work` after (or while) the response is sent.
    fn spawn(&self, work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>);
}

/// Runs background work as a tokio task.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioBackground;

impl Background for TokioBackground {
    fn spawn(&self, work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
        tokio::spawn(work);
    }
}

/// The state every handler shares.
#[derive(Debug, Clone)]
pub struct App {
    /// The engine.
    pub engine: Arc<Engine>,
    /// HTTP settings.
    pub config: HttpConfig,
    /// `"sandbox"` or `"live"`, for `/health`.
    pub sources_mode: &'static str,
    /// Prints reports as HTML and PDF ([`formats`]); `None`: JSON only.
    pub documents: Option<Arc<dyn formats::Documents>>,
}

/// Serves one request: routes it, runs the handler, maps errors, adds CORS.
pub async fn handle(app: &App, req: Request<Bytes>, bg: &dyn Background) -> Response<Bytes> {
    handle_only(app, req, bg, None).await
}

/// Like [`handle`], but answers 404 for every endpoint except `only` (each
/// Vercel function serves one endpoint).
pub async fn handle_only(
    app: &App,
    req: Request<Bytes>,
    bg: &dyn Background,
    only: Option<Endpoint>,
) -> Response<Bytes> {
    // The console answers for itself (its own access rules and headers,
    // no CORS: it is never called from another site).
    if ops::is_ops_path(req.uri().path()) && only.is_none_or(|o| o == Endpoint::Ops) {
        return ops::handle(app, req).await;
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut response = if req.method() == Method::OPTIONS {
        match route(&req, only) {
            // No route takes OPTIONS, so a path this function serves answers
            // "method not allowed": that is the path a preflight asks about.
            Ok(_) | Err(ApiError::MethodNotAllowed { .. }) => preflight(),
            Err(e) => e.into_response(),
        }
    } else {
        match route(&req, only) {
            Ok((endpoint, job_id)) => match dispatch(app, endpoint, job_id, req, bg).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            },
            Err(e) => e.into_response(),
        }
    };
    cors(&app.config.cors, origin.as_ref(), response.headers_mut());
    response
}

/// Finds the endpoint and the raw `{job_id}` segment. On Vercel a dynamic
/// route also passes the segment as the `job_id` query parameter; the path
/// wins when both are present.
fn route(
    req: &Request<Bytes>,
    only: Option<Endpoint>,
) -> Result<(Endpoint, Option<String>), ApiError> {
    let path = req.uri().path();
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let mut allowed: Option<&'static str> = None;
    for r in ROUTES {
        if only.is_some_and(|o| o != r.endpoint) {
            continue;
        }
        let Some(segment) = route_segment(r, path, req.uri().query()) else {
            continue;
        };
        if r.method != req.method() {
            // `/api/professional-report/<anything>` is the erasure route
            // for DELETE only; other methods there are unknown routes, as
            // before it existed.
            if r.endpoint == Endpoint::Delete {
                continue;
            }
            // The first route of the path names the method (`start` is
            // not erased as a job id).
            allowed.get_or_insert(match r.method {
                Method::GET => "GET",
                Method::DELETE => "DELETE",
                _ => "POST",
            });
            continue;
        }
        return Ok((r.endpoint, segment));
    }
    Err(match allowed {
        Some(allow) => ApiError::MethodNotAllowed { allow },
        None => ApiError::RouteNotFound,
    })
}

/// Whether `path` is `r`'s path: `None` when not, else the raw `{job_id}`
/// segment it carries (`Some(None)` when the route has none or none is given).
fn route_segment(r: &Route, path: &str, query: Option<&str>) -> Option<Option<String>> {
    let Some(prefix) = r.path.strip_suffix("{job_id}") else {
        return (r.path == path).then_some(None);
    };
    match path.strip_prefix(prefix) {
        // The literal `[job_id]` is the route's own file name: a
        // platform that hands the function its destination path
        // passes the id in the query.
        Some(seg) if !seg.is_empty() && !seg.contains('/') => {
            let seg = percent_decode(seg);
            if seg.starts_with('[') && seg.ends_with(']') {
                Some(query_param(query, "job_id"))
            } else {
                Some(Some(seg))
            }
        }
        // `/api/professional-report` itself is not the erasure
        // route without an id segment.
        _ if path == prefix.trim_end_matches('/') && r.endpoint != Endpoint::Delete => {
            Some(query_param(query, "job_id"))
        }
        _ => None,
    }
}

async fn dispatch(
    app: &App,
    endpoint: Endpoint,
    job_id: Option<String>,
    req: Request<Bytes>,
    bg: &dyn Background,
) -> Result<Response<Bytes>, ApiError> {
    let engine = &app.engine;
    let id = || -> Result<JobId, ApiError> {
        let raw = job_id.clone().unwrap_or_default();
        JobId::parse(&raw).map_err(|_| ApiError::InvalidJobId(truncate(&raw, 64)))
    };
    match endpoint {
        Endpoint::Health => health(app).await,
        Endpoint::OpenApi => Ok(json_response(StatusCode::OK, &openapi::document())),
        Endpoint::Start => {
            let accepted = accept(app, req, bg).await?;
            let mut response = start_answer(&accepted.job, accepted.replayed);
            accepted.allowance.apply(&mut response);
            Ok(response)
        }
        Endpoint::ProfessionalReport => sync::professional_report(app, req, bg).await,
        Endpoint::Status => status::answer(app, id()?, &req).await,
        Endpoint::Result => formats::result(app, id()?, &req).await,
        Endpoint::MissingSources => ok(&engine.missing_sources(id()?).await?),
        Endpoint::RetryStatus => ok(&engine.retry_status(id()?).await?),
        Endpoint::Delete => {
            let id = id()?;
            engine.erase(id).await?;
            ok(&Erased {
                job_id: id,
                erased: true,
            })
        }
        Endpoint::Retry => {
            let id = id()?;
            let allowance = limits::check(app, &req, limits::Action::Retry).await?;
            let (job, result) = engine.manual_retry(id).await?;
            let mut response =
                json_response(StatusCode::OK, &RetryAnswer::of(&job, result, engine.now()));
            allowance.apply(&mut response);
            Ok(response)
        }
        // Served before routing (see `handle_only`); no route names it.
        Endpoint::Ops => Err(ApiError::RouteNotFound),
        Endpoint::Cron => {
            authorize_cron(&app.config, req.headers())?;
            let report = engine.sweep().await?;
            ok(&SweepAnswer::of(report, engine.now()))
        }
    }
}

async fn health(app: &App) -> Result<Response<Bytes>, ApiError> {
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

/// What [`accept`] did.
pub(crate) struct Accepted {
    /// The job, new or found again by its idempotency key.
    pub(crate) job: crate::model::Job,
    /// Whether it was found again.
    pub(crate) replayed: bool,
    /// The rate limit's headers, for the answer.
    pub(crate) allowance: limits::Allowance,
}

/// The start path both `start` and the synchronous route take: checks the
/// body and the limits, validates and stores the job (or finds the one its
/// `Idempotency-Key` made), and hands a new job's processing to the host's
/// background.
pub(crate) async fn accept(
    app: &App,
    req: Request<Bytes>,
    bg: &dyn Background,
) -> Result<Accepted, ApiError> {
    check_body(&app.config, &req)?;
    let client = limits::client_key(limits::client_ip(&req, app.config.limits.client_ip));
    let parsed = parse_start(&req, &client);
    // A replay of a key already used with this body is answered first:
    // retrying a start that timed out must find its job even when the
    // limits or the budget are spent meanwhile.
    if let Ok((_, Some(idem))) = &parsed {
        if let Some(job) = app.engine.replay(idem).await? {
            let allowance = limits::Allowance::for_client(client);
            return Ok(Accepted {
                job,
                replayed: true,
                allowance,
            });
        }
    }
    // Limits before any other work: a refused request costs one script call.
    let allowance = limits::check(app, &req, limits::Action::Start).await?;
    limits::budget_open(app, &allowance.client).await?;
    let (questionnaire, idempotency) = parsed?;
    let submitted = app
        .engine
        .submit_for(questionnaire, idempotency, Some(client))
        .await?;
    let (job, replayed) = match submitted {
        Created::New(job) => {
            process_in_background(app, job.id, bg);
            (job, false)
        }
        Created::Existing(job) => (job, true),
    };
    Ok(Accepted {
        job,
        replayed,
        allowance,
    })
}

/// Refuses a start body by its size and content type, before any work.
fn check_body(config: &HttpConfig, req: &Request<Bytes>) -> Result<(), ApiError> {
    if req.body().len() > config.max_body_bytes {
        return Err(ApiError::PayloadTooLarge {
            limit: config.max_body_bytes,
        });
    }
    if !is_json(req.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(())
}

/// A start request's questionnaire (bare or under `questionnaire`) and its
/// idempotency key, scoped to `client`.
fn parse_start(
    req: &Request<Bytes>,
    client: &str,
) -> Result<(Value, Option<Idempotency>), ApiError> {
    let value: Value =
        serde_json::from_slice(req.body()).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let questionnaire = match value {
        Value::Object(mut map) if map.contains_key("questionnaire") => {
            map.remove("questionnaire").unwrap_or_default()
        }
        other => other,
    };
    let idempotency = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => Some(idempotency(v, client, &questionnaire)?),
    };
    Ok((questionnaire, idempotency))
}

/// The stored form of an `Idempotency-Key` header for `questionnaire`.
fn idempotency(
    header: &HeaderValue,
    client: &str,
    questionnaire: &Value,
) -> Result<Idempotency, ApiError> {
    let key = header
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..=0x7e).contains(&b))
        })
        .ok_or(ApiError::InvalidIdempotencyKey)?;
    // Equal questionnaires must give equal fingerprints whatever the
    // client's key order.
    let canonical = serde_json::to_vec(&canonical(questionnaire)).unwrap_or_default();
    // Keys are scoped per client: another client's equal key is another
    // key, and only a hash is stored.
    let scoped = Sha256::new()
        .chain_update(client.as_bytes())
        .chain_update(b"\n")
        .chain_update(key.as_bytes())
        .finalize();
    Ok(Idempotency {
        key: hex(&scoped),
        fingerprint: hex(&Sha256::digest(&canonical)),
    })
}

/// Hands a new job's first round to the host's background.
fn process_in_background(app: &App, id: JobId, bg: &dyn Background) {
    let engine = app.engine.clone();
    bg.spawn(Box::pin(async move {
        if let Err(e) = engine.process(id).await {
            tracing::warn!(job_id = %id, error = %e, "processing stopped; the sweep will resume it");
        }
    }));
}

/// `start`'s 202 answer for `job`.
pub(crate) fn start_answer(job: &crate::model::Job, replayed: bool) -> Response<Bytes> {
    let mut response = json_response(StatusCode::ACCEPTED, &StartAccepted::of(job, replayed));
    let headers = response.headers_mut();
    if let Ok(loc) = HeaderValue::from_str(&answers::status_url(job.id)) {
        headers.insert(header::LOCATION, loc);
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Lets the cron request in when it carries the configured bearer secret
/// (or when no secret is configured and none is required).
fn authorize_cron(config: &HttpConfig, headers: &HeaderMap) -> Result<(), ApiError> {
    match &config.cron_secret {
        Some(secret) => {
            // The auth scheme is case-insensitive (RFC 9110 §11.1).
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map_or("", |(_, token)| token.trim());
            // An empty secret (possible when HttpConfig is built by hand)
            // must not let an empty token in.
            if secret.is_empty() || !bool::from(given.as_bytes().ct_eq(secret.as_bytes())) {
                return Err(ApiError::Unauthorized);
            }
            Ok(())
        }
        None if config.require_cron_secret => Err(ApiError::CronSecretMissing),
        None => Ok(()),
    }
}

fn ok<T: serde::Serialize>(value: &T) -> Result<Response<Bytes>, ApiError> {
    Ok(json_response(StatusCode::OK, value))
}

/// A JSON response with the API's content type.
pub(crate) fn json_response<T: serde::Serialize + ?Sized>(
    status: StatusCode,
    value: &T,
) -> Response<Bytes> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// The answer to a CORS preflight for a known path; [`cors`] adds the
/// `Access-Control-*` headers when the origin is allowed.
fn preflight() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

fn cors(origins: &CorsOrigins, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
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

/// `value` with every object's keys sorted. serde_json's default map is
/// sorted already, but its `preserve_order` feature (which any crate in the
/// build may switch on) keeps insertion order; this does not depend on it.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, uri: &str) -> Request<Bytes> {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Bytes::new())
            .unwrap()
    }

    #[test]
    fn routes_match_paths_and_dynamic_segments() {
        let id = JobId::new().to_string();
        let (e, seg) = route(
            &req(
                Method::GET,
                &format!("/api/professional-report/status/{id}"),
            ),
            None,
        )
        .unwrap();
        assert_eq!((e, seg.as_deref()), (Endpoint::Status, Some(id.as_str())));
        // Vercel's dynamic route passes the segment as a query parameter.
        let (e, seg) = route(
            &req(
                Method::GET,
                &format!("/api/professional-report/result/?job_id={id}"),
            ),
            None,
        )
        .unwrap();
        assert_eq!((e, seg.as_deref()), (Endpoint::Result, Some(id.as_str())));
        assert!(matches!(
            route(&req(Method::GET, "/api/professional-report/start"), None),
            Err(ApiError::MethodNotAllowed { allow: "POST" })
        ));
        assert!(matches!(
            route(&req(Method::GET, "/nope"), None),
            Err(ApiError::RouteNotFound)
        ));
        assert!(matches!(
            route(&req(Method::GET, "/health"), Some(Endpoint::Status)),
            Err(ApiError::RouteNotFound)
        ));
        assert_eq!(
            route(&req(Method::GET, "/health/"), None).unwrap().0,
            Endpoint::Health
        );
    }

    #[test]
    fn literal_route_segment_falls_back_to_the_query_and_delete_routes() {
        let id = JobId::new().to_string();
        let (e, seg) = route(
            &req(
                Method::GET,
                &format!("/api/professional-report/status/[job_id]?job_id={id}"),
            ),
            None,
        )
        .unwrap();
        assert_eq!((e, seg.as_deref()), (Endpoint::Status, Some(id.as_str())));
        let (e, seg) = route(
            &req(
                Method::GET,
                &format!("/api/professional-report/status/%5Bjob_id%5D?job_id={id}"),
            ),
            None,
        )
        .unwrap();
        assert_eq!((e, seg.as_deref()), (Endpoint::Status, Some(id.as_str())));
        let (e, seg) = route(
            &req(Method::DELETE, &format!("/api/professional-report/{id}")),
            None,
        )
        .unwrap();
        assert_eq!((e, seg.as_deref()), (Endpoint::Delete, Some(id.as_str())));
        assert!(matches!(
            route(
                &req(Method::GET, &format!("/api/professional-report/{id}")),
                None
            ),
            Err(ApiError::RouteNotFound)
        ));
        let (e, seg) = route(
            &req(
                Method::DELETE,
                &format!("/api/professional-report/[job_id]?job_id={id}"),
            ),
            Some(Endpoint::Delete),
        )
        .unwrap();
        assert_eq!((e, seg.as_deref()), (Endpoint::Delete, Some(id.as_str())));
    }

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&h));
    }

    #[test]
    fn cors_only_for_listed_origins() {
        let list = CorsOrigins::List(vec!["https://app.example".into()]);
        let mut h = HeaderMap::new();
        cors(
            &list,
            Some(&HeaderValue::from_static("https://evil.example")),
            &mut h,
        );
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        cors(
            &list,
            Some(&HeaderValue::from_static("https://app.example")),
            &mut h,
        );
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
    }

    #[test]
    fn config_reads_cors_secret_and_vercel_mode() {
        let c = HttpConfig::from_lookup(|k| match k {
            "CORS_ALLOWED_ORIGINS" => Some("https://a.example/, https://b.example".into()),
            "CRON_SECRET" => Some("s".into()),
            "VERCEL" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            c.cors,
            CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()])
        );
        assert!(c.require_cron_secret);
        assert!(!format!("{c:?}").contains("\"s\""));
    }
}
