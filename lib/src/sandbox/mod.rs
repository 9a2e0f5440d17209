//! The sandbox: local fake servers that speak each source's real HTTP API
//! for a given set of homes, with switchable, reproducible faults.
//!
//! Without network access or keys the sources cannot answer, yet a newcomer
//! and the test suite must see the whole life of a job: loaded data, "not
//! found", failures, `Retry-After`, partial reports that heal on retry. So
//! the real adapters ([`crate::sources::Sources`]) are pointed at these
//! servers by base URL ([`Sandbox::sources_config`]) and exercised exactly
//! as in production; nothing in the adapters knows about the sandbox.
//!
//! One server per upstream (CQC, FSA, Google Places, postcodes.io, Overpass,
//! Firecrawl, Companies House), each on `127.0.0.1:0`, served by hyper on tokio tasks of the
//! runtime that called [`Sandbox::start`]. They check what the real APIs
//! check (subscription key, `x-api-version`, `X-Goog-Api-Key` and field
//! mask, bearer token) and answer unknown homes the way the real APIs do.
//! Dropping the [`Sandbox`] stops every server and open connection.
//!
//! **Keys.** By default the keyed APIs accept the sandbox keys
//! ([`CQC_KEY`], [`GOOGLE_PLACES_KEY`], [`FIRECRAWL_KEY`]);
//! [`Sandbox::start_with_keys`] makes them accept others instead, so a test
//! can run the live configuration path (`*_API_KEY` variables) against the
//! sandbox with keys distinctive enough to search logs and answers for.
//!
//! **Request counting.** [`Sandbox::requests_for`] counts *adapter fetches*
//! per (source, home): one per fetch, however many upstream calls it makes.
//! The counted call is the first one of a fetch: Google's text search (not
//! the details call), postcodes.io's lookup for neighbourhood (Overpass only
//! when the home has no postcode, since the adapter then skips postcodes.io).
//! Requests that cannot be tied to a known home are counted under the key
//! they asked for (location id, name, postcode, place id or URL).
//!
//! **Faults** ([`FaultPlan`], grammar in [`faults`]) apply to that same
//! counted call, and attempt *n* is that count, so `heal_after=2` means "the
//! first two fetches of this home fail, the third loads".

// One file per upstream, mirroring `sources/`; the shared server, its
// replies and routing here, the fault plans in `faults.rs`, the stable
// per-home values every upstream's answers are built from in `data.rs`.
mod companies_house;
mod cqc;
mod data;
mod faults;
mod firecrawl;
mod fsa;
mod google_places;
mod neighbourhood;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use faults::{Fault, FaultAnswer, FaultPlan, FaultPlanError, FaultSpec, Quirk};

use crate::directory::Home;
use crate::model::SourceType;
use crate::sources::config::parse_base_url;
use crate::sources::{SourceConfig, SourcesConfig};

/// The CQC subscription key the sandbox expects.
pub const CQC_KEY: &str = "sandbox-cqc-key";
/// The Google Places key the sandbox expects.
pub const GOOGLE_PLACES_KEY: &str = "sandbox-google-places-key";
/// The Firecrawl key the sandbox expects.
pub const FIRECRAWL_KEY: &str = "sandbox-firecrawl-key";
/// The Companies House key the sandbox expects (as the Basic user name).
pub const COMPANIES_HOUSE_KEY: &str = "sandbox-companies-house-key";
/// Timeout of every source in [`Sandbox::sources_config`].
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The keys the sandbox's keyed APIs accept (and [`Sandbox::sources_config`]
/// sends). `Debug` shows no key.
#[derive(Clone, PartialEq, Eq)]
pub struct SandboxKeys {
    /// CQC's `Ocp-Apim-Subscription-Key`.
    pub cqc: String,
    /// Google Places' `X-Goog-Api-Key`.
    pub google_places: String,
    /// Firecrawl's bearer token.
    pub firecrawl: String,
    /// Companies House's key (the HTTP Basic user name).
    pub companies_house: String,
}

