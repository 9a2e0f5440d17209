//! The cron function as Vercel runs it (the real `cron-retry-missing-data`
//! binary, served by `vercel_runtime` on `VERCEL_DEV_PORT` without
//! `VERCEL_IPC_PATH`): in Vercel mode it never sweeps without a configured
//! `CRON_SECRET` (503 `cron_secret_not_configured`), refuses a missing or
//! wrong bearer (401 `unauthorized`), sweeps for the right one, and logs
//! (JSON, as on Vercel) neither the secret nor what a caller presented.
//!
//! The dev-server's side of the same rules, and the log and report checks
//! for personal data and API keys, are in `dev-server/tests/security.rs`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use care_report_testing::child::{free_port, ChildGuard};
use care_report_testing::redis as test_redis;
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::Value;

const CRON: &str = env!("CARGO_BIN_EXE_cron-retry-missing-data");
const PATH: &str = "/api/cron/retry-missing-data";
/// How long any awaited state may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);
const SECRET: &str = "cron-secret-0b7e4d91c3a65f28";
/// What a caller presents that is not the secret (must not be logged either).
const WRONG: &str = "presented-token-93c1d07a";

/// A running function binary.
struct Function {
    proc: ChildGuard,
    base: String,
    http: reqwest::Client,
}

impl Function {
    /// Starts the cron function with a cleared environment plus `env`, the
    /// private test Redis under a fresh prefix and a free `VERCEL_DEV_PORT`.
    /// The runtime cannot bind port 0 and report it, so a free port is
    /// picked first; if another process takes it meanwhile, another one is
    /// tried.
    fn start(env: &[(&str, &str)]) -> Self {
        let prefix = test_redis::unique_prefix();
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut cmd = Command::new(Path::new(CRON));
            care_report_testing::child::hermetic(&mut cmd)
                .env("RUST_LOG", "debug")
                .env("REDIS_URL", test_redis::url())
                .env("REDIS_KEY_PREFIX", &prefix)
                .env("VERCEL_DEV_PORT", port.to_string());
            cmd.envs(env.iter().copied());
            let proc = ChildGuard::spawn("cron-retry-missing-data", cmd);
            match proc.try_wait_for_line(DEADLINE, |l| {
                l.strip_prefix("Dev server listening: ")
                    .and_then(|p| p.trim().parse::<u16>().ok())
            }) {
                Ok(p) if p == port => {
                    return Self {
                        proc,
                        base: format!("http://127.0.0.1:{port}"),
                        http: reqwest::Client::builder()
                            .timeout(DEADLINE)
                            .build()
                            .expect("HTTP client"),
                    }
                }
                Ok(p) => panic!("the function listens on {p}, not on VERCEL_DEV_PORT={port}"),
                Err(why) => last_error = why,
            }
        }
        panic!("the cron function did not start: {last_error}")
    }

    /// `GET` the cron path with an optional `Authorization` header.
    async fn cron(&self, auth: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.get(format!("{}{PATH}", self.base));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}\n{}", self.proc.output()));
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{status} answered invalid JSON ({e}): {text}"));
        (status, headers, body)
    }

    /// Stops the function and answers its stderr lines: its logs. Stopping
    /// first makes the reading complete: the output is read by threads that
    /// may lag behind an answer, and end only once the process has exited.
    fn stop_and_log(&mut self) -> Vec<String> {
        self.proc.signal("KILL");
        assert!(
            self.proc.wait_exit(Duration::from_secs(10)).is_some(),
            "the function survived SIGKILL"
        );
        self.proc
            .output()
            .lines()
            .filter_map(|l| l.strip_prefix("stderr: "))
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// On Vercel (`VERCEL=1`, or `VERCEL_ENV` set as in previews) a missing
/// `CRON_SECRET` is a deployment fault: the endpoint refuses to sweep, for
/// every caller, instead of running open.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_secret_the_vercel_cron_function_refuses_to_sweep() {
    for vercel in [("VERCEL", "1"), ("VERCEL_ENV", "preview")] {
        let mut f = Function::start(&[vercel]);
        for auth in [None, Some(format!("Bearer {WRONG}").as_str())] {
            let (code, headers, body) = f.cron(auth).await;
            assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{vercel:?}: {body}");
            assert_eq!(
                body["error"]["code"], "cron_secret_not_configured",
                "{vercel:?}: {body}"
            );
            assert!(body.get("result").is_none(), "a sweep ran: {body}");
            assert!(headers.get(RETRY_AFTER).is_some(), "{vercel:?}");
        }
        let log = f.stop_and_log().join("\n");
        assert!(log.contains("cron_secret_not_configured"), "{log}");
        assert!(!log.contains("sweep finished"), "a sweep ran:\n{log}");
        assert!(
            !log.contains(WRONG),
            "the presented token was logged:\n{log}"
        );
    }
}

/// The cron function binary is a Vercel function whatever the environment
/// says: without any of Vercel's system variables and without a secret it
/// still refuses to sweep (it used to run open when they were missing).
#[tokio::test(flavor = "multi_thread")]
async fn without_vercel_variables_and_without_a_secret_the_cron_function_refuses_to_sweep() {
    let mut f = Function::start(&[]);
    for auth in [None, Some("Bearer ")] {
        let (code, _, body) = f.cron(auth).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(
            body["error"]["code"], "cron_secret_not_configured",
            "{body}"
        );
        assert!(body.get("result").is_none(), "a sweep ran: {body}");
    }
    let log = f.stop_and_log().join("\n");
    assert!(!log.contains("sweep finished"), "a sweep ran:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_vercel_cron_function_sweeps_only_for_the_exact_bearer_secret() {
    let mut f = Function::start(&[("VERCEL", "1"), ("CRON_SECRET", SECRET)]);
    let refused = [
        None,
        Some(format!("Bearer {WRONG}")),
        Some(format!("Basic {SECRET}")),
        Some(SECRET.to_owned()),
        Some("Bearer ".to_owned()),
        Some(format!("Bearer {SECRET}{WRONG}")),
        Some(format!("Bearer {WRONG}{SECRET}")),
    ];
    for auth in &refused {
        let (code, headers, body) = f.cron(auth.as_deref()).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{auth:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{auth:?}: {body}");
        assert_eq!(
            headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()),
            Some("Bearer"),
            "{auth:?}"
        );
        assert!(body.get("result").is_none(), "a sweep ran: {body}");
    }
    let (code, _, body) = f.cron(Some(&format!("Bearer {SECRET}"))).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true, "{body}");
    assert!(body["result"]["checked"].is_u64(), "{body}");

    // Vercel mode logs JSON lines; the one sweep is in them, and neither the
    // secret nor anything a caller presented.
    let lines = f.stop_and_log();
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    let log = lines.join("\n");
    assert_eq!(log.matches("sweep finished").count(), 1, "{log}");
    assert!(!log.contains(SECRET), "the cron secret was logged:\n{log}");
    assert!(!log.contains(WRONG), "a presented token was logged:\n{log}");
}
