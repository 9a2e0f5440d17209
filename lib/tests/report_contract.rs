//! The report contract: `schema/professional_report.schema.json`, written
//! from the original frontend's types for the fields its page reads, holds
//! for the synchronous answer (`POST /api/professional-report`) and the
//! `result` view produced from several test questionnaires, complete and
//! partial, on the memory store and on Redis; and it refuses each trap of
//! CLIENT_CONTRACT.md §3 (a numeric `distance`, a null `matchScore`, a
//! missing factor `category`, an empty section object), so it is not a
//! schema that passes anything.
//!
//! Also: the stored questionnaire holds no e-mail, phone or unknown field,
//! on both stores.

mod support;

use std::sync::Arc;

use bytes::Bytes;
use care_report::engine::SystemClock;
use care_report::http::App;
use care_report::model::JobId;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::store::{JobStore, MemoryStore};
use care_report_testing::app::TestApp;
use care_report_testing::rig::EngineRig;
use serde_json::{json, Value};

const SCHEMA: &str = include_str!("schema/professional_report.schema.json");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// Every violation, one per line (empty when valid).
fn violations(v: &jsonschema::Validator, instance: &Value) -> String {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn base() -> Value {
    serde_json::from_str(include_str!("fixtures/questionnaire.json")).unwrap()
}

/// The test questionnaires: the fixture and variants using the client's
/// newer values (invented people).
fn questionnaires() -> Vec<(&'static str, Value)> {
    let mut nursing = base();
    nursing["section_3_medical_needs"]["q8_care_types"] = json!(["medical_nursing"]);
    nursing["section_3_medical_needs"]["q9_medical_conditions"] =
        json!(["diabetes", "heart_conditions"]);
    nursing["section_3_medical_needs"]["q11_medication_management"] =
        json!("full_administration_required");
    nursing["section_4_safety_special_needs"]["q15_dietary_requirements"] =
        json!(["diabetic_diet", "vegetarian_vegan"]);
    nursing["section_4_safety_special_needs"]["q13_fall_history"] = json!("high_risk_of_falling");
    nursing["section_5_timeline"]["q17_placement_timeline"] = json!("urgent_2_weeks");

    let mut respite = base();
    respite["section_3_medical_needs"]["q8_care_types"] = json!(["temporary_respite"]);
    respite["section_3_medical_needs"]["q9_medical_conditions"] = json!(["no_serious_medical"]);
    respite["section_3_medical_needs"]["q11_medication_management"] = json!("independent");
    respite["section_2_location_budget"]["q6_max_distance"] = json!("distance_not_important");

    let mut residential = base();
    residential["section_3_medical_needs"]["q8_care_types"] = json!(["general_residential"]);
    residential["section_3_medical_needs"]["q9_medical_conditions"] = json!(["no_serious_medical"]);
    residential["section_3_medical_needs"]["q11_medication_management"] = json!("none");
    residential["section_2_location_budget"]["q7_budget"] = json!("under_3000_local");
    residential["section_4_safety_special_needs"]["q14_allergies"] = json!([]);
    residential["section_4_safety_special_needs"]["q15_dietary_requirements"] = json!([]);
    let s4 = residential["section_4_safety_special_needs"]
        .as_object_mut()
        .unwrap();
    s4.remove("q16_social_personality");
    residential["section_5_timeline"]["q16_social_personality"] = json!("social");
    residential["section_6_priorities"]["q18_priority_ranking"]["priority_order"] = json!([
        "comfort_amenities",
        "cost_financial",
        "location_social",
        "quality_reputation"
    ]);
    residential["unknown_field"] = json!("dropped");

    vec![
        ("dementia", base()),
        ("nursing", nursing),
        ("respite", respite),
        ("residential", residential),
    ]
}

async fn app(store: Arc<dyn JobStore>, faults: &str) -> (App, Arc<Sandbox>) {
    let spawned = TestApp::builder(
        EngineRig::new(store)
            .faults(FaultPlan::parse(faults).unwrap())
            .clock(Arc::new(SystemClock)),
    )
    .build()
    .await;
    (spawned.api.app().clone(), spawned.sandbox)
}

async fn call(app: &App, req: ::http::Request<Bytes>) -> (u16, Value) {
    let resp = TestApp::new(app.clone()).send(req).await;
    let status = resp.status().as_u16();
    (status, serde_json::from_slice(resp.body()).unwrap())
}

async fn sync_answer(app: &App, q: &Value) -> (u16, Value) {
    let req = ::http::Request::post("/api/professional-report")
        .header("content-type", "application/json")
        .body(Bytes::from(serde_json::to_vec(q).unwrap()))
        .unwrap();
    call(app, req).await
}

async fn contract_holds(store: Arc<dyn JobStore>) {
    let v = validator();
    for faults in ["", "google_places:status=503"] {
        let (app, _sandbox) = app(store.clone(), faults).await;
        for (name, q) in questionnaires() {
            let (code, answer) = sync_answer(&app, &q).await;
            assert_eq!(code, 200, "{name} [{faults}]: {answer}");
            let expected = if faults.is_empty() {
                "completed"
            } else {
                "partial"
            };
            assert_eq!(answer["status"], expected, "{name}");
            assert_eq!(violations(&v, &answer), "", "{name} [{faults}]: {answer}");
            assert!(answer.get("job_id").is_none());

            // The result view: the same envelope plus the job's facts.
            let id = answer["report"]["jobId"].as_str().unwrap().to_owned();
            let req = ::http::Request::get(format!("/api/professional-report/result/{id}"))
                .body(Bytes::new())
                .unwrap();
            let (code, result) = call(&app, req).await;
            assert_eq!(code, 200, "{result}");
            assert_eq!(violations(&v, &result), "", "{name} result: {result}");
            assert_eq!(result["job_id"], id.as_str());
            assert_eq!(result["is_partial"], !faults.is_empty());

            // What is stored: no e-mail, phone, emergency contact or unknown
            // field (read from the store itself).
            let job = store
                .get(JobId::parse(&id).unwrap())
                .await
                .unwrap()
                .unwrap();
            let stored = job.questionnaire.to_string();
            for gone in [
                "family@example.invalid",
                "+44 7000 00000",
                "Test Family",
                "Test Contact",
                "unknown_field",
                "q2_email",
                "q3_phone",
                "q4_emergency_contact",
                "profile_description",
            ] {
                assert!(!stored.contains(gone), "{name}: {gone} stored: {stored}");
            }
            assert_eq!(
                job.questionnaire, answer["questionnaire"],
                "the echo is what is stored"
            );
            assert_eq!(
                job.questionnaire["section_1_contact_emergency"],
                json!({"q1_names": "Ada Example"})
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_contract_holds_on_memory() {
    contract_holds(Arc::new(MemoryStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_contract_holds_on_redis() {
    contract_holds(support::redis_store().await).await;
}

/// A named way to break an answer.
type Trap = (&'static str, fn(&mut Value));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_refuses_each_trap_of_the_contract() {
    let v = validator();
    let (app, _sandbox) = app(Arc::new(MemoryStore::default()), "").await;
    let (code, good) = sync_answer(&app, &base()).await;
    assert_eq!(code, 200, "{good}");
    assert_eq!(violations(&v, &good), "");

    // The judgement's sections are in the answer, complete.
    for section in [
        "executiveSummary",
        "riskAssessment",
        "comparativeAnalysis",
        "negotiationStrategy",
        "nextSteps",
        "fundingGuidance",
    ] {
        assert!(
            good["report"][section].is_object(),
            "{section} missing from {}",
            good["report"]
        );
    }
    let traps: [Trap; 12] = [
        ("a numeric distance", |a| {
            a["report"]["careHomes"][0]["distance"] = json!(9.1)
        }),
        ("a null matchScore", |a| {
            a["report"]["careHomes"][0]["matchScore"] = Value::Null
        }),
        ("a missing factor category", |a| {
            a["report"]["careHomes"][0]["factorScores"][0]
                .as_object_mut()
                .unwrap()
                .remove("category");
        }),
        ("an empty section object", |a| {
            a["report"]["fundingOptimization"] = json!({})
        }),
        ("an empty source block", |a| {
            a["report"]["careHomes"][0]["areaMap"] = json!({})
        }),
        ("no careHomes", |a| {
            a["report"].as_object_mut().unwrap().remove("careHomes");
        }),
        ("analysisSummary not an object", |a| {
            a["report"]["analysisSummary"] = json!("n/a")
        }),
        ("an empty riskAssessment", |a| {
            a["report"]["riskAssessment"] = json!({})
        }),
        ("a red flag without its severity", |a| {
            let home = &mut a["report"]["riskAssessment"]["homes_assessment"][0];
            home["red_flags"] = json!([{"type": "cqc", "title": "t", "description": "d",
                                        "impact": "i", "recommendation": "r"}]);
        }),
        ("a risk category without its status", |a| {
            a["report"]["riskAssessment"]["homes_assessment"][0]["staff_assessment"]
                .as_object_mut()
                .unwrap()
                .remove("status");
        }),
        ("a next step whose rank is a string", |a| {
            a["report"]["nextSteps"]["recommendedActions"][0]["homeRank"] = json!("1")
        }),
        ("comparativeAnalysis without its table", |a| {
            a["report"]["comparativeAnalysis"]
                .as_object_mut()
                .unwrap()
                .remove("comparison_table");
        }),
    ];
    for (what, break_it) in traps {
        let mut bad = good.clone();
        break_it(&mut bad);
        assert!(
            !violations(&v, &bad).is_empty(),
            "the schema accepts {what}"
        );
    }
}
