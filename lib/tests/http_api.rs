//! The HTTP API of SPEC §2, in-process: every endpoint and every error code,
//! through the API's router driven in-process by the shared app rig
//! (`care_report_testing::app`), with no socket.
//!
//! The rig is an [`App`] over a memory store, the sandbox sources and a
//! [`ManualClock`]. Background work goes to [`Deferred`], which only collects
//! it: a test runs it explicitly after the response, which proves that
//! `start` answers before any processing happens, and that nothing needs a
//! sleep.
//!
//! Every reply passes through [`Api::send`], which checks the rules that hold
//! for all of them: JSON bodies with the API's content type (or the result
//! route's HTML page, for an app with a renderer), errors with
//! exactly `{"error": {"code", "message"[, "details"]}}`, and no 5xx except
//! a store that is down (or a cron secret missing on Vercel) and the fixed
//! `internal_error` answer to a real server fault.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use bytes::Bytes;
use care_report::document;
use care_report::engine::{Clock, EngineConfig, ManualClock};
use care_report::http::answers::ResultView;
use care_report::http::formats::Documents;
use care_report::http::{self, App, Background, CorsOrigins, Endpoint, HttpConfig};
use care_report::model::{Job, JobId, JobSummary, Lease, SlotKey};
use care_report::questionnaire::Questionnaire;
use care_report::retry::RetryPolicy;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::store::BoxFuture;
use care_report::store::{
    Claim, Created, Finish, JobStore, ManualRetryGate, MemoryStore, NewJob, Record, RedisConfig,
    RedisStore, SavePlan, StoreError,
};
use care_report_testing::app::TestApp;
use care_report_testing::rig::EngineRig;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Fixtures

const EMAIL: &str = "family@example.invalid";
const PHONE: &str = "+44 7000 000000";
const EMERGENCY_PHONE: &str = "+44 7000 000001";

fn questionnaire() -> Value {
    serde_json::from_str(include_str!("fixtures/questionnaire.json")).unwrap()
}

/// The fixture with one change.
fn questionnaire_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut q = questionnaire();
    change(&mut q);
    q
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

const STATUS: &str = "/api/professional-report/status";
const RESULT: &str = "/api/professional-report/result";
const RETRY: &str = "/api/professional-report/retry";
const MISSING: &str = "/api/professional-report/missing-sources";
const RETRY_STATUS: &str = "/api/professional-report/retry-status";
const START: &str = "/api/professional-report/start";
const CRON: &str = "/api/cron/retry-missing-data";

// ---------------------------------------------------------------------------
// Background work that runs only when the test says so

type Work = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Collects background work; [`Deferred::run`] awaits it.
#[derive(Default)]
struct Deferred(Mutex<Vec<Work>>);

impl Background for Deferred {
    fn spawn(&self, work: Work) {
        self.0.lock().unwrap().push(work);
    }
}

impl Deferred {
    /// Runs every collected piece of work to its end; how many there were.
    async fn run(&self) -> usize {
        let work = std::mem::take(&mut *self.0.lock().unwrap());
        let n = work.len();
        for w in work {
            w.await;
        }
        n
    }

    /// Drops the collected work unrun, as a host killed after answering
    /// would; how many pieces there were.
    fn discard(&self) -> usize {
        std::mem::take(&mut *self.0.lock().unwrap()).len()
    }

    fn queued(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

// ---------------------------------------------------------------------------
// A store that can be taken down

/// What a real outage might say; none of it may reach a client.
const OUTAGE: &str = "redis: connection refused (10.9.8.7:6380, user admin, password hunter2)";

/// What a damaged record might say; none of it may reach a client either.
const DAMAGE: &str = "plan: invalid type at line 1 (key care-report:job:x, token hunter2)";

/// Wraps a store; while `down`, every call fails with
/// [`StoreError::Unavailable`] like a Redis that stopped answering; while
/// `corrupt`, with [`StoreError::Corrupt`] like a record that cannot be read.
struct SwitchableStore {
    inner: Arc<dyn JobStore>,
    down: AtomicBool,
    corrupt: AtomicBool,
}

impl SwitchableStore {
    fn new(inner: Arc<dyn JobStore>) -> Self {
        Self {
            inner,
            down: AtomicBool::new(false),
            corrupt: AtomicBool::new(false),
        }
    }

    fn set_corrupt(&self, corrupt: bool) {
        self.corrupt.store(corrupt, Ordering::SeqCst);
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn or_fail<'a, T: Send + 'a>(
        &'a self,
        call: impl FnOnce() -> BoxFuture<'a, Result<T, StoreError>>,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        if self.down.load(Ordering::SeqCst) {
            Box::pin(async { Err(StoreError::Unavailable(OUTAGE.to_owned())) })
        } else if self.corrupt.load(Ordering::SeqCst) {
            Box::pin(async { Err(StoreError::Corrupt(DAMAGE.to_owned())) })
        } else {
            call()
        }
    }
}

impl JobStore for SwitchableStore {
    fn kind(&self) -> &'static str {
        "redis"
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.or_fail(|| self.inner.ping())
    }
    fn create(
        &self,
        new: NewJob,
        pending_grace: Duration,
    ) -> BoxFuture<'_, Result<Created, StoreError>> {
        self.or_fail(move || self.inner.create(new, pending_grace))
    }
    fn get(&self, id: JobId) -> BoxFuture<'_, Result<Option<Job>, StoreError>> {
        self.or_fail(move || self.inner.get(id))
    }
    fn summary(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobSummary>, StoreError>> {
        self.or_fail(move || self.inner.summary(id))
    }
    fn source_data(&self, id: JobId) -> BoxFuture<'_, Result<Vec<(SlotKey, Value)>, StoreError>> {
        self.or_fail(move || self.inner.source_data(id))
    }
    fn claim(
        &self,
        id: JobId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Claim, StoreError>> {
        let owner = owner.to_owned();
        self.or_fail(move || Box::pin(async move { self.inner.claim(id, &owner, now, ttl).await }))
    }
    fn renew(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Lease, StoreError>> {
        let lease = lease.clone();
        self.or_fail(move || Box::pin(async move { self.inner.renew(&lease, now, ttl).await }))
    }
    fn release(&self, lease: &Lease, now: DateTime<Utc>) -> BoxFuture<'_, Result<(), StoreError>> {
        let lease = lease.clone();
        self.or_fail(move || Box::pin(async move { self.inner.release(&lease, now).await }))
    }
    fn save_plan(
        &self,
        lease: &Lease,
        plan: SavePlan,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job, StoreError>> {
        let lease = lease.clone();
        self.or_fail(move || Box::pin(async move { self.inner.save_plan(&lease, plan, now).await }))
    }
    fn record(
        &self,
        lease: &Lease,
        record: Record,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<JobSummary, StoreError>> {
        let lease = lease.clone();
        self.or_fail(move || Box::pin(async move { self.inner.record(&lease, record, now).await }))
    }
    fn finish(
        &self,
        lease: &Lease,
        finish: Finish,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job, StoreError>> {
        let lease = lease.clone();
        self.or_fail(move || Box::pin(async move { self.inner.finish(&lease, finish, now).await }))
    }
    fn gate_manual_retry(
        &self,
        id: JobId,
        now: DateTime<Utc>,
        min_interval: Duration,
    ) -> BoxFuture<'_, Result<ManualRetryGate, StoreError>> {
        self.or_fail(move || self.inner.gate_manual_retry(id, now, min_interval))
    }
    fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<JobId>, StoreError>> {
        self.or_fail(move || self.inner.due(now, limit))
    }
    fn history(
        &self,
        id: JobId,
    ) -> BoxFuture<'_, Result<Vec<care_report::model::HistoryEntry>, StoreError>> {
        self.or_fail(move || self.inner.history(id))
    }
}

// ---------------------------------------------------------------------------
// The rig

struct Setup {
    faults: &'static str,
    http: HttpConfig,
    store: Arc<dyn JobStore>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            faults: "",
            http: HttpConfig::default(),
            store: Arc::new(MemoryStore::default()),
        }
    }
}

/// The library's own HTML page, and no PDF: the typesetter is the
/// `care-report-pdf` crate, which the library's tests do not link.
#[derive(Debug)]
struct PagesOnly;

