//! One in-process app for every API test: the library's router
//! ([`care_report::http::api`]) over an [`App`], driven with
//! `tower::ServiceExt::oneshot`, without a socket (zero-to-production's
//! `spawn_app`, in-process as axum's `examples/testing` does it).
//!
//! [`TestApp::builder`] builds the [`App`] as the service does, from an
//! [`EngineRig`]; a suite names only what differs from the defaults (the
//! HTTP settings, the limits, the console, the documents). Requests and
//! answers are `http` values with whole bodies, so a test reads status,
//! headers and bytes directly:
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use care_report::http::limits::LimitsConfig;
//! use care_report::store::MemoryStore;
//! use care_report_testing::app::{Dropped, TestApp};
//! use care_report_testing::rig::EngineRig;
//! let spawned = TestApp::builder(EngineRig::new(Arc::new(MemoryStore::default())))
//!     .limits(LimitsConfig::unlimited())
//!     .build()
//!     .await;
//! let api = spawned.api.background(Dropped);
//! let request = http::Request::get("/health").body(bytes::Bytes::new()).unwrap();
//! let response = api.send(request).await;
//! assert_eq!(response.status(), 200);
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use care_report::engine::ManualClock;
use care_report::http::formats::Documents;
use care_report::http::limits::LimitsConfig;
use care_report::http::ops::access::OpsConfig;
use care_report::http::{
    api, Api, App, Background, BackgroundHandle, Endpoint, HttpConfig, TokioBackground,
};
use care_report::sandbox::Sandbox;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;

use crate::rig::{EngineRig, Rig};

/// The API over one [`App`], as a host serves it.
#[derive(Clone)]
pub struct TestApp {
    app: App,
    api: Api,
    background: BackgroundHandle,
}

impl TestApp {
    /// A builder of the [`App`] over the engine `engine` builds (see
    /// [`AppRig`]).
    pub fn builder<C: ?Sized>(engine: EngineRig<C>) -> AppRig<C> {
        AppRig {
            engine,
            config: HttpConfig::default(),
            documents: None,
            client_budget: false,
        }
    }

    /// Every endpoint, as the dev-server serves them; background work runs
    /// as tokio tasks until [`TestApp::background`] says otherwise.
    pub fn new(app: App) -> Self {
        Self::with(api(app.clone(), None), app)
    }

    /// Only `endpoint`, as its Vercel function serves it (every other path
    /// answers 404).
    pub fn only(app: App, endpoint: Endpoint) -> Self {
        Self::with(api(app.clone(), Some(endpoint)), app)
    }

    fn with(api: Api, app: App) -> Self {
        Self {
            app,
            api,
            background: BackgroundHandle(Arc::new(TokioBackground)),
        }
    }

    /// The app served (its engine, its settings).
    pub fn app(&self) -> &App {
        &self.app
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

/// A builder of a [`TestApp`]: the [`App`] the service would build over
/// an [`EngineRig`]'s engine. Defaults: [`HttpConfig::default`], the
/// sources in `"sandbox"` mode, no documents (JSON only), and the engine's
/// budgets as the rig sets them.
#[must_use = "an AppRig does nothing until `build` is awaited"]
pub struct AppRig<C: ?Sized = ManualClock> {
    engine: EngineRig<C>,
    config: HttpConfig,
    documents: Option<Arc<dyn Documents>>,
    client_budget: bool,
}

/// What [`AppRig::build`] gives back.
pub struct Spawned<C: ?Sized = ManualClock> {
    /// The API over the app (its engine: [`TestApp::app`]).
    pub api: TestApp,
    /// The fake sources the engine talks to.
    pub sandbox: Arc<Sandbox>,
    /// The engine's clock.
    pub clock: Arc<C>,
}

impl<C: ?Sized> AppRig<C> {
    /// Every HTTP setting at once (the engine's budgets stay the rig's).
    pub fn http(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// The limits, and the engine's daily budget of paid calls from them
    /// (`daily_paid_calls`), as the service sets it.
    pub fn limits(mut self, limits: LimitsConfig) -> Self {
        self.engine = self.engine.budget(limits.daily_paid_calls);
        self.config.limits = limits;
        self
    }

    /// The engine also bounds each client's share of the daily budget
    /// ([`LimitsConfig::client_budget`]), as the service does.
    pub fn client_budget(mut self) -> Self {
        self.client_budget = true;
        self
    }

    /// The operators' console's settings.
    pub fn ops(mut self, ops: OpsConfig) -> Self {
        self.config.ops = ops;
        self
    }

    /// Reports are also printed as documents (HTML, PDF).
    pub fn documents(mut self, documents: Arc<dyn Documents>) -> Self {
        self.documents = Some(documents);
        self
    }

    /// Builds the engine ([`EngineRig::build`]) and the app over it.
    pub async fn build(self) -> Spawned<C> {
        let Rig {
            mut engine,
            sandbox,
            clock,
        } = self.engine.build().await;
        if self.client_budget {
            engine = engine.with_client_budget(self.config.limits.client_budget());
        }
        let app = App {
            engine: Arc::new(engine),
            config: self.config,
            sources_mode: "sandbox",
            documents: self.documents,
        };
        Spawned {
            api: TestApp::new(app),
            sandbox,
            clock,
        }
    }
}

/// A background that drops the work: a started job stays pending, as if
/// its function had been cut off, until a test processes or sweeps it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dropped;

impl Background for Dropped {
    fn spawn(&self, _work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {}
}
