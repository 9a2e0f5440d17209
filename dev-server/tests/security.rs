//! Security checks against the real `dev-server` binary (SPEC "Security").
//!
//! - The cron endpoint accepts exactly `Authorization: Bearer $CRON_SECRET`
//!   and refuses anything else with 401 `unauthorized`; in Vercel mode
//!   without a secret it refuses to run (503 `cron_secret_not_configured`).
//! - Personal data and keys stay out of the logs: the server runs at
//!   `RUST_LOG=trace` (every crate: hyper, reqwest, redis, rustls...) while
//!   fictional families submit questionnaires and every endpoint is called,
//!   with sandbox faults that make the reports partial and retried. Then its
//!   whole stderr is searched for their names, e-mails, phone numbers (as
//!   written and as bare digits), postcode and for every API key and the
//!   cron secret. Two runs: memory store with the built-in sandbox and
//!   human-readable logs; Redis with the *live* adapters configured through
//!   `*_API_KEY`/`*_BASE_URL` (pointed at a sandbox this test runs, which
//!   accepts only distinctive keys) and Vercel's JSON logs (`VERCEL=1`).
//! - No API key appears in any HTTP answer; the report names the patient
//!   (`clientName`) and nothing else from section 1 of the questionnaire
//!   (the echoed questionnaire is the stored form, which holds only that).
//!
//! Each capture is checked to hold what it should (the job ids, failed
//! fetches, refused requests, trace-level lines), so a capture that lost the
//! logs fails instead of passing vacuously. The server's stderr goes to a
//! file (`sh -c 'exec … 2>file'`): the trace log is far larger than the
//! 16 KiB tail `ChildGuard` keeps. Every wait is a poll with a deadline.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use care_report::directory::Directory;
use care_report::model::{JobId, SourceType};
use care_report::sandbox::{
    FaultPlan, Sandbox, SandboxKeys, CQC_KEY, FIRECRAWL_KEY, GOOGLE_PLACES_KEY,
};
use care_report::store::{JobStore, Retention};
use care_report_testing::child::ChildGuard;
use care_report_testing::http::Served;
use care_report_testing::redis as test_redis;
use reqwest::header::{HeaderMap, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_dev-server");
/// How long any awaited state may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

const CRON_SECRET: &str = "cron-secret-6f2d8a4c1e9b7035";
/// Keys given to the live adapters (the test's sandbox accepts only these).
const LIVE_KEYS: [(&str, &str); 4] = [
    ("CQC_API_KEY", "cqc-key-3b9f1e0a7d2c4f68"),
    (
        "GOOGLE_PLACES_API_KEY",
        "AIzaSy-google-key-8e1d5c2a9b7f4360",
    ),
    ("FIRECRAWL_API_KEY", "fc-firecrawl-key-5a7c9e1b3d2f4068"),
    ("COMPANIES_HOUSE_API_KEY", "ch-key-0d9e7c5a3b1f8264"),
];

/// Every round-1 fetch of Google Places, Firecrawl and CQC fails (503, 429
/// with `Retry-After`, a body that is not JSON): the reports are partial.
/// The client's manual retry (each source's 2nd attempt) loads Firecrawl and
/// CQC; Google Places loads at its 3rd attempt, made by the scheduler's
/// sweep (the cron endpoint, see [`RETRY_ENV`]).
const FAULTS: &str =
    "google_places:status=503,heal_after=2;firecrawl:retry_after=1,heal_after=1;cqc:malformed,heal_after=1";

/// Retries due soon, and no sweep of the local scheduler after the one at
/// start-up: the client's manual retry always comes first, however slow the
/// machine, and the retries after it are made by the cron sweeps the test
/// calls (as Vercel Cron does) until the reports are complete.
const RETRY_ENV: [(&str, &str); 3] = [
    ("RETRY_BASE_DELAY_SECS", "1"),
    ("RETRY_JITTER", "0"),
    ("SWEEP_INTERVAL_SECS", "3600"),
];

// ---------------------------------------------------------------------------
// Fictional families, shaped like the real sample questionnaires.

/// Section 1 of one questionnaire: the personal data under test.
struct Family {
    contact: &'static str,
    patient: &'static str,
    email: &'static str,
    phone: &'static str,
    emergency_name: &'static str,
    emergency_phone: &'static str,
}

impl Family {
    fn section_1(&self) -> Value {
        json!({
            "q1_names": format!("Contact: {}; Patient: {}", self.contact, self.patient),
            "q2_email": self.email,
            "q3_phone": self.phone,
            "q4_emergency_contact": format!("{} {}", self.emergency_name, self.emergency_phone),
        })
    }

    /// Every string that must never be logged: names (whole and surname),
    /// the e-mail (and its local part), each phone as written, its last ten
    /// digits run together and in the usual `7700 900123` grouping.
    fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in [self.contact, self.patient, self.emergency_name] {
            out.push(name.to_owned());
            if let Some(surname) = name.split_whitespace().last() {
                out.push(surname.to_owned());
            }
        }
        out.push(self.email.to_owned());
        if let Some((local, _)) = self.email.split_once('@') {
            out.push(local.to_owned());
        }
        for phone in [self.phone, self.emergency_phone] {
            out.extend(phone_forms(phone));
        }
        out
    }

    /// What the report must not contain: everything but the patient's name.
    fn not_in_report(&self) -> Vec<String> {
        let mut out = vec![
            self.contact.to_owned(),
            self.emergency_name.to_owned(),
            self.email.to_owned(),
        ];
        for phone in [self.phone, self.emergency_phone] {
            out.extend(phone_forms(phone));
        }
        out
    }
}

