//! End-to-end tests of the real `dev-server` binary: the README's one-minute
//! tour over HTTP, in memory and against a private Redis, and graceful
//! shutdown with a job in flight.
//!
//! Each test starts its own server with `PORT=0` (it prints `listening on
//! http://…` once bound), a cleared environment plus the settings it needs,
//! and, with Redis, a unique `REDIS_KEY_PREFIX` on the test run's private
//! Redis (`care_report_testing::redis`); so the tests run in parallel and
//! never touch anyone's data. Every server is killed when its guard drops,
//! also when a test fails (the server's output is then printed). Nothing
//! sleeps for correctness: every wait is a poll with a deadline.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use care_report::model::{JobId, JobStatus, SlotStatus};
use care_report::store::{JobStore, Retention};
use care_report_testing::child::ChildGuard;
use care_report_testing::http::Served;
use care_report_testing::redis as test_redis;
use reqwest::StatusCode;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_dev-server");
const SAMPLE: &str = include_str!("../samples/questionnaire.json");
/// How long any awaited state may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);
/// The dev-server's shutdown grace (`SHUTDOWN_GRACE` in main.rs).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The tour's faults and timings: every Google Places fetch fails twice per
/// home, then answers. The first round ends `partial` (5 of 30 missing), the
/// manual retry is the 2nd attempt (fails again), and the scheduler's sweep
/// makes the 3rd, which completes the report.
///
/// Which comes first, the client's retry or the scheduler's, must not
/// depend on how fast the machine is: the local scheduler sweeps once at
/// start-up and then not for an hour, so no sweep can make the 2nd attempt
/// before the client does. The sweep that completes the report is the one
/// the test calls, `GET /api/cron/retry-missing-data` with the cron secret,
/// exactly as Vercel Cron calls it in production; it is called until the
/// retries it must make are due (1.5 s after the manual retry).
const TOUR_ENV: &[(&str, &str)] = &[
    ("SANDBOX_FAULTS", "google_places:status=503,heal_after=2"),
    ("RETRY_BASE_DELAY_SECS", "1"),
    ("RETRY_JITTER", "0"),
    ("SWEEP_INTERVAL_SECS", "3600"),
    ("CRON_SECRET", TOUR_CRON_SECRET),
];

/// The cron secret of [`TOUR_ENV`].
const TOUR_CRON_SECRET: &str = "tour-cron-secret-4d1c9a7e";

#[derive(Clone, Debug)]
enum Store {
    Memory,
    Redis { prefix: String },
}

impl Store {
    fn redis() -> Self {
        Self::Redis {
            prefix: test_redis::unique_prefix(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis { .. } => "redis",
        }
    }
}

/// A running dev-server and a client for it.
struct DevServer(Served);

impl std::ops::Deref for DevServer {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.0
    }
}

impl std::ops::DerefMut for DevServer {
    fn deref_mut(&mut self) -> &mut Served {
        &mut self.0
    }
}

impl DevServer {
    /// Starts the binary with a clean environment: the store's settings,
    /// `PORT=0` and `env`. Returns once it printed where it listens.
    fn start(store: &Store, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        // Hermetic: a developer's REDIS_URL or SANDBOX_FAULTS must not leak in.
        care_report_testing::child::hermetic(&mut cmd)
            .env("PORT", "0")
            .env("RUST_LOG", "info");
        if let Store::Redis { prefix } = store {
            cmd.env("REDIS_URL", test_redis::url())
                .env("REDIS_KEY_PREFIX", prefix);
        }
        cmd.envs(env.iter().copied());
        let proc = ChildGuard::spawn("dev-server", cmd);
        let base = proc.wait_for_line(DEADLINE, |line| {
            line.strip_prefix("listening on ").map(str::to_owned)
        });
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Self(Served::new(proc, base, DEADLINE))
    }

    /// Polls the job's status until `done` accepts it.
    async fn wait_status(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let path = format!("/api/professional-report/status/{id}");
        self.wait_for(&path, &format!("job {id} {what}"), DEADLINE, done)
            .await
    }

