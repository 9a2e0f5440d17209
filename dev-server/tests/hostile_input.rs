//! Hostile input against the real `dev-server` binary: a table of named bad
//! requests across every endpoint, each sent as raw bytes over TCP so any
//! content can be sent (invalid UTF-8, NUL bytes, percent-encoded ids, a
//! 10 MB body, 10,000-deep nesting, huge arrays, Redis-protocol and Lua
//! injection strings, non-finite numbers, wrong content types...).
//!
//! Every row states the status and error code it must get. Every answer must
//! be a 4xx JSON error (`application/json`, exactly
//! `{"error": {"code", "message"[, "details"]}, "detail"}`) small enough that no huge
//! input was echoed back. After the table the server must still be running
//! and answer `/health`, and the Redis key prefix it was given must hold no
//! key at all: no bad request stored anything. A sentinel job stored under
//! another prefix before the table must still be there, so no injection
//! string ran a command (a `FLUSHALL` would have removed it).
//!
//! Rows are HTTP-valid requests with hostile content: malformed framing is
//! answered by hyper itself, without our JSON, so it is a separate check
//! (the server answers it with a 4xx or closes, and stays up).
//!
//! The `start` rows also run against the real Vercel `start` function
//! binary, which shares the handler but not the host adapter.
//!
//! Nothing sleeps for correctness: every wait is a read with a deadline.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use care_report::engine::{Clock, SystemClock};
use care_report::model::JobId;
use care_report::store::{Created, JobStore, NewJob, Retention};
use care_report_testing::child::{free_port, ChildGuard};
use care_report_testing::http::percent_encode as pct;
use care_report_testing::redis as test_redis;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_dev-server");
const SAMPLE: &str = include_str!("../samples/questionnaire.json");
/// How long the servers may take to start.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long one request may take, from connecting to its last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// An error answer longer than this echoed (part of) a huge input.
const MAX_ERROR_BODY: usize = 8 * 1024;
/// The cron endpoint's bearer secret in these servers.
const CRON_SECRET: &str = "hostile-input-test-cron-secret";

const START: &str = "/api/professional-report/start";
const STATUS: &str = "/api/professional-report/status";
const RESULT: &str = "/api/professional-report/result";
const RETRY: &str = "/api/professional-report/retry";
const MISSING: &str = "/api/professional-report/missing-sources";
const RETRY_STATUS: &str = "/api/professional-report/retry-status";
const CRON: &str = "/api/cron/retry-missing-data";

/// A valid job id that no job has.
const UNKNOWN_ID: &str = "0b9e4c1e-7a52-4d1b-9f0e-3c2a8d6b5e41";
/// `FLUSHALL` as a Redis protocol (RESP) command.
const RESP_FLUSHALL: &str = "*1\r\n$8\r\nFLUSHALL\r\n";
/// A Lua fragment that would flush Redis if it were ever spliced into a
/// script.
const LUA_FLUSHALL: &str = "\"]]) redis.call('FLUSHALL') --";

// ---------------------------------------------------------------------------
// Requests as bytes

#[derive(Clone, Debug)]
enum Body {
    None,
    /// Sent with `Content-Length`.
    Sized(Vec<u8>),
    /// Sent with `Transfer-Encoding: chunked`, in 64 KiB chunks.
    Chunked(Vec<u8>),
}

/// One HTTP/1.1 request, built byte by byte.
#[derive(Clone, Debug)]
struct Req {
    method: &'static str,
    /// The request target, sent as is (it must be HTTP-valid: no spaces or
    /// control characters; everything else is percent-encoded by the row).
    target: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Body,
}

impl Req {
    fn new(method: &'static str, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: Body::None,
        }
    }

    fn get(target: impl Into<String>) -> Self {
        Self::new("GET", target)
    }

    fn post(target: impl Into<String>) -> Self {
        Self::new("POST", target)
    }

    fn header(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Sized(body.into());
        self
    }

    /// A body with `Content-Type: application/json`.
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json").body(body)
    }

    fn chunked(mut self, body: Vec<u8>) -> Self {
        self.body = Body::Chunked(body);
        self
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n",
            self.method, self.target
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        match &self.body {
            Body::None => out.extend_from_slice(b"\r\n"),
            Body::Sized(body) => {
                out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            Body::Chunked(body) => {
                out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
                for chunk in body.chunks(64 * 1024) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
        }
        out
    }
}

/// An answer as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }
}

/// Sends `request` on a fresh connection and reads one answer, within
/// [`REQUEST_TIMEOUT`]. The request is written from another thread while
/// this one reads, so a server that answers before reading a huge body
/// (413) is heard, and a server that stops reading cannot block the test.
fn exchange(addr: SocketAddr, request: Vec<u8>) -> Result<Answer, String> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    // Short read timeouts: the loop below checks the overall deadline.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = stream.set_write_timeout(Some(REQUEST_TIMEOUT));
    let mut writer = stream
        .try_clone()
        .map_err(|e| format!("cannot clone the socket: {e}"))?;
    // A server may answer and close before reading all of a big body: the
    // writer's errors (EPIPE, ECONNRESET) are expected then.
    let write = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
        let _ = writer.flush();
    });
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let result = loop {
        match parse_answer(&buf, false) {
            Ok(Some(answer)) => break Ok(answer),
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        if Instant::now() > deadline {
            break Err(format!(
                "no complete answer within {REQUEST_TIMEOUT:?} ({} bytes read)",
                buf.len()
            ));
        }
        match (&stream).read(&mut chunk) {
            Ok(0) => break parse_answer(&buf, true).and_then(|a| a.ok_or_else(|| closed(&buf))),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                break parse_answer(&buf, true)
                    .and_then(|a| a.ok_or_else(|| format!("read failed: {e} ({})", closed(&buf))))
            }
        }
    };
    // Unblocks the writer if the server stopped reading.
    let _ = stream.shutdown(Shutdown::Both);
    let _ = write.join();
    result
}