/// A phone number as written, its last ten digits run together, and those
/// grouped 4 + 6 (`7700 900417`), so `+44 7700 900417`, `07700900417` and
/// `447700900417` are all caught.
fn phone_forms(phone: &str) -> Vec<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let national = &digits[digits.len().saturating_sub(10)..];
    assert_eq!(national.len(), 10, "fixture phone {phone}");
    vec![
        phone.to_owned(),
        national.to_owned(),
        format!("{} {}", &national[..4], &national[4..]),
    ]
}

const ROSALIND: Family = Family {
    contact: "Rosalind Quennell-Ashby",
    patient: "Wilfred Quennell-Ashby",
    email: "rosalind.qa.family@example.org",
    phone: "+44 7700 900417",
    emergency_name: "Percival Quennell-Ashby",
    emergency_phone: "+44 7700 900862",
};
const IFEOMA: Family = Family {
    contact: "Ifeoma Brackenridge",
    patient: "Cornelius Brackenridge",
    email: "ifeoma.brackenridge@example.net",
    phone: "07700 900533",
    emergency_name: "Tamsin Holloway-Pryce",
    emergency_phone: "07700 900291",
};
const DOROTHEA: Family = Family {
    contact: "Dorothea Vantongeren",
    patient: "Ambrose Vantongeren",
    email: "d.vantongeren.care@example.com",
    phone: "+447700900648",
    emergency_name: "Lachlan Vantongeren",
    emergency_phone: "+44 7700 900715",
};
/// Asks for a town no one can locate: the job fails.
const BARTHOLOMEW: Family = Family {
    contact: "Bartholomew Sixsmith",
    patient: "Henrietta Sixsmith",
    email: "b.sixsmith.home@example.org",
    phone: "+44 7700 900184",
    emergency_name: "Oona Sixsmith",
    emergency_phone: "+44 7700 900926",
};
/// Sends an invalid questionnaire with personal data in the invalid field.
const EVANGELINE: Family = Family {
    contact: "Evangeline Thistlewood",
    patient: "Augustin Thistlewood",
    email: "evangeline.thistle@example.org",
    phone: "+44 7700 900377",
    emergency_name: "Morwenna Thistlewood",
    emergency_phone: "+44 7700 900559",
};
/// The idempotency key Rosalind's request is sent (and replayed) under.
const IDEMPOTENCY_KEY: &str = "security-test-rosalind-1";
/// Rosalind's postcode (not a demo home's: the lookup falls back to the city).
const POSTCODE: &str = "B16 0QX";

const FAMILIES: [&Family; 5] = [&ROSALIND, &IFEOMA, &DOROTHEA, &BARTHOLOMEW, &EVANGELINE];

/// Dementia and mild falls near Birmingham, with a postcode (like sample 1).
fn rosalind() -> Value {
    json!({
        "profile_description": "Fictional: dementia, some falls",
        "section_1_contact_emergency": ROSALIND.section_1(),
        "section_2_location_budget": {
            "q4_postcode": POSTCODE,
            "q5_preferred_city": "Birmingham",
            "q6_max_distance": "15km",
            "q7_budget": "5000_7000_local"
        },
        "section_3_medical_needs": {
            "q8_care_types": ["specialised_dementia"],
            "q9_medical_conditions": ["dementia_alzheimers", "mobility_problems"],
            "q10_mobility_level": "walking_aids",
            "q11_medication_management": "several_simple_routine",
            "q12_age_range": "85_94"
        },
        "section_4_safety_special_needs": {
            "q13_fall_history": "1_2_no_serious_injuries",
            "q14_allergies": ["no_allergies"],
            "q15_dietary_requirements": ["no_special_requirements"],
            "q16_social_personality": "moderately_sociable"
        },
        "section_5_timeline": { "q17_placement_timeline": "next_month" },
        "section_6_priorities": {
            "q18_priority_ranking": {
                "priority_order": ["medical_safety", "quality_reputation", "cost_financial", "location_social"],
                "priority_weights": [50, 30, 15, 5]
            }
        }
    })
}