impl PagesOnly {
    fn doc(view: &ResultView, now: DateTime<Utc>) -> document::Document {
        let q = Questionnaire::parse(&view.answer.questionnaire).ok();
        document::document(&view.answer.report, q.as_ref(), now)
    }
}

impl Documents for PagesOnly {
    fn html(&self, view: &ResultView, now: DateTime<Utc>) -> String {
        document::to_html(&Self::doc(view, now))
    }

    fn pdf(&self, _view: &ResultView, _now: DateTime<Utc>) -> Result<(Vec<u8>, String), String> {
        Err("no PDF typesetter in this test".to_owned())
    }

    fn waiting(&self, progress: u8, retry_after_secs: u64, url: &str) -> String {
        document::html::waiting(progress, retry_after_secs, url)
    }
}

struct Api {
    app: App,
    bg: Arc<Deferred>,
    clock: Arc<ManualClock>,
    store: Arc<dyn JobStore>,
    _sandbox: Arc<Sandbox>,
    /// Every response (headers and body) this rig gave, for privacy checks.
    seen: Mutex<Vec<String>>,
}

async fn api() -> Api {
    api_with(Setup::default()).await
}

async fn api_faults(faults: &'static str) -> Api {
    api_with(Setup {
        faults,
        ..Setup::default()
    })
    .await
}

async fn api_with(setup: Setup) -> Api {
    captured_logs();
    let faults = if setup.faults.is_empty() {
        FaultPlan::none()
    } else {
        FaultPlan::parse(setup.faults).unwrap()
    };
    let engine = EngineRig::new(setup.store.clone())
        .start_at(t0())
        .faults(faults)
        // No jitter, so retry times are exact.
        .policy(RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        });
    let spawned = TestApp::builder(engine).http(setup.http).build().await;
    Api {
        app: spawned.api.app().clone(),
        bg: Arc::default(),
        clock: spawned.clock,
        store: setup.store,
        _sandbox: spawned.sandbox,
        seen: Mutex::new(Vec::new()),
    }
}

/// A response, its body decoded.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts the status; the body.
    #[track_caller]
    fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        &self.body
    }

    /// Asserts an error answer with this status and code; its details
    /// (`Null` when there are none).
    #[track_caller]
    fn expect_error(&self, status: u16, code: &str) -> &Value {
        self.expect(status);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        &self.body["error"]["details"]
    }
}

fn get(uri: &str) -> Request<Bytes> {
    Request::builder()
        .method(Method::GET)
        .uri(uri)
        .body(Bytes::new())
        .unwrap()
}

fn post(uri: &str) -> Request<Bytes> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .body(Bytes::new())
        .unwrap()
}

/// A JSON POST of raw bytes.
fn post_raw(uri: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

fn post_json(uri: &str, body: &Value) -> Request<Bytes> {
    post_raw(uri, serde_json::to_vec(body).unwrap())
}

/// `request` with one more header.
fn with_header(
    mut request: Request<Bytes>,
    name: &'static str,
    value: HeaderValue,
) -> Request<Bytes> {
    request.headers_mut().insert(name, value);
    request
}

fn start_body() -> Value {
    json!({ "questionnaire": questionnaire() })
}

/// Checks what holds for every response of the API.
#[track_caller]
fn check_invariants(status: StatusCode, headers: &HeaderMap, raw: &[u8]) -> Value {
    if raw.is_empty() {
        // Only preflights answer without a body.
        assert_eq!(status, StatusCode::NO_CONTENT);
        return Value::Null;
    }
    if headers[header::CONTENT_TYPE] == "text/html; charset=utf-8" {
        // The result route's page, served only by an app with a renderer.
        assert!(status.is_success(), "status {status}");
        return Value::String(String::from_utf8(raw.to_vec()).expect("the page is UTF-8"));
    }
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/json; charset=utf-8",
        "status {status}"
    );
    let body: Value = serde_json::from_slice(raw).expect("every body is JSON");
    if !status.is_success() {
        let outer = body.as_object().expect("error body is an object");
        assert_eq!(
            outer.len(),
            2,
            "exactly `error` and `detail` at the top: {body}"
        );
        let error = body["error"].as_object().expect("`error` is an object");
        // FastAPI-era clients show `detail`: it is the message.
        assert_eq!(
            body["detail"], error["message"],
            "detail is the message: {body}"
        );
        for key in error.keys() {
            assert!(
                ["code", "message", "details"].contains(&key.as_str()),
                "unexpected key {key} in {body}"
            );
        }
        let code = error["code"].as_str().expect("code is a string");
        assert!(
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "code {code:?} is not snake_case"
        );
        assert!(
            !error["message"]
                .as_str()
                .expect("message is a string")
                .is_empty(),
            "empty message in {body}"
        );
        assert!(
            !error.contains_key("details") || !error["details"].is_null(),
            "details, when present, are not null: {body}"
        );
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // A real server fault: a fixed answer, nothing about the cause.
            assert_eq!(
                body,
                json!({"error": {"code": "internal_error", "message": "internal server error"}, "detail": "internal server error"})
            );
        } else if status.is_server_error() {
            assert!(
                ["store_unavailable", "cron_secret_not_configured"].contains(&code),
                "a 5xx for a client problem: {body}"
            );
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    body
}

// ---------------------------------------------------------------------------
// Every answer against the OpenAPI document

/// The method and path of a request, kept to find its operation once the
/// request has been handed over.
struct Asked {
    method: Method,
    path: String,
}

impl Asked {
    fn of(request: &Request<Bytes>) -> Self {
        Self {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
        }
    }
}

fn openapi_doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(http::openapi::document)
}

type Validators = Mutex<std::collections::HashMap<String, Arc<jsonschema::Validator>>>;

/// The validator of the component `reference` names (`#/components/...`),
/// compiled once: the schema is the reference itself beside the document's
/// components, so every `$ref` inside resolves within the document.
fn validator(reference: &str) -> Arc<jsonschema::Validator> {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    let mut cache = VALIDATORS.get_or_init(Validators::default).lock().unwrap();
    cache
        .entry(reference.to_owned())
        .or_insert_with(|| {
            let schema = json!({ "$ref": reference, "components": openapi_doc()["components"] });
            Arc::new(jsonschema::validator_for(&schema).expect("the OpenAPI schemas compile"))
        })
        .clone()
}

/// The document's operation for `method` on `path` (a `{job_id}` template
/// takes one segment, or none when the id comes in the query), with its
/// path template.
fn operation(method: &Method, path: &str) -> Option<(&'static str, &'static Value)> {
    let doc = openapi_doc();
    let paths = doc["paths"].as_object().unwrap();
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let key = method.as_str().to_ascii_lowercase();
    let exact = paths
        .get_key_value(path)
        .filter(|(_, ops)| ops.get(&key).is_some());
    let templated = || {
        paths.iter().find(|(template, ops)| {
            let Some(prefix) = template.strip_suffix("{job_id}") else {
                return false;
            };
            let segment_or_query = path
                .strip_prefix(prefix)
                .is_some_and(|seg| !seg.contains('/'))
                || path == prefix.trim_end_matches('/');
            segment_or_query && ops.get(&key).is_some()
        })
    };
    exact
        .or_else(templated)
        .map(|(template, ops)| (template.as_str(), &ops[&key]))
}

thread_local! {
    /// The (method, path template, status) of every answer this test's
    /// thread checked against its operation (each test has its own thread).
    static ANSWERED: std::cell::RefCell<std::collections::BTreeSet<(String, String, u16)>> =
        const { std::cell::RefCell::new(std::collections::BTreeSet::new()) };
}

