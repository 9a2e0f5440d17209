//! The `vercel_runtime` adapter: what each `api/` function's `main` calls.
//!
//! The settings are read once per function instance, at start; the service
//! (Redis connection, HTTP client, directory) and the API's router (built
//! for the function's one endpoint) are built from them on the first
//! request and reused while the instance stays warm. If they cannot be
//! built the request answers 503 (Redis down: the next request tries again)
//! or 500 (a bad setting, logged once at start and on each request).
//!
//! Background work (processing a new job) runs inside
//! `AppState::wait_until`, which keeps the invocation open until it ends
//! (capped by the function's `maxDuration`). `vercel_runtime`'s own
//! `VercelLayer` drops the `AppState`, so this adapter does its work
//! instead: it puts a [`BackgroundHandle`] over the invocation's
//! `wait_until` in the request's extensions, where the handlers find it,
//! runs the router, and hands the answer back through the runtime's axum
//! support (`StreamingUtils::process_response`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use tokio::sync::OnceCell;
use tower::ServiceExt;
use vercel_runtime::axum::StreamingUtils;
use vercel_runtime::{AppState, Request, Response, ResponseBody};

use crate::http::formats::Documents;
use crate::http::{
    api, error_body, json_response, Api, Background, BackgroundHandle, Endpoint, ErrorCode,
};
use crate::service::{Service, ServiceError};
use crate::settings::{ConfigError, Environment, HostProfile, Settings};
use crate::store::StoreError;
use crate::telemetry::Chain;
use crate::telemetry::LogConfig;

/// The service (kept for its connections) and the router over it.
static SERVED: OnceCell<(Service, Api)> = OnceCell::const_new();

struct WaitUntil(AppState);

impl Background for WaitUntil {
    fn spawn(&self, work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
        self.0.wait_until(work);
    }
}

/// Runs a function serving `endpoint` (and answering 404 for anything else).
pub async fn run(endpoint: Endpoint) -> Result<(), vercel_runtime::Error> {
    run_with_documents(endpoint, None).await
}

/// Like [`run`], with a document renderer for the result route's HTML and
/// PDF formats. Only the result function passes one, so only its binary
/// carries the renderer.
pub async fn run_with_documents(
    endpoint: Endpoint,
    documents: Option<Arc<dyn Documents>>,
) -> Result<(), vercel_runtime::Error> {
    let settings = Environment::capture()
        .and_then(|env| Settings::read(&env, HostProfile::VERCEL))
        .map(Arc::new);
    // A bad setting (even `RUST_LOG`) must still reach the logs: then they
    // are written with the defaults, and every request answers 500.
    match &settings {
        Ok(s) => crate::telemetry::init(&s.log),
        Err(e) => {
            crate::telemetry::init(&LogConfig {
                json: true,
                ..LogConfig::default()
            });
            tracing::error!(error = %Chain(e), "the function's settings are wrong");
        }
    }
    let settings = Arc::new(settings);
    vercel_runtime::run(vercel_runtime::service_fn(
        move |req: Request, state: AppState| {
            let settings = settings.clone();
            let documents = documents.clone();
            async move { serve(&settings, &documents, endpoint, req, state).await }
        },
    ))
    .await
}

/// Serves one invocation: the router, with the invocation's `wait_until`
/// as the request's background.
async fn serve(
    settings: &Result<Arc<Settings>, ConfigError>,
    documents: &Option<Arc<dyn Documents>>,
    endpoint: Endpoint,
    req: Request,
    state: AppState,
) -> Result<Response<ResponseBody>, vercel_runtime::Error> {
    let served = SERVED
        .get_or_try_init(|| build(settings, documents.clone(), endpoint))
        .await;
    let response = match served {
        Ok((_, api)) => {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut()
                .insert(BackgroundHandle(Arc::new(WaitUntil(state))));
            let Ok(response) = api.clone().oneshot(req).await;
            response
        }
        Err(e) => {
            tracing::error!(error = %Chain(&e), "service could not start");
            unavailable(&e).map(axum::body::Body::from)
        }
    };
    StreamingUtils::process_response(response).await
}

/// The service as a Vercel function runs it ([`HostProfile::VERCEL`]: the
/// cron endpoint always requires `CRON_SECRET`, client addresses always come
/// from Vercel's edge headers), and the router of its one `endpoint`.
async fn build(
    settings: &Result<Arc<Settings>, ConfigError>,
    documents: Option<Arc<dyn Documents>>,
    endpoint: Endpoint,
) -> Result<(Service, Api), ServiceError> {
    let settings = settings.as_ref().map_err(Clone::clone)?;
    let mut service = Service::build(Settings::clone(settings)).await?;
    service.app.documents = documents;
    let api = api(service.app.clone(), Some(endpoint));
    Ok((service, api))
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
        ServiceError::Store(StoreError::RequestLimit(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StoreRequestLimit,
            "the service's store has reached its limit of requests; try again later",
        ),
        // A refused certificate is a deployment mistake: retrying won't help.
        ServiceError::Store(StoreError::Tls(_)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerMisconfigured,
            "the service is misconfigured; the operators have been told in the logs",
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
