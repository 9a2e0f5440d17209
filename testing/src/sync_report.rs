//! The synchronous route's client side, shared by the dev-server's and the
//! Vercel function's end-to-end tests: post a questionnaire as the original
//! frontend does, and check a 200 against the contract.

use std::time::Duration;

use reqwest::StatusCode;

/// `POST /api/professional-report` with the bare questionnaire (what the
/// original frontend sends), optionally under an `Idempotency-Key`.
pub async fn post(
    base: &str,
    questionnaire: &'static str,
    key: Option<&str>,
    timeout: Duration,
) -> (StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("client");
    let mut req = client
        .post(format!("{base}/api/professional-report"))
        .header("content-type", "application/json")
        .body(questionnaire);
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    let resp = req.send().await.expect("POST /api/professional-report");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.expect("JSON answer");
    (status, headers, body)
}

/// A 200 of the synchronous contract: exactly its five fields (no top-level
/// `job_id`), the report in the client's shape naming its job, and
/// `Content-Location` pointing at that job's result. The job's id.
pub fn check_answer(
    headers: &reqwest::header::HeaderMap,
    body: &serde_json::Value,
    status: &str,
) -> String {
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "generated_at",
            "questionnaire",
            "report",
            "report_id",
            "status"
        ],
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    let report = &body["report"];
    assert_eq!(report["reportId"], body["report_id"], "{body}");
    assert_eq!(
        report["careHomes"].as_array().map(Vec::len),
        Some(5),
        "{body}"
    );
    assert!(report["careHomes"][0]["distance"].is_string(), "{body}");
    assert!(report["careHomes"][0]["matchScore"].is_number(), "{body}");
    assert!(body["questionnaire"]["section_1_contact_emergency"]
        .get("q2_email")
        .is_none());
    let id = report["jobId"].as_str().expect("jobId").to_owned();
    assert_eq!(
        headers
            .get("content-location")
            .and_then(|v| v.to_str().ok()),
        Some(format!("/api/professional-report/result/{id}").as_str())
    );
    id
}