/// Checks an answer against the OpenAPI document: its status is one the
/// operation lists, an error's code is one that response names, and the
/// body matches the response's schema. Requests outside every operation
/// (unknown paths, other methods, another function's path) answer the
/// `Error` schema.
#[track_caller]
fn check_against_openapi(asked: &Asked, status: StatusCode, body: &Value) {
    if asked.method == Method::OPTIONS {
        return;
    }
    let doc = openapi_doc();
    let code = body["error"]["code"].as_str();
    let outside = matches!(code, Some("route_not_found" | "method_not_allowed"));
    let found = if outside {
        None
    } else {
        operation(&asked.method, &asked.path)
    };
    let (reference, description) = match found {
        Some((template, op)) => {
            let response = &op["responses"][status.as_str()];
            assert!(
                response.is_object(),
                "{} {} answered {status}, which its operation does not list: {body}",
                asked.method,
                asked.path
            );
            ANSWERED.with(|a| {
                a.borrow_mut().insert((
                    asked.method.to_string(),
                    template.to_owned(),
                    status.as_u16(),
                ))
            });
            (
                response["content"]["application/json"]["schema"]["$ref"].as_str(),
                response["description"].as_str().unwrap(),
            )
        }
        None => {
            assert!(
                !status.is_success(),
                "{} {} succeeded outside every documented operation",
                asked.method,
                asked.path
            );
            (
                Some("#/components/schemas/Error"),
                doc["components"]["schemas"]["Error"]["description"]
                    .as_str()
                    .unwrap(),
            )
        }
    };
    if let Some(code) = code {
        assert!(
            description.contains(&format!("`{code}`")),
            "{} {} answered {status} `{code}`, which the document's response does not name: {description}",
            asked.method,
            asked.path
        );
    }
    if let Some(reference) = reference {
        let problems: Vec<String> = validator(reference)
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            problems.is_empty(),
            "{} {} answered {status} off its schema {reference}: {}\n{body}",
            asked.method,
            asked.path,
            problems.join("; ")
        );
    }
}

impl Api {
    /// Serves `request` through the full router.
    async fn send(&self, request: Request<Bytes>) -> Reply {
        let asked = Asked::of(&request);
        let response = TestApp::new(self.app.clone())
            .shared_background(self.bg.clone())
            .send(request)
            .await;
        self.record(&asked, response)
    }

    /// Serves `request` as the Vercel function of `only` does.
    async fn send_only(&self, request: Request<Bytes>, only: Endpoint) -> Reply {
        let asked = Asked::of(&request);
        let response = TestApp::only(self.app.clone(), only)
            .shared_background(self.bg.clone())
            .send(request)
            .await;
        self.record(&asked, response)
    }

    fn record(&self, asked: &Asked, response: ::http::Response<Bytes>) -> Reply {
        let (parts, raw) = response.into_parts();
        self.seen.lock().unwrap().push(format!(
            "{:?}\n{}",
            parts.headers,
            String::from_utf8_lossy(&raw)
        ));
        let body = check_invariants(parts.status, &parts.headers, &raw);
        check_against_openapi(asked, parts.status, &body);
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(get(uri)).await
    }

    async fn job_get(&self, base: &str, id: JobId) -> Reply {
        self.get(&format!("{base}/{id}")).await
    }

    /// Starts a job (202 asserted); processing is left queued.
    async fn start(&self, q: &Value) -> JobId {
        let reply = self
            .send(post_json(START, &json!({ "questionnaire": q })))
            .await;
        let body = reply.expect(202);
        JobId::parse(body["job_id"].as_str().unwrap()).unwrap()
    }

    /// Starts a job and runs its processing to the end.
    async fn start_processed(&self, q: &Value) -> JobId {
        let id = self.start(q).await;
        assert_eq!(self.bg.run().await, 1);
        id
    }

    fn seen(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }
}

/// The object's keys, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[track_caller]
fn assert_has_fields(v: &Value, fields: &[&str]) {
    let present = keys(v);
    for f in fields {
        assert!(present.contains(f), "field {f} missing from {v}");
    }
}

#[track_caller]
fn assert_rfc3339_utc(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    assert!(s.ends_with('Z'), "{s} is not in UTC");
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

// ---------------------------------------------------------------------------
// GET /health

#[tokio::test]
async fn health_reports_the_store_and_sources() {
    let api = api().await;
    for path in ["/health", "/api/health", "/health/"] {
        let reply = api.get(path).await;
        let body = reply.expect(200);
        assert_eq!(body["status"], "ok", "{path}");
        assert_eq!(body["store"], "memory");
        assert_eq!(body["sources"], "sandbox");
        assert!(body["version"].is_string());
        // The process counter of caught adapter panics (crate::metrics).
        assert!(body["source_adapter_panics"].is_u64(), "{body}");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
}

#[tokio::test]
async fn health_is_503_store_unavailable_when_the_store_is_down() {
    let store = Arc::new(SwitchableStore::new(Arc::new(MemoryStore::default())));
    let api = api_with(Setup {
        store: store.clone(),
        ..Setup::default()
    })
    .await;
    api.get("/health").await.expect(200);
    store.set_down(true);
    let reply = api.get("/health").await;
    reply.expect_error(503, "store_unavailable");
    assert!(reply.header("retry-after").is_some());
    assert_no_internals(&api);
}

/// Nothing of the outage's or the damage's text reached a client.
#[track_caller]
fn assert_no_internals(api: &Api) {
    let seen = api.seen();
    for secret in [
        "10.9.8.7",
        "hunter2",
        "admin",
        "connection refused",
        "redis:",
        "care-report:job",
        "invalid type",
    ] {
        assert!(!seen.contains(secret), "{secret:?} leaked: {seen}");
    }
}

#[tokio::test]
async fn redis_on_a_closed_port_is_unavailable_without_leaking_the_url() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("redis://:s3cretpw@127.0.0.1:{port}/");
    let config = RedisConfig {
        connection_timeout: Duration::from_millis(300),
        response_timeout: Duration::from_millis(300),
        ..RedisConfig::default()
    };
    match RedisStore::connect(&url, config).await {
        // Refused at connect time: the service cannot start, and says why
        // without the URL (which holds the password).
        Err(StoreError::Unavailable(message)) => {
            assert!(!message.contains("s3cretpw") && !message.contains(&port.to_string()));
        }
        Err(other) => panic!("expected Unavailable, got {other}"),
        // Connected lazily: then /health must say 503.
        Ok(store) => {
            let api = api_with(Setup {
                store: Arc::new(store),
                ..Setup::default()
            })
            .await;
            api.get("/health")
                .await
                .expect_error(503, "store_unavailable");
            assert!(!api.seen().contains("s3cretpw"));
        }
    }
}

#[tokio::test]
async fn every_job_endpoint_answers_503_when_the_store_is_down() {
    let store = Arc::new(SwitchableStore::new(Arc::new(MemoryStore::default())));
    let api = api_with(Setup {
        store: store.clone(),
        ..Setup::default()
    })
    .await;
    let id = api.start_processed(&questionnaire()).await;
    store.set_down(true);
    for base in [STATUS, RESULT, MISSING, RETRY_STATUS] {
        let reply = api.job_get(base, id).await;
        reply.expect_error(503, "store_unavailable");
        assert_eq!(reply.header("retry-after"), Some("5"), "{base}");
    }
    api.send(post(&format!("{RETRY}/{id}")))
        .await
        .expect_error(503, "store_unavailable");
    api.send(post_json(START, &start_body()))
        .await
        .expect_error(503, "store_unavailable");
    // The sweep cannot read the due index: a 503, so the outage shows in
    // the cron's logs instead of passing for a quiet sweep.
    api.get(CRON).await.expect_error(503, "store_unavailable");
    assert_no_internals(&api);

    store.set_down(false);
    api.job_get(STATUS, id).await.expect(200);
}

#[tokio::test]
async fn a_record_that_cannot_be_read_is_500_internal_error_without_details() {
    let store = Arc::new(SwitchableStore::new(Arc::new(MemoryStore::default())));
    let api = api_with(Setup {
        store: store.clone(),
        ..Setup::default()
    })
    .await;
    let id = api.start_processed(&questionnaire()).await;
    store.set_corrupt(true);
    for base in [STATUS, RESULT, MISSING, RETRY_STATUS] {
        let reply = api.job_get(base, id).await;
        reply.expect_error(500, "internal_error");
        assert!(reply.header("retry-after").is_none());
    }
    api.send(post(&format!("{RETRY}/{id}")))
        .await
        .expect_error(500, "internal_error");
    assert_no_internals(&api);
}

// ---------------------------------------------------------------------------
// POST /start

#[tokio::test]
async fn start_answers_202_before_processing() {
    let api = api().await;
    let reply = api.send(post_json(START, &start_body())).await;
    let body = reply.expect(202);
    assert_eq!(
        keys(body),
        ["job_id", "message", "result_url", "status", "status_url"]
    );
    let id = JobId::parse(body["job_id"].as_str().unwrap()).unwrap();
    assert_eq!(body["status"], "pending");
    assert!(!body["message"].as_str().unwrap().is_empty());
    assert_eq!(body["status_url"], format!("{STATUS}/{id}"));
    assert_eq!(body["result_url"], format!("{RESULT}/{id}"));
    assert_eq!(
        reply.header("location"),
        Some(format!("{STATUS}/{id}").as_str())
    );
    assert!(reply.header("idempotent-replayed").is_none());

    // Nothing ran yet: the work is queued, the job pending.
    assert_eq!(api.bg.queued(), 1);
    let status = api.job_get(STATUS, id).await;
    assert_eq!(status.expect(200)["status"], "pending");
    assert_eq!(status.body["progress"], 0);

    assert_eq!(api.bg.run().await, 1);
    let status = api.job_get(STATUS, id).await;
    assert_eq!(status.expect(200)["status"], "completed");
    assert_eq!(status.body["progress"], 100);
}

#[tokio::test]
async fn start_accepts_the_bare_questionnaire_too() {
    let api = api().await;
    let reply = api.send(post_json(START, &questionnaire())).await;
    assert_eq!(reply.expect(202)["status"], "pending");
    // A content type with parameters, or a +json type, is JSON too.
    let mut request = post_json(START, &questionnaire());
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    api.send(request).await.expect(202);
    assert_eq!(api.bg.run().await, 2);
}

#[tokio::test]
async fn start_refuses_bodies_that_are_not_json() {
    let api = api().await;
    for body in [&b"{not json"[..], b"", b"{\"questionnaire\": "] {
        api.send(post_raw(START, body.to_vec()))
            .await
            .expect_error(400, "invalid_json");
    }
    // JSON, but not an object.
    let details = api
        .send(post_raw(START, "[1, 2]"))
        .await
        .expect_error(400, "validation_failed")
        .clone();
    assert_eq!(details["fields"][0]["path"], "$");
    assert_eq!(api.bg.queued(), 0, "nothing was started");
}

#[tokio::test]
async fn start_lists_every_validation_problem_with_its_path() {
    let api = api().await;
    let q = questionnaire_with(|q| {
        q.as_object_mut().unwrap().remove("section_5_timeline");
        q["section_2_location_budget"]["q7_budget"] = json!("lots");
        q["section_2_location_budget"]["q5_preferred_city"] = json!(42);
        q["section_3_medical_needs"]["q8_care_types"] = json!([]);
    });
    let reply = api
        .send(post_json(START, &json!({ "questionnaire": q })))
        .await;
    let details = reply.expect_error(400, "validation_failed");
    let fields = details["fields"].as_array().unwrap();
    let mut paths: Vec<&str> = fields.iter().map(|f| f["path"].as_str().unwrap()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "section_2_location_budget.q5_preferred_city",
            "section_2_location_budget.q7_budget",
            "section_3_medical_needs.q8_care_types",
            "section_5_timeline",
        ]
    );
    for f in fields {
        assert_eq!(keys(f), ["message", "path"]);
        assert!(!f["message"].as_str().unwrap().is_empty());
    }
    let budget = fields
        .iter()
        .find(|f| f["path"] == "section_2_location_budget.q7_budget")
        .unwrap();
    assert!(budget["message"].as_str().unwrap().contains("'lots'"));
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("4 problems"));
    assert_eq!(api.bg.queued(), 0);
}