    /// One sweep, as Vercel Cron asks for it (with the tour's secret).
    async fn cron(&self) -> Value {
        let req = reqwest::Client::new()
            .get(format!("{}/api/cron/retry-missing-data", self.base))
            .bearer_auth(TOUR_CRON_SECRET);
        let (code, cron) = self.send(req).await;
        assert_eq!(code, StatusCode::OK, "{cron}");
        assert_eq!(cron["success"], true, "{cron}");
        cron
    }

    async fn start_job(&self) -> String {
        let (code, body) = self
            .post_json(
                "/api/professional-report/start",
                &format!(r#"{{"questionnaire": {SAMPLE}}}"#),
            )
            .await;
        assert_eq!(code, StatusCode::ACCEPTED, "start: {body}");
        assert_eq!(body["status"], "pending", "{body}");
        let id = body["job_id"].as_str().expect("job_id").to_owned();
        assert_eq!(
            body["status_url"],
            format!("/api/professional-report/status/{id}")
        );
        id
    }
}

fn status_of(body: &Value) -> &str {
    body["status"].as_str().unwrap_or("")
}

/// The README's tour: start → status → result → missing-sources → retry →
/// retry-status → (the scheduler completes the report) → cron.
async fn tour(store: Store) {
    let server = DevServer::start(&store, TOUR_ENV);

    let (code, health) = server.get("/health").await;
    assert_eq!(code, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], store.kind(), "{health}");
    assert_eq!(health["sources"], "sandbox", "{health}");

    let id = server.start_job().await;

    // First round: every source but Google Places answers.
    let status = server
        .wait_status(&id, "partial", |s| status_of(s) == "partial")
        .await;
    assert_eq!(status["progress"], 100, "{status}");
    assert_eq!(status["is_partial"], true, "{status}");
    assert_eq!(status["completeness"], 83, "{status}");

    let (code, result) = server
        .get(&format!("/api/professional-report/result/{id}"))
        .await;
    assert_eq!(code, StatusCode::OK, "{result}");
    assert_eq!(result["is_partial"], true);
    assert_eq!(
        result["report"]["careHomes"].as_array().map(Vec::len),
        Some(5),
        "homes"
    );
    let missing = result["missing_data_sources"].as_array().expect("missing");
    assert_eq!(missing.len(), 5, "{missing:?}");
    assert!(missing.iter().all(|m| m["source_type"] == "google_places"));

    let (code, ms) = server
        .get(&format!("/api/professional-report/missing-sources/{id}"))
        .await;
    assert_eq!(code, StatusCode::OK, "{ms}");
    assert_eq!(ms["total_missing"], 5, "{ms}");
    assert_eq!(
        ms["missing_by_type"]["google_places"]
            .as_array()
            .map(Vec::len),
        Some(5),
        "{ms}"
    );

    // The client's retry is each source's 2nd attempt: it fails again.
    let (code, retry) = server
        .post(&format!("/api/professional-report/retry/{id}"))
        .await;
    assert_eq!(code, StatusCode::OK, "{retry}");
    let rr = &retry["retry_result"];
    assert_eq!(
        rr["retried_sources"].as_array().map(Vec::len),
        Some(5),
        "{retry}"
    );
    assert_eq!(rr["still_missing"], 5, "{retry}");
    assert_eq!(rr["success_count"], 0, "{retry}");
    assert_eq!(retry["status"], "partial", "{retry}");
    assert!(retry["time_remaining_hours"].as_f64().unwrap_or(0.0) > 2.9);

    let (code, rs) = server
        .get(&format!("/api/professional-report/retry-status/{id}"))
        .await;
    assert_eq!(code, StatusCode::OK, "{rs}");
    assert_eq!(rs["will_auto_retry"], true, "{rs}");
    assert_eq!(rs["missing_sources_count"], 5, "{rs}");
    let next = rs["next_retries"].as_array().expect("next_retries");
    assert_eq!(next.len(), 5, "{rs}");
    for n in next {
        assert_eq!(n["source_type"], "google_places", "{n}");
        assert_eq!(n["retry_count"], 1, "{n}");
        assert_eq!(n["max_retries"], 10, "{n}");
        assert!(n["time_until_retry_seconds"].as_u64().is_some(), "{n}");
    }