impl Default for SandboxKeys {
    /// The sandbox keys: [`CQC_KEY`], [`GOOGLE_PLACES_KEY`], [`FIRECRAWL_KEY`],
    /// [`COMPANIES_HOUSE_KEY`].
    fn default() -> Self {
        Self {
            cqc: CQC_KEY.to_owned(),
            google_places: GOOGLE_PLACES_KEY.to_owned(),
            firecrawl: FIRECRAWL_KEY.to_owned(),
            companies_house: COMPANIES_HOUSE_KEY.to_owned(),
        }
    }
}

impl std::fmt::Debug for SandboxKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SandboxKeys { <redacted> }")
    }
}

/// One fake upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Cqc,
    Fsa,
    Google,
    Postcodes,
    Overpass,
    Firecrawl,
    CompaniesHouse,
}

impl Api {
    const ALL: [Api; 7] = [
        Api::Cqc,
        Api::Fsa,
        Api::Google,
        Api::Postcodes,
        Api::Overpass,
        Api::Firecrawl,
        Api::CompaniesHouse,
    ];

    /// The path prefix the real service lives under.
    fn prefix(self) -> &'static str {
        match self {
            Api::Cqc => "/public/v1/",
            Api::Google => "/v1/",
            Api::Firecrawl => "/v2/",
            Api::Overpass => "/api/",
            Api::Fsa | Api::Postcodes | Api::CompaniesHouse => "/",
        }
    }
}

struct State {
    homes: Vec<Home>,
    keys: SandboxKeys,
    fallback: url::Url,
    faults: Mutex<FaultPlan>,
    counts: Mutex<HashMap<(SourceType, String), u64>>,
    /// Every HTTP request received, per API (what the bench counts).
    calls: Mutex<HashMap<&'static str, u64>>,
}

impl State {
    /// Counts one fetch and returns its attempt number for this key.
    fn count(&self, source: SourceType, key: &str) -> u64 {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry((source, key.to_owned())).or_insert(0);
        *n += 1;
        *n
    }

    /// Fetches counted so far for this key.
    fn attempts(&self, source: SourceType, key: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(&(source, key.to_owned())).copied().unwrap_or(0)
    }

    /// Counts one HTTP request to `api`, whatever it turns out to be.
    fn count_call(&self, api: Api) {
        *self
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(api_name(api))
            .or_insert(0) += 1;
    }

    fn fault(&self, source: SourceType, key: &str, attempt: u64) -> Option<Fault> {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .decide(source, key, attempt)
    }
}

/// The running fake servers. Dropping it shuts them down.
pub struct Sandbox {
    state: Arc<State>,
    bases: HashMap<&'static str, url::Url>,
    // Dropping the sender wakes every server task and connection to stop.
    _shutdown: watch::Sender<()>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("homes", &self.state.homes.len())
            .field("bases", &self.bases)
            .finish()
    }
}

fn api_name(api: Api) -> &'static str {
    match api {
        Api::Cqc => "cqc",
        Api::Fsa => "fsa",
        Api::Google => "google_places",
        Api::Postcodes => "postcodes",
        Api::Overpass => "overpass",
        Api::Firecrawl => "firecrawl",
        Api::CompaniesHouse => "companies_house",
    }
}

impl Sandbox {
    /// Starts one server per upstream, answering for `homes`, accepting
    /// the sandbox keys.
    pub async fn start(homes: Vec<Home>, faults: FaultPlan) -> std::io::Result<Sandbox> {
        Self::start_with_keys(homes, faults, SandboxKeys::default()).await
    }

    /// Like [`Sandbox::start`], but the keyed APIs accept `keys` (and only
    /// those) and [`Sandbox::sources_config`] sends them.
    pub async fn start_with_keys(
        homes: Vec<Home>,
        faults: FaultPlan,
        keys: SandboxKeys,
    ) -> std::io::Result<Sandbox> {
        let fallback = url::Url::parse("http://127.0.0.1:9/")
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let state = Arc::new(State {
            homes,
            keys,
            fallback,
            faults: Mutex::new(faults),
            counts: Mutex::new(HashMap::new()),
            calls: Mutex::new(HashMap::new()),
        });
        let (tx, rx) = watch::channel(());
        let mut bases = HashMap::new();
        for api in Api::ALL {
            let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
            let addr: SocketAddr = listener.local_addr()?;
            let base = parse_base_url(&format!("http://{addr}{}", api.prefix()))
                .ok_or_else(|| std::io::Error::other(format!("bad sandbox base URL for {addr}")))?;
            bases.insert(api_name(api), base);
            tokio::spawn(serve(listener, api, state.clone(), rx.clone()));
        }
        Ok(Sandbox {
            state,
            bases,
            _shutdown: tx,
        })
    }

