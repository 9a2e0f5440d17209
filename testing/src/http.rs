//! A JSON client for a binary started by a test (see [`super::child`]).
//!
//! Every answer must be JSON with a JSON content type; a failed request
//! panics with the binary's output, so a test failure shows what it said.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::child::ChildGuard;

/// A running binary and a client for its HTTP API.
pub struct Served {
    /// The process (killed when this is dropped).
    pub proc: ChildGuard,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    http: reqwest::Client,
}

impl Served {
    /// A client for `proc`, listening at `base`; requests time out after
    /// `timeout`.
    pub fn new(proc: ChildGuard, base: String, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("HTTP client");
        Self { proc, base, http }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        self.send(req).await
    }

    /// `POST path` without a body.
    pub async fn post(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)))
            .await
    }

    /// Sends `req`; the answer must be JSON.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}\n{}", self.proc.tail()));
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = resp.text().await.expect("response body");
        assert!(
            ctype.starts_with("application/json"),
            "{status} answered {ctype:?}: {text}"
        );
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{status} answered invalid JSON ({e}): {text}"));
        (status, body)
    }

    /// Polls `GET path` until `done` accepts its 200 answer, for at most
    /// `deadline`; panics with `what` and the last answer otherwise.
    pub async fn wait_for(
        &self,
        path: &str,
        what: &str,
        deadline: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let (code, body) = self.get(path).await;
            assert_eq!(code, StatusCode::OK, "{path}: {body}");
            if done(&body) {
                return body;
            }
            assert!(
                started.elapsed() < deadline,
                "{what}: not within {deadline:?}; last answer of {path}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986 §2.3), so
/// any string is a valid path segment or query value.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