    // No client action from here: the scheduler's sweep retries again once
    // the retries are due. Nothing else sweeps (see TOUR_ENV), so the sweep
    // that completes the report is one of these and says so.
    let started = Instant::now();
    let mut sweeps = Vec::new();
    let status = loop {
        let cron = server.cron().await;
        sweeps.push(cron["result"].clone());
        let (code, status) = server
            .get(&format!("/api/professional-report/status/{id}"))
            .await;
        assert_eq!(code, StatusCode::OK, "{status}");
        if status_of(&status) == "completed" {
            break status;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "not completed by the sweeps within {DEADLINE:?}: {sweeps:?}; {status}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let last = sweeps.last().expect("a sweep");
    assert_eq!(
        (&last["retried"], &last["succeeded"], &last["completed"]),
        (&Value::from(5), &Value::from(5), &Value::from(1)),
        "{sweeps:?}"
    );
    assert!(
        sweeps[..sweeps.len() - 1].iter().all(|r| r["retried"] == 0),
        "an earlier sweep retried: {sweeps:?}"
    );
    assert_eq!(status["completeness"], 100, "{status}");
    assert_eq!(status["is_partial"], false, "{status}");

    let (code, result) = server
        .get(&format!("/api/professional-report/result/{id}"))
        .await;
    assert_eq!(code, StatusCode::OK, "{result}");
    assert_eq!(result["is_partial"], false, "{result}");
    assert_eq!(
        result["missing_data_sources"].as_array().map(Vec::len),
        Some(0)
    );
    let (_, rs) = server
        .get(&format!("/api/professional-report/retry-status/{id}"))
        .await;
    assert_eq!(rs["will_auto_retry"], false, "{rs}");

    let cron = server.cron().await;
    assert_eq!(
        cron["result"]["checked"], 0,
        "nothing is due any more: {cron}"
    );

    if let Store::Redis { prefix } = &store {
        let keys = test_redis::keys(prefix).await;
        assert!(!keys.is_empty(), "no Redis keys under {prefix}");
        let bare = test_redis::keys_without_ttl(prefix).await;
        assert!(bare.is_empty(), "keys without a TTL: {bare:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_tour_in_memory() {
    tour(Store::Memory).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_tour_with_redis() {
    tour(Store::redis()).await;
}

/// Faults that keep a job's first round busy for many seconds: 20 of its 30
/// fetches take 1.5 s each (under the sandbox's 2 s timeout, so they
/// succeed), two at a time.
const SLOW_ENV: &[(&str, &str)] = &[
    (
        "SANDBOX_FAULTS",
        "cqc:delay_ms=1500;fsa:delay_ms=1500;google_places:delay_ms=1500;firecrawl:delay_ms=1500",
    ),
    ("FETCH_CONCURRENCY", "2"),
    ("LEASE_TTL_SECS", "3"),
    ("PENDING_GRACE_SECS", "3"),
    ("SWEEP_INTERVAL_SECS", "1"),
];

/// Starts a slow job, waits until some of its sources are saved, sends
/// SIGTERM and checks the server exits 0 well within its grace period.
async fn interrupt_mid_job(store: &Store) -> String {
    let mut server = DevServer::start(store, SLOW_ENV);
    let id = server.start_job().await;
    let status = server
        .wait_status(&id, "processing with sources saved", |s| {
            status_of(s) == "processing" && s["progress"].as_u64().unwrap_or(0) > 20
        })
        .await;
    assert!(status["progress"].as_u64() < Some(100), "{status}");

    let asked = Instant::now();
    server.proc.terminate();
    let exit = server
        .proc
        .wait_exit(SHUTDOWN_GRACE + Duration::from_secs(5));
    let took = asked.elapsed();
    let Some(exit) = exit else {
        panic!(
            "dev-server still running {took:?} after SIGTERM\n{}",
            server.proc.tail()
        )
    };
    assert!(
        exit.success(),
        "dev-server exited with {exit} after SIGTERM\n{}",
        server.proc.tail()
    );
    // The round stops taking fetches: its work ended by itself (only the
    // fetches in flight were waited for), it was not cut off by the grace
    // period. The server says which; no clock is read for it.
    let out = server.proc.output();
    assert!(out.contains("shutdown requested"), "{}", server.proc.tail());
    assert!(out.contains("dev-server stopped"), "{}", server.proc.tail());
    assert!(
        !out.contains("shutdown grace over"),
        "shutdown took {took:?} and hit the grace period: it waited for the whole job instead of stopping it\n{}",
        server.proc.tail()
    );
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_job_exits_cleanly_in_memory() {
    interrupt_mid_job(&Store::Memory).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_job_then_a_new_server_resumes_it_from_redis() {
    let store = Store::redis();
    let Store::Redis { prefix } = &store else {
        unreachable!()
    };
    let id = interrupt_mid_job(&store).await;

    // What the stopped server left: its answers saved, its lease given back,
    // the rest still to fetch.
    let redis = test_redis::store_with_prefix(prefix, Retention::default()).await;
    let job_id = JobId::parse(&id).expect("job id");
    let left = redis
        .get(job_id)
        .await
        .expect("read job")
        .expect("job kept");
    assert_eq!(left.status, JobStatus::Processing, "{left:?}");
    assert!(left.lease.is_none(), "lease not released: {:?}", left.lease);
    let loaded_before: BTreeMap<String, u32> = left
        .slots
        .iter()
        .filter(|s| s.status == SlotStatus::Loaded)
        .map(|s| (s.key().field(), s.attempts))
        .collect();
    assert!(!loaded_before.is_empty(), "nothing was saved: {left:?}");
    assert!(
        left.slots.iter().any(|s| s.status == SlotStatus::Pending),
        "nothing was left to do: {left:?}"
    );

    // A new server on the same Redis and prefix (without the slow faults)
    // resumes the job from its sweep and never fetches a saved source again.
    let server = DevServer::start(
        &store,
        &[
            ("LEASE_TTL_SECS", "3"),
            ("PENDING_GRACE_SECS", "3"),
            ("SWEEP_INTERVAL_SECS", "1"),
        ],
    );
    let status = server
        .wait_status(&id, "completed after the restart", |s| {
            status_of(s) == "completed"
        })
        .await;
    assert_eq!(status["completeness"], 100, "{status}");
    let done = redis
        .get(job_id)
        .await
        .expect("read job")
        .expect("job kept");
    for slot in &done.slots {
        if let Some(attempts) = loaded_before.get(&slot.key().field()) {
            assert_eq!(
                slot.attempts,
                *attempts,
                "{} was fetched again after the restart",
                slot.key().field()
            );
        }
    }
    // The sweep's log line follows its last write: wait for it.
    server
        .proc
        .wait_for_output(DEADLINE, "sweep reporting resumed=1", |out| {
            out.lines()
                .any(|l| l.contains("sweep finished") && l.contains(" resumed=1 "))
                .then_some(())
        });
}

/// A Redis URL that is set but unreachable stops the dev-server at start
/// with a clear error; it never falls back to memory.
#[test]
fn unreachable_redis_fails_at_start() {
    // Port 1 on loopback: nothing listens there.
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PORT", "0")
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("REDIS_CONNECT_TIMEOUT_MS", "500");
    let mut proc = ChildGuard::spawn("dev-server", cmd);
    let exit = proc
        .wait_exit(DEADLINE)
        .unwrap_or_else(|| panic!("still running with a dead Redis\n{}", proc.output()));
    assert!(!exit.success(), "exit {exit}\n{}", proc.output());
    let out = proc.output();
    assert!(out.contains("could not start"), "{out}");
    assert!(out.contains("store unavailable"), "{out}");
    assert!(!out.contains("listening on"), "{out}");
}

/// Ctrl-C (SIGINT) stops an idle server at once, with exit status 0.
#[test]
fn ctrl_c_stops_an_idle_server() {
    let mut server = DevServer::start(&Store::Memory, &[]);
    server.proc.signal("INT");
    let exit = server
        .proc
        .wait_exit(SHUTDOWN_GRACE)
        .unwrap_or_else(|| panic!("still running after SIGINT\n{}", server.proc.output()));
    assert!(exit.success(), "exit {exit}\n{}", server.proc.output());
}

/// A Redis that goes away after start: requests answer 503
/// `store_unavailable` (the store is never swapped for memory), and the
/// server serves again once Redis is back.
#[tokio::test(flavor = "multi_thread")]
async fn redis_going_down_answers_503_never_memory() {
    // A Redis of our own, so stopping it disturbs no other test.
    let port = care_report_testing::child::free_port();
    let start_redis = || {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string()]).args([
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        let redis = ChildGuard::spawn("redis-server", cmd);
        redis.wait_for_line(DEADLINE, |l| l.contains("Ready to accept").then_some(()));
        redis
    };
    let redis = start_redis();
    let url = format!("redis://127.0.0.1:{port}");
    let mut env = TOUR_ENV.to_vec();
    env.extend([
        ("REDIS_URL", url.as_str()),
        ("REDIS_RESPONSE_TIMEOUT_MS", "500"),
        ("REDIS_CONNECT_TIMEOUT_MS", "500"),
    ]);
    // `Store::Memory` adds no store settings: the Redis URL is in `env`.
    let server = DevServer::start(&Store::Memory, &env);
    let id = server.start_job().await;
    server
        .wait_status(&id, "partial", |s| status_of(s) == "partial")
        .await;

    drop(redis);
    for path in [
        "/health".to_owned(),
        format!("/api/professional-report/status/{id}"),
    ] {
        let (code, body) = server.get(&path).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(body["error"]["code"], "store_unavailable", "{path}: {body}");
    }
    let (code, body) = server
        .post_json(
            "/api/professional-report/start",
            &format!(r#"{{"questionnaire": {SAMPLE}}}"#),
        )
        .await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "start: {body}");

    // Back (empty: it kept nothing on disk): the server answers from Redis
    // again, and says the old job is gone rather than inventing one.
    let _redis = start_redis();
    let started = Instant::now();
    loop {
        let (code, body) = server.get("/health").await;
        if code == StatusCode::OK {
            assert_eq!(body["store"], "redis", "{body}");
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no reconnection within {DEADLINE:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A job made in the last 10 s may only be invisible to this reader (a
    // replica behind), so it reads "not visible yet" until its id is 10 s
    // old (README "Consistency"), then 404: never a job with progress.
    loop {
        let (code, body) = server
            .get(&format!("/api/professional-report/status/{id}"))
            .await;
        if code == StatusCode::NOT_FOUND {
            break;
        }
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["progress"], 0, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or("")
                .contains("not visible here yet"),
            "{body}"
        );
        assert!(started.elapsed() < DEADLINE, "still visible: {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A `RUST_LOG` that does not parse stops the dev-server at start, naming
/// the variable; it never falls back to `info` silently.
#[test]
fn a_malformed_rust_log_fails_at_start() {
    let mut cmd = Command::new(BIN);
    care_report_testing::child::hermetic(&mut cmd)
        .env("PORT", "0")
        .env("RUST_LOG", "info,care_report=loudest");
    let mut proc = ChildGuard::spawn("dev-server", cmd);
    let exit = proc
        .wait_exit(DEADLINE)
        .unwrap_or_else(|| panic!("still running with a bad RUST_LOG\n{}", proc.tail()));
    assert!(!exit.success(), "exit {exit}\n{}", proc.tail());
    let out = proc.output();
    assert!(out.contains("invalid RUST_LOG"), "{out}");
    assert!(!out.contains("listening on"), "{out}");
}
