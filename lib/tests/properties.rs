//! Properties of the HTTP API under random input, in-process through the
//! shared app rig (`care_report_testing::app`, no socket), and the fuzz target's seed
//! corpus replayed on the stable toolchain.
//!
//! - random JSON (any nesting, strings with NUL, bidi controls and
//!   injection strings, huge/negative/fractional numbers) POSTed to `start`,
//!   bare or wrapped, never gets a 5xx, and every non-2xx is a JSON error;
//! - the valid fixture with one field replaced by random JSON, or removed,
//!   gets 202 or 400 `validation_failed`, nothing else (and a 202's job can
//!   be read back), unless the body is over the limit (413);
//! - random bytes as a body, under any content type, get a 4xx;
//! - random path segments and job ids on every job endpoint get 400 or 404;
//! - nesting at any depth gets a 4xx (`serde_json` stops at 128 levels);
//! - every file of `fuzz/corpus/questionnaire` goes through the fuzz
//!   target's parse path (bytes → `serde_json` → `Questionnaire::parse`) and
//!   through `start`, and gets the answer its name promises.
//!
//! Every error answer is checked the same way: a JSON body with the API's
//! content type and exactly `{"error": {"code", "message"[, "details"]},
//! "detail"}` (`detail` the message),
//! small enough that no input was echoed back.
//!
//! The rig is an [`App`] over a [`MemoryStore`]; background work is dropped
//! (nothing is processed, so no source is ever asked; their base URLs point
//! at a closed local port all the same). Case counts keep the file to a few
//! seconds in a debug build; `PROPTEST_CASES` raises them.

use std::path::Path;
use std::sync::Arc;

use ::http::{header, Method, Request, Response, StatusCode};
use bytes::Bytes;
use care_report::engine::SystemClock;
use care_report::http::{self, HttpConfig};
use care_report::model::JobId;
use care_report::questionnaire::Questionnaire;
use care_report::sandbox::Sandbox;
use care_report::store::{JobStore, MemoryStore, Retention};
use care_report_testing::app::{Dropped, TestApp};
use care_report_testing::http::percent_encode as pct;
use care_report_testing::rig::EngineRig;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Number, Value};

const START: &str = "/api/professional-report/start";
/// Every endpoint that takes a job id, with its method.
const JOB_ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/api/professional-report/status"),
    ("GET", "/api/professional-report/result"),
    ("POST", "/api/professional-report/retry"),
    ("GET", "/api/professional-report/missing-sources"),
    ("GET", "/api/professional-report/retry-status"),
];
/// An error answer longer than this echoed (part of) its input.
const MAX_ERROR_BODY: usize = 8 * 1024;

// ---------------------------------------------------------------------------
// The rig

struct Rig {
    rt: tokio::runtime::Runtime,
    /// Background work is dropped: `start` must answer on its own.
    api: TestApp,
    /// The store the jobs are kept in, to read a stored job back.
    store: Arc<MemoryStore>,
    // The fake sources stay up while the rig lives (no case fetches: the
    // background work is dropped).
    _sandbox: Arc<Sandbox>,
}

impl Rig {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let store = Arc::new(MemoryStore::new(Retention::default()));
        // Hundreds of cases from one (unknown) client: no limits.
        let spawned = rt.block_on(
            TestApp::builder(EngineRig::new(store.clone()).clock(Arc::new(SystemClock)))
                .limits(http::limits::LimitsConfig::unlimited())
                .build(),
        );
        Self {
            rt,
            api: spawned.api.background(Dropped),
            store,
            _sandbox: spawned.sandbox,
        }
    }

    /// The stored questionnaire of job `id`.
    fn stored_questionnaire(&self, id: &str) -> Option<Value> {
        let id: JobId = id.parse().ok()?;
        let job = self.rt.block_on(self.store.get(id)).ok()??;
        Some(job.questionnaire)
    }

    fn send(&self, request: Request<Bytes>) -> Response<Bytes> {
        self.rt.block_on(self.api.send(request))
    }
}

