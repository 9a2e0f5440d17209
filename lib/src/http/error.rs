//! The API's one error type, mapped to statuses in one place.
//!
//! Every error answer has the shape
//! `{"error": {"code": "snake_case", "message": "...", "details": ...},
//! "detail": "..."}`: the top-level `detail` repeats the message, because
//! FastAPI-era clients (the original frontend among them) show
//! `data.detail || data.message`. [`error_body`] builds it (an
//! [`ErrorBody`]), also for the Vercel host's start-up failures; the codes
//! are the [`ErrorCode`]s.
//! Client mistakes are 4xx and logged at debug level; server faults are 5xx,
//! logged once here, and show no internals.

use crate::telemetry::Chain;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use super::answers::{ErrorBody, ErrorDetail};
use crate::engine::EngineError;
use crate::model::JobStatus;
use crate::store::StoreError;

/// Every machine-readable error code the API answers with, in
/// `error.code`. The error-code list of docs/API.md and the OpenAPI document name
/// exactly these (tests check both ways).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not JSON.
    InvalidJson,
    /// 400: the questionnaire is invalid; `details.fields` lists every problem.
    ValidationFailed,
    /// 400: the job id is not a job id (a version 7 or version 4 UUID).
    InvalidJobId,
    /// 400: a query parameter is unusable (`status?wait=N`); `details.parameter` names it.
    InvalidParameter,
    /// 400: the `Idempotency-Key` header is unusable.
    InvalidIdempotencyKey,
    /// 400: the connection failed before the whole body arrived (hosts).
    IncompleteBody,
    /// 401: missing or wrong cron bearer secret.
    Unauthorized,
    /// 404: no such endpoint.
    RouteNotFound,
    /// 404: no such job (or it expired, or it was erased).
    JobNotFound,
    /// 405: the path exists, the method does not (`Allow` header).
    MethodNotAllowed,
    /// 408: the body took longer than `BODY_READ_TIMEOUT_SECS` (dev-server).
    BodyTimeout,
    /// 409: the report is not ready yet.
    NotReady,
    /// 409: the job failed; no report.
    JobFailed,
    /// 409: only a partial or completed job can be retried.
    RetryNotAllowed,
    /// 409: the job's retry window has closed.
    RetryWindowClosed,
    /// 409: another worker holds the job.
    JobBusy,
    /// 409: the `Idempotency-Key` was used with another body.
    IdempotencyKeyReused,
    /// 413: the body is over `MAX_BODY_BYTES`.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 429: a manual retry of this job ran moments ago.
    RetryTooSoon,
    /// 429: too many requests from this client or overall.
    RateLimited,
    /// 500: a server fault; the answer shows no cause.
    InternalError,
    /// 500: the deployment's settings are wrong (Vercel functions).
    ServerMisconfigured,
    /// 503: the store is unreachable.
    StoreUnavailable,
    /// 503: the store is out of memory.
    StoreFull,
    /// 503: the store refuses requests: Upstash's plan limit of requests
    /// is reached (`ERR max requests limit exceeded`).
    StoreRequestLimit,
    /// 503: today's budget of paid upstream calls is spent.
    BudgetExhausted,
    /// 503: `CRON_SECRET` is mandatory here and not set.
    CronSecretNotConfigured,
}

impl ErrorCode {
    /// Every code, in status order.
    pub const ALL: [Self; 28] = [
        Self::InvalidJson,
        Self::ValidationFailed,
        Self::InvalidJobId,
        Self::InvalidParameter,
        Self::InvalidIdempotencyKey,
        Self::IncompleteBody,
        Self::Unauthorized,
        Self::RouteNotFound,
        Self::JobNotFound,
        Self::MethodNotAllowed,
        Self::BodyTimeout,
        Self::NotReady,
        Self::JobFailed,
        Self::RetryNotAllowed,
        Self::RetryWindowClosed,
        Self::JobBusy,
        Self::IdempotencyKeyReused,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RetryTooSoon,
        Self::RateLimited,
        Self::InternalError,
        Self::ServerMisconfigured,
        Self::StoreUnavailable,
        Self::StoreFull,
        Self::StoreRequestLimit,
        Self::BudgetExhausted,
        Self::CronSecretNotConfigured,
    ];