#[tokio::test]
async fn start_refuses_bodies_over_the_limit() {
    let api = api_with(Setup {
        http: HttpConfig {
            max_body_bytes: 4096,
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let mut q = questionnaire();
    q["profile_description"] = json!("x".repeat(5000));
    let details = api
        .send(post_json(START, &q))
        .await
        .expect_error(413, "payload_too_large")
        .clone();
    assert_eq!(details["limit_bytes"], 4096);
    // Just under the limit is fine.
    let mut q = questionnaire();
    let size = serde_json::to_vec(&q).unwrap().len();
    q["profile_description"] = json!("x".repeat(4096 - size - 20));
    assert!(serde_json::to_vec(&q).unwrap().len() <= 4096);
    api.send(post_json(START, &q)).await.expect(202);
}

#[tokio::test]
async fn start_wants_a_json_content_type() {
    let api = api().await;
    let body = serde_json::to_vec(&start_body()).unwrap();
    // No content type.
    let mut request = post(START);
    *request.body_mut() = Bytes::from(body.clone());
    api.send(request)
        .await
        .expect_error(415, "unsupported_media_type");
    // Wrong content types.
    for ct in ["text/plain", "application/x-www-form-urlencoded", "jsonx"] {
        let request = with_header(
            post_raw(START, body.clone()),
            "content-type",
            HeaderValue::from_static(ct),
        );
        api.send(request)
            .await
            .expect_error(415, "unsupported_media_type");
    }
    assert_eq!(api.bg.queued(), 0);
}

fn keyed(body: &Value, key: &'static str) -> Request<Bytes> {
    with_header(
        post_json(START, body),
        "idempotency-key",
        HeaderValue::from_static(key),
    )
}

#[tokio::test]
async fn idempotency_key_replays_the_same_job() {
    let api = api().await;
    let first = api.send(keyed(&start_body(), "order-42")).await;
    let id = first.expect(202)["job_id"].clone();
    assert!(first.header("idempotent-replayed").is_none());

    let again = api.send(keyed(&start_body(), "order-42")).await;
    assert_eq!(again.expect(202)["job_id"], id);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    // The bare form of the same questionnaire is the same request.
    let bare = api.send(keyed(&questionnaire(), "order-42")).await;
    assert_eq!(bare.expect(202)["job_id"], id);
    // Only the first request started work.
    assert_eq!(api.bg.run().await, 1);
    // A replay after processing shows the job as it is now.
    let late = api.send(keyed(&start_body(), "order-42")).await;
    assert_eq!(late.expect(202)["job_id"], id);
    assert_eq!(late.body["status"], "completed");
    // Another key is another job.
    let other = api.send(keyed(&start_body(), "order-43")).await;
    assert_ne!(other.expect(202)["job_id"], id);
}

#[tokio::test]
async fn idempotency_fingerprint_ignores_key_order() {
    let api = api().await;
    let q = questionnaire();
    let forward = serde_json::to_string(&json!({ "questionnaire": q })).unwrap();
    // The same questionnaire with every object's keys written in reverse.
    fn reversed(v: &Value) -> String {
        match v {
            Value::Object(map) => {
                let items: Vec<String> = map
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), reversed(v)))
                    .collect();
                format!("{{{}}}", items.join(","))
            }
            Value::Array(items) => {
                format!(
                    "[{}]",
                    items.iter().map(reversed).collect::<Vec<_>>().join(",")
                )
            }
            other => other.to_string(),
        }
    }
    let backward = format!("{{\"questionnaire\":{}}}", reversed(&q));
    assert_ne!(forward, backward);
    assert_eq!(
        serde_json::from_str::<Value>(&backward).unwrap(),
        serde_json::from_str::<Value>(&forward).unwrap()
    );
    let key = HeaderValue::from_static("key-order");
    let a = api
        .send(with_header(
            post_raw(START, forward),
            "idempotency-key",
            key.clone(),
        ))
        .await;
    let b = api
        .send(with_header(
            post_raw(START, backward),
            "idempotency-key",
            key,
        ))
        .await;
    assert_eq!(a.expect(202)["job_id"], b.expect(202)["job_id"]);
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn idempotency_key_with_another_body_is_409() {
    let api = api().await;
    let first = api.send(keyed(&start_body(), "k-1")).await;
    first.expect(202);
    let other = questionnaire_with(|q| {
        q["section_2_location_budget"]["q6_max_distance"] = json!("within_30km");
    });
    let reply = api.send(keyed(&other, "k-1")).await;
    reply.expect_error(409, "idempotency_key_reused");
    // That the answer names no job is safety.rs's, on both stores; here:
    // the refused start queued no work.
    assert_eq!(api.bg.queued(), 1);
}

#[tokio::test]
async fn invalid_idempotency_keys_are_400() {
    let api = api().await;
    let too_long = "k".repeat(256);
    let keys = [
        HeaderValue::from_static(""),
        HeaderValue::from_str(&too_long).unwrap(),
        HeaderValue::from_bytes("schlüssel".as_bytes()).unwrap(),
        HeaderValue::from_static("has space"),
    ];
    for key in keys {
        let request = with_header(
            post_json(START, &start_body()),
            "idempotency-key",
            key.clone(),
        );
        api.send(request)
            .await
            .expect_error(400, "invalid_idempotency_key");
    }
    // 255 printable characters is the longest key.
    let longest = HeaderValue::from_str(&"k".repeat(255)).unwrap();
    api.send(with_header(
        post_json(START, &start_body()),
        "idempotency-key",
        longest,
    ))
    .await
    .expect(202);
    assert_eq!(api.bg.queued(), 1);
}

// ---------------------------------------------------------------------------
// GET status / result / missing-sources / retry-status

#[tokio::test]
async fn status_has_every_field_of_the_spec() {
    let api = api().await;
    let id = api.start(&questionnaire()).await;
    let body = api.job_get(STATUS, id).await.expect(200).clone();
    assert_eq!(
        keys(&body),
        [
            "completeness",
            "created_at",
            "error",
            "is_partial",
            "job_id",
            "message",
            "progress",
            "status",
            "updated_at"
        ]
    );
    assert_eq!(body["job_id"], id.to_string());
    assert_eq!(body["status"], "pending");
    assert_eq!(body["error"], Value::Null);
    assert_eq!(body["is_partial"], false);
    assert_eq!(body["completeness"], 0);
    assert_eq!(assert_rfc3339_utc(&body["created_at"]), t0());
    assert_eq!(assert_rfc3339_utc(&body["updated_at"]), t0());

    api.bg.run().await;
    let done = api.job_get(STATUS, id).await.expect(200).clone();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["progress"], 100);
    assert_eq!(done["completeness"], 100);
    assert!(!done["message"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_and_malformed_job_ids() {
    let api = api().await;
    let unknown = JobId::new();
    let malformed = [
        "not-a-uuid".to_owned(),
        // A v1 UUID.
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8".to_owned(),
        // The simple (unhyphenated) form of a v4 id.
        unknown.as_uuid().simple().to_string(),
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        "%00".to_owned(),
        "x".repeat(500),
    ];
    for base in [STATUS, RESULT, MISSING, RETRY_STATUS] {
        api.job_get(base, unknown)
            .await
            .expect_error(404, "job_not_found");
        for bad in &malformed {
            api.get(&format!("{base}/{bad}"))
                .await
                .expect_error(400, "invalid_job_id");
        }
        // Nothing after the prefix: no id at all.
        api.get(&format!("{base}/"))
            .await
            .expect_error(400, "invalid_job_id");
    }
    api.send(post(&format!("{RETRY}/{unknown}")))
        .await
        .expect_error(404, "job_not_found");
    api.send(post(&format!("{RETRY}/{}", malformed[1])))
        .await
        .expect_error(400, "invalid_job_id");
    // A traversal that splits into segments is no route at all.
    api.get(&format!("{STATUS}/../../etc/passwd"))
        .await
        .expect_error(404, "route_not_found");
    // The echoed id is bounded.
    let long = api.get(&format!("{STATUS}/{}", "x".repeat(500))).await;
    assert!(long.body["error"]["message"].as_str().unwrap().len() < 200);
}

#[tokio::test]
async fn result_is_409_not_ready_while_pending() {
    let api = api().await;
    let id = api.start(&questionnaire()).await;
    let details = api
        .job_get(RESULT, id)
        .await
        .expect_error(409, "not_ready")
        .clone();
    assert_eq!(details, json!({ "status": "pending", "progress": 0 }));
}

#[tokio::test]
async fn a_job_for_an_unknown_city_fails_and_result_says_job_failed() {
    let api = api().await;
    let q = questionnaire_with(|q| {
        q["section_2_location_budget"]["q5_preferred_city"] = json!("Atlantis");
    });
    let id = api.start_processed(&q).await;
    let status = api.job_get(STATUS, id).await.expect(200).clone();
    assert_eq!(status["status"], "failed");
    assert!(status["error"].as_str().unwrap().contains("Atlantis"));
    let details = api
        .job_get(RESULT, id)
        .await
        .expect_error(409, "job_failed")
        .clone();
    assert_eq!(details["status"], "failed");
    assert_eq!(details["error"], status["error"]);
    // A failed job cannot be retried either.
    let details = api
        .send(post(&format!("{RETRY}/{id}")))
        .await
        .expect_error(409, "retry_not_allowed")
        .clone();
    assert_eq!(details["status"], "failed");
    let rs = api.job_get(RETRY_STATUS, id).await.expect(200).clone();
    assert_eq!(rs["will_auto_retry"], false);
}

#[tokio::test]
async fn result_of_a_completed_job() {
    let api = api().await;
    let id = api.start_processed(&questionnaire()).await;
    let report = api.job_get(RESULT, id).await.expect(200).clone();
    assert_eq!(report["job_id"], id.to_string());
    assert_eq!(report["status"], "completed");
    assert_eq!(report["is_partial"], false);
    assert_eq!(report["completeness"], 100);
    assert_eq!(report["missing_data_sources"], json!([]));
    // The synchronous answer's envelope, plus the job's facts.
    assert_has_fields(
        &report,
        &["questionnaire", "report", "generated_at", "report_id"],
    );
    assert_eq!(report["report"]["jobId"], id.to_string());
    assert_eq!(report["report"]["reportId"], report["report_id"]);
    assert_eq!(report["report"]["clientName"], "Ada Example");
    // The stored questionnaire: no contact details.
    assert!(report["questionnaire"]["section_1_contact_emergency"]
        .get("q2_email")
        .is_none());
    let homes = report["report"]["careHomes"].as_array().unwrap();
    assert_eq!(homes.len(), 5);
    for home in homes {
        assert_has_fields(home, &["id", "name", "matchScore", "dataSources"]);
        for source in ["cqc", "fsa", "google_places", "neighbourhood", "firecrawl"] {
            assert_eq!(home["dataSources"][source], "loaded", "{source}");
        }
    }
}

/// A job whose five CQC fetches failed and will be retried.
async fn partial_job(api: &Api) -> JobId {
    let id = api.start_processed(&questionnaire()).await;
    let status = api.job_get(STATUS, id).await;
    assert_eq!(status.expect(200)["status"], "partial");
    id
}

const MISSING_SOURCE_FIELDS: [&str; 9] = [
    "error",
    "home_id",
    "home_name",
    "last_attempt",
    "next_attempt_at",
    "retry_count",
    "source_name",
    "source_type",
    "status",
];

#[tokio::test]
async fn partial_result_lists_its_missing_sources() {
    let api = api_faults("cqc:status=503").await;
    let id = partial_job(&api).await;
    let status = api.job_get(STATUS, id).await.expect(200).clone();
    assert_eq!(status["is_partial"], true);
    assert_eq!(status["completeness"], 83);

    let report = api.job_get(RESULT, id).await.expect(200).clone();
    assert_eq!(report["status"], "partial");
    assert_eq!(report["is_partial"], true);
    assert_eq!(report["completeness"], 83);
    let missing = report["missing_data_sources"].as_array().unwrap();
    assert_eq!(missing.len(), 5);
    for m in missing {
        assert_eq!(keys(m), MISSING_SOURCE_FIELDS, "{m}");
        assert_eq!(m["source_type"], "cqc");
        assert_eq!(m["status"], "retrying");
        assert_eq!(m["retry_count"], 0);
        assert!(m["error"].is_string());
    }
    assert_eq!(report["report"]["isPartial"], true);
    assert_eq!(
        report["report"]["missingDataSources"],
        report["missing_data_sources"]
    );
    for home in report["report"]["careHomes"].as_array().unwrap() {
        assert_eq!(home["dataSources"]["cqc"], "missing");
        assert!(home.get("cqcDeepDive").is_none());
    }
}

#[tokio::test]
async fn missing_sources_view() {
    let api = api_faults("cqc:status=503").await;
    let id = partial_job(&api).await;
    let body = api.job_get(MISSING, id).await.expect(200).clone();
    assert_eq!(
        keys(&body),
        [
            "completeness",
            "is_partial",
            "job_id",
            "missing_by_type",
            "missing_sources",
            "total_missing"
        ]
    );
    assert_eq!(body["job_id"], id.to_string());
    assert_eq!(body["total_missing"], 5);
    assert_eq!(body["is_partial"], true);
    assert_eq!(body["completeness"], 83);
    let missing = body["missing_sources"].as_array().unwrap();
    assert_eq!(missing.len(), 5);
    for m in missing {
        assert_eq!(keys(m), MISSING_SOURCE_FIELDS);
        assert_eq!(m["source_name"].as_str().map(str::is_empty), Some(false));
        assert_rfc3339_utc(&m["last_attempt"]);
        assert_eq!(
            assert_rfc3339_utc(&m["next_attempt_at"]),
            t0() + chrono::Duration::seconds(300)
        );
    }
    assert_eq!(keys(&body["missing_by_type"]), ["cqc"]);
    assert_eq!(body["missing_by_type"]["cqc"], body["missing_sources"]);

    // A complete job has nothing missing.
    let complete = api_faults("").await;
    let id = complete.start_processed(&questionnaire()).await;
    let body = complete.job_get(MISSING, id).await.expect(200).clone();
    assert_eq!(body["total_missing"], 0);
    assert_eq!(body["missing_sources"], json!([]));
    assert_eq!(body["missing_by_type"], json!({}));
}

#[tokio::test]
async fn retry_status_view() {
    let api = api_faults("cqc:status=503").await;
    let id = partial_job(&api).await;
    api.clock.advance(Duration::from_secs(60));
    let body = api.job_get(RETRY_STATUS, id).await.expect(200).clone();
    assert_has_fields(
        &body,
        &[
            "job_id",
            "is_partial",
            "completeness",
            "missing_sources_count",
            "next_retries",
            "time_elapsed_hours",
            "time_remaining_hours",
            "will_auto_retry",
        ],
    );
    assert_eq!(body["job_id"], id.to_string());
    assert_eq!(body["is_partial"], true);
    assert_eq!(body["completeness"], 83);
    assert_eq!(body["missing_sources_count"], 5);
    assert_eq!(body["will_auto_retry"], true);
    assert_eq!(body["time_elapsed_hours"], 0.02);
    assert_eq!(body["time_remaining_hours"], 2.98);
    let next = body["next_retries"].as_array().unwrap();
    assert_eq!(next.len(), 5);
    for n in next {
        assert_has_fields(
            n,
            &[
                "source_type",
                "home_name",
                "next_retry_at",
                "time_until_retry_seconds",
                "retry_count",
                "max_retries",
            ],
        );
        assert_eq!(n["source_type"], "cqc");
        assert_eq!(
            assert_rfc3339_utc(&n["next_retry_at"]),
            t0() + chrono::Duration::seconds(300)
        );
        assert_eq!(n["time_until_retry_seconds"], 240);
        assert_eq!(n["retry_count"], 0);
        assert_eq!(n["max_retries"], 10);
    }

    // Past the window nothing will be retried.
    api.clock.advance(Duration::from_secs(3 * 3600));
    let body = api.job_get(RETRY_STATUS, id).await.expect(200).clone();
    assert_eq!(body["will_auto_retry"], false);
    assert_eq!(body["time_remaining_hours"], 0.0);
    assert_eq!(body["next_retries"][0]["next_retry_at"], Value::Null);
    assert_eq!(
        body["next_retries"][0]["time_until_retry_seconds"],
        Value::Null
    );
}

// ---------------------------------------------------------------------------
// POST /retry

#[tokio::test]
async fn retry_loads_the_missing_sources() {
    let api = api_faults("neighbourhood:status=503,heal_after=1").await;
    let id = partial_job(&api).await;
    api.clock.advance(Duration::from_secs(36 * 60));
    let body = api
        .send(post(&format!("{RETRY}/{id}")))
        .await
        .expect(200)
        .clone();
    assert_has_fields(
        &body,
        &[
            "job_id",
            "retry_result",
            "time_elapsed_hours",
            "time_remaining_hours",
        ],
    );
    assert_eq!(body["job_id"], id.to_string());
    assert_eq!(body["status"], "completed");
    assert_eq!(body["time_elapsed_hours"], 0.6);
    assert_eq!(body["time_remaining_hours"], 2.4);
    let result = &body["retry_result"];
    assert_eq!(
        keys(result),
        [
            "message",
            "retried_sources",
            "still_missing",
            "success_count"
        ]
    );
    assert_eq!(result["retried_sources"].as_array().unwrap().len(), 5);
    assert!(result["retried_sources"][0]
        .as_str()
        .unwrap()
        .ends_with("/neighbourhood"));
    assert_eq!(result["success_count"], 5);
    assert_eq!(result["still_missing"], 0);
    assert!(!result["message"].as_str().unwrap().is_empty());

    let report = api.job_get(RESULT, id).await.expect(200).clone();
    assert_eq!(report["is_partial"], false);
    assert_eq!(report["status"], "completed");

    // Retrying a completed job is allowed and does nothing.
    let again = api.send(post(&format!("{RETRY}/{id}"))).await;
    assert_eq!(
        again.expect(200)["retry_result"]["retried_sources"],
        json!([])
    );
}

#[tokio::test]
async fn retry_of_a_pending_job_is_409_retry_not_allowed() {
    let api = api().await;
    let id = api.start(&questionnaire()).await;
    let details = api
        .send(post(&format!("{RETRY}/{id}")))
        .await
        .expect_error(409, "retry_not_allowed")
        .clone();
    assert_eq!(details["status"], "pending");
}

#[tokio::test]
async fn retry_twice_in_a_row_is_429_with_retry_after() {
    let api = api_faults("neighbourhood:status=503").await;
    let id = partial_job(&api).await;
    let first = api.send(post(&format!("{RETRY}/{id}"))).await;
    let result = &first.expect(200)["retry_result"];
    assert_eq!(result["success_count"], 0);
    assert_eq!(result["still_missing"], 5);
    assert_eq!(first.body["status"], "partial");

    api.clock.advance(Duration::from_secs(10));
    let reply = api.send(post(&format!("{RETRY}/{id}"))).await;
    let details = reply.expect_error(429, "retry_too_soon").clone();
    assert_eq!(details["retry_after_seconds"], 20);
    assert_eq!(reply.header("retry-after"), Some("20"));

    api.clock.advance(Duration::from_secs(20));
    api.send(post(&format!("{RETRY}/{id}"))).await.expect(200);
}

#[tokio::test]
async fn retry_after_three_hours_is_409_window_closed() {
    let api = api_faults("neighbourhood:status=503").await;
    let id = partial_job(&api).await;
    api.clock.advance(Duration::from_secs(3 * 3600 + 1));
    api.send(post(&format!("{RETRY}/{id}")))
        .await
        .expect_error(409, "retry_window_closed");
}

#[tokio::test]
async fn retry_while_another_worker_holds_the_job_is_409_busy() {
    let api = api_faults("neighbourhood:status=503").await;
    let id = partial_job(&api).await;
    let lease = api
        .store
        .claim(
            id,
            "another-worker",
            api.clock.now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .lease()
        .expect("the job is free to claim");
    api.send(post(&format!("{RETRY}/{id}")))
        .await
        .expect_error(409, "job_busy");
    api.store.release(&lease, api.clock.now()).await.unwrap();
}

// ---------------------------------------------------------------------------
// GET /cron

#[tokio::test]
async fn cron_runs_one_sweep() {
    let api = api().await;
    // A job whose processing never ran (the host died): the sweep takes it
    // over once the pending grace has passed.
    let id = api.start(&questionnaire()).await;
    assert_eq!(api.bg.discard(), 1);
    api.clock
        .advance(EngineConfig::default().pending_grace + Duration::from_secs(1));
    let body = api.get(CRON).await.expect(200).clone();
    assert_eq!(keys(&body), ["message", "result", "success", "timestamp"]);
    assert_eq!(body["success"], true);
    assert_eq!(assert_rfc3339_utc(&body["timestamp"]), api.clock.now());
    assert_has_fields(
        &body["result"],
        &[
            "checked",
            "retried",
            "succeeded",
            "completed",
            "finalized",
            "resumed",
            "errors",
        ],
    );
    assert_eq!(body["result"]["checked"], 1);
    assert_eq!(body["result"]["resumed"], 1);
    assert!(!body["message"].as_str().unwrap().is_empty());
    let status = api.job_get(STATUS, id).await;
    assert_eq!(status.expect(200)["status"], "completed");

    // Idempotent: nothing is due any more.
    let again = api.get(CRON).await.expect(200).clone();
    assert_eq!(again["result"]["checked"], 0);
}

fn bearer(value: &'static str) -> Request<Bytes> {
    with_header(get(CRON), "authorization", HeaderValue::from_static(value))
}

#[tokio::test]
async fn cron_with_a_secret_wants_the_bearer() {
    let api = api_with(Setup {
        http: HttpConfig {
            cron_secret: Some("s3cret-cron".into()),
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let refused = [
        get(CRON),
        bearer("Bearer wrong"),
        bearer("Bearer s3cret-cro"),
        bearer("Bearer s3cret-cronx"),
        bearer("Basic s3cret-cron"),
        bearer("s3cret-cron"),
    ];
    for request in refused {
        let reply = api.send(request).await;
        reply.expect_error(401, "unauthorized");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    api.send(bearer("Bearer s3cret-cron")).await.expect(200);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    api.send(bearer("bearer s3cret-cron")).await.expect(200);
    assert!(!api.seen().contains("s3cret-cron"), "the secret was echoed");
}

#[tokio::test]
async fn cron_on_vercel_without_a_secret_is_503() {
    let api = api_with(Setup {
        http: HttpConfig {
            require_cron_secret: true,
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    api.get(CRON)
        .await
        .expect_error(503, "cron_secret_not_configured");
    api.send(bearer("Bearer anything"))
        .await
        .expect_error(503, "cron_secret_not_configured");
}

// ---------------------------------------------------------------------------
// Routing, methods, CORS, OpenAPI

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let api = api().await;
    for path in [
        "/",
        "/nope",
        "/api",
        "/api/professional-reports",
        "/healthz",
    ] {
        api.get(path).await.expect_error(404, "route_not_found");
    }
    let id = JobId::new();
    let cases = [
        (Method::GET, START.to_owned(), "POST"),
        (Method::PUT, START.to_owned(), "POST"),
        (Method::POST, "/health".to_owned(), "GET"),
        (Method::DELETE, format!("{STATUS}/{id}"), "GET"),
        (Method::GET, format!("{RETRY}/{id}"), "POST"),
        (Method::POST, CRON.to_owned(), "GET"),
        (Method::POST, "/api/openapi.json".to_owned(), "GET"),
    ];
    for (method, path, allow) in cases {
        let request = Request::builder()
            .method(method.clone())
            .uri(&path)
            .body(Bytes::new())
            .unwrap();
        let reply = api.send(request).await;
        reply.expect_error(405, "method_not_allowed");
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_given_one_is_kept() {
    let api = api().await;
    let first = api.get("/health").await;
    let second = api.get("/nope").await;
    let (a, b) = (first.header("x-request-id"), second.header("x-request-id"));
    assert!(
        a.is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{a:?}"
    );
    assert_ne!(a, b, "each request gets its own id");
    let given = with_header(
        get("/health"),
        "x-request-id",
        HeaderValue::from_static("trace-me-42"),
    );
    let reply = api.send(given).await;
    reply.expect(200);
    assert_eq!(reply.header("x-request-id"), Some("trace-me-42"));
}

#[tokio::test]
async fn a_trailing_slash_names_the_same_route() {
    let api = api().await;
    api.get("/health/").await.expect(200);
    api.get("/api/openapi.json/").await.expect(200);
    api.get("/nope/").await.expect_error(404, "route_not_found");
}

fn preflight(path: &str, origin: &'static str) -> Request<Bytes> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, idempotency-key",
        )
        .body(Bytes::new())
        .unwrap()
}

#[tokio::test]
async fn preflight_and_cors_for_any_origin() {
    // CORS is off unless origins are listed; `*` is an explicit choice.
    let api = api_with(Setup {
        http: HttpConfig {
            cors: CorsOrigins::Any,
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let reply = api.send(preflight(START, "https://app.example")).await;
    reply.expect(204);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let methods = reply.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST") && methods.contains("GET"));
    let allowed = reply.header("access-control-allow-headers").unwrap();
    assert!(allowed.contains("content-type") && allowed.contains("idempotency-key"));

    let reply = api
        .send(preflight(
            &format!("{STATUS}/{}", JobId::new()),
            "https://x.example",
        ))
        .await;
    reply.expect(204);

    // A preflight for no route is the usual 404.
    let reply = api.send(preflight("/nope", "https://app.example")).await;
    reply.expect_error(404, "route_not_found");

    // Plain requests: the header only when the browser sends an Origin.
    let request = with_header(
        get("/health"),
        "origin",
        HeaderValue::from_static("https://a.example"),
    );
    let reply = api.send(request).await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let exposed = reply.header("access-control-expose-headers").unwrap();
    assert!(exposed.contains("location") && exposed.contains("retry-after"));
    let reply = api.get("/health").await;
    assert!(reply.header("access-control-allow-origin").is_none());
    // Errors carry CORS headers too, so a browser can read them.
    let request = with_header(
        get("/nope"),
        "origin",
        HeaderValue::from_static("https://a.example"),
    );
    assert_eq!(
        api.send(request)
            .await
            .header("access-control-allow-origin"),
        Some("*")
    );
}

#[tokio::test]
async fn cors_for_listed_origins_only() {
    let api = api_with(Setup {
        http: HttpConfig {
            cors: CorsOrigins::List(vec!["https://app.example".into()]),
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let reply = api.send(preflight(START, "https://app.example")).await;
    reply.expect(204);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(reply.header("vary"), Some("Origin"));

    let reply = api.send(preflight(START, "https://evil.example")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
    assert!(reply.header("access-control-allow-methods").is_none());
    let request = with_header(
        get("/health"),
        "origin",
        HeaderValue::from_static("https://evil.example"),
    );
    let reply = api.send(request).await;
    reply.expect(200);
    assert!(reply.header("access-control-allow-origin").is_none());
    // The answer depends on the Origin, so caches must key on it.
    assert_eq!(reply.header("vary"), Some("Origin"));

    // No CORS at all.
    let api = api_with(Setup {
        http: HttpConfig {
            cors: CorsOrigins::None,
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let reply = api.send(preflight(START, "https://app.example")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn openapi_document_is_served() {
    let api = api().await;
    let doc = api.get("/api/openapi.json").await.expect(200).clone();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for route in http::ROUTES {
        let op = &paths[route.path][route.method.as_str().to_ascii_lowercase()];
        assert!(
            op["responses"].is_object(),
            "{} {}",
            route.method,
            route.path
        );
    }
    // The error codes a client must handle are named in the document.
    let text = doc.to_string();
    for code in [
        "invalid_json",
        "validation_failed",
        "invalid_idempotency_key",
        "idempotency_key_reused",
        "payload_too_large",
        "unsupported_media_type",
        "invalid_job_id",
        "job_not_found",
        "not_ready",
        "job_failed",
        "retry_not_allowed",
        "retry_window_closed",
        "retry_too_soon",
        "job_busy",
        "unauthorized",
        "cron_secret_not_configured",
        "store_unavailable",
    ] {
        assert!(text.contains(&format!("`{code}`")), "{code} not documented");
    }
}

#[tokio::test]
async fn vercel_dynamic_routes_pass_the_id_as_a_query() {
    let api = api_faults("cqc:status=503").await;
    let id = partial_job(&api).await;
    let cases = [
        (STATUS, Endpoint::Status),
        (RESULT, Endpoint::Result),
        (MISSING, Endpoint::MissingSources),
        (RETRY_STATUS, Endpoint::RetryStatus),
    ];
    for (base, endpoint) in cases {
        let by_path = api.job_get(base, id).await.expect(200).clone();
        // The literal segment is the route's file name: a platform that
        // hands the function its destination path passes the id in the query.
        for uri in [
            format!("{base}?job_id={id}"),
            format!("{base}/?job_id={id}"),
            format!("{base}/[job_id]?job_id={id}"),
            format!("{base}/%5Bjob_id%5D?job_id={id}"),
        ] {
            let by_query = api.send_only(get(&uri), endpoint).await;
            assert_eq!(by_query.expect(200)["job_id"], by_path["job_id"], "{uri}");
        }
        api.send_only(get(&format!("{base}?job_id=nope")), endpoint)
            .await
            .expect_error(400, "invalid_job_id");
        api.send_only(get(base), endpoint)
            .await
            .expect_error(400, "invalid_job_id");
    }
    let retry = api
        .send_only(post(&format!("{RETRY}?job_id={id}")), Endpoint::Retry)
        .await;
    assert_eq!(retry.expect(200)["job_id"], id.to_string());
    let erase = Request::builder()
        .method(Method::DELETE)
        .uri(format!("/api/professional-report/[job_id]?job_id={id}"))
        .body(Bytes::new())
        .unwrap();
    let erased = api.send_only(erase, Endpoint::Delete).await;
    assert_eq!(erased.expect(200)["job_id"], id.to_string());
}

#[tokio::test]
async fn a_single_endpoint_function_serves_only_its_endpoint() {
    let api = api().await;
    let id = api.start_processed(&questionnaire()).await;
    api.send_only(get(&format!("{STATUS}/{id}")), Endpoint::Status)
        .await
        .expect(200);
    for uri in [
        "/health".to_owned(),
        format!("{RESULT}/{id}"),
        CRON.to_owned(),
        "/api/openapi.json".to_owned(),
    ] {
        api.send_only(get(&uri), Endpoint::Status)
            .await
            .expect_error(404, "route_not_found");
    }
    api.send_only(post_json(START, &start_body()), Endpoint::Status)
        .await
        .expect_error(404, "route_not_found");
    // Its own path with the wrong method is still a 405.
    api.send_only(post(&format!("{STATUS}/{id}")), Endpoint::Status)
        .await
        .expect_error(405, "method_not_allowed");
    // A preflight for another endpoint is not this function's either.
    api.send_only(preflight(START, "https://a.example"), Endpoint::Status)
        .await
        .expect_error(404, "route_not_found");
    api.send_only(
        preflight(&format!("{STATUS}/{id}"), "https://a.example"),
        Endpoint::Status,
    )
    .await
    .expect(204);
}

// ---------------------------------------------------------------------------
// Privacy

/// Every log line of this test binary (all tests of this file), so the
/// privacy test can read what they all logged.
fn captured_logs() -> &'static care_report_testing::logs::LogBuffer {
    care_report_testing::logs::captured()
}

#[tokio::test]
async fn no_response_or_log_contains_contact_details() {
    let api = api_faults("fsa:status=503").await;
    let id = api.start_processed(&questionnaire()).await;
    // Every read endpoint, a retry, a sweep, a replay and a refusal.
    for base in [STATUS, RESULT, MISSING, RETRY_STATUS] {
        api.job_get(base, id).await.expect(200);
    }
    api.send(post(&format!("{RETRY}/{id}"))).await.expect(200);
    api.clock.advance(Duration::from_secs(3600));
    api.get(CRON).await.expect(200);
    api.send(keyed(&start_body(), "p-1")).await.expect(202);
    api.send(keyed(&start_body(), "p-1")).await.expect(202);
    let bad = questionnaire_with(|q| {
        q["section_1_contact_emergency"]["q3_phone"] = json!(7_000_000_000_u64);
        q["section_1_contact_emergency"]["q2_email"] = json!(["family@example.invalid"]);
    });
    api.send(post_json(START, &bad))
        .await
        .expect_error(400, "validation_failed");
    api.bg.run().await;

    let report = api.job_get(RESULT, id).await.expect(200).clone();
    assert_eq!(report["report"]["clientName"], "Ada Example");

    let logs = captured_logs().text();
    assert!(
        logs.contains(&format!("job_id={id}")),
        "this test's logs were captured"
    );
    let seen = api.seen();
    for secret in [EMAIL, PHONE, EMERGENCY_PHONE, "7000000000", "Test Family"] {
        assert!(!seen.contains(secret), "a response contains {secret:?}");
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}

// ---------------------------------------------------------------------------
// The OpenAPI document's answers

/// Every success answer the document lists, produced through the real
/// handlers; [`check_against_openapi`] (run on every reply of this suite)
/// validates each against its operation's schema, and this test checks that
/// none of the documented answers went unproduced.
#[tokio::test]
async fn every_documented_answer_matches_its_schema() {
    ANSWERED.with(|a| a.borrow_mut().clear());
    let api = api_faults("neighbourhood:status=503,heal_after=1").await;
    api.get("/health").await.expect(200);
    api.get("/api/health").await.expect(200);
    api.get("/api/openapi.json").await.expect(200);
    // start (202) and status (200) of a partial job.
    let id = partial_job(&api).await;
    api.job_get(RESULT, id).await.expect(200);
    api.job_get(MISSING, id).await.expect(200);
    api.job_get(RETRY_STATUS, id).await.expect(200);
    api.clock.advance(Duration::from_secs(36 * 60));
    api.send(post(&format!("{RETRY}/{id}"))).await.expect(200);
    api.get(CRON).await.expect(200);
    // The synchronous route, settled (its processing runs while it waits)...
    let sync = "/api/professional-report";
    let (reply, ran) = tokio::join!(api.send(post_json(sync, &start_body())), async {
        while api.bg.queued() == 0 {
            tokio::task::yield_now().await;
        }
        api.bg.run().await
    });
    assert_eq!(ran, 1);
    reply.expect(200);
    // ...and not settled in time.
    let impatient = api_with(Setup {
        http: HttpConfig {
            sync: http::sync::SyncConfig {
                wait: Duration::ZERO,
            },
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    impatient
        .send(post_json(sync, &start_body()))
        .await
        .expect(202);
    let erase = Request::builder()
        .method(Method::DELETE)
        .uri(format!("/api/professional-report/{id}"))
        .body(Bytes::new())
        .unwrap();
    api.send(erase).await.expect(200);
    // The result of a job not ready yet, asked for as HTML by an app with a
    // renderer: the short page (202).
    let mut pages = api_with(Setup::default()).await;
    pages.app.documents = Some(Arc::new(PagesOnly));
    let pending = pages.start(&questionnaire()).await;
    let page = pages
        .send(with_header(
            get(&format!("{RESULT}/{pending}")),
            "accept",
            HeaderValue::from_static("text/html"),
        ))
        .await;
    assert!(page
        .expect(202)
        .as_str()
        .unwrap()
        .contains("being prepared"));

    let documented: std::collections::BTreeSet<(String, String, u16)> = openapi_doc()["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .iter()
                .flat_map(move |(method, op)| {
                    op["responses"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .filter(|status| status.starts_with('2'))
                        .map(move |status| {
                            (
                                method.to_uppercase(),
                                path.clone(),
                                status.parse::<u16>().unwrap(),
                            )
                        })
                })
        })
        .collect();
    let answered: std::collections::BTreeSet<(String, String, u16)> = ANSWERED.with(|a| {
        a.borrow()
            .iter()
            .filter(|(_, _, status)| (200..300).contains(status))
            .cloned()
            .collect()
    });
    assert_eq!(answered, documented);
}

/// The schemas are closed: an answer with a field the document does not
/// list, or without one it requires, is off its schema.
#[test]
fn the_answer_schemas_refuse_unlisted_and_missing_fields() {
    let accepted = json!({
        "job_id": "6f1c1b3e-8a5a-4d1e-9a57-0c9b8f0e2a11",
        "status": "pending",
        "message": "Queued",
        "status_url": "/s",
        "result_url": "/r",
    });
    let schema = validator("#/components/schemas/StartAccepted");
    assert!(schema.is_valid(&accepted));
    let mut extra = accepted.clone();
    extra["surprise"] = json!(1);
    assert!(!schema.is_valid(&extra));
    let mut missing = accepted.clone();
    missing.as_object_mut().unwrap().remove("status_url");
    assert!(!schema.is_valid(&missing));
    let mut wrong = accepted;
    wrong["status"] = json!("sleeping");
    assert!(!schema.is_valid(&wrong));
    let error = validator("#/components/schemas/Error");
    assert!(error.is_valid(&json!({"error": {"code": "job_busy", "message": "m"}, "detail": "m"})));
    assert!(
        !error.is_valid(&json!({"error": {"code": "no_such_code", "message": "m"}, "detail": "m"}))
    );
}