fn post(uri: &str, content_type: Option<&str>, body: Vec<u8>) -> Request<Bytes> {
    let mut builder = Request::builder().method(Method::POST).uri(uri);
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    builder.body(Bytes::from(body)).expect("request")
}

fn post_json(uri: &str, body: Vec<u8>) -> Request<Bytes> {
    post(uri, Some("application/json"), body)
}

/// The answer's JSON body, after the checks every answer must pass: JSON
/// with the API's content type, never a 5xx (the memory store cannot be
/// down), and errors in the one shape, without echoed input.
fn checked(response: &Response<Bytes>) -> Result<Value, TestCaseError> {
    let status = response.status();
    let text = String::from_utf8_lossy(response.body());
    prop_assert!(!status.is_server_error(), "{status}: {}", shorten(&text));
    let ctype = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    prop_assert!(ctype.starts_with("application/json"), "{status} {ctype:?}");
    let body: Value = serde_json::from_slice(response.body())
        .map_err(|e| TestCaseError::fail(format!("{status}: not JSON ({e}): {text}")))?;
    if !status.is_success() {
        prop_assert!(
            response.body().len() <= MAX_ERROR_BODY,
            "{status}: {} bytes of error",
            response.body().len()
        );
        let error = body["error"].as_object();
        prop_assert!(
            error.is_some() && body.as_object().map(Map::len) == Some(2),
            "{status}: not an error object: {}",
            shorten(&text)
        );
        let error = error.expect("checked above");
        prop_assert!(
            body.get("detail") == error.get("message"),
            "{status}: detail is not the message: {}",
            shorten(&text)
        );
        prop_assert!(
            error
                .keys()
                .all(|k| matches!(k.as_str(), "code" | "message" | "details")),
            "{}",
            shorten(&text)
        );
        let code_ok = error["code"].as_str().is_some_and(|c| {
            !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        });
        prop_assert!(code_ok, "{}", shorten(&text));
        prop_assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            shorten(&text)
        );
    }
    Ok(body)
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn shorten(s: &str) -> String {
    s.chars().take(300).collect()
}

fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        // A failure prints its shrunk input; nothing is written to the tree.
        failure_persistence: None,
        ..Config::default()
    })
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/questionnaire.json")).expect("fixture")
}

// ---------------------------------------------------------------------------
// Strategies

/// Strings a hostile client would try, and words the parser knows (so
/// random documents get near the valid ones).
const WORDS: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "*1\r\n$8\r\nFLUSHALL\r\n",
    "\"]]) redis.call('FLUSHALL') --",
    "../x",
    "%00",
    "\u{202e}gnp.exe",
    "\u{feff}",
    "😀",
    "questionnaire",
    "section_1_contact_emergency",
    "section_2_location_budget",
    "section_3_medical_needs",
    "section_4_safety_special_needs",
    "section_5_timeline",
    "section_6_priorities",
    "q1_names",
    "q5_preferred_city",
    "q6_max_distance",
    "q7_budget",
    "q8_care_types",
    "q9_medical_conditions",
    "q12_age_range",
    "q12_special_equipment",
    "q13_age_range",
    "q14_allergies",
    "q15_dietary_requirements",
    "q17_placement_timeline",
    "q18_priority_ranking",
    "priority_order",
    "priority_weights",
    "15km",
    "general_residential",
    "no_allergies",
    "medical_safety",
    "Birmingham",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(str::to_owned),
        2 => any::<String>(),
        1 => prop::collection::vec(
            prop_oneof![
                Just('\u{0}'),
                Just('\u{7f}'),
                Just('\u{85}'),
                Just('\u{202e}'),
                Just('"'),
                Just('\\'),
                Just('é'),
                Just('😀'),
                any::<char>(),
            ],
            0..24,
        )
        .prop_map(String::from_iter),
        1 => (prop::sample::select(WORDS), 1usize..200)
            .prop_map(|(w, n)| w.repeat(n)),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        // NaN and infinities are not JSON: serde_json makes them null.
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(&[0.5, -0.0, 1e308, -1e308, f64::MIN_POSITIVE][..])
            .prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let small = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        prop::sample::select(WORDS).prop_map(Value::from),
    ];
    let leaf = prop_oneof![
        4 => small.clone(),
        1 => text().prop_map(Value::String),
        // A long array of one small value, as a flood would send.
        1 => (small, 0usize..300).prop_map(|(v, n)| Value::Array(vec![v; n])),
    ];
    leaf.prop_recursive(8, 96, 10, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..10).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A flood: one small value repeated up to 300 times.
