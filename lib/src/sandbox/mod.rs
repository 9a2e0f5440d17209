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

mod faults;

mod companies_house;
mod data;

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
use crate::sources::http::{name_similarity, normalise_postcode};
use crate::sources::{SourceSettings, SourcesConfig};

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
        let s = |api| SourceSettings::new(self.base(api), DEFAULT_TIMEOUT);
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
        Api::Cqc => cqc(state, req),
        Api::Fsa => fsa(state, req),
        Api::Google => google(state, req),
        Api::Postcodes => postcodes(state, req),
        Api::Overpass => overpass(state, req),
        Api::Firecrawl => firecrawl(state, req),
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
        Api::Cqc => cqc_quirk(home, quirk),
        Api::Fsa => (*quirk == Quirk::Html403).then(|| {
            html(
                403,
                "This is a CPU intensive query. Access to this resource is forbidden.",
            )
        }),
        Api::Google => google_quirk(home, quirk),
        Api::Postcodes => match quirk {
            Quirk::HugeString => home.map(|h| {
                let pc = h.postcode.clone().unwrap_or_default();
                let mut v = data::postcode_result(h, &pc);
                v["result"]["admin_ward"] = json!(huge_name());
                reply(200, &v)
            }),
            _ => None,
        },
        Api::Overpass => overpass_quirk(quirk),
        Api::Firecrawl => firecrawl_quirk(home, quirk),
        Api::CompaniesHouse => None,
    }
}

/// CQC's quirks: a location answered differently, or a huge name.
fn cqc_quirk(home: Option<&Home>, quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::SafOnly | Quirk::SafNewer | Quirk::Deregistered => {
            home.map(|h| reply(200, &data::cqc_location_as(h, Some(quirk))))
        }
        Quirk::HugeString => home.map(|h| {
            let mut v = data::cqc_location(h);
            v["name"] = json!(huge_name());
            reply(200, &v)
        }),
        _ => None,
    }
}

/// Google's quirks: a branded name, or a huge one.
fn google_quirk(home: Option<&Home>, quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::Branded => home.map(|h| reply(200, &data::places_search_as(Some(h), Some(quirk)))),
        Quirk::HugeString => home.map(|h| {
            let mut v = data::places_search(Some(h));
            v["places"][1]["displayName"]["text"] = json!(format!("{} {}", h.name, huge_name()));
            reply(200, &v)
        }),
        _ => None,
    }
}

/// Overpass' quirks: a runtime-error remark, or its HTML 429 page.
fn overpass_quirk(quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::Remark => Some(reply(
            200,
            &json!({"version": 0.6, "generator": "Overpass API (care-report sandbox)",
                    "osm3s": {"timestamp_osm_base": "2025-06-01T00:00:00Z"},
                    "elements": [],
                    "remark": "runtime error: Query timed out in \"query\" at line 3 after 21 seconds."}),
        )),
        Quirk::Html429 => Some(html(
            429,
            "Error: rate_limited: Please check /api/status for the quota of your IP address.",
        )),
        _ => None,
    }
}