    /// The wire name (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::ValidationFailed => "validation_failed",
            Self::InvalidJobId => "invalid_job_id",
            Self::InvalidParameter => "invalid_parameter",
            Self::InvalidIdempotencyKey => "invalid_idempotency_key",
            Self::IncompleteBody => "incomplete_body",
            Self::Unauthorized => "unauthorized",
            Self::RouteNotFound => "route_not_found",
            Self::JobNotFound => "job_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::BodyTimeout => "body_timeout",
            Self::NotReady => "not_ready",
            Self::JobFailed => "job_failed",
            Self::RetryNotAllowed => "retry_not_allowed",
            Self::RetryWindowClosed => "retry_window_closed",
            Self::JobBusy => "job_busy",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RetryTooSoon => "retry_too_soon",
            Self::RateLimited => "rate_limited",
            Self::InternalError => "internal_error",
            Self::ServerMisconfigured => "server_misconfigured",
            Self::StoreUnavailable => "store_unavailable",
            Self::StoreFull => "store_full",
            Self::StoreRequestLimit => "store_request_limit",
            Self::BudgetExhausted => "budget_exhausted",
            Self::CronSecretNotConfigured => "cron_secret_not_configured",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not JSON.
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The job id is not a job id.
    #[error("'{0}' is not a valid job id (expected a UUID)")]
    InvalidJobId(String),
    /// A query parameter is unusable.
    #[error("the query parameter '{name}' {problem}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The `Idempotency-Key` header is unusable.
    #[error("the Idempotency-Key header must be 1 to 255 printable ASCII characters")]
    InvalidIdempotencyKey,
    /// The body is over the limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The connection failed before the whole body arrived (the hosts
    /// collect bodies before routing).
    #[error("the request body could not be read")]
    IncompleteBody,
    /// The body took longer than the host's body read timeout.
    #[error("the request body took too long to arrive")]
    BodyTimeout,
    /// The body is not JSON by its content type.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// No such route.
    #[error("no such endpoint")]
    RouteNotFound,
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The allowed method.
        allow: &'static str,
    },
    /// Missing or wrong cron bearer secret.
    #[error("missing or invalid authorization")]
    Unauthorized,
    /// The cron secret is mandatory here and not configured.
    #[error("the cron endpoint is not configured on this deployment")]
    CronSecretMissing,
    /// Too many requests from this client, or from every client together.
    #[error("too many requests; try again in {} s", super::limits::secs_up(*retry_after))]
    RateLimited {
        /// `client` or `overall`.
        scope: &'static str,
        /// The window's limit.
        limit: u64,
        /// The window.
        window: Duration,
        /// When a request will be taken again.
        retry_after: Duration,
    },
    /// The day's budget of paid upstream calls, or this client's share of
    /// it, is spent: no new jobs (from this client).
    #[error("{}", budget_message(*client))]
    BudgetSpent {
        /// Until the budget resets.
        retry_after: Duration,
        /// Whether it is the client's share (not the whole budget).
        client: bool,
    },
    /// Engine errors.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The report could not be printed as a document (a bug in a template:
    /// logged, shown as an internal error).
    #[error("the document could not be rendered: {0}")]
    Render(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Engine(EngineError::from(e))
    }
}