/// Diabetes and mobility, nursing, Manchester, urgent (like sample 2).
fn ifeoma() -> Value {
    json!({
        "section_1_contact_emergency": IFEOMA.section_1(),
        "section_2_location_budget": {
            "q5_preferred_city": "Manchester",
            "q6_max_distance": "within_15km",
            "q7_budget": "3000_5000_self"
        },
        "section_3_medical_needs": {
            "q8_care_types": ["medical_nursing", "general_residential"],
            "q9_medical_conditions": ["diabetes", "mobility_problems"],
            "q10_mobility_level": "wheelchair_sometimes",
            "q11_medication_management": "many_complex_routine",
            "q12_age_range": "75_84"
        },
        "section_4_safety_special_needs": {
            "q13_fall_history": "3_plus_or_serious_injuries",
            "q14_allergies": ["medication_allergies"],
            "q15_dietary_requirements": ["diabetic_diet"],
            "q16_social_personality": "very_sociable"
        },
        "section_5_timeline": { "q17_placement_timeline": "urgent_2_weeks" }
    })
}

/// Heart condition, nursing, high fall risk, Leeds, no section 6.
fn dorothea() -> Value {
    json!({
        "section_1_contact_emergency": DOROTHEA.section_1(),
        "section_2_location_budget": {
            "q5_preferred_city": "Leeds",
            "q6_max_distance": "30km",
            "q7_budget": "over_7000_self"
        },
        "section_3_medical_needs": {
            "q8_care_types": ["medical_nursing"],
            "q9_medical_conditions": ["heart_conditions"],
            "q10_mobility_level": "walking_aids",
            "q11_medication_management": "many_complex_routine",
            "q12_age_range": "95_plus"
        },
        "section_4_safety_special_needs": {
            "q13_fall_history": "high_risk_of_falling",
            "q14_allergies": ["food_allergies"],
            "q15_dietary_requirements": ["pureed_soft_food"],
            "q16_social_personality": "prefers_quiet"
        },
        "section_5_timeline": { "q17_placement_timeline": "planning_2_3_months" }
    })
}

/// Valid, but the town cannot be located: the job fails.
fn bartholomew() -> Value {
    let mut q = ifeoma();
    q["section_1_contact_emergency"] = BARTHOLOMEW.section_1();
    q["section_2_location_budget"]["q5_preferred_city"] = json!("Llareggub");
    q
}

/// Invalid: personal data typed into the budget answer, age range missing.
fn evangeline() -> Value {
    let mut q = dorothea();
    q["section_1_contact_emergency"] = EVANGELINE.section_1();
    q["section_2_location_budget"]["q7_budget"] = json!(format!(
        "call {} on {}",
        EVANGELINE.contact, EVANGELINE.phone
    ));
    if let Some(medical) = q["section_3_medical_needs"].as_object_mut() {
        medical.remove("q12_age_range");
    }
    q
}

// ---------------------------------------------------------------------------
// The server under test.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Store<'a> {
    Memory,
    /// The private test Redis under this key prefix.
    Redis(&'a str),
}

/// A file the server's stderr is written to; on a failing test its end is
/// printed, and it is removed when the test passes.
struct LogFile(PathBuf);

impl LogFile {
    fn new(what: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "care-report-security-{what}-{}.log",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        Self(path)
    }