fn closed(buf: &[u8]) -> String {
    format!(
        "connection closed without a complete answer after {} bytes: {:?}",
        buf.len(),
        String::from_utf8_lossy(&buf[..buf.len().min(200)])
    )
}

/// The answer in `buf` once complete (by `Content-Length`, or at `eof`).
fn parse_answer(buf: &[u8], eof: bool) -> Result<Option<Answer>, String> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| "the answer's head is not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = &buf[head_end + 4..];
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let complete = match length {
        Some(len) if body.len() >= len => Some(body[..len].to_vec()),
        Some(_) => None,
        None if eof => Some(body.to_vec()),
        None => None,
    };
    Ok(complete.map(|body| Answer {
        status,
        headers,
        body,
    }))
}

// ---------------------------------------------------------------------------
// The servers

/// The dev-server on the private Redis under `prefix`, with a cron secret
/// (so the cron endpoint has something to refuse).
fn dev_server(prefix: &str) -> (ChildGuard, SocketAddr) {
    let mut cmd = Command::new(BIN);
    hermetic(&mut cmd, prefix);
    // No background sweeps during the table (the first one runs at start).
    cmd.env("PORT", "0").env("SWEEP_INTERVAL_SECS", "3600");
    let proc = ChildGuard::spawn("dev-server", cmd);
    let base = proc.wait_for_line(DEADLINE, |line| {
        line.strip_prefix("listening on ").map(str::to_owned)
    });
    let addr = base
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected address {base:?}"));
    (proc, addr)
}

/// A cleared environment (a developer's settings must not leak in) plus the
/// private Redis under `prefix`, the cron secret and the sandbox sources.
fn hermetic(cmd: &mut Command, prefix: &str) {
    care_report_testing::child::hermetic(cmd)
        .env("RUST_LOG", "info")
        .env("REDIS_URL", test_redis::url())
        .env("REDIS_KEY_PREFIX", prefix)
        .env("CRON_SECRET", CRON_SECRET)
        // The Vercel profile defaults to the live APIs: a job a regression
        // let through must never fetch from them.
        .env("SOURCES_MODE", "sandbox");
}

/// The Vercel `start` function binary, next to the dev-server in the target
/// directory. `cargo test --workspace` builds it fresh (its package has
/// integration tests); `cargo test -p dev-server` does not, so when it is
/// missing or older than a source it is built from (the library and the
/// functions' sources, the manifests) it is built here with `cargo build`.
/// `START_FUNCTION_BIN` overrides the path.
fn start_function_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("START_FUNCTION_BIN") {
        return PathBuf::from(path);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin_dir = Path::new(BIN).parent().expect("binary directory");
    let bin = bin_dir.join(format!("start{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let sources = [
        "lib/src",
        "lib/Cargo.toml",
        "api",
        "Cargo.toml",
        "Cargo.lock",
    ]
    .iter()
    .filter_map(|p| newest_mtime(&root.join(p)))
    .max();
    if built.is_some_and(|built| sources.is_none_or(|newest| newest <= built)) {
        return bin;
    }
    care_report_testing::child::cargo_build(
        "care-report-functions",
        "start",
        &root.join("Cargo.toml"),
        bin_dir,
    )
}

/// The newest modification time of `path` or of any file under it.
fn newest_mtime(path: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|entry| newest_mtime(&entry.ok()?.path()))
        .max()
}

/// The `start` function served by `vercel_runtime` on `VERCEL_DEV_PORT`
/// (it cannot bind port 0 and tell, so a free port is picked; if another
/// process takes it meanwhile the binary exits and another is tried).
fn start_function(prefix: &str) -> (ChildGuard, SocketAddr) {
    let bin = start_function_bin();
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut cmd = Command::new(&bin);
        hermetic(&mut cmd, prefix);
        cmd.env("VERCEL_DEV_PORT", port.to_string());
        let proc = ChildGuard::spawn("start function", cmd);
        match proc.try_wait_for_line(DEADLINE, |l| {
            l.strip_prefix("Dev server listening: ")
                .and_then(|p| p.trim().parse::<u16>().ok())
        }) {
            Ok(p) if p == port => return (proc, SocketAddr::from(([127, 0, 0, 1], port))),
            Ok(p) => panic!("the start function listens on {p}, not {port}"),
            Err(why) => last_error = why,
        }
    }
    panic!("the start function did not start: {last_error}")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Stores a job under a prefix of its own; [`sentinel_survives`] checks
