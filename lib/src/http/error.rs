//! The API's one error type, mapped to statuses in one place.
//!
//! Every error answer has the shape
//! `{"error": {"code": "snake_case", "message": "...", "details": ...},
//! "detail": "..."}`: the top-level `detail` repeats the message, because
//! FastAPI-era clients (the original frontend among them) show
//! `data.detail || data.message`. [`error_body`] builds it, for the hosts'
//! hand-made errors too.
//! Client mistakes are 4xx and logged at debug level; server faults are 5xx,
//! logged once here, and show no internals.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use crate::engine::EngineError;
use crate::model::JobStatus;
use crate::store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not JSON.
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The job id is not a job id.
    #[error("'{0}' is not a valid job id (expected a UUID v4)")]
    InvalidJobId(String),
    /// The `Idempotency-Key` header is unusable.
    #[error("the Idempotency-Key header must be 1 to 255 printable ASCII characters")]
    InvalidIdempotencyKey,
    /// The body is over the limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: usize,
    },
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
    /// The day's budget of paid upstream calls is spent: no new jobs.
    #[error("the service has used today's budget of paid data lookups; new reports can start again after midnight UTC")]
    BudgetSpent {
        /// Until the budget resets.
        retry_after: Duration,
    },
    /// Engine errors.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Engine(EngineError::from(e))
    }
}

impl ApiError {
    /// Status, code, message and details: the one mapping.
    fn parts(&self) -> (StatusCode, &'static str, String, Value) {
        use EngineError as E;
        let msg = self.to_string();
        match self {
            Self::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json", msg, Value::Null),
            Self::InvalidJobId(_) => (StatusCode::BAD_REQUEST, "invalid_job_id", msg, Value::Null),
            Self::InvalidIdempotencyKey => (
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                msg,
                Value::Null,
            ),
            Self::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                msg,
                json!({ "limit_bytes": limit }),
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                msg,
                Value::Null,
            ),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, "route_not_found", msg, Value::Null),
            Self::MethodNotAllowed { allow } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("method not allowed; use {allow}"),
                Value::Null,
            ),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", msg, Value::Null),
            Self::CronSecretMissing => (
                StatusCode::SERVICE_UNAVAILABLE,
                "cron_secret_not_configured",
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
                "rate_limited",
                msg,
                json!({
                    "scope": scope,
                    "limit": limit,
                    "window_seconds": window.as_secs(),
                    "retry_after_seconds": retry_after_secs(*retry_after),
                }),
            ),
            Self::BudgetSpent { retry_after } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "budget_exhausted",
                msg,
                json!({ "retry_after_seconds": retry_after_secs(*retry_after) }),
            ),
            Self::Engine(e) => match e {
                E::Invalid(errors) => (
                    StatusCode::BAD_REQUEST,
                    "validation_failed",
                    validation_message(errors),
                    json!({ "fields": errors.errors }),
                ),
                E::NotFound => (
                    StatusCode::NOT_FOUND,
                    "job_not_found",
                    "no job with this id (it may have expired)".into(),
                    Value::Null,
                ),
                E::NotReady { status, progress } => (
                    StatusCode::CONFLICT,
                    "not_ready",
                    format!("the report is not ready yet (status {status}, {progress}%)"),
                    json!({ "status": status, "progress": progress }),
                ),
                E::JobFailed(error) => (
                    StatusCode::CONFLICT,
                    "job_failed",
                    "the report could not be built".into(),
                    json!({ "status": JobStatus::Failed, "error": error }),
                ),
                E::RetryNotAllowed(status) => (
                    StatusCode::CONFLICT,
                    "retry_not_allowed",
                    e.to_string(),
                    json!({ "status": status }),
                ),
                E::RetryWindowClosed => (
                    StatusCode::CONFLICT,
                    "retry_window_closed",
                    e.to_string(),
                    Value::Null,
                ),
                E::RetryTooSoon { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "retry_too_soon",
                    e.to_string(),
                    json!({ "retry_after_seconds": retry_after_secs(*retry_after) }),
                ),
                E::Busy => (StatusCode::CONFLICT, "job_busy", e.to_string(), Value::Null),
                // Names no job: the first request's job id is all it takes
                // to read that report, and it may be another family's.
                E::IdempotencyConflict { .. } => (
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used with a different request body; use a new key".into(),
                    Value::Null,
                ),
                E::Store(StoreError::Full(_)) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_full",
                    "the job store is full and accepts no new data; try again later".into(),
                    Value::Null,
                ),
                E::Store(StoreError::Unavailable(_)) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the job store is unreachable; try again shortly".into(),
                    Value::Null,
                ),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "internal server error".into(),
                    Value::Null,
                ),
            },
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    /// The JSON error response. Server faults are logged here, once.
    pub fn into_response(self) -> Response<Bytes> {
        let (status, code, message, details) = self.parts();
        if status.is_server_error() {
            tracing::error!(code, error = %self, "request failed");
        } else {
            tracing::debug!(code, status = status.as_u16(), "request refused");
        }
        let body = error_body(code, &message, details);
        let mut response = super::json_response(status, &body);
        let retry_after = match &self {
            Self::Engine(EngineError::RetryTooSoon { retry_after }) => {
                Some(retry_after_secs(*retry_after))
            }
            Self::Engine(EngineError::Store(StoreError::Unavailable(_)))
            | Self::CronSecretMissing => Some(5),
            Self::Engine(EngineError::Store(StoreError::Full(_))) => Some(60),
            Self::RateLimited { retry_after, .. } | Self::BudgetSpent { retry_after } => {
                Some(retry_after_secs(*retry_after))
            }
            _ => None,
        };
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
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
        }
        response
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
pub fn error_body(code: &str, message: &str, details: Value) -> Value {
    let mut body = json!({ "error": { "code": code, "message": message }, "detail": message });
    if !details.is_null() {
        body["error"]["details"] = details;
    }
    body
}

/// Whole seconds, rounded up, at least 1.
fn retry_after_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}
