//! End-to-end tests of the dev-server's `POST /api/professional-report`
//! (the original frontend's call; see `care_report::http::sync`): 200 with
//! the report for a completed and for a partial job, 202 with the start body
//! when the wait passes first, the same job again by `Idempotency-Key`, and
//! a failed job's JSON error with a top-level `detail`.

use std::process::Command;
use std::time::Duration;

use care_report_testing::child::ChildGuard;
use reqwest::StatusCode;

const BIN: &str = env!("CARGO_BIN_EXE_dev-server");
const SAMPLE: &str = include_str!("../samples/questionnaire.json");
/// How long any awaited state may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// The dev-server with a clean environment plus `env`; its base URL.
fn dev_server(env: &[(&str, &str)]) -> (ChildGuard, String) {
    let mut cmd = Command::new(BIN);
    care_report_testing::child::hermetic(&mut cmd)
        .env("PORT", "0")
        .env("RUST_LOG", "info");
    cmd.envs(env.iter().copied());
    let proc = ChildGuard::spawn("dev-server", cmd);
    let base = proc.wait_for_line(DEADLINE, |line| {
        line.strip_prefix("listening on ").map(str::to_owned)
    });
    (proc, base)
}

/// `POST /api/professional-report` with the sample questionnaire.
async fn sync_report(
    base: &str,
    key: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    care_report_testing::sync_report::post(base, SAMPLE, key, DEADLINE).await
}

use care_report_testing::sync_report::check_answer as check_sync_answer;

#[tokio::test(flavor = "multi_thread")]
async fn a_completed_job_answers_200_with_its_report_and_the_key_finds_it_again() {
    let (_proc, base) = dev_server(&[]);
    let (code, headers, body) = sync_report(&base, Some("family-1")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let id = check_sync_answer(&headers, &body, "completed");
    assert_eq!(body["report"]["isPartial"], false);

    // The same key and body: the same job, its report, marked as a replay.
    let (code, headers, again) = sync_report(&base, Some("family-1")).await;
    assert_eq!(code, StatusCode::OK, "{again}");
    assert_eq!(check_sync_answer(&headers, &again, "completed"), id);
    assert_eq!(again["report_id"], body["report_id"]);
    assert_eq!(
        headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );

    // Content-Location is the job's result: the same report, plus its facts.
    let result: serde_json::Value =
        reqwest::get(format!("{base}/api/professional-report/result/{id}"))
            .await
            .expect("result")
            .json()
            .await
            .expect("JSON");
    assert_eq!(result["job_id"], id.as_str());
    assert_eq!(result["report_id"], body["report_id"]);
    assert_eq!(result["completeness"], 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_job_answers_200_with_its_partial_report() {
    let (_proc, base) = dev_server(&[("SANDBOX_FAULTS", "google_places:status=503")]);
    let (code, headers, body) = sync_report(&base, None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    check_sync_answer(&headers, &body, "partial");
    let report = &body["report"];
    assert_eq!(report["isPartial"], true);
    assert_eq!(report["completeness"], 83);
    assert_eq!(
        report["missingDataSources"].as_array().map(Vec::len),
        Some(5)
    );
    for home in report["careHomes"].as_array().unwrap() {
        assert_eq!(home["dataSources"]["google_places"], "missing");
        assert!(home.get("googlePlaces").is_none(), "{home}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wait_passing_first_answers_202_with_the_start_body() {
    // Jobs are stored but not processed, so the job cannot settle, and the
    // wait is short: the bound passes first, deterministically.
    let (_proc, base) = dev_server(&[
        ("PROCESS_ON_START", "false"),
        ("SYNC_REPORT_WAIT_SECS", "1"),
    ]);
    let (code, headers, body) = sync_report(&base, None).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let id = body["job_id"].as_str().expect("job_id");
    assert_eq!(body["status"], "pending");
    assert_eq!(
        body["result_url"],
        format!("/api/professional-report/result/{id}")
    );
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/api/professional-report/status/{id}").as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_job_answers_a_json_error_with_detail() {
    let (_proc, base) = dev_server(&[]);
    let mut q: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
    q["section_2_location_budget"]["q5_preferred_city"] = "Atlantis".into();
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/professional-report"))
        .json(&q)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "job_failed", "{body}");
    assert_eq!(body["detail"], body["error"]["message"], "{body}");
    assert!(body["error"]["details"]["error"]
        .as_str()
        .unwrap_or("")
        .contains("Atlantis"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preflight_for_the_route_is_answered() {
    // CORS is off unless the deployment lists its frontend's origin.
    let (_proc, base) = dev_server(&[("CORS_ALLOWED_ORIGINS", "http://localhost:5173")]);
    let resp = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/api/professional-report"),
        )
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://localhost:5173")
    );
}