    fn read(&self) -> String {
        std::fs::read(&self.0)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let all = self.read();
            let mut cut = all.len().saturating_sub(32 * 1024);
            while !all.is_char_boundary(cut) {
                cut += 1;
            }
            eprintln!(
                "----- end of the dev-server's stderr ({}) -----\n{}",
                self.0.display(),
                &all[cut..]
            );
        } else {
            // Tests that never call `stop` still get their stderr scanned
            // (the dev-server is killed by then: nothing more is written).
            let panics = care_report_testing::child::panic_lines(&self.read());
            if !panics.is_empty() {
                panic!(
                    "the dev-server panicked (log kept: {}):\n{}",
                    self.0.display(),
                    panics.join("\n")
                );
            }
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

struct Server {
    served: Served,
    log: LogFile,
    /// Every answer's body, labelled, for the key and personal-data checks.
    answers: Vec<(String, Value)>,
    http: reqwest::Client,
}

impl Server {
    /// Starts the binary with a cleared environment plus `env`, `PORT=0`
    /// and, for Redis, the private test Redis and the key prefix.
    fn start(what: &str, store: Store<'_>, env: &[(String, String)]) -> Self {
        let log = LogFile::new(what);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"log=$1; shift; exec "$@" 2>"$log""#)
            .arg("sh")
            .arg(&log.0)
            .arg(BIN);
        care_report_testing::child::hermetic(&mut cmd)
            .env("PORT", "0")
            .env("RUST_LOG", "info");
        if let Store::Redis(prefix) = store {
            cmd.env("REDIS_URL", test_redis::url())
                .env("REDIS_KEY_PREFIX", prefix);
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let proc = ChildGuard::spawn("dev-server", cmd);
        let base = match proc.try_wait_for_line(DEADLINE, |line| {
            line.strip_prefix("listening on ").map(str::to_owned)
        }) {
            Ok(base) => base,
            Err(why) => panic!("{why}\nstderr:\n{}", log.read()),
        };
        Self {
            served: Served::new(proc, base, DEADLINE),
            log,
            answers: Vec::new(),
            http: reqwest::Client::builder()
                .timeout(DEADLINE)
                .build()
                .expect("HTTP client"),
        }
    }

    /// Sends `method path` with optional JSON `body` and headers; keeps the
    /// answer for the final checks.
    async fn call(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.served.base));
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log.read()));
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("response body");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{method} {path} answered {status}, not JSON ({e}): {text}")
        });
        self.answers
            .push((format!("{method} {path}"), body.clone()));
        (status, headers, body)
    }

    async fn get(&mut self, path: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.call(reqwest::Method::GET, path, None, &[]).await;
        (s, b)
    }

    async fn post(&mut self, path: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.call(reqwest::Method::POST, path, None, &[]).await;
        (s, b)
    }

    async fn start_job(&mut self, questionnaire: &Value, headers: &[(&str, &str)]) -> String {
        let body = json!({ "questionnaire": questionnaire }).to_string();
        let (code, _, body) = self
            .call(
                reqwest::Method::POST,
                "/api/professional-report/start",
                Some(body),
                headers,
            )
            .await;
        assert_eq!(code, StatusCode::ACCEPTED, "start: {body}");
        body["job_id"].as_str().expect("job_id").to_owned()
    }

    async fn wait_status(&mut self, id: &str, what: &str, done: impl Fn(&Value) -> bool) {
        let path = format!("/api/professional-report/status/{id}");
        let last = self
            .served
            .wait_for(&path, &format!("job {id} {what}"), DEADLINE, done)
            .await;
        self.answers.push((format!("GET {path}"), last));
    }

    /// Stops the server (SIGTERM) and answers everything it wrote: its
    /// stderr (the log file), then its stdout (`ChildGuard` keeps that, the
    /// only stream it sees here, tagged `stdout: `).
    fn stop(&mut self) -> String {
        self.served.proc.terminate();
        let exit = self.served.proc.wait_exit(DEADLINE);
        assert!(
            exit.is_some_and(|e| e.success()),
            "dev-server did not stop cleanly: {exit:?}"
        );
        let stdout = self.served.proc.output();
        assert!(stdout.contains("stdout: listening on"), "{stdout}");
        let log = self.log.read();
        // The whole stderr, not its end, is searched for a panic.
        let panics = care_report_testing::child::panic_lines(&log);
        assert!(
            panics.is_empty(),
            "the dev-server panicked ({}):\n{}",
            self.log.0.display(),
            panics.join("\n")
        );
        format!("{log}{stdout}")
    }
}

fn status_is(s: &Value, wanted: &str) -> bool {
    s["status"] == wanted
}

// ---------------------------------------------------------------------------
// Cron authorization.