/// later that it is still there.
fn plant_sentinel(rt: &tokio::runtime::Runtime) -> String {
    let prefix = test_redis::unique_prefix();
    rt.block_on(async {
        let store = test_redis::store_with_prefix(&prefix, Retention::default()).await;
        let now = SystemClock.now();
        let created = store
            .create(
                NewJob {
                    client: None,
                    id: JobId::new(),
                    questionnaire: json!({"sentinel": true}),
                    idempotency: None,
                    now,
                    deadline_at: now,
                    message: "sentinel".to_owned(),
                },
                Duration::from_secs(3600),
            )
            .await
            .expect("store the sentinel job");
        assert!(matches!(created, Created::New(_)), "{created:?}");
    });
    prefix
}

fn sentinel_survives(rt: &tokio::runtime::Runtime, prefix: &str) {
    let keys = rt.block_on(test_redis::keys(prefix));
    assert!(
        !keys.is_empty(),
        "the sentinel job under {prefix} is gone: something flushed Redis"
    );
}

fn assert_alive(proc: &mut ChildGuard) {
    if let Some(status) = proc.wait_exit(Duration::ZERO) {
        panic!(
            "the server exited ({status}); its output:\n{}",
            proc.output()
        );
    }
}

fn assert_healthy(addr: SocketAddr, proc: &mut ChildGuard) {
    assert_alive(proc);
    let answer = exchange(addr, Req::get("/health").to_bytes())
        .unwrap_or_else(|e| panic!("/health: {e}\n{}", proc.output()));
    let body = answer.json().unwrap_or_else(|e| panic!("/health: {e}"));
    assert_eq!(answer.status, 200, "/health: {body}");
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["store"], "redis", "{body}");
}

// ---------------------------------------------------------------------------
// The table

/// One bad request and the answer it must get.
struct Row {
    name: &'static str,
    req: Req,
    status: u16,
    code: &'static str,
    /// For `validation_failed`: a JSON path `details.fields` must name.
    field: Option<&'static str>,
}

fn row(name: &'static str, req: Req, status: u16, code: &'static str) -> Row {
    assert!((400..500).contains(&status), "{name}: rows expect a 4xx");
    Row {
        name,
        req,
        status,
        code,
        field: None,
    }
}

/// A `validation_failed` row naming `field`.
fn invalid(name: &'static str, req: Req, field: &'static str) -> Row {
    Row {
        field: Some(field),
        ..row(name, req, 400, "validation_failed")
    }
}

fn sample() -> Value {
    serde_json::from_str(SAMPLE).expect("sample questionnaire")
}

/// `POST /start` with the sample changed by `change`, wrapped as
/// `{"questionnaire": ...}`.
fn start_with(change: impl FnOnce(&mut Value)) -> Req {
    let mut q = sample();
    change(&mut q);
    Req::post(START).json(serde_json::to_vec(&json!({ "questionnaire": q })).unwrap())
}

/// The sample's JSON with `field` (unique in it) set to raw JSON text, for
/// values `serde_json` would not write (NaN, 1e999, invalid UTF-8...).
fn start_raw(field: &str, raw_value: &[u8]) -> Req {
    let text = serde_json::to_string(&json!({ "questionnaire": sample() })).unwrap();
    let key = format!("\"{field}\":");
    let at = text.find(&key).expect("field in the sample") + key.len();
    // The old value ends at the next `,` or `}` (the sample's values there
    // are strings without those characters, or flat arrays).
    let rest = &text[at..];
    let end = if rest.starts_with('[') {
        rest.find(']').expect("array end") + 1
    } else {
        rest.find([',', '}']).expect("value end")
    };
    let mut body = text.as_bytes()[..at].to_vec();
    body.extend_from_slice(raw_value);
    body.extend_from_slice(&text.as_bytes()[at + end..]);
    Req::post(START).json(body)
}

fn repeat_json(item: &str, n: usize) -> String {
    let mut s = String::with_capacity((item.len() + 1) * n + 2);
    s.push('[');
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(item);
    }
    s.push(']');
    s
}