impl ApiError {
    /// Status, code, message and details: the one mapping.
    fn parts(&self) -> (StatusCode, ErrorCode, String, Value) {
        use ErrorCode as C;
        let msg = self.to_string();
        match self {
            Self::InvalidJson(_) => (StatusCode::BAD_REQUEST, C::InvalidJson, msg, Value::Null),
            Self::InvalidJobId(_) => (StatusCode::BAD_REQUEST, C::InvalidJobId, msg, Value::Null),
            Self::InvalidParameter { name, .. } => (
                StatusCode::BAD_REQUEST,
                C::InvalidParameter,
                msg,
                json!({ "parameter": name }),
            ),
            Self::InvalidIdempotencyKey => (
                StatusCode::BAD_REQUEST,
                C::InvalidIdempotencyKey,
                msg,
                Value::Null,
            ),
            Self::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                C::PayloadTooLarge,
                msg,
                json!({ "limit_bytes": limit }),
            ),
            Self::IncompleteBody => (StatusCode::BAD_REQUEST, C::IncompleteBody, msg, Value::Null),
            Self::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                C::BodyTimeout,
                msg,
                Value::Null,
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                C::UnsupportedMediaType,
                msg,
                Value::Null,
            ),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, C::RouteNotFound, msg, Value::Null),
            Self::MethodNotAllowed { allow } => (
                StatusCode::METHOD_NOT_ALLOWED,
                C::MethodNotAllowed,
                format!("method not allowed; use {allow}"),
                Value::Null,
            ),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, C::Unauthorized, msg, Value::Null),
            Self::CronSecretMissing => (
                StatusCode::SERVICE_UNAVAILABLE,
                C::CronSecretNotConfigured,
                msg,
                Value::Null,
            ),
            Self::RateLimited {
                scope,
                limit,
                window,
                retry_after,
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                C::RateLimited,
                msg,
                json!({
                    "scope": scope,
                    "limit": limit,
                    "window_seconds": window.as_secs(),
                    "retry_after_seconds": retry_after_secs(*retry_after),
                }),
            ),
            Self::BudgetSpent {
                retry_after,
                client,
            } => (
                StatusCode::SERVICE_UNAVAILABLE,
                C::BudgetExhausted,
                msg,
                if *client {
                    json!({ "retry_after_seconds": retry_after_secs(*retry_after), "scope": "client" })
                } else {
                    json!({ "retry_after_seconds": retry_after_secs(*retry_after) })
                },
            ),
            Self::Engine(e) => engine_parts(e),
            Self::Render(_) => internal_parts(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The machine-readable code.
    pub fn code(&self) -> ErrorCode {
        self.parts().1
    }

    /// The `Retry-After` seconds of this error, if it has one.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Engine(EngineError::RetryTooSoon { retry_after }) => {
                Some(retry_after_secs(*retry_after))
            }
            Self::Engine(EngineError::Store(StoreError::Unavailable(_)))
            | Self::CronSecretMissing => Some(5),
            Self::Engine(EngineError::Store(StoreError::Full(_))) => Some(60),
            // The plan's allowance comes back at its next period (or an
            // upgrade): nothing to gain from asking again within seconds.
            Self::Engine(EngineError::Store(StoreError::RequestLimit(_))) => Some(3600),
            Self::RateLimited { retry_after, .. } | Self::BudgetSpent { retry_after, .. } => {
                Some(retry_after_secs(*retry_after))
            }
            _ => None,
        }
    }

    /// The JSON error response. Server faults are logged here, once.
    pub(crate) fn into_response(self) -> Response<Bytes> {
        let (status, code, message, details) = self.parts();
        if status.is_server_error() {
            tracing::error!(code = code.as_str(), error = %Chain(&self), "request failed");
        } else {
            tracing::debug!(
                code = code.as_str(),
                status = status.as_u16(),
                "request refused"
            );
        }
        let body = error_body(code, &message, details);
        let mut response = super::json_response(status, &body);
        let retry_after = self.retry_after();
        if let Self::RateLimited {
            limit,
            window,
            retry_after,
            ..
        } = &self
        {
            super::limits::refusal_headers(response.headers_mut(), *limit, *window, *retry_after);
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Self::MethodNotAllowed { allow } = self {
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Self::BodyTimeout = self {
            // The rest of a slow body may still arrive: the connection
            // cannot carry another request.
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The status, code, message and details of an engine error: a request the
/// questionnaire or the job's state refuses (4xx), or the store's fault.
fn engine_parts(e: &EngineError) -> (StatusCode, ErrorCode, String, Value) {
    use EngineError as E;
    use ErrorCode as C;
    match e {
        E::Invalid(errors) => invalid_parts(errors),
        E::NotFound => (
            StatusCode::NOT_FOUND,
            C::JobNotFound,
            "no job with this id (it may have expired)".into(),
            Value::Null,
        ),
        E::NotReady { status, progress } => (
            StatusCode::CONFLICT,
            C::NotReady,
            format!("the report is not ready yet (status {status}, {progress}%)"),
            json!({ "status": status, "progress": progress }),
        ),
        // Created moments ago, not visible to this server yet (a replica
        // behind): "not ready", as a pending job's result is.
        E::NotVisibleYet => (
            StatusCode::CONFLICT,
            C::NotReady,
            e.to_string(),
            json!({ "status": JobStatus::Pending, "progress": 0 }),
        ),
        E::JobFailed(error) => (
            StatusCode::CONFLICT,
            C::JobFailed,
            "the report could not be built".into(),
            json!({ "status": JobStatus::Failed, "error": error }),
        ),
        E::RetryNotAllowed(_) | E::RetryWindowClosed | E::RetryTooSoon { .. } => retry_parts(e),
        E::Busy => (StatusCode::CONFLICT, C::JobBusy, e.to_string(), Value::Null),
        // Erased by its owner while this request worked on it: as gone as
        // an unknown job, said plainly.
        E::Erased => (
            StatusCode::NOT_FOUND,
            C::JobNotFound,
            e.to_string(),
            Value::Null,
        ),
        // Names no job: the first request's job id is all it takes
        // to read that report, and it may be another family's.
        E::IdempotencyConflict { .. } => (
            StatusCode::CONFLICT,
            C::IdempotencyKeyReused,
            "this Idempotency-Key was already used with a different request body; use a new key"
                .into(),
            Value::Null,
        ),
        E::Store(e) => store_parts(e),
        // The job's own records do not decode: the cause is logged, not shown.
        E::CorruptJob { .. } | E::PlanEncoding(_) => internal_parts(),
    }
}

/// The status, code, message and details of a refused manual retry.
fn retry_parts(e: &EngineError) -> (StatusCode, ErrorCode, String, Value) {
    use ErrorCode as C;
    match e {
        EngineError::RetryNotAllowed(status) => (
            StatusCode::CONFLICT,
            C::RetryNotAllowed,
            e.to_string(),
            json!({ "status": status }),
        ),
        EngineError::RetryTooSoon { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            C::RetryTooSoon,
            e.to_string(),
            json!({ "retry_after_seconds": retry_after_secs(*retry_after) }),
        ),
        _ => (
            StatusCode::CONFLICT,
            C::RetryWindowClosed,
            e.to_string(),
            Value::Null,
        ),
    }
}

/// The answer to a questionnaire that does not validate: every problem, by
/// field.
fn invalid_parts(
    errors: &crate::questionnaire::ValidationErrors,
) -> (StatusCode, ErrorCode, String, Value) {
    (
        StatusCode::BAD_REQUEST,
        ErrorCode::ValidationFailed,
        validation_message(errors),
        json!({ "fields": errors.errors }),
    )
}

/// The answer to a server fault whose cause is not the client's to see.
fn internal_parts() -> (StatusCode, ErrorCode, String, Value) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::InternalError,
        "internal server error".into(),
        Value::Null,
    )
}

/// The status, code, message and details of a store fault: full and
/// unreachable are named (the client may try again later); any other is an
/// internal error that shows no cause.
fn store_parts(e: &StoreError) -> (StatusCode, ErrorCode, String, Value) {
    use ErrorCode as C;
    match e {
        StoreError::Full(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            C::StoreFull,
            "the job store is full and accepts no new data; try again later".into(),
            Value::Null,
        ),
        StoreError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            C::StoreUnavailable,
            "the job store is unreachable; try again shortly".into(),
            Value::Null,
        ),
        StoreError::RequestLimit(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            C::StoreRequestLimit,
            "the job store has reached its plan's limit of requests; try again later".into(),
            Value::Null,
        ),
        _ => internal_parts(),
    }
}

/// `the questionnaire is invalid (2 problems): a.b: is required; …`: the
/// first three problems by path, so a client that shows only the message
/// (`detail`) still tells the user which field.
fn validation_message(errors: &crate::questionnaire::ValidationErrors) -> String {
    let n = errors.errors.len();
    let shown: Vec<String> = errors
        .errors
        .iter()
        .take(3)
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect();
    let more = if n > 3 {
        format!("; and {} more", n - 3)
    } else {
        String::new()
    };
    let noun = if n == 1 { "problem" } else { "problems" };
    format!(
        "the questionnaire is invalid ({n} {noun}): {}{more}",
        shown.join("; ")
    )
}

/// The one error body: `{"error": {code, message[, details]}, "detail":
/// message}` (`details` only when not null).
pub fn error_body(code: ErrorCode, message: &str, details: Value) -> ErrorBody {
    ErrorBody {
        error: ErrorDetail {
            code,
            message: message.to_owned(),
            details,
        },
        detail: message.to_owned(),
    }
}

/// The message of a spent budget: the whole day's, or a client's share.
fn budget_message(client: bool) -> &'static str {
    if client {
        "this client has used its share of today's budget of paid data lookups; new reports can start again after midnight UTC"
    } else {
        "the service has used today's budget of paid data lookups; new reports can start again after midnight UTC"
    }
}

