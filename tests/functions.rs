//! The real Vercel function binaries (`api/**`), run outside Vercel: without
//! `VERCEL_IPC_PATH`, `vercel_runtime` serves plain HTTP on
//! `127.0.0.1:$VERCEL_DEV_PORT` and prints `Dev server listening: <port>`.
//!
//! - A job created through the dev-server is read through the `status` and
//!   `result` functions on the same Redis and key prefix (path and query
//!   forms of the dynamic route).
//! - A function without any Redis URL answers 500 `server_misconfigured`
//!   JSON and keeps running; so does one with a malformed setting, whose log
//!   names the variable.
//! - The `start` function answers 202 and builds the report inside
//!   `wait_until`.
//! - The `ops` function serves every console path, as sent and as
//!   `vercel.json`'s rewrite hands it over (`?path=`), behind the token,
//!   and nothing else.
//!
//! Binaries: the functions come from `CARGO_BIN_EXE_*`. The dev-server is
//! another package's binary, which Cargo does not hand to this package's
//! tests; it is `dev-server` next to the functions in the target directory.
//! `cargo test --workspace` (what `scripts/test.sh` runs) builds it fresh,
//! because the dev-server package has integration tests of its own. When it
//! is missing (e.g. `cargo test -p care-report-functions` on a clean target)
//! the test builds it with `cargo build -p dev-server`. `DEV_SERVER_BIN`
//! overrides the path. Note that `cargo test -p care-report-functions` alone
//! may run an older dev-server binary: use `--workspace` after changing it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use care_report_testing::child::{free_port, ChildGuard};
use care_report_testing::http::Served;
use care_report_testing::redis as test_redis;
use reqwest::StatusCode;

const SAMPLE: &str = include_str!("../dev-server/samples/questionnaire.json");
/// How long any awaited state may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// A command with a cleared environment (a developer's `REDIS_URL` or
/// `VERCEL_IPC_PATH` must not leak in) plus `env`.
fn hermetic(bin: &Path, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(bin);
    care_report_testing::child::hermetic(&mut cmd).env("RUST_LOG", "info");
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// Starts a function binary on a free port. The runtime cannot bind port 0
/// and report it, so a free port is picked first; if another process takes
/// it meanwhile the binary exits and we try another one.
fn function(name: &str, bin: &str, env: &[(&str, String)]) -> Served {
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut env = env.to_vec();
        env.push(("VERCEL_DEV_PORT", port.to_string()));
        let proc = ChildGuard::spawn(name, hermetic(Path::new(bin), &env));
        match proc.try_wait_for_line(DEADLINE, |l| {
            l.strip_prefix("Dev server listening: ")
                .and_then(|p| p.trim().parse::<u16>().ok())
        }) {
            Ok(p) if p == port => {
                return Served::new(proc, format!("http://127.0.0.1:{port}"), DEADLINE)
            }
            Ok(p) => panic!("{name} listens on {p}, not on VERCEL_DEV_PORT={port}"),
            Err(why) => last_error = why,
        }
    }
    panic!("{name} did not start: {last_error}")
}

/// The dev-server binary (see the module docs for how it is found).
fn dev_server_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("DEV_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let functions = Path::new(env!("CARGO_BIN_EXE_status"));
    let bin_dir = functions.parent().expect("binary directory");
    let bin = bin_dir.join(format!("dev-server{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        care_report_testing::child::cargo_build("dev-server", "dev-server", &manifest, bin_dir);
    }
    bin
}

fn dev_server(env: &[(&str, String)]) -> Served {
    let mut env = env.to_vec();
    env.push(("PORT", "0".to_owned()));
    let proc = ChildGuard::spawn("dev-server", hermetic(&dev_server_bin(), &env));
    let base = proc.wait_for_line(DEADLINE, |l| {
        l.strip_prefix("listening on ").map(str::to_owned)
    });
    Served::new(proc, base, DEADLINE)
}

fn redis_env(prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("REDIS_URL", test_redis::url()),
        ("REDIS_KEY_PREFIX", prefix.to_owned()),
    ]
}