    fn base(&self, api: Api) -> url::Url {
        // `start` gives every API a base; the fallback (an unbound port)
        // only keeps this free of panics.
        self.bases.get(api_name(api)).cloned().unwrap_or_else(|| {
            let mut url = self.state.fallback.clone();
            url.set_path(api.prefix());
            url
        })
    }

    /// Adapter settings pointing at the fake servers, with the keys they
    /// accept and [`DEFAULT_TIMEOUT`]. Tweak fields (shorter timeouts, a
    /// wrong or missing key) to provoke other outcomes.
    pub fn sources_config(&self) -> SourcesConfig {
        let s = |api| SourceConfig::new(self.base(api), DEFAULT_TIMEOUT);
        let keys = &self.state.keys;
        SourcesConfig {
            cqc: s(Api::Cqc).with_key(keys.cqc.as_str()),
            fsa: s(Api::Fsa),
            google_places: s(Api::Google).with_key(keys.google_places.as_str()),
            postcodes: s(Api::Postcodes),
            overpass: s(Api::Overpass),
            firecrawl: s(Api::Firecrawl).with_key(keys.firecrawl.as_str()),
            companies_house: s(Api::CompaniesHouse).with_key(keys.companies_house.as_str()),
            overpass_mirrors: Vec::new(),
            user_agent: crate::sources::config::DEFAULT_USER_AGENT.to_owned(),
            contact: None,
            require_contact: false,
        }
    }

    /// Fetches counted for `source` (all homes and unknown keys).
    pub fn requests(&self, source: SourceType) -> u64 {
        let counts = self
            .state
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts
            .iter()
            .filter(|((s, _), _)| *s == source)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Fetches counted for `source` and the home `home_id`.
    pub fn requests_for(&self, source: SourceType, home_id: &str) -> u64 {
        let counts = self
            .state
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts
            .get(&(source, home_id.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Every HTTP request one fake API received, counted or not:
    /// `api` is `cqc`, `fsa`, `google_places`, `postcodes`, `overpass`,
    /// `firecrawl` or `companies_house`.
    pub fn upstream_calls(&self, api: &str) -> u64 {
        let calls = self
            .state
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        calls.get(api).copied().unwrap_or(0)
    }

    /// Replaces the fault plan (attempt counts are kept).
    pub fn set_faults(&self, faults: FaultPlan) {
        *self
            .state
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = faults;
    }

    /// The homes the sandbox answers for.
    pub fn homes(&self) -> &[Home] {
        &self.state.homes
    }
}

async fn serve(listener: TcpListener, api: Api, state: Arc<State>, mut stop: watch::Receiver<()>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = state.clone();
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(api, state.clone(), req));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = stop.changed() => {}
                    }
                });
            }
            _ = stop.changed() => break,
        }
    }
}