/// Firecrawl's quirks: a failed scrape, a blocked or blocklisted page, or a
/// huge title.
fn firecrawl_quirk(home: Option<&Home>, quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::ScrapeError(code) => Some(reply(
            500,
            &json!({"success": false, "code": code,
                    "error": format!("Specified URL is failing to load in the browser. Error code: {code}")}),
        )),
        Quirk::PageStatus(status) => home.map(|h| {
            let url = h.website.clone().unwrap_or_default();
            let mut v = data::scrape(h, &url);
            v["data"]["markdown"] = json!("# Access denied\n\nPlease verify you are a human.");
            v["data"]["metadata"]["statusCode"] = json!(status);
            v["data"]["metadata"]["title"] = json!("Just a moment...");
            reply(200, &v)
        }),
        Quirk::Blocklisted => Some(reply(
            403,
            &json!({"success": false, "error": "This website is no longer supported, please reach out to help@firecrawl.com for more info on how to activate it on your account."}),
        )),
        Quirk::HugeString => home.map(|h| {
            let url = h.website.clone().unwrap_or_default();
            let mut v = data::scrape(h, &url);
            v["data"]["metadata"]["title"] = json!(huge_name());
            reply(200, &v)
        }),
        _ => None,
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

fn cqc(state: &State, req: &Req) -> Routed {
    let [first, id] = req.segments.as_slice() else {
        return uncounted(not_found_route(Api::Cqc));
    };
    if req.method != Method::GET || first != "locations" {
        return uncounted(not_found_route(Api::Cqc));
    }
    let answer = if req.header("Ocp-Apim-Subscription-Key") != Some(state.keys.cqc.as_str()) {
        reply(
            401,
            &json!({"statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}),
        )
    } else {
        match state.homes.iter().find(|h| h.id == *id) {
            Some(home) => reply(200, &data::cqc_location(home)),
            None => reply(
                404,
                &json!({"statusCode": 404, "message": "Resource not found"}),
            ),
        }
    };
    counted(SourceType::Cqc, id.clone(), answer)
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim()) || name_similarity(a, b) >= 0.999
}

fn fsa(state: &State, req: &Req) -> Routed {
    if req.method != Method::GET
        || req.segments.first().map(String::as_str) != Some("Establishments")
    {
        return uncounted(not_found_route(Api::Fsa));
    }
    // Without `x-api-version: 2` the real API gives a "misleading 404"
    // (https://apify.com/devilscrapes/uk-food-hygiene-ratings-scraper).
    let versioned = req.header("x-api-version") == Some("2");
    let geo = req
        .query
        .get("latitude")
        .zip(req.query.get("longitude"))
        .and_then(|(a, o)| a.parse::<f64>().ok().zip(o.parse::<f64>().ok()));
    if let Some(point) = geo {
        // Uncounted: the fetch was counted at its name search.
        let answer = if versioned {
            reply(200, &data::fsa_nearby(&fsa_near(state, req, point)))
        } else {
            fsa_unversioned()
        };
        return uncounted(answer);
    }
    let (key, registered) = fsa_named(state, req);
    let answer = if !versioned {
        fsa_unversioned()
    } else {
        reply(200, &data::fsa_search(registered))
    };
    counted(SourceType::Fsa, key, answer)
}

/// FSA's "misleading 404" to a request without `x-api-version: 2`.
fn fsa_unversioned() -> Reply {
    reply(
        404,
        &json!({"Message": "No HTTP resource was found that matches the request URI."}),
    )
}

/// The geo search (the adapter's fallback): care premises within
/// `maxDistanceLimit` miles of `(lat, lon)`.
fn fsa_near<'a>(state: &'a State, req: &Req, (lat, lon): (f64, f64)) -> Vec<&'a Home> {
    let miles: f64 = req
        .query
        .get("maxDistanceLimit")
        .and_then(|m| m.parse().ok())
        .unwrap_or(1.0);
    let type_ok = req.query.get("businessTypeId").is_none_or(|t| t == "5");
    state
        .homes
        .iter()
        .filter(|h| {
            let (hl, ho) = data::coords(h);
            type_ok && crate::sources::http::haversine_m(lat, lon, hl, ho) <= miles * 1609.344
        })
        .collect()
}

/// The name search: the key the fetch counts under, and the home whose
/// registered name and place match (what FSA answers with).
fn fsa_named<'a>(state: &'a State, req: &Req) -> (String, Option<&'a Home>) {
    let name = req.query.get("name").cloned().unwrap_or_default();
    let address = req.query.get("address").cloned().unwrap_or_default();
    let same_place = |h: &Home| match h.postcode.as_deref() {
        Some(pc) if !pc.trim().is_empty() => normalise_postcode(pc) == normalise_postcode(&address),
        _ => h.city.eq_ignore_ascii_case(address.trim()),
    };
    // FSA matches its registered name; the fetch is counted under the
    // directory home it was made for.
    let registered = state
        .homes
        .iter()
        .find(|h| same_name(&data::fsa_name(h), &name) && same_place(h));
    let asked_for = state
        .homes
        .iter()
        .find(|h| same_name(&h.name, &name) && same_place(h));
    let key = asked_for
        .or(registered)
        .map_or_else(|| format!("{name}|{address}"), |h| h.id.clone());
    (key, registered)
}

fn google_auth(state: &State, req: &Req) -> Option<Reply> {
    match req.header("X-Goog-Api-Key") {
        None => Some(reply(
            403,
            &json!({"error": {"code": 403, "message": "The request is missing a valid API key.", "status": "PERMISSION_DENIED"}}),
        )),
        Some(k) if k != state.keys.google_places => Some(reply(
            400,
            &json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}),
        )),
        Some(_)
            if req
                .header("X-Goog-FieldMask")
                .is_none_or(|m| m.trim().is_empty()) =>
        {
            Some(reply(
                400,
                &json!({"error": {"code": 400, "message": "FieldMask is a required parameter. See https://cloud.google.com/apis/docs/system-parameters on how to provide it.", "status": "INVALID_ARGUMENT"}}),
            ))
        }
        Some(_) => None,
    }
}