fn start_body() -> String {
    format!(r#"{{"questionnaire": {SAMPLE}}}"#)
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_result_functions_read_a_job_the_dev_server_created() {
    let prefix = test_redis::unique_prefix();
    let env = redis_env(&prefix);
    let server = dev_server(&env);
    let (code, started) = server
        .post_json("/api/professional-report/start", &start_body())
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let id = started["job_id"].as_str().expect("job_id").to_owned();
    server
        .wait_for(
            &format!("/api/professional-report/status/{id}"),
            "the dev-server completes the job",
            DEADLINE,
            |s| s["status"] == "completed",
        )
        .await;

    let status = function("status", env!("CARGO_BIN_EXE_status"), &env);
    for path in [
        format!("/api/professional-report/status/{id}"),
        // Vercel's dynamic route passes the segment as `job_id`.
        format!("/api/professional-report/status?job_id={id}"),
    ] {
        let (code, body) = status.get(&path).await;
        assert_eq!(code, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["job_id"], id.as_str(), "{body}");
        assert_eq!(body["status"], "completed", "{body}");
        assert_eq!(body["completeness"], 100, "{body}");
    }
    // One endpoint per function.
    let (code, body) = status
        .get(&format!("/api/professional-report/result/{id}"))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    // A job this store does not have.
    let (code, body) = status
        .get("/api/professional-report/status/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "job_not_found", "{body}");

    let result = function("result", env!("CARGO_BIN_EXE_result"), &env);
    for path in [
        format!("/api/professional-report/result/{id}"),
        format!("/api/professional-report/result?job_id={id}"),
    ] {
        let (code, body) = result.get(&path).await;
        assert_eq!(code, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["job_id"], id.as_str(), "{body}");
        assert_eq!(body["is_partial"], false, "{body}");
        assert_eq!(
            body["report"]["careHomes"].as_array().map(Vec::len),
            Some(5),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_without_a_redis_url_answers_500_misconfigured() {
    let status = function("status", env!("CARGO_BIN_EXE_status"), &[]);
    // Twice: the first failure must not take the process down.
    for _ in 0..2 {
        let (code, body) = status
            .get("/api/professional-report/status/00000000-0000-4000-8000-000000000000")
            .await;
        assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["error"]["code"], "server_misconfigured", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty() && !message.contains("REDIS"), "{body}");
    }
    // The log line and the answer race (the reader threads may lag): wait.
    status
        .proc
        .wait_for_output(DEADLINE, "log line saying what is missing", |out| {
            out.contains("no Redis URL").then_some(())
        });
}

/// The settings are read once, at start: a malformed one (even `RUST_LOG`)
/// does not crash the function; every request answers 500 and the log,
/// written with the default filter, names the variable.
#[tokio::test(flavor = "multi_thread")]
async fn a_function_with_a_malformed_setting_answers_500_and_logs_its_name() {
    let status = function(
        "status",
        env!("CARGO_BIN_EXE_status"),
        &[("RUST_LOG", "info,care_report=loudest".to_owned())],
    );
    for _ in 0..2 {
        let (code, body) = status
            .get("/api/professional-report/status/00000000-0000-4000-8000-000000000000")
            .await;
        assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["error"]["code"], "server_misconfigured", "{body}");
        assert!(!body.to_string().contains("RUST_LOG"), "{body}");
    }
    status
        .proc
        .wait_for_output(DEADLINE, "a log line naming the variable", |out| {
            out.contains("invalid RUST_LOG").then_some(())
        });
}

#[tokio::test(flavor = "multi_thread")]
async fn start_function_answers_202_and_builds_the_report_inside_wait_until() {
    let prefix = test_redis::unique_prefix();
    let mut env = redis_env(&prefix);
    let reader = function("status", env!("CARGO_BIN_EXE_status"), &env);
    // Sandbox sources: no network, no keys.
    env.push(("SOURCES_MODE", "sandbox".to_owned()));
    let start = function("start", env!("CARGO_BIN_EXE_start"), &env);

    let (code, body) = start
        .post_json("/api/professional-report/start", &start_body())
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "pending", "{body}");
    let id = body["job_id"].as_str().expect("job_id").to_owned();

    // Nothing else works on the job: no dev-server, no cron. Only the start
    // function's `wait_until` can complete it.
    let done = reader
        .wait_for(
            &format!("/api/professional-report/status/{id}"),
            "the start function builds the report in wait_until",
            DEADLINE,
            |s| s["status"] == "completed",
        )
        .await;
    assert_eq!(done["completeness"], 100, "{done}");
    // The round's log line follows its last write, which the reader saw.
    start
        .proc
        .wait_for_output(DEADLINE, "round finished line", |out| {
            out.contains("round finished").then_some(())
        });
}

/// A Redis URL that does not parse is the deployment's mistake, not an
/// outage: 500 `server_misconfigured` (not 503 `store_unavailable`, which
/// says "try again"), and the log names the variable, never its value.
#[tokio::test(flavor = "multi_thread")]
async fn a_function_with_a_malformed_redis_url_answers_500_and_logs_the_variable() {
    let env = [("REDIS_URL", "nonsense://:hunter2@host".to_owned())];
    let status = function("status", env!("CARGO_BIN_EXE_status"), &env);
    let (code, body) = status
        .get("/api/professional-report/status/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["error"]["code"], "server_misconfigured", "{body}");
    assert!(!body.to_string().contains("hunter2"), "{body}");
    let log = status
        .proc
        .wait_for_output(DEADLINE, "a log line naming REDIS_URL", |out| {
            out.contains("invalid REDIS_URL").then(|| out.to_owned())
        });
    assert!(!log.contains("hunter2"), "the log echoes the URL");
}

/// Over `rediss://` to a private Redis whose certificate a test CA signed:
/// with `REDIS_CA_FILE` naming that CA the start function builds a whole
/// report and status reads it; trusting only the public roots (no
/// `REDIS_CA_FILE`) or a CA that signed nothing, the certificate is
/// refused: 500 `server_misconfigured` (retrying will not help), and the
/// log says what to set.
#[tokio::test(flavor = "multi_thread")]
async fn functions_reach_redis_over_tls_with_the_ca_they_are_given() {
    let tls = care_report_testing::tls_redis::server();
    let prefix = test_redis::unique_prefix();
    let env = vec![
        ("REDIS_URL", tls.url.clone()),
        ("REDIS_KEY_PREFIX", prefix.clone()),
        ("REDIS_CA_FILE", tls.ca_file.display().to_string()),
        ("SOURCES_MODE", "sandbox".to_owned()),
    ];
    let start = function("start", env!("CARGO_BIN_EXE_start"), &env);
    let reader = function("status", env!("CARGO_BIN_EXE_status"), &env);
    let (code, body) = start
        .post_json("/api/professional-report/start", &start_body())
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let id = body["job_id"].as_str().expect("job_id").to_owned();
    let done = reader
        .wait_for(
            &format!("/api/professional-report/status/{id}"),
            "a report built over TLS",
            DEADLINE,
            |s| s["status"] == "completed",
        )
        .await;
    assert_eq!(done["completeness"], 100, "{done}");

    for ca in [None, Some(&tls.stranger_ca_file)] {
        let mut env = vec![("REDIS_URL", tls.url.clone())];
        if let Some(ca) = ca {
            env.push(("REDIS_CA_FILE", ca.display().to_string()));
        }
        let status = function("status", env!("CARGO_BIN_EXE_status"), &env);
        let (code, body) = status
            .get("/api/professional-report/status/00000000-0000-4000-8000-000000000000")
            .await;
        assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR, "{ca:?}: {body}");
        assert_eq!(body["error"]["code"], "server_misconfigured", "{body}");
        status
            .proc
            .wait_for_output(DEADLINE, "a log line saying what to set", |out| {
                (out.contains("certificate was refused") && out.contains("REDIS_CA_FILE"))
                    .then_some(())
            });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_with_an_unreachable_redis_answers_503() {
    // Port 1 on loopback: nothing listens there.
    let env = [
        ("REDIS_URL", "redis://127.0.0.1:1".to_owned()),
        ("REDIS_CONNECT_TIMEOUT_MS", "500".to_owned()),
    ];
    let status = function("status", env!("CARGO_BIN_EXE_status"), &env);
    let (code, body) = status
        .get("/api/professional-report/status/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "store_unavailable", "{body}");
}
/// The console function (`api/ops.rs`): one binary for every console path,
/// as sent and as vercel.json's rewrite hands it over (`/api/ops?path=…`);
/// credentials before anything else, the console's 405 naming the path's
/// methods, and no other endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_function_serves_its_paths_sent_or_rewritten() {
    const TOKEN: &str = "functions-test-ops-token-0123";
    let prefix = test_redis::unique_prefix();
    let mut env = redis_env(&prefix);
    env.push(("OPS_TOKEN", TOKEN.to_owned()));
    let ops = function("ops", env!("CARGO_BIN_EXE_ops"), &env);
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .unwrap();
    let call = |method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut req = client
            .request(method, format!("{}{path}", ops.base))
            .header("accept", "application/json");
        if let Some(token) = token {
            req = req.basic_auth("ops", Some(token));
        }
        async move {
            let resp = req.send().await.unwrap_or_else(|e| panic!("{e}"));
            let (code, headers) = (resp.status(), resp.headers().clone());
            let body: serde_json::Value = resp.json().await.unwrap();
            (code, headers, body)
        }
    };
    let (code, _, body) = call(reqwest::Method::GET, "/api/ops/jobs", None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    for path in ["/api/ops/jobs", "/api/ops?path=jobs"] {
        let (code, _, body) = call(reqwest::Method::GET, path, Some(TOKEN)).await;
        assert_eq!(code, StatusCode::OK, "{path}: {body}");
        assert!(body["view"]["rows"].is_array(), "{path}: {body}");
    }
    let (code, headers, body) =
        call(reqwest::Method::POST, "/api/ops?path=jobs", Some(TOKEN)).await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(headers["allow"], "GET");
    let (code, _, body) = call(reqwest::Method::GET, "/health", Some(TOKEN)).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "route_not_found", "{body}");
}

/// `POST /api/professional-report` with the sample questionnaire.
async fn sync_report(
    base: &str,
    key: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    care_report_testing::sync_report::post(base, SAMPLE, key, DEADLINE).await
}

use care_report_testing::sync_report::check_answer as check_sync_answer;

/// The `professional-report` function on Redis with sandbox sources.
fn sync_function(prefix: &str, extra: &[(&str, &str)]) -> Served {
    let mut env = redis_env(prefix);
    env.push(("SOURCES_MODE", "sandbox".to_owned()));
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    function(
        "professional-report",
        env!("CARGO_BIN_EXE_professional-report"),
        &env,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn professional_report_function_answers_the_report_and_the_key_finds_it_again() {
    let prefix = test_redis::unique_prefix();
    let f = sync_function(&prefix, &[]);
    let (code, headers, body) = sync_report(&f.base, Some("family-1")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let id = check_sync_answer(&headers, &body, "completed");
    let (code, headers, again) = sync_report(&f.base, Some("family-1")).await;
    assert_eq!(code, StatusCode::OK, "{again}");
    assert_eq!(check_sync_answer(&headers, &again, "completed"), id);
    assert_eq!(again["report_id"], body["report_id"]);
    // The job `start` would have made: the result function reads it.
    let result = function("result", env!("CARGO_BIN_EXE_result"), &redis_env(&prefix));
    let (code, view) = result
        .get(&format!("/api/professional-report/result/{id}"))
        .await;
    assert_eq!(code, StatusCode::OK, "{view}");
    assert_eq!(view["report_id"], body["report_id"], "{view}");
}

#[tokio::test(flavor = "multi_thread")]
async fn professional_report_function_answers_a_partial_report() {
    let prefix = test_redis::unique_prefix();
    let f = sync_function(&prefix, &[("SANDBOX_FAULTS", "cqc:status=503")]);
    let (code, headers, body) = sync_report(&f.base, None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    check_sync_answer(&headers, &body, "partial");
    assert_eq!(body["report"]["isPartial"], true, "{body}");
    // 25 of 30 slots: CQC's five failed.
    assert_eq!(body["report"]["completeness"], 83, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn professional_report_function_answers_202_when_the_wait_passes_first() {
    let prefix = test_redis::unique_prefix();
    // A zero wait: the answer is the start body at once; the job carries on
    // in `wait_until` and completes.
    let f = sync_function(&prefix, &[("SYNC_REPORT_WAIT_SECS", "0")]);
    let (code, _, body) = sync_report(&f.base, None).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let id = body["job_id"].as_str().expect("job_id").to_owned();
    let reader = function("status", env!("CARGO_BIN_EXE_status"), &redis_env(&prefix));
    reader
        .wait_for(
            &format!("/api/professional-report/status/{id}"),
            "the job carries on after the 202",
            DEADLINE,
            |s| s["status"] == "completed",
        )
        .await;
}
