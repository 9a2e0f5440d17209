//! The `vercel_runtime` adapter: what each `api/` function's `main` calls.
//!
//! The service (Redis connection, HTTP client, directory) is built once per
//! function instance, on the first request, and reused while the instance
//! stays warm. If it cannot be built (Redis down, bad setting) the request
//! answers 503 and the next request tries again. Background work (processing
//! a new job) runs inside `AppState::wait_until`, which keeps the invocation
//! open until it ends (capped by the function's `maxDuration`).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::StatusCode;
use tokio::sync::OnceCell;
use vercel_runtime::{AppState, Request, Response, ResponseBody};

use crate::http::{error_body, handle_only, json_response, App, Background, Endpoint, ErrorCode};
use crate::service::{HostProfile, Service, ServiceError};
use crate::store::StoreError;

static SERVICE: OnceCell<Service> = OnceCell::const_new();

struct WaitUntil(AppState);

impl Background for WaitUntil {
    fn spawn(&self, work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
        self.0.wait_until(work);
    }
}

/// Runs a function serving `endpoint` (and answering 404 for anything else).
pub async fn run(endpoint: Endpoint) -> Result<(), vercel_runtime::Error> {
    if let Err(e) = crate::telemetry::init() {
        // No subscriber yet: say it where Vercel shows a crashed start.
        #[allow(clippy::print_stderr, reason = "logging could not be set up")]
        {
            eprintln!("the function could not start: {e}");
        }
        return Err(e.into());
    }
    vercel_runtime::run(vercel_runtime::service_fn(
        move |req: Request, state: AppState| async move {
            Ok::<_, vercel_runtime::Error>(serve(endpoint, req, state).await)
        },
    ))
    .await
}

async fn serve(endpoint: Endpoint, req: Request, state: AppState) -> Response<ResponseBody> {
    let service = match SERVICE.get_or_try_init(build).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "service could not start");
            return to_vercel(unavailable(&e));
        }
    };
    let app: &App = &service.app;
    let (parts, body) = req.into_parts();
    let limit = app.config.max_body_bytes;
    let response = match crate::host::collect_limited(body, limit).await {
        Ok(bytes) => {
            let req = http::Request::from_parts(parts, bytes);
            handle_only(app, req, &WaitUntil(state), Some(endpoint)).await
        }
        Err(true) => crate::http::ApiError::PayloadTooLarge { limit }.into_response(),
        Err(false) => crate::http::ApiError::IncompleteBody.into_response(),
    };
    to_vercel(response)
}

/// The service as a Vercel function runs it. This binary IS a Vercel
/// function, whatever the environment says: it never depends on detecting
/// Vercel's system variables (which a project may not expose), so the cron
/// endpoint always requires `CRON_SECRET` and client addresses always come
/// from Vercel's edge headers.
async fn build() -> Result<Service, ServiceError> {
    let mut service = Service::from_env(HostProfile::VERCEL).await?;
    service.app.config.require_cron_secret = true;
    service.app.config.limits.client_ip = crate::http::limits::ClientIp::Vercel;
    Ok(service)
}

/// 503 while the store is unreachable (the next request tries again);
/// 500 for a deployment that is misconfigured. No internals either way.
fn unavailable(error: &ServiceError) -> http::Response<Bytes> {
    let (status, code, message) = match error {
        ServiceError::Store(StoreError::Full(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StoreFull,
            "the service's store is full; try again later",
        ),
        ServiceError::Store(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StoreUnavailable,
            "the service cannot reach its store; try again shortly",
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerMisconfigured,
            "the service is misconfigured; the operators have been told in the logs",
        ),
    };
    let mut r = json_response(status, &error_body(code, message, serde_json::Value::Null));
    r.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("5"),
    );
    r
}

fn to_vercel(response: http::Response<Bytes>) -> Response<ResponseBody> {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, ResponseBody::from(body))
}