fn google(state: &State, req: &Req) -> Routed {
    match (&req.method, req.segments.as_slice()) {
        (&Method::POST, [search]) if search == "places:searchText" => {
            let query = serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|v| {
                    v.get("textQuery")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            let Some(query) = query else {
                let r = reply(
                    400,
                    &json!({"error": {"code": 400, "message": "Invalid JSON payload: textQuery is required.", "status": "INVALID_ARGUMENT"}}),
                );
                return uncounted(r);
            };
            let lower = query.to_lowercase();
            // The adapter asks for "<name>, <postcode or town>"; the name
            // must end at a word boundary ("Home 1" is not "Home 11").
            let home = state.homes.iter().find(|h| {
                let name = h.name.trim().to_lowercase();
                lower
                    .strip_prefix(&name)
                    .is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_alphanumeric()))
            });
            let key = home.map_or_else(|| query.clone(), |h| h.id.clone());
            let answer =
                google_auth(state, req).unwrap_or_else(|| reply(200, &data::places_search(home)));
            counted(SourceType::GooglePlaces, key, answer)
        }
        (&Method::GET, [places, id]) if places == "places" => {
            // Counted: with a cached place id this is a fetch's only call.
            let home = state.homes.iter().find(|h| data::place_id(h) == *id);
            let answer = google_auth(state, req).unwrap_or_else(|| match home {
                Some(home) => reply(200, &data::place_details(home)),
                None => reply(404, &json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}})),
            });
            let key = home.map_or_else(|| id.clone(), |h| h.id.clone());
            counted(SourceType::GooglePlaces, key, answer)
        }
        _ => uncounted(not_found_route(Api::Google)),
    }
}

fn postcodes(state: &State, req: &Req) -> Routed {
    let [first, pc] = req.segments.as_slice() else {
        return uncounted(not_found_route(Api::Postcodes));
    };
    if req.method != Method::GET || first != "postcodes" {
        return uncounted(not_found_route(Api::Postcodes));
    }
    let wanted = normalise_postcode(pc);
    let home = state.homes.iter().find(|h| {
        h.postcode
            .as_deref()
            .is_some_and(|p| !wanted.is_empty() && normalise_postcode(p) == wanted)
    });
    let (key, answer) = match home {
        Some(h) => {
            let shown = h.postcode.as_deref().unwrap_or(pc).trim().to_uppercase();
            (h.id.clone(), reply(200, &data::postcode_result(h, &shown)))
        }
        None => (
            format!("postcode:{wanted}"),
            reply(404, &json!({"status": 404, "error": "Postcode not found"})),
        ),
    };
    counted(SourceType::Neighbourhood, key, answer)
}

/// `around:R,lat,lon` of an Overpass QL query.
fn parse_around(query: &str) -> Option<(f64, f64)> {
    let start = query.find("around:")? + "around:".len();
    let rest = &query[start..];
    let end = rest.find(')')?;
    let mut parts = rest[..end].split(',').map(str::trim);
    let _radius: f64 = parts.next()?.parse().ok()?;
    let lat = parts.next()?.parse().ok()?;
    let lon = parts.next()?.parse().ok()?;
    Some((lat, lon))
}

fn overpass(state: &State, req: &Req) -> Routed {
    if req.segments.first().map(String::as_str) != Some("interpreter") {
        return uncounted(not_found_route(Api::Overpass));
    }
    // Since about 2026-04-18 the public instance refuses requests without
    // a User-Agent with 406 ([OVP-791]; DinoTools/python-overpy#133).
    if req
        .header("user-agent")
        .is_none_or(|ua| ua.trim().is_empty())
    {
        return uncounted(html(
            406,
            "Not Acceptable: please send an identifying User-Agent.",
        ));
    }
    let from_body = url::form_urlencoded::parse(&req.body)
        .find(|(k, _)| k == "data")
        .map(|(_, v)| v.into_owned());
    let query = from_body
        .or_else(|| req.query.get("data").cloned())
        .unwrap_or_default();
    let (Some((lat, lon)), true) = (parse_around(&query), query.contains("[out:json]")) else {
        let mut r = reply(400, &Value::Null);
        *r.body_mut() = full(Bytes::from_static(
            b"<?xml version=\"1.0\"?><osm><remark>Error: static error: bad query</remark></osm>",
        ));
        return uncounted(r);
    };
    overpass_counted(
        state,
        lat,
        lon,
        reply(200, &data::overpass_elements(lat, lon)),
    )
}