/// Whole seconds, rounded up, at least 1.
fn retry_after_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The backticked words of `text` that can be error codes: lowercase
    /// letters and underscores only (not `details.fields`, `Retry-After` or
    /// `MAX_BODY_BYTES`).
    pub(crate) fn code_words(text: &str) -> BTreeSet<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .map(str::to_owned)
            .collect()
    }

    fn all_codes() -> BTreeSet<String> {
        ErrorCode::ALL
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect()
    }

    #[test]
    fn every_code_has_one_wire_name() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(code.to_string(), code.as_str());
        }
        assert_eq!(all_codes().len(), ErrorCode::ALL.len(), "a code twice");
    }

    #[test]
    fn the_api_docs_list_exactly_the_codes() {
        let readme = include_str!("../../../docs/API.md");
        let start = readme
            .find("\nError codes")
            .expect("docs/API.md has an error-code list");
        let list = &readme[start..];
        let list = &list[..list[1..].find("\n\n").map_or(list.len(), |e| e + 1)];
        assert_eq!(code_words(list), all_codes());
    }

    #[test]
    fn the_hosts_codes_are_error_answers() {
        let r = ApiError::BodyTimeout.into_response();
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(r.headers()[http::header::CONNECTION], "close");
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"]["code"], "body_timeout");
        let r = ApiError::IncompleteBody.into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "incomplete_body", "message": "the request body could not be read"}, "detail": "the request body could not be read"})
        );
    }
}