fn flood() -> impl Strategy<Value = Value> {
    let small = prop_oneof![
        Just(Value::Null),
        number(),
        prop::sample::select(WORDS).prop_map(Value::from),
    ];
    (small, 0usize..300).prop_map(|(v, n)| Value::Array(vec![v; n]))
}

const SECTIONS: &[&str] = &[
    "section_1_contact_emergency",
    "section_2_location_budget",
    "section_3_medical_needs",
    "section_4_safety_special_needs",
    "section_5_timeline",
    "section_6_priorities",
];

/// Random JSON in the questionnaire's shape: known section names holding
/// known question names (and `priority_*` keys) with random values, so the
/// parser's per-field paths are reached, not only its first check.
fn shaped() -> impl Strategy<Value = Value> {
    let keys: Vec<&str> = WORDS
        .iter()
        .copied()
        .filter(|w| w.starts_with('q') || w.starts_with("priority_"))
        .collect();
    let value = prop_oneof![2 => json(), 1 => flood(), 1 => text().prop_map(Value::String)];
    let section = prop::collection::btree_map(prop::sample::select(keys), value, 0..8)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    prop::collection::btree_map(prop::sample::select(SECTIONS), section, 0..7)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// JSON pointers to every value of the fixture (sections, fields, items).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                pointers(child, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    if !at.is_empty() {
        out.push(at);
    }
}

/// A job id a client might send: random text, a UUID of any version, a
/// valid id changed slightly, or raw path characters (with `%` escapes that
/// may be malformed).
fn job_id() -> impl Strategy<Value = String> {
    prop_oneof![
        text().prop_map(|s| pct(&s)),
        any::<u128>().prop_map(|n| pct(&uuid_text(n))),
        (any::<u128>(), 0usize..36, any::<char>()).prop_map(|(n, i, c)| {
            let mut id: Vec<char> = uuid_text(n).chars().collect();
            id[i] = c;
            pct(&String::from_iter(id))
        }),
        "[A-Za-z0-9%._~!$&'()*+,;=:@-]{0,80}",
    ]
}