#[tokio::test(flavor = "multi_thread")]
async fn cron_answers_only_the_exact_bearer_secret() {
    let mut server = Server::start(
        "cron",
        Store::Memory,
        &vars(&[("CRON_SECRET", CRON_SECRET)]),
    );
    let path = "/api/cron/retry-missing-data";
    let secret = CRON_SECRET;
    let refused: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        (
            "a wrong secret",
            Some("Bearer not-the-cron-secret".to_owned()),
        ),
        ("the secret under Basic", Some(format!("Basic {secret}"))),
        ("the secret without a scheme", Some(secret.to_owned())),
        ("an empty bearer", Some("Bearer ".to_owned())),
        ("the scheme alone", Some("Bearer".to_owned())),
        ("a prefixed secret", Some(format!("Bearer x{secret}"))),
        ("a suffixed secret", Some(format!("Bearer {secret}x"))),
        (
            "a truncated secret",
            Some(format!("Bearer {}", &secret[..secret.len() - 1])),
        ),
        (
            "the secret in capitals",
            Some(format!("Bearer {}", secret.to_uppercase())),
        ),
        (
            "the secret twice",
            Some(format!("Bearer {secret} {secret}")),
        ),
    ];
    for (what, auth) in &refused {
        let headers: Vec<(&str, &str)> = auth
            .iter()
            .map(|a| (AUTHORIZATION.as_str(), a.as_str()))
            .collect();
        let (code, h, body) = server
            .call(reqwest::Method::GET, path, None, &headers)
            .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{what}: {body}");
        assert_eq!(
            h.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()),
            Some("Bearer"),
            "{what}"
        );
        assert!(body.get("result").is_none(), "{what}: a sweep ran: {body}");
    }
    // The scheme is case-insensitive (RFC 9110 §11.1); the secret is not.
    for auth in [format!("Bearer {secret}"), format!("bearer {secret}")] {
        let (code, _, body) = server
            .call(
                reqwest::Method::GET,
                path,
                None,
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{auth}: {body}");
        assert_eq!(body["success"], true, "{body}");
        assert!(body["result"]["checked"].is_u64(), "{body}");
    }
    // One sweep by the local scheduler at start-up, one per accepted call:
    // none for a refused one.
    let log = server.stop();
    assert_eq!(log.matches("sweep finished").count(), 3, "{log}");
    assert!(!log.contains(secret), "the cron secret was logged:\n{log}");
    assert!(!log.contains("not-the-cron-secret"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cron_on_vercel_without_a_secret_refuses_to_run() {
    let mut server = Server::start("cron-vercel", Store::Memory, &vars(&[("VERCEL", "1")]));
    for auth in [None, Some("Bearer anything")] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        let (code, h, body) = server
            .call(
                reqwest::Method::GET,
                "/api/cron/retry-missing-data",
                None,
                &headers,
            )
            .await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{auth:?}: {body}");
        assert_eq!(
            body["error"]["code"], "cron_secret_not_configured",
            "{body}"
        );
        assert!(h.get(RETRY_AFTER).is_some(), "{auth:?}");
        assert!(body.get("result").is_none(), "a sweep ran: {body}");
    }
    let log = server.stop();
    assert!(log.contains("cron_secret_not_configured"), "{log}");
    assert!(!log.contains("anything"), "{log}");
}

// ---------------------------------------------------------------------------
// Logs and answers.

/// What one run must never reveal.
struct Forbidden {
    /// API keys and the cron secret: never in logs nor in any answer.
    keys: Vec<String>,
}

/// Drives every endpoint with the fictional families, waits for the
/// reports to complete, stops the server and checks its log and answers.
/// Answers the completed jobs.
async fn exercise_and_check(
    mut server: Server,
    forbidden: Forbidden,
    json_logs: bool,
) -> Vec<(&'static Family, String)> {
    let cron_auth = format!("Bearer {CRON_SECRET}");
    let (code, health) = server.get("/health").await;
    assert_eq!(code, StatusCode::OK, "{health}");

    // Three reports, one of them under an idempotency key, replayed.
    let idem = [("idempotency-key", IDEMPOTENCY_KEY)];
    let rosalind_id = server.start_job(&rosalind(), &idem).await;
    let replay = server.start_job(&rosalind(), &idem).await;
    assert_eq!(replay, rosalind_id, "the idempotent replay made a new job");
    let (code, _, body) = server
        .call(
            reqwest::Method::POST,
            "/api/professional-report/start",
            Some(json!({ "questionnaire": ifeoma() }).to_string()),
            &idem,
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "idempotency_key_reused", "{body}");
    let ifeoma_id = server.start_job(&ifeoma(), &[]).await;
    let dorothea_id = server.start_job(&dorothea(), &[]).await;
    let jobs: Vec<(&'static Family, String)> = vec![
        (&ROSALIND, rosalind_id),
        (&IFEOMA, ifeoma_id),
        (&DOROTHEA, dorothea_id),
    ];

    // A job that fails (nobody can locate the town).
    let failed_id = server.start_job(&bartholomew(), &[]).await;

    // Refused requests carrying personal data: an invalid questionnaire
    // with it in the invalid answer, a body that is not JSON, and an
    // e-mail address where a job id goes.
    let (code, _, body) = server
        .call(
            reqwest::Method::POST,
            "/api/professional-report/start",
            Some(json!({ "questionnaire": evangeline() }).to_string()),
            &[],
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    let fields = body["error"]["details"]["fields"].to_string();
    assert!(
        fields.contains("section_2_location_budget.q7_budget")
            && fields.contains("section_3_medical_needs.q12_age_range"),
        "{body}"
    );
    let truncated = format!(
        r#"{{"questionnaire": {{"section_1_contact_emergency": {{"q2_email": "{}", "q3_phone": "{}""#,
        EVANGELINE.email, EVANGELINE.phone
    );
    let (code, _, body) = server
        .call(
            reqwest::Method::POST,
            "/api/professional-report/start",
            Some(truncated),
            &[],
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_json", "{body}");
    let (code, body) = server
        .get(&format!(
            "/api/professional-report/status/{}",
            EVANGELINE.email
        ))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_job_id", "{body}");

    // Each report: partial, read through every endpoint, retried by the
    // client (its 2nd attempts), refused a second manual retry.
    for (family, id) in &jobs {
        server
            .wait_status(id, "partial", |s| status_is(s, "partial"))
            .await;
        let (code, status) = server
            .get(&format!("/api/professional-report/status/{id}"))
            .await;
        assert_eq!(code, StatusCode::OK, "{status}");
        let (code, report) = server
            .get(&format!("/api/professional-report/result/{id}"))
            .await;
        assert_eq!(code, StatusCode::OK, "{report}");
        assert_eq!(report["is_partial"], true, "{report}");
        assert_eq!(report["report"]["clientName"], family.patient, "{report}");
        let (code, missing) = server
            .get(&format!("/api/professional-report/missing-sources/{id}"))
            .await;
        assert_eq!(code, StatusCode::OK, "{missing}");
        assert!(missing["total_missing"].as_u64() > Some(0), "{missing}");
        let (code, retry) = server
            .post(&format!("/api/professional-report/retry/{id}"))
            .await;
        assert_eq!(code, StatusCode::OK, "{retry}");
        assert!(
            !retry["retry_result"]["retried_sources"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "{retry}"
        );
        let (code, again) = server
            .post(&format!("/api/professional-report/retry/{id}"))
            .await;
        assert_eq!(code, StatusCode::TOO_MANY_REQUESTS, "{again}");
        let (code, rs) = server
            .get(&format!("/api/professional-report/retry-status/{id}"))
            .await;
        assert_eq!(code, StatusCode::OK, "{rs}");
    }

    // The failed job through the same endpoints.
    server
        .wait_status(&failed_id, "failed", |s| status_is(s, "failed"))
        .await;
    for (path, expected) in [
        ("result", StatusCode::CONFLICT),
        ("missing-sources", StatusCode::OK),
        ("retry-status", StatusCode::OK),
    ] {
        let (code, body) = server
            .get(&format!("/api/professional-report/{path}/{failed_id}"))
            .await;
        assert_eq!(code, expected, "{path}: {body}");
    }
    let (code, body) = server
        .post(&format!("/api/professional-report/retry/{failed_id}"))
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");

    // One sweep by hand, as Vercel Cron calls it.
    let (code, _, cron) = server
        .call(
            reqwest::Method::GET,
            "/api/cron/retry-missing-data",
            None,
            &[("authorization", &cron_auth)],
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{cron}");

    // The scheduler's sweeps complete every report: the cron, called until
    // the retries after the manual ones are due and made.
    let started = std::time::Instant::now();
    loop {
        let mut open = Vec::new();
        for (_, id) in &jobs {
            let (code, status) = server
                .get(&format!("/api/professional-report/status/{id}"))
                .await;
            assert_eq!(code, StatusCode::OK, "{status}");
            if !status_is(&status, "completed") {
                open.push(status);
            }
        }
        if open.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "not completed by the sweeps within {DEADLINE:?}: {open:?}"
        );
        let (code, _, cron) = server
            .call(
                reqwest::Method::GET,
                "/api/cron/retry-missing-data",
                None,
                &[("authorization", &cron_auth)],
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{cron}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for (family, id) in &jobs {
        server
            .wait_status(id, "completed", |s| status_is(s, "completed"))
            .await;
        let (code, report) = server
            .get(&format!("/api/professional-report/result/{id}"))
            .await;
        assert_eq!(code, StatusCode::OK, "{report}");
        assert_eq!(report["is_partial"], false, "{report}");
        assert_eq!(report["report"]["clientName"], family.patient, "{report}");
        // The keyed sources loaded: their keys were sent and accepted.
        for source in ["cqc", "google_places", "firecrawl"] {
            let loaded = report["report"]["careHomes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|h| h["dataSources"][source] == "loaded");
            assert!(loaded, "no home of job {id} has {source} loaded: {report}");
        }
        let text = report.to_string().to_lowercase();
        for s in family.not_in_report() {
            assert!(
                !text.contains(&s.to_lowercase()),
                "the report of job {id} contains {s:?}"
            );
        }
    }

    let log = server.stop();
    let log_lower = log.to_lowercase();

    // The capture holds what this run logged: trace-level lines, every
    // job, failed fetches, refused requests, sweeps.
    let trace = if json_logs {
        r#""level":"trace""#
    } else {
        " trace "
    };
    assert!(log_lower.contains(trace), "no trace-level line captured");
    for (_, id) in &jobs {
        assert!(log.contains(id.as_str()), "job {id} is not in the log");
    }
    assert!(
        log.contains(&failed_id),
        "job {failed_id} is not in the log"
    );
    for expected in [
        "job created",
        "source fetch failed",
        "round finished",
        "request refused",
        "sweep finished",
    ] {
        assert!(log.contains(expected), "the log lacks {expected:?}");
    }
    if json_logs {
        let stderr = log
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("stdout: "));
        for line in stderr {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
            assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
        }
    }

    // Nothing personal, no key, no secret in the log.
    let mut personal: Vec<String> = FAMILIES.iter().flat_map(|f| f.secrets()).collect();
    personal.push(POSTCODE.to_owned());
    personal.sort();
    personal.dedup();
    let leaks: Vec<String> = personal
        .iter()
        .chain(&forbidden.keys)
        .filter_map(|s| {
            let at = log_lower.find(&s.to_lowercase())?;
            let start = log_lower[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = log_lower[at..]
                .find('\n')
                .map_or(log_lower.len(), |i| at + i);
            Some(format!(
                "{s:?} in (lower-cased): {}",
                &log_lower[start..end]
            ))
        })
        .collect();
    assert!(leaks.is_empty(), "the log leaks:\n{}", leaks.join("\n"));

    // No key or secret in any answer; no section-1 data in any answer but
    // the reports (the patient's name) and the refusals that echo what the
    // client sent (the invalid answer, the malformed job id).
    assert!(
        server.answers.len() > 40,
        "{} answers",
        server.answers.len()
    );
    for (what, body) in &server.answers {
        let text = body.to_string().to_lowercase();
        for key in &forbidden.keys {
            assert!(
                !text.contains(&key.to_lowercase()),
                "{what} answered a key: {body}"
            );
        }
        let echoes = body["error"]["code"] == "validation_failed"
            || body["error"]["code"] == "invalid_job_id";
        let is_report = body["report"].get("clientName").is_some();
        if echoes || is_report {
            continue;
        }
        for s in &personal {
            assert!(
                !text.contains(&s.to_lowercase()),
                "{what} answered {s:?}: {body}"
            );
        }
    }
    jobs
}

/// Memory store, the built-in sandbox (it sends its own keys), text logs.
/// Keys set in the environment are not used in sandbox mode; they must not
/// be echoed either.
#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_in_memory_with_the_built_in_sandbox_hold_no_personal_data_or_keys() {
    let mut env = vars(&[
        ("RUST_LOG", "trace"),
        ("SANDBOX_FAULTS", FAULTS),
        ("CRON_SECRET", CRON_SECRET),
    ]);
    env.extend(vars(&RETRY_ENV));
    env.extend(vars(&LIVE_KEYS));
    let server = Server::start("memory", Store::Memory, &env);
    let mut keys: Vec<String> = [CQC_KEY, GOOGLE_PLACES_KEY, FIRECRAWL_KEY, CRON_SECRET]
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    keys.extend(LIVE_KEYS.iter().map(|(_, v)| (*v).to_owned()));
    exercise_and_check(server, Forbidden { keys }, false).await;
}

/// Redis store, the live adapters configured from the environment with
/// distinctive keys (pointed at a sandbox run by this test that accepts
/// only those keys, with the same faults), and Vercel's JSON logs.
#[tokio::test(flavor = "multi_thread")]
async fn trace_json_logs_on_redis_with_live_adapters_hold_no_personal_data_or_keys() {
    let keys = SandboxKeys {
        cqc: LIVE_KEYS[0].1.to_owned(),
        google_places: LIVE_KEYS[1].1.to_owned(),
        firecrawl: LIVE_KEYS[2].1.to_owned(),
        companies_house: LIVE_KEYS[3].1.to_owned(),
    };
    let sandbox = Sandbox::start_with_keys(
        Directory::demo().homes().to_vec(),
        FaultPlan::parse(FAULTS).expect("fault plan"),
        keys,
    )
    .await
    .expect("sandbox");
    let upstream = sandbox.sources_config();
    let mut env = vars(&[
        ("RUST_LOG", "trace"),
        ("VERCEL", "1"),
        ("CRON_SECRET", CRON_SECRET),
        ("SOURCES_MODE", "live"),
        ("CQC_BASE_URL", upstream.cqc.base_url.as_str()),
        ("FSA_BASE_URL", upstream.fsa.base_url.as_str()),
        (
            "GOOGLE_PLACES_BASE_URL",
            upstream.google_places.base_url.as_str(),
        ),
        ("POSTCODES_BASE_URL", upstream.postcodes.base_url.as_str()),
        ("OVERPASS_BASE_URL", upstream.overpass.base_url.as_str()),
        ("FIRECRAWL_BASE_URL", upstream.firecrawl.base_url.as_str()),
        (
            "COMPANIES_HOUSE_BASE_URL",
            upstream.companies_house.base_url.as_str(),
        ),
        // Live mode calls Overpass only with a contact in the agent.
        ("SOURCES_CONTACT", "ops@care-report.example"),
    ]);
    for var in [
        "CQC",
        "FSA",
        "GOOGLE_PLACES",
        "POSTCODES",
        "OVERPASS",
        "FIRECRAWL",
        "COMPANIES_HOUSE",
    ] {
        env.push((format!("{var}_TIMEOUT_MS"), "2000".to_owned()));
    }
    env.extend(vars(&RETRY_ENV));
    env.extend(vars(&LIVE_KEYS));
    let prefix = test_redis::unique_prefix();
    let server = Server::start("redis", Store::Redis(&prefix), &env);
    let mut forbidden: Vec<String> = LIVE_KEYS.iter().map(|(_, v)| (*v).to_owned()).collect();
    forbidden.push(CRON_SECRET.to_owned());
    let jobs = exercise_and_check(server, Forbidden { keys: forbidden }, true).await;

    // The live adapters reached the sandbox with the configured keys: every
    // keyed source loaded for the reports (a wrong key would have failed
    // them for good), after the faulty attempts.
    for source in [
        SourceType::Cqc,
        SourceType::GooglePlaces,
        SourceType::Firecrawl,
    ] {
        assert!(sandbox.requests(source) >= 15, "{source}");
    }
    // Companies House is asked once per provider (cached across jobs).
    assert!(sandbox.requests(SourceType::CompaniesHouse) >= 1);

    // What Redis holds is what docs/PERSONAL_DATA.md says: the jobs' keys
    // (the questionnaire in its stored form: the patient's name and
    // sections 2-6, no e-mail, phone or emergency contact) and the
    // idempotency key, every one with a TTL; no key name carries personal
    // data.
    let store = test_redis::store_with_prefix(&prefix, Retention::default()).await;
    let (family, id) = &jobs[0];
    let job = store
        .get(JobId::parse(id).expect("job id"))
        .await
        .expect("read job")
        .expect("job kept");
    assert_eq!(
        job.questionnaire["section_1_contact_emergency"],
        serde_json::json!({ "q1_names": family.patient }),
        "section 1 keeps only the patient's name"
    );
    let stored = job.questionnaire.to_string();
    assert!(!stored.contains(family.email), "{stored}");
    // (The due index is gone: every job is completed or failed, and Redis
    // drops an empty sorted set.)
    let names = test_redis::keys(&prefix).await;
    // The idempotency key is stored hashed with the client's address hash
    // (per-client scope), never as sent.
    assert!(
        names
            .iter()
            .any(|n| n.starts_with(&format!("{prefix}idem:"))),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains(IDEMPOTENCY_KEY)),
        "{names:?}"
    );
    for name in &names {
        let rest = name.strip_prefix(&prefix).unwrap_or(name);
        // The shared source cache: keyed by source and home id, a home's
        // postcode, a rounded point or a provider's company number, or an
        // upstream host (no personal data).
        let cache_key = rest.strip_prefix("cache:").is_some_and(|r| {
            let source = r.split(':').next().unwrap_or("");
            [
                "cqc",
                "fsa",
                "google_places",
                "firecrawl",
                "postcodes",
                "overpass",
                "companies_house",
            ]
            .contains(&source)
        }) || rest.starts_with("lease:");
        // The operators' console's indexes and counters (store::ops):
        // job ids, counts and times only.
        let ops_key = rest.strip_prefix("ops:").is_some_and(|r| {
            ["jobs", "ids", "expiry", "sweeps"].contains(&r)
                || r.strip_prefix("status:").is_some_and(|st| {
                    ["pending", "processing", "completed", "partial", "failed"].contains(&st)
                })
                || r.strip_prefix("hour:")
                    .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()))
        });
        let known = rest == "due"
            || cache_key
            || ops_key
            || rest
                .strip_prefix("idem:")
                .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            || rest.strip_prefix("job:").is_some_and(|r| {
                let (id, suffix) = r.split_once(':').unwrap_or((r, ""));
                JobId::parse(id).is_ok() && ["", "slots", "data", "history"].contains(&suffix)
            });
        assert!(known, "unexpected Redis key {name}");
    }
    let bare = test_redis::keys_without_ttl(&prefix).await;
    assert!(bare.is_empty(), "keys without a TTL: {bare:?}");
}

/// Owned environment pairs.
fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
