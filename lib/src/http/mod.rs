//! The HTTP API of README.md "API", independent of its host.
//!
//! One `axum::Router` ([`api`], in [`router`]) holds every route; the
//! dev-server serves it on hyper, each Vercel function serves it built for
//! its one endpoint, and the tests drive it in-process with
//! `tower::ServiceExt::oneshot`. Each handler ([`handlers`]) parses its
//! input into typed values, calls one engine method and encodes the
//! answer; errors go through [`ApiError`], which maps every failure to a
//! status in one place.

pub mod answers;
pub(crate) mod error;
pub mod formats;
mod handlers;
pub mod limits;
pub mod openapi;
pub mod ops;
mod router;
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
pub use router::{api, Api, BackgroundHandle, BodyDeadline, ConsolePath, ServerLimits};

use crate::engine::{Engine, EngineError};
use crate::model::JobId;
use crate::questionnaire::Questionnaire;
use crate::store::{Created, Idempotency};
use answers::StartAccepted;

/// Default request body limit: 256 KiB (a questionnaire is a few KiB).
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// The smallest body limit accepted: a questionnaire must fit.
pub const MIN_BODY_BYTES: usize = 1024;

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
    /// (not in [`ROUTES`] nor the OpenAPI document): its routes are
    /// nested in the router under `/api/ops`.
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

/// Every route of the public API: [`api`] builds its router from these,
/// and the OpenAPI document must list exactly these (a test checks it).
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
/// body and the limits, parses the questionnaire into a [`Questionnaire`]
/// (the only time the client's JSON is validated), stores the job (or finds
/// the one its `Idempotency-Key` made), and hands a new job's processing to
/// the host's background.
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
    // The one parse of the client's questionnaire: validated into typed
    // answers here, after the limits (a refused request costs no
    // validation); the engine stores and later reads it typed.
    let questionnaire = Questionnaire::parse(&questionnaire).map_err(EngineError::Invalid)?;
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

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `bytes` in lower-case hexadecimal (by table: `write!` with `{:02x}`
/// per byte cost a start request about 6,000 instructions).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Idempotency keys and client buckets are stored under these names:
    /// the spelling must not change.
    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff, 0x10]), "000fa5ff10");
        assert_eq!(hex(&[]), "");
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
}