/// `n` as a hyphenated UUID of whatever version its bits say.
fn uuid_text(n: u128) -> String {
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

// ---------------------------------------------------------------------------
// Properties

#[test]
fn random_json_to_start_never_gets_a_5xx() {
    let rig = Rig::new();
    let value = prop_oneof![json(), shaped()];
    runner(256)
        .run(&(value, any::<bool>()), |(value, wrapped)| {
            let value = if wrapped {
                json!({ "questionnaire": value })
            } else {
                value
            };
            let body = serde_json::to_vec(&value).expect("serialize");
            let too_large = body.len() > HttpConfig::default().max_body_bytes;
            let response = rig.send(post_json(START, body));
            let answer = checked(&response)?;
            // Random JSON is never a valid questionnaire; if it were, 202.
            match response.status() {
                StatusCode::PAYLOAD_TOO_LARGE => prop_assert!(too_large),
                _ if too_large => prop_assert!(false, "over the limit: {answer}"),
                StatusCode::ACCEPTED => prop_assert!(answer["job_id"].is_string()),
                StatusCode::BAD_REQUEST => prop_assert_eq!(code(&answer), "validation_failed"),
                other => prop_assert!(false, "{other}: {answer}"),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn one_random_field_gets_202_or_validation_failed() {
    let rig = Rig::new();
    let base = fixture();
    let mut paths = Vec::new();
    pointers(&base, String::new(), &mut paths);
    assert!(paths.len() > 30, "{paths:?}");
    let replacement = prop_oneof![
        4 => json().prop_map(Some),
        2 => flood().prop_map(Some),
        1 => text().prop_map(|t| Some(Value::String(t))),
        1 => Just(None),
    ];
    runner(256)
        .run(
            &(prop::sample::select(paths), replacement),
            |(path, replacement)| {
                let mut q = base.clone();
                match replacement {
                    Some(v) => *q.pointer_mut(&path).expect("pointer") = v,
                    None => {
                        let (parent, key) = path.rsplit_once('/').expect("pointer");
                        match q.pointer_mut(parent).expect("parent") {
                            Value::Object(m) => {
                                m.remove(key);
                            }
                            Value::Array(items) => {
                                items.remove(key.parse::<usize>().expect("index"));
                            }
                            _ => unreachable!("pointers only lead into containers"),
                        }
                    }
                }
                let body = serde_json::to_vec(&json!({ "questionnaire": q })).expect("json");
                let too_large = body.len() > HttpConfig::default().max_body_bytes;
                let response = rig.send(post_json(START, body));
                let answer = checked(&response)?;
                match response.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => prop_assert!(too_large),
                    _ if too_large => prop_assert!(false, "over the limit: {answer}"),
                    StatusCode::ACCEPTED => {
                        // The job exists: its status reads back.
                        let id = answer["job_id"].as_str().unwrap_or_default();
                        let status = rig.send(
                            Request::get(format!("/api/professional-report/status/{id}"))
                                .body(Bytes::new())
                                .expect("request"),
                        );
                        prop_assert_eq!(status.status(), StatusCode::OK);
                        // Stored in the form the first round decodes,
                        // typed, to what parsing it again would give.
                        let stored = rig.stored_questionnaire(id);
                        let stored = stored.expect("the stored job");
                        let decoded = Questionnaire::from_stored(&stored);
                        let decoded = decoded.map_err(|e| e.to_string());
                        let parsed = Questionnaire::parse(&stored).map_err(|e| e.to_string());
                        prop_assert!(decoded.is_ok(), "{:?} for {}", decoded, stored);
                        prop_assert_eq!(decoded, parsed);
                    }
                    StatusCode::BAD_REQUEST => {
                        prop_assert_eq!(code(&answer), "validation_failed");
                        // The fuzz target's bounds: 1 to 100 problems, short
                        // paths and messages.
                        let fields = answer["error"]["details"]["fields"].as_array();
                        prop_assert!(
                            fields.is_some_and(|f| (1..=100).contains(&f.len())),
                            "{answer}"
                        );
                        for f in fields.into_iter().flatten() {
                            let path = f["path"].as_str().unwrap_or_default();
                            let message = f["message"].as_str().unwrap_or_default();
                            prop_assert!((1..=128).contains(&path.len()), "{f}");
                            prop_assert!((1..=512).contains(&message.len()), "{f}");
                        }
                    }
                    other => prop_assert!(false, "{other} for {path}: {answer}"),
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn random_bytes_get_a_4xx() {
    let rig = Rig::new();
    let content_type = prop_oneof![
        Just(Some("application/json".to_owned())),
        Just(Some("application/problem+json; charset=utf-8".to_owned())),
        Just(Some("text/plain".to_owned())),
        Just(None),
        "[ -~]{0,40}".prop_map(Some),
    ];
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        // JSON-looking bytes: brackets, quotes, escapes and digits.
        prop::collection::vec(
            prop::sample::select(b"{}[]\":,\\u0123456789eE+-.ntrfals \x00\xff".to_vec()),
            0..512,
        ),
    ];
    runner(256)
        .run(&(content_type, body), |(ct, body)| {
            // Header values must be visible ASCII; others are refused
            // before they reach the API.
            let response = rig.send(post(START, ct.as_deref(), body));
            checked(&response)?;
            prop_assert!(response.status().is_client_error(), "{}", response.status());
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_job_ids_get_400_or_404_on_every_job_endpoint() {
    let rig = Rig::new();
    let endpoint = prop::sample::select(JOB_ENDPOINTS);
    runner(512)
        .run(
            &(endpoint, job_id(), any::<bool>()),
            |((method, base), id, as_query)| {
                // Vercel's dynamic routes pass the id as `?job_id=`.
                let uri = if as_query {
                    format!("{base}?job_id={id}")
                } else {
                    format!("{base}/{id}")
                };
                let request = Request::builder()
                    .method(method)
                    .uri(&uri)
                    .body(Bytes::new())
                    .map_err(|e| TestCaseError::fail(format!("{uri}: {e}")))?;
                let response = rig.send(request);
                let answer = checked(&response)?;
                let expected = match response.status() {
                    StatusCode::BAD_REQUEST => "invalid_job_id",
                    // An id with `/` in it is another path.
                    StatusCode::NOT_FOUND if code(&answer) == "route_not_found" => {
                        "route_not_found"
                    }
                    StatusCode::NOT_FOUND => "job_not_found",
                    other => {
                        return Err(TestCaseError::fail(format!("{other} for {uri}: {answer}")))
                    }
                };
                prop_assert_eq!(code(&answer), expected, "{}", uri);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn nesting_at_any_depth_gets_a_4xx() {
    let rig = Rig::new();
    runner(64)
        .run(&(0usize..3000, any::<bool>()), |(depth, objects)| {
            let (open, close) = if objects {
                ("{\"a\":", "}")
            } else {
                ("[", "]")
            };
            let body = format!(
                "{{\"questionnaire\": {}1{}}}",
                open.repeat(depth),
                close.repeat(depth)
            );
            let response = rig.send(post_json(START, body.into_bytes()));
            let answer = checked(&response)?;
            prop_assert!(response.status().is_client_error(), "{answer}");
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------
// The fuzz target's seed corpus

/// Every seed of `fuzz/corpus/questionnaire`, through the fuzz target's
/// parse path and through `start`. A seed's name says what it is:
/// `valid-*` parses, `invalid-*` is JSON that fails validation, `notjson-*`
/// is not JSON. (Inputs libFuzzer adds to that directory have no such
/// prefix and are not committed; they are skipped here.)
#[test]
fn fuzz_seed_corpus_gets_the_answers_its_names_promise() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/questionnaire");
    let rig = Rig::new();
    let mut seen = [0usize; 3];
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let kind = ["valid-", "invalid-", "notjson-"]
            .iter()
            .position(|p| name.starts_with(p));
        let Some(kind) = kind else { continue };
        seen[kind] += 1;
        let bytes = std::fs::read(&path).expect("read seed");

        // The fuzz target's path.
        let parsed = serde_json::from_slice::<Value>(&bytes);
        match (kind, &parsed) {
            (0, Ok(v)) => {
                if let Err(e) = Questionnaire::parse(v) {
                    panic!("{name} does not parse: {e}");
                }
            }
            (1, Ok(v)) => {
                let invalid = Questionnaire::parse(v)
                    .err()
                    .unwrap_or_else(|| panic!("{name} parses"));
                // The fuzz target's bounds.
                let n = invalid.errors.len();
                assert!((1..=100).contains(&n), "{name}: {n} problems");
                for e in &invalid.errors {
                    assert!(e.path.len() <= 128, "{name}: {}", e.path);
                    assert!(e.message.len() <= 512, "{name}: {}", e.message);
                }
            }
            (2, Err(_)) => {}
            (_, Err(e)) => panic!("{name} is not JSON: {e}"),
            (_, Ok(_)) => panic!("{name} is JSON"),
        }

        // The same bytes as a request.
        let response = rig.send(post_json(START, bytes));
        let answer = checked(&response).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (status, code_wanted) = [
            (StatusCode::ACCEPTED, ""),
            (StatusCode::BAD_REQUEST, "validation_failed"),
            (StatusCode::BAD_REQUEST, "invalid_json"),
        ][kind];
        assert_eq!(response.status(), status, "{name}: {answer}");
        assert_eq!(code(&answer), code_wanted, "{name}: {answer}");
    }
    assert!(
        seen.iter().all(|n| *n >= 2),
        "too few seeds of some kind (valid, invalid, notjson): {seen:?}"
    );
}