fn table() -> Vec<Row> {
    let s3 = "section_3_medical_needs";
    let s4 = "section_4_safety_special_needs";
    let q8 = "section_3_medical_needs.q8_care_types";
    let weights = "section_6_priorities.q18_priority_ranking.priority_weights";
    let ten_mb = {
        let mut b = b"{\"questionnaire\": {\"profile_description\": \"".to_vec();
        b.resize(10 * 1024 * 1024, b'a');
        b.extend_from_slice(b"\"}}");
        b
    };
    let deep = {
        let mut b = b"{\"questionnaire\": ".to_vec();
        b.extend(std::iter::repeat_n(b'[', 10_000));
        b.extend(std::iter::repeat_n(b']', 10_000));
        b.push(b'}');
        b
    };
    let ten_kb_id = "a".repeat(10_000);

    vec![
        // --- start: not JSON at all
        row(
            "start: truncated JSON",
            Req::post(START).json(&b"{\"questionnaire\": {\"section_1"[..]),
            400,
            "invalid_json",
        ),
        row(
            "start: trailing garbage after the document",
            Req::post(START).json(format!("{{\"questionnaire\": {SAMPLE}}} }}]")),
            400,
            "invalid_json",
        ),
        row(
            "start: empty body",
            Req::post(START).json(Vec::new()),
            400,
            "invalid_json",
        ),
        row(
            "start: invalid UTF-8 inside a string",
            start_raw("q5_preferred_city", b"\"Birm\xff\xfeingham\""),
            400,
            "invalid_json",
        ),
        row(
            "start: raw NUL byte inside a string",
            start_raw("q5_preferred_city", b"\"Birm\x00ingham\""),
            400,
            "invalid_json",
        ),
        row(
            "start: NUL bytes instead of a document",
            Req::post(START).json(vec![0u8; 64]),
            400,
            "invalid_json",
        ),
        row(
            "start: UTF-8 byte order mark before the document",
            Req::post(START).json([&b"\xef\xbb\xbf"[..], SAMPLE.as_bytes()].concat()),
            400,
            "invalid_json",
        ),
        row(
            "start: lone UTF-16 surrogate escape",
            start_raw("q5_preferred_city", br#""\ud800""#),
            400,
            "invalid_json",
        ),
        row(
            "start: NaN weight",
            start_raw("priority_weights", b"[NaN, 30, 15, 5]"),
            400,
            "invalid_json",
        ),
        row(
            "start: Infinity weight",
            start_raw("priority_weights", b"[-Infinity, 30, 15, 5]"),
            400,
            "invalid_json",
        ),
        row(
            "start: 1e999 (out of range) as the city",
            start_raw("q5_preferred_city", b"1e999"),
            400,
            "invalid_json",
        ),
        row(
            "start: 10,000-deep nesting",
            Req::post(START).json(deep),
            400,
            "invalid_json",
        ),
        row(
            "start: form body sent as application/json",
            Req::post(START).json(&b"questionnaire=%7B%7D&x=1"[..]),
            400,
            "invalid_json",
        ),
        // --- start: size and content type
        row(
            "start: 10 MB body with Content-Length",
            Req::post(START).json(ten_mb.clone()),
            413,
            "payload_too_large",
        ),
        row(
            "start: 10 MB body, chunked",
            Req::post(START)
                .header("content-type", "application/json")
                .chunked(ten_mb),
            413,
            "payload_too_large",
        ),
        row(
            "start: text/plain",
            Req::post(START)
                .header("content-type", "text/plain")
                .body(SAMPLE),
            415,
            "unsupported_media_type",
        ),
        row(
            "start: no content type",
            Req::post(START).body(SAMPLE),
            415,
            "unsupported_media_type",
        ),
        row(
            "start: form content type",
            Req::post(START)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(&b"questionnaire=x"[..]),
            415,
            "unsupported_media_type",
        ),
        row(
            "start: multipart content type",
            Req::post(START)
                .header("content-type", "multipart/form-data; boundary=x")
                .body(&b"--x\r\n\r\n{}\r\n--x--\r\n"[..]),
            415,
            "unsupported_media_type",
        ),
        // --- start: JSON, but not a questionnaire
        invalid("start: null", Req::post(START).json(&b"null"[..]), "$"),
        invalid(
            "start: a huge top-level array",
            Req::post(START).json(repeat_json("0", 100_000)),
            "$",
        ),
        invalid(
            "start: a string",
            Req::post(START).json(&br#""questionnaire""#[..]),
            "$",
        ),
        invalid(
            "start: questionnaire is null",
            Req::post(START).json(&br#"{"questionnaire": null}"#[..]),
            "$",
        ),
        invalid(
            "start: every section missing",
            Req::post(START).json(&b"{}"[..]),
            "section_1_contact_emergency",
        ),
        invalid(
            "start: section 3 missing",
            start_with(|q| {
                q.as_object_mut().unwrap().remove(s3);
            }),
            s3,
        ),
        invalid(
            "start: a section is an array",
            start_with(|q| q["section_2_location_budget"] = json!([])),
            "section_2_location_budget",
        ),
        // --- start: wrong types and values per field
        invalid(
            "start: city is a number",
            start_with(|q| q["section_2_location_budget"]["q5_preferred_city"] = json!(42)),
            "section_2_location_budget.q5_preferred_city",
        ),
        invalid(
            "start: care types is an object",
            start_with(|q| q[s3]["q8_care_types"] = json!({"a": 1})),
            q8,
        ),
        invalid(
            "start: allergies is a boolean",
            start_with(|q| q[s4]["q14_allergies"] = json!(true)),
            "section_4_safety_special_needs.q14_allergies",
        ),
        invalid(
            "start: negative number as an enum",
            start_with(|q| q["section_2_location_budget"]["q7_budget"] = json!(-1)),
            "section_2_location_budget.q7_budget",
        ),
        invalid(
            "start: unknown enum value",
            start_with(|q| q["section_2_location_budget"]["q7_budget"] = json!("lots")),
            "section_2_location_budget.q7_budget",
        ),
        invalid(
            "start: unknown value in a list",
            start_with(|q| q[s3]["q9_medical_conditions"] = json!(["diabetes", "flu"])),
            "section_3_medical_needs.q9_medical_conditions[1]",
        ),
        invalid(
            "start: RESP FLUSHALL as an enum value",
            start_with(|q| q["section_2_location_budget"]["q7_budget"] = json!(RESP_FLUSHALL)),
            "section_2_location_budget.q7_budget",
        ),
        invalid(
            "start: Lua injection as an enum value",
            start_with(|q| q[s3]["q10_mobility_level"] = json!(LUA_FLUSHALL)),
            "section_3_medical_needs.q10_mobility_level",
        ),
        invalid(
            "start: NUL in an enum value",
            start_with(|q| q[s3]["q12_age_range"] = json!("85_94\u{0}")),
            "section_3_medical_needs.q12_age_range",
        ),
        invalid(
            "start: NUL in a free-text field",
            start_with(|q| {
                q["section_1_contact_emergency"]["q1_names"] = json!("Patient: Ada\u{0}Example")
            }),
            "section_1_contact_emergency.q1_names",
        ),
        invalid(
            "start: 10 kB enum value (not echoed back)",
            start_with(|q| {
                q["section_2_location_budget"]["q6_max_distance"] = json!("x".repeat(10_000))
            }),
            "section_2_location_budget.q6_max_distance",
        ),
        invalid(
            "start: 10 kB renumbered question key (not echoed back)",
            start_with(|q| {
                let s4 = q[s4].as_object_mut().unwrap();
                let allergies = s4.remove("q14_allergies").unwrap();
                s4.insert(format!("q{}_allergies", "1".repeat(10_000)), allergies);
            }),
            "section_4_safety_special_needs.q14_allergies",
        ),
        invalid(
            "start: 100 kB city",
            start_with(|q| {
                q["section_2_location_budget"]["q5_preferred_city"] = json!("B".repeat(100_000))
            }),
            "section_2_location_budget.q5_preferred_city",
        ),
        invalid(
            "start: negative weight",
            start_with(|q| {
                q["section_6_priorities"]["q18_priority_ranking"]["priority_weights"] =
                    json!([-1, 30, 15, 5])
            }),
            "section_6_priorities.q18_priority_ranking.priority_weights[0]",
        ),
        invalid(
            "start: fractional and huge weights",
            start_with(|q| {
                q["section_6_priorities"]["q18_priority_ranking"]["priority_weights"] =
                    json!([50.5, 1e308, 18_446_744_073_709_551_615_u64, 5])
            }),
            "section_6_priorities.q18_priority_ranking.priority_weights[1]",
        ),
        // --- start: huge arrays
        invalid(
            "start: 10,000 copies of a valid care type",
            start_with(|q| q[s3]["q8_care_types"] = json!(vec!["general_residential"; 10_000])),
            q8,
        ),
        invalid(
            "start: 60,000 numbers as medical conditions (not one error each)",
            start_raw("q9_medical_conditions", repeat_json("0", 60_000).as_bytes()),
            "section_3_medical_needs.q9_medical_conditions",
        ),
        invalid(
            "start: 50,000 negative weights (not one error each)",
            start_raw("priority_weights", repeat_json("-1", 50_000).as_bytes()),
            weights,
        ),
        invalid(
            "start: 10,000 items of legacy special equipment",
            start_with(|q| q[s3]["q12_special_equipment"] = json!(vec!["hoist"; 10_000])),
            "section_3_medical_needs.q12_special_equipment",
        ),
        invalid(
            "start: a value listed twice",
            start_with(|q| q[s4]["q14_allergies"] = json!(["no_allergies", "no_allergies"])),
            "section_4_safety_special_needs.q14_allergies[1]",
        ),
        // --- start: Idempotency-Key
        row(
            "start: RESP-like Idempotency-Key with spaces",
            Req::post(START)
                .json(SAMPLE)
                .header("idempotency-key", "*1 $8 FLUSHALL"),
            400,
            "invalid_idempotency_key",
        ),
        row(
            "start: non-ASCII Idempotency-Key",
            Req::post(START)
                .json(SAMPLE)
                .header("idempotency-key", b"key-\xff\xfe"),
            400,
            "invalid_idempotency_key",
        ),
        row(
            "start: 10 kB Idempotency-Key",
            Req::post(START)
                .json(SAMPLE)
                .header("idempotency-key", "k".repeat(10_000)),
            400,
            "invalid_idempotency_key",
        ),
        invalid(
            "start: Lua-like Idempotency-Key with an invalid body",
            Req::post(START)
                .json(&b"{}"[..])
                .header("idempotency-key", "redis.call('FLUSHALL')"),
            "section_5_timeline",
        ),
        // --- start: routing
        row("start: GET", Req::get(START), 405, "method_not_allowed"),
        row(
            "start: %00 after the path",
            Req::post(format!("{START}%00")).json(SAMPLE),
            404,
            "route_not_found",
        ),
        // --- job endpoints: hostile ids
        row(
            "status: literal ../x",
            Req::get(format!("{STATUS}/../x")),
            404,
            "route_not_found",
        ),
        row(
            "status: encoded ../x",
            Req::get(format!("{STATUS}/%2e%2e%2fx")),
            400,
            "invalid_job_id",
        ),
        row(
            "status: %00",
            Req::get(format!("{STATUS}/%00")),
            400,
            "invalid_job_id",
        ),
        row(
            "status: id with a trailing %00",
            Req::get(format!("{STATUS}/{UNKNOWN_ID}%00")),
            400,
            "invalid_job_id",
        ),
        row(
            "status: extra path segment",
            Req::get(format!("{STATUS}/{UNKNOWN_ID}/extra")),
            404,
            "route_not_found",
        ),
        row(
            "result: 10 kB id",
            Req::get(format!("{RESULT}/{ten_kb_id}")),
            400,
            "invalid_job_id",
        ),
        row(
            "result: version-1 UUID",
            Req::get(format!("{RESULT}/6ba7b810-9dad-11d1-80b4-00c04fd430c8")),
            400,
            "invalid_job_id",
        ),
        row(
            "result: braced UUID",
            Req::get(format!("{RESULT}/%7B{UNKNOWN_ID}%7D")),
            400,
            "invalid_job_id",
        ),
        row(
            "result: unknown job",
            Req::get(format!("{RESULT}/{UNKNOWN_ID}")),
            404,
            "job_not_found",
        ),
        row(
            "retry: RESP FLUSHALL as the id",
            Req::post(format!("{RETRY}/{}", pct(RESP_FLUSHALL))),
            400,
            "invalid_job_id",
        ),
        row(
            "retry: Lua injection as the id",
            Req::post(format!("{RETRY}/{}", pct(LUA_FLUSHALL))),
            400,
            "invalid_job_id",
        ),
        row(
            "retry: unknown job",
            Req::post(format!("{RETRY}/{UNKNOWN_ID}")),
            404,
            "job_not_found",
        ),
        row(
            "retry: GET",
            Req::get(format!("{RETRY}/{UNKNOWN_ID}")),
            405,
            "method_not_allowed",
        ),
        row(
            "missing-sources: ?job_id=%00",
            Req::get(format!("{MISSING}?job_id=%00")),
            400,
            "invalid_job_id",
        ),
        row(
            "missing-sources: empty ?job_id=",
            Req::get(format!("{MISSING}?job_id=")),
            400,
            "invalid_job_id",
        ),
        row(
            "missing-sources: ?job_id= RESP FLUSHALL",
            Req::get(format!("{MISSING}?job_id={}", pct(RESP_FLUSHALL))),
            400,
            "invalid_job_id",
        ),
        row(
            "retry-status: NUL-padded id",
            Req::get(format!("{RETRY_STATUS}/{}", "%00".repeat(36))),
            400,
            "invalid_job_id",
        ),
        row(
            "retry-status: POST",
            Req::post(format!("{RETRY_STATUS}/{UNKNOWN_ID}")),
            405,
            "method_not_allowed",
        ),
        row(
            "retry-status: 1 MB body on a GET",
            Req::get(format!("{RETRY_STATUS}/{UNKNOWN_ID}")).json(vec![b'['; 1024 * 1024]),
            413,
            "payload_too_large",
        ),
        // --- health and openapi
        row(
            "health: POST",
            Req::post("/health"),
            405,
            "method_not_allowed",
        ),
        row(
            "health: encoded traversal",
            Req::get("/health/..%2f..%2fetc%2fpasswd"),
            404,
            "route_not_found",
        ),
        row(
            "health: DELETE with a body",
            Req::new("DELETE", "/health").json(&b"{}"[..]),
            405,
            "method_not_allowed",
        ),
        row(
            "openapi: PUT",
            Req::new("PUT", "/api/openapi.json").json(&b"{}"[..]),
            405,
            "method_not_allowed",
        ),
        row(
            "openapi: literal traversal",
            Req::get("/api/openapi.json/../../../etc/passwd"),
            404,
            "route_not_found",
        ),
        // --- cron
        // The secret's exact match (none, wrong, suffixed, another scheme)
        // is security.rs's; here only hostile tokens.
        row(
            "cron: RESP-like bearer token",
            Req::get(CRON).header("authorization", "Bearer *1 $8 FLUSHALL"),
            401,
            "unauthorized",
        ),
        row(
            "cron: 10 kB bearer token",
            Req::get(CRON).header("authorization", format!("Bearer {}", "t".repeat(10_000))),
            401,
            "unauthorized",
        ),
        row("cron: POST", Req::post(CRON), 405, "method_not_allowed"),
        // --- erasure (DELETE /api/professional-report/{job_id})
        row(
            "erase: unknown id",
            Req::new("DELETE", format!("/api/professional-report/{UNKNOWN_ID}")),
            404,
            "job_not_found",
        ),
        row(
            "erase: encoded ../x",
            Req::new("DELETE", "/api/professional-report/%2e%2e%2fx"),
            400,
            "invalid_job_id",
        ),
        row(
            "erase: 10 kB id",
            Req::new("DELETE", format!("/api/professional-report/{ten_kb_id}")),
            400,
            "invalid_job_id",
        ),
        row(
            "erase: the literal [job_id] without a query",
            Req::new("DELETE", "/api/professional-report/[job_id]"),
            400,
            "invalid_job_id",
        ),
        row(
            "erase: GET on the erasure path",
            Req::get(format!("/api/professional-report/{UNKNOWN_ID}")),
            404,
            "route_not_found",
        ),
        row(
            "unknown route",
            Req::get("/api/professional-report/%2e%2e/health"),
            404,
            "route_not_found",
        ),
        invalid(
            "start: valid Idempotency-Key, top-level array",
            Req::post(START)
                .json(&b"[]"[..])
                .header("idempotency-key", "hostile-input-key"),
            "$",
        ),
    ]
}

/// Checks one answer against its row; the problems, if any.
fn check(row: &Row, answer: &Answer) -> Result<(), String> {
    let mut problems = Vec::new();
    if answer.status != row.status {
        problems.push(format!("status {} (want {})", answer.status, row.status));
    }
    let ctype = answer.header("content-type").unwrap_or("");
    if !ctype.starts_with("application/json") {
        problems.push(format!("content-type {ctype:?}"));
    }
    if answer.body.len() > MAX_ERROR_BODY {
        problems.push(format!(
            "{} bytes of body (over {MAX_ERROR_BODY}: input echoed back?)",
            answer.body.len()
        ));
    }
    match answer.json() {
        Err(e) => problems.push(e),
        Ok(body) => {
            if let Err(e) = check_error_shape(&body, row) {
                problems.push(format!("{e}; body: {}", shorten(&body.to_string())));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn check_error_shape(body: &Value, row: &Row) -> Result<(), String> {
    let top = body.as_object().ok_or("not an object")?;
    if top.len() != 2 || !top.contains_key("detail") {
        return Err("top-level keys other than exactly \"error\" and \"detail\"".into());
    }
    let error = top
        .get("error")
        .and_then(Value::as_object)
        .ok_or("no \"error\" object")?;
    if let Some(k) = error
        .keys()
        .find(|k| !matches!(k.as_str(), "code" | "message" | "details"))
    {
        return Err(format!("unexpected key {k:?} in error"));
    }
    let code = error.get("code").and_then(Value::as_str).ok_or("no code")?;
    if code != row.code {
        return Err(format!("code {code:?} (want {:?})", row.code));
    }
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .ok_or("no message")?;
    if message.is_empty() {
        return Err("empty message".into());
    }
    if top.get("detail").and_then(Value::as_str) != Some(message) {
        return Err("top-level detail is not the message".into());
    }
    if let Some(field) = row.field {
        let named = error["details"]["fields"]
            .as_array()
            .is_some_and(|fields| fields.iter().any(|f| f["path"] == field));
        if !named {
            return Err(format!("details.fields does not name {field}"));
        }
    }
    Ok(())
}

fn shorten(s: &str) -> String {
    if s.len() <= 400 {
        s.to_owned()
    } else {
        let mut cut = 400;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}... ({} bytes)", &s[..cut], s.len())
    }
}

/// Sends every row to `addr`; a line per failing row.
fn run_table(addr: SocketAddr, rows: &[Row]) -> Vec<String> {
    let mut failures = Vec::new();
    for row in rows {
        let started = Instant::now();
        match exchange(addr, row.req.to_bytes()) {
            Ok(answer) => {
                if let Err(e) = check(row, &answer) {
                    failures.push(format!("{}: {e}", row.name));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", row.name)),
        }
        // Each row has its own timeout; this catches a server that answers
        // but only after stalling.
        let took = started.elapsed();
        if took > REQUEST_TIMEOUT {
            failures.push(format!("{}: took {took:?}", row.name));
        }
    }
    failures
}

// ---------------------------------------------------------------------------
// The tests

#[test]
fn hostile_requests_get_4xx_json_errors_and_store_nothing() {
    let rows = table();
    assert!(rows.len() >= 40, "only {} rows", rows.len());
    let endpoints = [
        "/health",
        "/api/openapi.json",
        START,
        STATUS,
        RESULT,
        RETRY,
        MISSING,
        RETRY_STATUS,
        CRON,
    ];
    for endpoint in endpoints {
        assert!(
            rows.iter().any(|r| r.req.target.starts_with(endpoint)),
            "no row for {endpoint}"
        );
    }

    let rt = runtime();
    let sentinel = plant_sentinel(&rt);
    let prefix = test_redis::unique_prefix();
    let (mut proc, addr) = dev_server(&prefix);
    assert_healthy(addr, &mut proc);

    let failures = run_table(addr, &rows);
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}\n--- dev-server output:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n"),
        proc.output()
    );

    assert_healthy(addr, &mut proc);
    let stored = rt.block_on(test_redis::keys(&prefix));
    assert!(
        stored.is_empty(),
        "bad requests stored keys under {prefix}: {stored:?}"
    );
    sentinel_survives(&rt, &sentinel);

    // Injection strings in an accepted request are data, nothing else: the
    // key is stored as given and Redis keeps the sentinel.
    let key = "'..redis.call('FLUSHALL')..'*1$8FLUSHALL";
    let body = {
        let mut q = sample();
        q["section_1_contact_emergency"]["q1_names"] =
            json!(format!("Contact: {RESP_FLUSHALL}; Patient: {LUA_FLUSHALL}"));
        serde_json::to_vec(&json!({ "questionnaire": q })).unwrap()
    };
    let accepted = Req::post(START)
        .json(body)
        .header("idempotency-key", key)
        .to_bytes();
    for replay in [false, true] {
        let answer = exchange(addr, accepted.clone()).expect("start with injection strings");
        let json = answer.json().expect("JSON");
        assert_eq!(answer.status, 202, "{json}");
        assert_eq!(
            answer.header("idempotent-replayed").is_some(),
            replay,
            "{json}"
        );
    }
    let stored = rt.block_on(test_redis::keys(&prefix));
    // Keys are scoped per client and stored as a hash: the injection
    // strings never reach a Redis key name.
    let idem: Vec<&String> = stored
        .iter()
        .filter(|k| k.starts_with(&format!("{prefix}idem:")))
        .collect();
    assert_eq!(idem.len(), 1, "{stored:?}");
    let hashed = &idem[0][prefix.len() + "idem:".len()..];
    assert!(
        hashed.len() == 64 && hashed.bytes().all(|b| b.is_ascii_hexdigit()),
        "the idempotency key is not stored hashed: {stored:?}"
    );
    assert!(!stored.iter().any(|k| k.contains(key)), "{stored:?}");
    sentinel_survives(&rt, &sentinel);
    assert_healthy(addr, &mut proc);
}

/// Framing-level junk is hyper's to answer (without our JSON): whatever it
/// answers must be a 4xx, and the server must keep serving.
#[test]
fn malformed_http_framing_leaves_the_server_up() {
    let prefix = test_redis::unique_prefix();
    let (mut proc, addr) = dev_server(&prefix);
    let junk: Vec<(&str, Vec<u8>)> = vec![
        ("binary garbage", b"\x00\x01\x02\xff\xfe GARBAGE\r\n\r\n".to_vec()),
        ("NUL in the request line", b"GET /hea\x00lth HTTP/1.1\r\nhost: x\r\n\r\n".to_vec()),
        (
            "header without a colon",
            b"GET /health HTTP/1.1\r\nhost: x\r\nBad Header\r\n\r\n".to_vec(),
        ),
        (
            "NUL in a header value",
            b"GET /health HTTP/1.1\r\nhost: x\r\nx-a: b\x00c\r\n\r\n".to_vec(),
        ),
        ("1 MB header", {
            let mut b = b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: ".to_vec();
            b.resize(1024 * 1024, b'a');
            b.extend_from_slice(b"\r\n\r\n");
            b
        }),
        (
            "Content-Length and chunked together",
            format!(
                "POST {START} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"
            )
            .into_bytes(),
        ),
        (
            "invalid chunk size",
            format!(
                "POST {START} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzzzz\r\n{{}}\r\n0\r\n\r\n"
            )
            .into_bytes(),
        ),
        (
            "negative Content-Length",
            format!("POST {START} HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n{{}}")
                .into_bytes(),
        ),
        (
            "body shorter than its Content-Length, then close",
            format!(
                "POST {START} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"a\""
            )
            .into_bytes(),
        ),
        ("HTTP/9.9", b"GET /health HTTP/9.9\r\n\r\n".to_vec()),
    ];
    for (name, bytes) in junk {
        let stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT).expect("connect");
        let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
        let _ = (&stream).write_all(&bytes);
        // End of input: the server must not wait for more.
        let _ = stream.shutdown(Shutdown::Write);
        let mut answer = Vec::new();
        let read = (&stream).read_to_end(&mut answer);
        // Two outcomes pass: a complete 4xx answer, or the connection closed
        // with no answer at all (hyper may drop a request it cannot frame;
        // a reset may also discard an answer it sent). Anything else (a
        // partial or unparseable answer, a read that timed out) fails.
        match parse_answer(&answer, true) {
            Ok(Some(a)) => assert!(
                (400..500).contains(&a.status),
                "{name}: answered {}: {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            ),
            Ok(None) if answer.is_empty() => {
                if let Err(e) = &read {
                    assert!(
                        !matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ),
                        "{name}: no answer and no close within {REQUEST_TIMEOUT:?}"
                    );
                }
            }
            Ok(None) => panic!(
                "{name}: an incomplete answer ({read:?}): {}",
                String::from_utf8_lossy(&answer)
            ),
            Err(why) => panic!("{name}: {why}: {}", String::from_utf8_lossy(&answer)),
        }
        assert_healthy(addr, &mut proc);
    }
    let stored = runtime().block_on(test_redis::keys(&prefix));
    assert!(stored.is_empty(), "junk stored keys: {stored:?}");
}

/// The `start` rows against the Vercel `start` function, which has its own
/// host adapter (`vercel_runtime` collects the body) in front of the same
/// handler.
#[test]
fn hostile_start_requests_on_the_vercel_start_function() {
    let rows: Vec<Row> = table()
        .into_iter()
        .filter(|r| r.req.target == START)
        .collect();
    assert!(rows.len() >= 30, "only {} start rows", rows.len());
    let rt = runtime();
    let prefix = test_redis::unique_prefix();
    let (mut proc, addr) = start_function(&prefix);
    let failures = run_table(addr, &rows);
    assert!(
        failures.is_empty(),
        "{} of {} rows failed on the start function:\n{}\n--- its output:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n"),
        proc.output()
    );
    assert_alive(&mut proc);
    let stored = rt.block_on(test_redis::keys(&prefix));
    assert!(
        stored.is_empty(),
        "bad requests stored keys under {prefix}: {stored:?}"
    );
}