/// Ties an Overpass answer around `(lat, lon)` to the home it was asked
/// for: counted, or (when postcodes.io counted the fetch) with that
/// attempt's Overpass quirk applied.
fn overpass_counted(state: &State, lat: f64, lon: f64, answer: Reply) -> Routed {
    // The adapter asks around the home's point rounded to 3 decimals.
    let nearest = state.homes.iter().find(|h| {
        let (hl, ho) = data::coords(h);
        let (rl, ro) = crate::sources::neighbourhood_rounded_point(hl, ho);
        (rl - lat).abs() < 1e-6 && (ro - lon).abs() < 1e-6
    });
    match nearest {
        // Counted at its postcodes.io lookup earlier in the same fetch; the
        // neighbourhood's Overpass quirks still apply here, to that attempt.
        Some(h) if h.postcode.as_deref().is_some_and(|p| !p.trim().is_empty()) => {
            let attempt = state.attempts(SourceType::Neighbourhood, &h.id);
            let quirk = state
                .fault(SourceType::Neighbourhood, &h.id, attempt)
                .and_then(|f| match f.answer {
                    FaultAnswer::Quirk(q @ (Quirk::Remark | Quirk::Html429 | Quirk::Endless)) => {
                        Some(q)
                    }
                    _ => None,
                });
            match quirk.and_then(|q| quirk_answer(Api::Overpass, state, &h.id, &q)) {
                Some(r) => uncounted(r),
                None => uncounted(answer),
            }
        }
        Some(h) => counted(SourceType::Neighbourhood, h.id.clone(), answer),
        None => counted(
            SourceType::Neighbourhood,
            format!("point:{lat:.5},{lon:.5}"),
            answer,
        ),
    }
}

/// Site identity for matching URLs: host without `www.`, path without trailing `/`.
fn site_key(url: &str) -> String {
    let s = url.trim().to_lowercase();
    let s = s
        .split_once("://")
        .map_or(s.as_str(), |(_, r)| r)
        .to_owned();
    let s = s.strip_prefix("www.").unwrap_or(&s);
    s.trim_end_matches('/').to_owned()
}

fn firecrawl(state: &State, req: &Req) -> Routed {
    if req.method != Method::POST || req.segments.first().map(String::as_str) != Some("scrape") {
        return uncounted(not_found_route(Api::Firecrawl));
    }
    let url = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .and_then(|v| v.get("url").and_then(Value::as_str).map(str::to_owned));
    let Some(url) = url else {
        return uncounted(reply(
            400,
            &json!({"success": false, "error": "Bad Request: url is required"}),
        ));
    };
    let home = state.homes.iter().find(|h| {
        h.website
            .as_deref()
            .is_some_and(|w| site_key(w) == site_key(&url))
    });
    let key = home.map_or_else(|| url.clone(), |h| h.id.clone());
    let authorised = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(state.keys.firecrawl.as_str());
    let answer = if !authorised {
        reply(
            401,
            &json!({"success": false, "error": "Unauthorized: Invalid token"}),
        )
    } else {
        let demo = home.and_then(|h| {
            data::demo_quirk(h, |q| {
                matches!(q, Quirk::ScrapeError(_) | Quirk::PageStatus(_))
            })
        });
        match (home, demo) {
            // A demo home whose domain does not resolve, or behind a bot wall.
            (Some(h), Some(q)) => quirk_answer(Api::Firecrawl, state, &h.id, &q)
                .unwrap_or_else(|| reply(200, &data::scrape(h, &url))),
            (Some(h), None) => reply(200, &data::scrape(h, &url)),
            // A site nobody serves: real Firecrawl cannot resolve it and
            // answers 500 SCRAPE_DNS_RESOLUTION_ERROR ([FC] `v1/scrape.ts`,
            // `scrapeURL/error.ts`), not a 200 page.
            (None, _) => reply(
                500,
                &json!({"success": false, "code": "SCRAPE_DNS_RESOLUTION_ERROR",
                        "error": "Specified URL is failing to load in the browser. Error code: ERR_NAME_NOT_RESOLVED"}),
            ),
        }
    };
    counted(SourceType::Firecrawl, key, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_parses_helpers() {
        assert_eq!(percent_decode("SW1A%201AA"), "SW1A 1AA");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%é"), "%é");
        assert_eq!(
            parse_around("nwr(around:800,51.5,-0.1)[x]"),
            Some((51.5, -0.1))
        );
        assert_eq!(parse_around("nwr(around:800)"), None);
        assert_eq!(site_key("https://www.Oak.co.uk/"), "oak.co.uk");
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