/// A parsed request.
struct Req {
    method: Method,
    /// Path after the API prefix, percent-decoded segments.
    segments: Vec<String>,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Reply = Response<BoxBody<Bytes, Infallible>>;

fn full(bytes: impl Into<Bytes>) -> BoxBody<Bytes, Infallible> {
    Full::new(bytes.into()).boxed()
}

/// A 200 whose body starts like JSON and never ends (64 KiB chunks for as
/// long as the client reads): the upstream that pushed the dev-server to
/// 6 GB.
fn endless() -> Reply {
    use futures::StreamExt;
    let first = futures::stream::iter(std::iter::once(Ok::<_, Infallible>(
        hyper::body::Frame::data(Bytes::from_static(b"{\"name\": \"")),
    )));
    let rest = futures::stream::repeat_with(|| {
        Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from(vec![b'a'; 64 * 1024])))
    });
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(first.chain(rest))));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// An HTML error page with `status` and no `Retry-After` (Overpass' 429 and
/// 504 pages, FSA's block page).
fn html(status: u16, text: &str) -> Reply {
    let mut r = Response::new(full(format!(
        "<!DOCTYPE html>\n<html><head><title>{status}</title></head><body><p>{text}</p></body></html>\n"
    )));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn reply(status: u16, body: &Value) -> Reply {
    let mut r = Response::new(full(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // Byte-wise, so a stray multi-byte character cannot split a slice.
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(api: Api, state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    state.count_call(api);
    let req = match read_request(api, req).await {
        Ok(req) => req,
        Err(refused) => return Ok(refused),
    };
    let Routed { counted, answer } = route(api, &state, &req);
    if let Some((source, key)) = counted {
        let attempt = state.count(source, &key);
        if let Some(fault) = state.fault(source, &key, attempt) {
            if let Some(r) = fault_reply(api, &state, &key, fault).await {
                return Ok(r);
            }
        }
    }
    Ok(answer)
}

/// Reads the body and splits the path under `api`'s prefix, or the error
/// answer when either fails.
async fn read_request(api: Api, req: Request<Incoming>) -> Result<Req, Reply> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(reply(400, &json!({"error": "unreadable body"}))),
    };
    let path = parts.uri.path();
    let Some(rest) = path.strip_prefix(api.prefix()) else {
        return Err(not_found_route(api));
    };
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    Ok(Req {
        method: parts.method,
        segments: rest.split('/').map(percent_decode).collect(),
        query,
        headers: parts.headers,
        body,
    })
}

/// The normal answer of `api` to `req`.
fn route(api: Api, state: &State, req: &Req) -> Routed {
    match api {
        Api::Cqc => cqc::route(state, req),
        Api::Fsa => fsa::route(state, req),
        Api::Google => google_places::route(state, req),
        Api::Postcodes => neighbourhood::postcodes(state, req),
        Api::Overpass => neighbourhood::overpass(state, req),
        Api::Firecrawl => firecrawl::route(state, req),
        Api::CompaniesHouse => companies_house::route(state, req),
    }
}

/// Waits out `fault`'s delay, then its answer in place of the normal one,
/// or `None` when the normal answer stands (after the delay).
async fn fault_reply(api: Api, state: &State, key: &str, fault: Fault) -> Option<Reply> {
    if let Some(delay) = fault.delay {
        tokio::time::sleep(delay).await;
    }
    match fault.answer {
        FaultAnswer::Normal => None,
        FaultAnswer::Status(429) if api == Api::CompaniesHouse => {
            Some(companies_house::rate_limited(300))
        }
        FaultAnswer::RateLimited(after) if api == Api::CompaniesHouse => {
            Some(companies_house::rate_limited(after.as_secs()))
        }
        FaultAnswer::Status(status) => Some(reply(status, &error_body(api, status))),
        FaultAnswer::RateLimited(after) => {
            let mut r = reply(429, &error_body(api, 429));
            if let Ok(v) = http::HeaderValue::from_str(&after.as_secs().to_string()) {
                r.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            Some(r)
        }
        FaultAnswer::Malformed => {
            let mut r = reply(200, &Value::Null);
            *r.body_mut() = full(Bytes::from_static(
                b"<html><body>502 Bad Gateway</body></html>{\"trunc",
            ));
            Some(r)
        }
        FaultAnswer::Quirk(q) => quirk_answer(api, state, key, &q),
    }
}

/// A 600 KB name (under every body cap, far over every string cut).
fn huge_name() -> String {
    "Huge ".repeat(120_000)
}

/// The answer of a quirk for the call counted under `key` (a home id), or
/// `None` when the quirk does not apply to this API (the normal answer).
fn quirk_answer(api: Api, state: &State, key: &str, quirk: &Quirk) -> Option<Reply> {
    if *quirk == Quirk::Endless && api != Api::Postcodes {
        return Some(endless());
    }
    let home = state.homes.iter().find(|h| h.id == key);
    match api {
        Api::Cqc => cqc::quirk(home, quirk),
        Api::Fsa => fsa::quirk(quirk),
        Api::Google => google_places::quirk(home, quirk),
        Api::Postcodes => neighbourhood::postcodes_quirk(home, quirk),
        Api::Overpass => neighbourhood::overpass_quirk(quirk),
        Api::Firecrawl => firecrawl::quirk(home, quirk),
        Api::CompaniesHouse => None,
    }
}

/// A route's answer, and which (source, home key) it counts as a fetch of.
struct Routed {
    counted: Option<(SourceType, String)>,
    answer: Reply,
}

fn uncounted(answer: Reply) -> Routed {
    Routed {
        counted: None,
        answer,
    }
}

fn counted(source: SourceType, key: impl Into<String>, answer: Reply) -> Routed {
    Routed {
        counted: Some((source, key.into())),
        answer,
    }
}

/// Each API's error body shape for a status.
fn error_body(api: Api, status: u16) -> Value {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    match api {
        Api::Cqc => json!({"statusCode": status, "message": reason}),
        Api::Fsa => json!({"Message": reason}),
        Api::Google => {
            let grpc = match status {
                400 => "INVALID_ARGUMENT",
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                _ => "INTERNAL",
            };
            json!({"error": {"code": status, "message": reason, "status": grpc}})
        }
        Api::Postcodes => json!({"status": status, "error": reason}),
        Api::Overpass => json!({"remark": reason}),
        Api::Firecrawl => json!({"success": false, "error": reason}),
        Api::CompaniesHouse => companies_house::error_body(status, reason),
    }
}

fn not_found_route(api: Api) -> Reply {
    reply(404, &error_body(api, 404))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("SW1A%201AA"), "SW1A 1AA");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%é"), "%é");
    }

    #[tokio::test]
    async fn custom_keys_are_sent_and_accepted_and_the_sandbox_keys_refused() {
        use crate::sources::{FailureKind, SourceOutcome, Sources};

        let home = crate::directory::Directory::demo()
            .homes()
            .iter()
            .find(|h| h.website.is_some() && h.postcode.is_some())
            .cloned()
            .expect("a demo home with a website and a postcode");
        let keys = SandboxKeys {
            cqc: "unit-cqc-7f3a".to_owned(),
            google_places: "unit-google-7f3a".to_owned(),
            firecrawl: "unit-firecrawl-7f3a".to_owned(),
            companies_house: "unit-companies-house-7f3a".to_owned(),
        };
        let sandbox = Sandbox::start_with_keys(vec![home.clone()], FaultPlan::none(), keys)
            .await
            .unwrap();
        let config = sandbox.sources_config();
        assert_eq!(config.cqc.key(), Some("unit-cqc-7f3a"));
        assert_eq!(config.google_places.key(), Some("unit-google-7f3a"));
        assert_eq!(config.firecrawl.key(), Some("unit-firecrawl-7f3a"));
        assert_eq!(
            config.companies_house.key(),
            Some("unit-companies-house-7f3a")
        );
        let keyed = [
            SourceType::Cqc,
            SourceType::GooglePlaces,
            SourceType::Firecrawl,
            SourceType::CompaniesHouse,
        ];
        let sources = Sources::new(config.clone()).unwrap();
        for source in keyed {
            let outcome = sources.fetch(source, &home).await;
            assert!(
                matches!(outcome, SourceOutcome::Loaded(_)),
                "{source}: {outcome:?}"
            );
        }

        // The default sandbox keys are wrong for this sandbox.
        let mut wrong = config;
        wrong.cqc.api_key = Some(CQC_KEY.to_owned());
        wrong.google_places.api_key = Some(GOOGLE_PLACES_KEY.to_owned());
        wrong.firecrawl.api_key = Some(FIRECRAWL_KEY.to_owned());
        wrong.companies_house.api_key = Some(COMPANIES_HOUSE_KEY.to_owned());
        let sources = Sources::new(wrong).unwrap();
        for source in keyed {
            match sources.fetch(source, &home).await {
                SourceOutcome::Failed(f) => assert_eq!(f.kind, FailureKind::Permanent, "{source}"),
                other => panic!("{source}: {other:?}"),
            }
        }
        let shown = format!("{:?}", SandboxKeys::default());
        assert!(!shown.contains("sandbox-"), "{shown}");
    }
}
