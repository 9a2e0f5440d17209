//! One in-process app for every API test: the library's router
//! ([`care_report::http::api`]) over an [`App`] the test built, driven with
//! `tower::ServiceExt::oneshot`, without a socket (zero-to-production's
//! `spawn_app`, in-process as axum's `examples/testing` does it).
//!
//! Requests and answers are `http` values with whole bodies, so a test
//! reads status, headers and bytes directly:
//!
//! ```no_run
//! # async fn demo(app: care_report::http::App) {
//! use care_report_testing::app::{Dropped, TestApp};
//! let api = TestApp::new(app).background(Dropped);
//! let request = http::Request::get("/health").body(bytes::Bytes::new()).unwrap();
//! let response = api.send(request).await;
//! assert_eq!(response.status(), 200);
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use care_report::http::{api, Api, App, Background, BackgroundHandle, Endpoint, TokioBackground};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;

/// The API over one [`App`], as a host serves it.
#[derive(Clone)]
pub struct TestApp {
    api: Api,
    background: BackgroundHandle,
}

impl TestApp {
    /// Every endpoint, as the dev-server serves them; background work runs
    /// as tokio tasks until [`TestApp::background`] says otherwise.
    pub fn new(app: App) -> Self {
        Self::with(api(app, None))
    }

    /// Only `endpoint`, as its Vercel function serves it (every other path
    /// answers 404).
    pub fn only(app: App, endpoint: Endpoint) -> Self {
        Self::with(api(app, Some(endpoint)))
    }

    fn with(api: Api) -> Self {
        Self {
            api,
            background: BackgroundHandle(Arc::new(TokioBackground)),
        }
    }

    /// Background work (a new job's processing) goes to `background`, as a
    /// Vercel function hands it to `wait_until`.
    pub fn background(self, background: impl Background + 'static) -> Self {
        self.shared_background(Arc::new(background))
    }

    /// Like [`TestApp::background`], for a background the test keeps too
    /// (to run or count the work it collected).
    pub fn shared_background(self, background: Arc<dyn Background>) -> Self {
        Self {
            background: BackgroundHandle(background),
            ..self
        }
    }

    /// Serves `request` and reads the whole answer.
    pub async fn send(&self, request: Request<Bytes>) -> Response<Bytes> {
        let mut request = request.map(Full::new);
        request.extensions_mut().insert(self.background.clone());
        let Ok(response) = self.api.clone().oneshot(request).await;
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .expect("an in-process answer's body is in memory")
            .to_bytes();
        Response::from_parts(parts, bytes)
    }
}

/// A background that drops the work: a started job stays pending, as if
/// its function had been cut off, until a test processes or sweeps it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dropped;

impl Background for Dropped {
    fn spawn(&self, _work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {}
}
