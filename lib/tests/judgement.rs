//! The report's judgement end to end: three contrasting questionnaires over
//! the demo directory (snapshots of every section), an operators' export of
//! our own in the 95-column format whose homes trip each CQC rule, and the
//! client-shape contract of every section (complete, or absent).
//!
//! Snapshots are plain JSON in `lib/tests/snapshots/`. After an intended
//! change, rewrite them with `UPDATE_SNAPSHOTS=1 cargo test -p care-report
//! --test judgement` and review the diff.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use care_report::directory::Directory;
use care_report::facts::HomeSources;
use care_report::geo::city_location;
use care_report::judgement::{judge, FamilyNeeds, HomeFacts, JudgementInput, Selection};
use care_report::matching::CareNeed;
use care_report::model::{Slot, SlotKey, SlotStatus, SourceType};
use care_report::questionnaire::Questionnaire;
use care_report::report::{judgement_input, Plan};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 9, 0, 0).unwrap()
}

/// The answers a test varies.
struct Answers<'a> {
    city: &'a str,
    distance: &'a str,
    budget: &'a str,
    care: &'a [&'a str],
    conditions: &'a [&'a str],
    mobility: &'a str,
    medication: &'a str,
    falls: &'a str,
    diets: &'a [&'a str],
    timeline: &'a str,
}

fn questionnaire(a: Answers<'_>) -> Questionnaire {
    let Answers {
        city,
        distance,
        budget,
        care,
        conditions,
        mobility,
        medication,
        falls,
        diets,
        timeline,
    } = a;
    let v = json!({
        "section_1_contact_emergency": {
            "q1_names": "Contact: Test Family; Patient: Ada Example",
            "q2_email": "family@example.invalid", "q3_phone": "+44 7000 000000",
            "q4_emergency_contact": "Test Contact"
        },
        "section_2_location_budget": {
            "q5_preferred_city": city, "q6_max_distance": distance, "q7_budget": budget
        },
        "section_3_medical_needs": {
            "q8_care_types": care, "q9_medical_conditions": conditions,
            "q10_mobility_level": mobility, "q11_medication_management": medication,
            "q12_age_range": "85_94"
        },
        "section_4_safety_special_needs": {
            "q13_fall_history": falls, "q14_allergies": ["no_allergies"],
            "q15_dietary_requirements": diets, "q16_social_personality": "moderately_sociable"
        },
        "section_5_timeline": {"q17_placement_timeline": timeline}
    });
    Questionnaire::parse(&v).unwrap_or_else(|e| panic!("fixture questionnaire invalid: {e:?}"))
}

/// Slots for every (home, source) of a plan with one status.
fn slots(plan: &Plan, status: SlotStatus) -> Vec<Slot> {
    plan.homes
        .iter()
        .flat_map(|s| {
            let status = status.clone();
            SourceType::ALL.iter().map(move |t| {
                let mut slot = Slot::pending(s.home.id.clone(), s.home.name.clone(), *t);
                slot.status = status.clone();
                slot
            })
        })
        .collect()
}

fn snapshot(name: &str, value: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/snapshots/judgement_{name}.json"));
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert!(
        stored == text,
        "snapshot {name} differs from {}; rerun with UPDATE_SNAPSHOTS=1 and review the diff",
        path.display()
    );
}

// ---- the client-shape contract ----

/// Checks `spec` paths (`a.b[].c:kind`, kind one of string, number, array,
/// object, bool, `?` suffix: may be absent or null) against `v`.
fn check(v: &Value, spec: &[&str], section: &str) {
    for line in spec {
        let (path, kind) = line.rsplit_once(':').unwrap();
        let (kind, optional) = kind.strip_suffix('?').map_or((kind, false), |k| (k, true));
        let parts: Vec<&str> = path.split('.').collect();
        walk(v, &parts, kind, optional, &format!("{section}.{path}"));
    }
}

fn walk(v: &Value, parts: &[&str], kind: &str, optional: bool, at: &str) {
    let Some((head, rest)) = parts.split_first() else {
        let ok = match kind {
            "string" => v.is_string(),
            "number" => v.is_number(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            "bool" => v.is_boolean(),
            _ => panic!("bad kind {kind}"),
        };
        assert!(
            ok || (optional && v.is_null()),
            "{at}: expected {kind}, got {v}"
        );
        return;
    };
    let (key, each) = head
        .strip_suffix("[]")
        .map_or((*head, false), |k| (k, true));
    let child = v.get(key).unwrap_or(&Value::Null);
    if child.is_null() {
        assert!(optional, "{at}: {key} missing");
        return;
    }
    if each {
        let items = child
            .as_array()
            .unwrap_or_else(|| panic!("{at}: {key} not an array"));
        for item in items {
            walk(item, rest, kind, optional, at);
        }
    } else {
        walk(child, rest, kind, optional, at);
    }
}

const FLAG: [&str; 6] = [
    "type",
    "severity",
    "title",
    "description",
    "impact",
    "recommendation",
];

fn check_sections(j: &Value) {
    // Each present section is complete in the client's shape (types.ts); an
    // absent one is absent, never `{}`.
    for key in [
        "riskAssessment",
        "comparativeAnalysis",
        "negotiationStrategy",
        "fundingGuidance",
        "nextSteps",
        "executiveSummary",
    ] {
        assert!(
            j[key].is_null() || j[key].as_object().is_some_and(|o| !o.is_empty()),
            "{key} is empty"
        );
    }
    if !j["riskAssessment"].is_null() {
        let mut spec: Vec<String> = vec![
            "homes_assessment:array",
            "homes_assessment[].home_id:string",
            "homes_assessment[].home_name:string",
            "homes_assessment[].risk_score:number",
            "homes_assessment[].overall_risk_level:string",
            "summary.total_homes_assessed:number",
            "summary.total_red_flags:number",
            "summary.risk_distribution.high:number",
            "summary.risk_distribution.medium:number",
            "summary.risk_distribution.low:number",
            "summary.flags_by_category.financial:number",
            "summary.flags_by_category.cqc:number",
            "summary.flags_by_category.staff:number",
            "summary.flags_by_category.pricing:number",
            "summary.highest_risk_homes[].home_name:string",
            "summary.highest_risk_homes[].risk_score:number",
            "summary.highest_risk_homes[].risk_level:string",
            "summary.highest_risk_homes[].red_flag_count:number",
            "summary.overall_assessment:string",
            "generated_at:string",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        for list in ["red_flags", "warnings"] {
            for f in FLAG {
                spec.push(format!("homes_assessment[].{list}[].{f}:string"));
            }
            for cat in ["financial", "cqc", "staff", "pricing"] {
                spec.push(format!("homes_assessment[].{cat}_assessment.{list}:array"));
                spec.push(format!(
                    "homes_assessment[].{cat}_assessment.risk_score:number"
                ));
                spec.push(format!("homes_assessment[].{cat}_assessment.status:string"));
                for f in FLAG {
                    spec.push(format!(
                        "homes_assessment[].{cat}_assessment.{list}[].{f}:string"
                    ));
                }
            }
        }
        let spec: Vec<&str> = spec.iter().map(String::as_str).collect();
        check(&j["riskAssessment"], &spec, "riskAssessment");
    }
    if !j["comparativeAnalysis"].is_null() {
        let c = &j["comparativeAnalysis"];
        check(
            c,
            &[
                "comparison_table[].category:string",
                "comparison_table[].metric:string",
                "comparison_table[].homes:object",
                "rankings.rankings[].rank:number",
                "rankings.rankings[].home_id:string",
                "rankings.rankings[].home_name:string",
                "rankings.rankings[].match_score:number",
                "rankings.statistics.highest_score:number",
                "rankings.statistics.lowest_score:number",
                "rankings.statistics.average_score:number",
                "price_comparison.statistics.lowest_weekly:number",
                "price_comparison.statistics.highest_weekly:number",
                "price_comparison.statistics.average_weekly:number",
                "price_comparison.best_value.home_name:string?",
                "price_comparison.best_value.match_score:number?",
                "price_comparison.best_value.weekly_price:number?",
                "key_differentiators[].title:string",
                "key_differentiators[].description:string",
                "key_differentiators[].home_name:string",
                "key_differentiators[].importance:string",
                "summary.recommendation:string",
                "generated_at:string",
            ],
            "comparativeAnalysis",
        );
        // The client takes the home keys from the first row and shows `Name`.
        let first = c["comparison_table"][0]["homes"].as_object().unwrap();
        assert_eq!(c["comparison_table"][0]["metric"], "Name");
        assert_eq!(
            first.len(),
            c["summary"]["total_homes_compared"].as_u64().unwrap() as usize
        );
    }
    if !j["negotiationStrategy"].is_null() {
        check(&j["negotiationStrategy"], &[
            "market_rate_analysis.uk_average_weekly:number", "market_rate_analysis.regional_average_weekly:number",
            "market_rate_analysis.region:string", "market_rate_analysis.care_type:string",
            "market_rate_analysis.market_price_range.minimum:number", "market_rate_analysis.market_price_range.maximum:number",
            "market_rate_analysis.market_price_range.average:number",
            "market_rate_analysis.price_comparison[].home_name:string", "market_rate_analysis.price_comparison[].weekly_price:number",
            "market_rate_analysis.price_comparison[].vs_regional_average:number", "market_rate_analysis.price_comparison[].vs_uk_average:number",
            "market_rate_analysis.price_comparison[].positioning:string",
            "market_rate_analysis.price_comparison[].negotiation_potential.potential:string",
            "market_rate_analysis.price_comparison[].negotiation_potential.discount_range:string",
            "market_rate_analysis.price_comparison[].negotiation_potential.reasoning:string",
            "market_rate_analysis.price_comparison[].negotiation_potential.recommended_approach:string",
            "market_rate_analysis.value_positioning.best_value.home_name:string?",
            "market_rate_analysis.value_positioning.best_value.weekly_price:number?",
            "market_rate_analysis.value_positioning.best_value.value_score:number?",
            "market_rate_analysis.value_positioning.best_value.match_score:number?",
            "market_rate_analysis.market_insights:array",
            "discount_negotiation_points.available_discounts[].title:string",
            "discount_negotiation_points.available_discounts[].description:string",
            "discount_negotiation_points.available_discounts[].potential_discount:string",
            "discount_negotiation_points.available_discounts[].reasoning:string",
            "discount_negotiation_points.available_discounts[].how_to_negotiate:string",
            "discount_negotiation_points.available_discounts[].priority:string",
            "discount_negotiation_points.total_potential_discount.conservative_range:string",
            "discount_negotiation_points.total_potential_discount.optimistic_range:string",
            "discount_negotiation_points.total_potential_discount.realistic_expectation:string",
            "discount_negotiation_points.total_potential_discount.note:string",
            "discount_negotiation_points.negotiation_strategy.opening_strategy:array",
            "discount_negotiation_points.negotiation_strategy.key_talking_points:array",
            "discount_negotiation_points.negotiation_strategy.timing:string",
            "discount_negotiation_points.negotiation_strategy.approach:string",
            "discount_negotiation_points.negotiation_strategy.red_flags:array",
            "contract_review_checklist.essential_terms[].term:string",
            "contract_review_checklist.essential_terms[].what_to_check:string",
            "contract_review_checklist.essential_terms[].red_flags:array",
            "contract_review_checklist.recommended_additions:array",
            "contract_review_checklist.negotiation_leverage_points[].home_name:string",
            "contract_review_checklist.negotiation_leverage_points[].leverage:string",
            "contract_review_checklist.negotiation_leverage_points[].suggestion:string",
            "email_templates.initial_inquiry.template:string", "email_templates.initial_inquiry.when_to_use:string",
            "email_templates.initial_inquiry.customization_notes:string",
            "email_templates.negotiation_followup.template:string", "email_templates.contract_clarification.template:string",
            "questions_to_ask_at_visit.questions_by_category:object",
            "questions_to_ask_at_visit.priority_questions:array", "questions_to_ask_at_visit.red_flag_questions:array",
            "generated_at:string",
        ], "negotiationStrategy");
    }
    if !j["nextSteps"].is_null() {
        check(
            &j["nextSteps"],
            &[
                "recommendedActions[].homeName:string",
                "recommendedActions[].homeRank:number",
                "recommendedActions[].action:string",
                "recommendedActions[].timeline:string",
                "recommendedActions[].priority:string",
                "questionsForHomeManager.medicalCare:array",
                "questionsForHomeManager.staffQualifications:array",
                "questionsForHomeManager.cqcFeedback:array",
                "questionsForHomeManager.financialStability:array",
                "questionsForHomeManager.trialPeriod:array",
                "questionsForHomeManager.cancellationTerms:array",
                "generated_at:string",
            ],
            "nextSteps",
        );
    }
    if !j["executiveSummary"].is_null() {
        check(
            &j["executiveSummary"],
            &[
                "personalizedMatching:string",
                "precisionMatching:string",
                "deepAnalysis:string",
                "expertInsights:string",
            ],
            "executiveSummary",
        );
    }
    check(
        j,
        &[
            "homeSummaries[].homeId:string",
            "homeSummaries[].matchReason:string",
            "homeSummaries[].category_labels:array",
        ],
        "judgement",
    );
    // Every traced statement names an existing rule and its evidence.
    let ids: Vec<&str> = care_report::judgement::rules::RULES
        .iter()
        .map(|r| r.id)
        .collect();
    let mut stack = vec![j];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(o) => {
                if let Some(id) = o.get("ruleId") {
                    assert!(ids.contains(&id.as_str().unwrap()), "unknown rule {id}");
                    assert!(o["evidence"].is_array() && o["threshold"].is_string());
                }
                stack.extend(o.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
}

fn run(
    q: &Questionnaire,
    directory: &Directory,
    status: SlotStatus,
    data: &[(SlotKey, Value)],
) -> Value {
    let origin = city_location(&q.location.preferred_city).expect("built-in city");
    let plan = Plan::from_origin(q, directory, origin, now()).expect("a plan");
    let mut slots = slots(&plan, status);
    for s in &mut slots {
        if data
            .iter()
            .any(|(k, _)| k.home_id == s.home_id && k.source_type == s.source_type)
        {
            s.status = SlotStatus::Loaded;
        }
    }
    let needs = FamilyNeeds::from_questionnaire(q);
    let input = judgement_input(needs, &plan, &slots, data, directory);
    let j = serde_json::to_value(judge(&input, now())).unwrap();
    check_sections(&j);
    j
}

#[test]
fn snapshot_residential_self_funded_birmingham() {
    let q = questionnaire(Answers {
        city: "Birmingham",
        distance: "within_15km",
        budget: "3000_5000_self",
        care: &["general_residential"],
        conditions: &["no_serious_medical"],
        mobility: "fully_mobile",
        medication: "simple_1_2",
        falls: "no_falls_occurred",
        diets: &["no_special_requirements"],
        timeline: "planning_2_3_months",
    });
    let j = run(&q, &Directory::demo(), SlotStatus::NotConfigured, &[]);
    assert!(j["riskAssessment"]["missingInputs"]
        .as_array()
        .unwrap()
        .is_empty());
    snapshot("residential_birmingham", &j);
}

#[test]
fn snapshot_nursing_dementia_urgent_council_funded_manchester_partial() {
    let q = questionnaire(Answers {
        city: "Manchester",
        distance: "within_30km",
        budget: "5000_7000_local",
        care: &["medical_nursing", "specialised_dementia"],
        conditions: &["dementia_alzheimers", "diabetes"],
        mobility: "wheelchair_permanent",
        medication: "many_complex_routine",
        falls: "3_plus_or_serious_injuries",
        diets: &["diabetic_diet", "pureed_soft_food"],
        timeline: "urgent_2_weeks",
    });
    // Partial: every source still pending.
    let j = run(&q, &Directory::demo(), SlotStatus::Pending, &[]);
    assert!(!j["riskAssessment"]["missingInputs"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(j["nextSteps"]["compressed"], true);
    let routes: Vec<&str> = j["fundingGuidance"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["route"].as_str().unwrap())
        .collect();
    assert!(
        routes.contains(&"chc_screening")
            && routes.contains(&"nursing_care_contribution")
            && routes.contains(&"council_assessment")
    );
    snapshot("nursing_dementia_manchester", &j);
}

#[test]
fn snapshot_leeds_guidance_with_loaded_sources() {
    let q = questionnaire(Answers {
        city: "Leeds",
        distance: "distance_not_important",
        budget: "need_budget_guidance",
        care: &["general_residential"],
        conditions: &["mobility_problems"],
        mobility: "walking_aids",
        medication: "several_simple_routine",
        falls: "1_2_no_serious_injuries",
        diets: &["no_special_requirements"],
        timeline: "exploring_6_plus_months",
    });
    let directory = Directory::demo();
    let origin = city_location("Leeds").unwrap();
    let plan = Plan::from_origin(&q, &directory, origin, now()).unwrap();
    let first = plan.homes[0].home.id.clone();
    let second = plan.homes[1].home.id.clone();
    // Source data in the shapes the adapters store (our own values).
    let data = vec![
        (
            SlotKey::new(&first, SourceType::Cqc),
            json!({
            "locationId": first, "registrationStatus": "Registered", "overallRating": "Requires improvement",
            "keyQuestionRatings": {"safe": "Requires improvement", "effective": "Good", "caring": "Good",
                "responsive": "Good", "wellLed": "Requires improvement"},
            "lastInspectionDate": "2024-01-09"}),
        ),
        (
            SlotKey::new(&first, SourceType::Fsa),
            json!({
            "fhrsId": 1, "ratingValue": "2", "rating": 2, "ratingDate": "2025-11-02",
            "scores": {"hygiene": 15, "structural": 10, "confidenceInManagement": 20}}),
        ),
        (
            SlotKey::new(&second, SourceType::GooglePlaces),
            json!({
            "placeId": "p", "rating": 3.1, "userRatingCount": 27, "reviews": [
                {"rating": 1.0, "text": "Short staffed every weekend, call bells ignored."},
                {"rating": 2.0, "text": "Lovely building but clearly understaffed."},
                {"rating": 5.0, "text": "Kind staff."}]}),
        ),
    ];
    let j = run(&q, &directory, SlotStatus::NotConfigured, &data);
    let h0 = &j["riskAssessment"]["homes_assessment"][0];
    let red: Vec<&str> = h0["red_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["ruleId"].as_str().unwrap())
        .collect();
    assert!(red.contains(&"cqc.overall_requires_improvement"), "{red:?}");
    assert!(
        red.contains(&"cqc.safe_or_well_led_requires_improvement"),
        "{red:?}"
    );
    assert!(red.contains(&"fsa.rating_2_or_below"), "{red:?}");
    let h1 = &j["riskAssessment"]["homes_assessment"][1];
    let warn: Vec<&str> = h1["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["ruleId"].as_str().unwrap())
        .collect();
    assert!(
        warn.contains(&"google.low_rating") && warn.contains(&"google.recurring_complaint"),
        "{warn:?}"
    );
    snapshot("guidance_leeds_loaded", &j);
}

// ---- the operators' export format ----

fn plain_leeds() -> Questionnaire {
    questionnaire(Answers {
        city: "Leeds",
        distance: "within_15km",
        budget: "3000_5000_self",
        care: &["general_residential"],
        conditions: &["no_serious_medical"],
        mobility: "fully_mobile",
        medication: "simple_1_2",
        falls: "no_falls_occurred",
        diets: &["diabetic_diet"],
        timeline: "next_month",
    })
}

fn fixture_directory() -> Directory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/judgement_homes.csv");
    let (dir, report) = Directory::from_csv_path(&path).expect("fixture export loads");
    assert_eq!((report.loaded, report.skipped), (10, 0));
    dir
}

#[test]
fn export_homes_trip_each_cqc_rule_with_their_evidence() {
    let dir = fixture_directory();
    let care = CareNeed {
        residential: true,
        ..CareNeed::default()
    };
    // The deregistered home: the CQC API's record says so (our own record).
    let data = vec![(
        SlotKey::new("FIX-0010", SourceType::Cqc),
        json!({"locationId": "FIX-0010", "registrationStatus": "Deregistered", "deregistrationDate": "2026-03-31",
            "overallRating": "Good", "keyQuestionRatings": {}, "lastInspectionDate": "2025-06-30"}),
    )];
    let homes: Vec<HomeFacts> = dir
        .homes()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            HomeFacts::from_home(
                i + 1,
                h,
                Some(70.0 - i as f64),
                Some(2.0),
                &care,
                &HomeSources::of(&data, &h.id),
                &[],
            )
        })
        .collect();
    let mut input = JudgementInput {
        needs: FamilyNeeds::from_questionnaire(&plain_leeds()),
        homes,
        market: None,
        selection: Selection::default(),
    };
    input.needs.care = care;
    let j = serde_json::to_value(judge(&input, now())).unwrap();
    check_sections(&j);
    let homes = j["riskAssessment"]["homes_assessment"].as_array().unwrap();
    let flags = |id: &str| -> Vec<Value> {
        let h = homes.iter().find(|h| h["home_id"] == id).unwrap();
        h["red_flags"]
            .as_array()
            .unwrap()
            .iter()
            .chain(h["warnings"].as_array().unwrap())
            .filter(|f| f["ruleId"].as_str().unwrap().starts_with("cqc."))
            .cloned()
            .collect()
    };
    let only = |id: &str, rule: &str| -> Value {
        let f = flags(id);
        assert_eq!(f.len(), 1, "{id}: {f:#?}");
        assert_eq!(f[0]["ruleId"], rule, "{id}");
        f[0]["evidence"].clone()
    };
    let ev = |e: &Value, field: &str| -> Value {
        e.as_array()
            .unwrap()
            .iter()
            .find(|x| x["field"] == field)
            .map(|x| x["value"].clone())
            .unwrap_or(Value::Null)
    };
    assert!(flags("FIX-0001").is_empty());
    let e = only("FIX-0002", "cqc.overall_inadequate");
    assert_eq!(
        (ev(&e, "overall"), ev(&e, "last_inspection")),
        (json!("Inadequate"), json!("2025-05-01"))
    );
    let e = only("FIX-0003", "cqc.overall_requires_improvement");
    assert_eq!(ev(&e, "overall"), json!("Requires improvement"));
    let e = only("FIX-0004", "cqc.safe_or_well_led_inadequate");
    assert_eq!(
        (ev(&e, "key_question"), ev(&e, "rating")),
        (json!("Safe"), json!("Inadequate"))
    );
    let e = only("FIX-0005", "cqc.safe_or_well_led_requires_improvement");
    assert_eq!(
        (ev(&e, "key_question"), ev(&e, "rating")),
        (json!("Well-led"), json!("Requires improvement"))
    );
    let e = only("FIX-0006", "cqc.other_key_question_inadequate");
    assert_eq!(ev(&e, "key_question"), json!("Caring"));
    let e = only("FIX-0007", "cqc.other_key_question_requires_improvement");
    assert_eq!(ev(&e, "key_question"), json!("Responsive"));
    let e = only("FIX-0008", "cqc.inspection_over_2_years");
    assert_eq!(
        (ev(&e, "last_inspection"), ev(&e, "age")),
        (json!("2023-01-10"), json!("3 years and 5 months"))
    );
    let e = only("FIX-0009", "cqc.not_rated");
    assert_eq!(ev(&e, "origin"), json!("directory"));
    let e = only("FIX-0010", "cqc.deregistered");
    assert_eq!(
        (ev(&e, "registration_status"), ev(&e, "origin")),
        (json!("Deregistered"), json!("cqc_api"))
    );
    assert_eq!(ev(&e, "deregistration_date"), json!("2026-03-31"));
    // Only facts held: no financial or staff flags, status says so.
    for h in homes {
        assert_eq!(h["financial_assessment"]["status"], "no_data");
        assert_eq!(h["staff_assessment"]["red_flags"], json!([]));
    }
}

#[test]
fn export_as_the_directory_gives_a_market_and_all_sections() {
    let dir = fixture_directory();
    let q = plain_leeds();
    let j = run(&q, &dir, SlotStatus::NotConfigured, &[]);
    for key in [
        "riskAssessment",
        "comparativeAnalysis",
        "negotiationStrategy",
        "fundingGuidance",
        "nextSteps",
        "executiveSummary",
    ] {
        assert!(j[key].is_object(), "{key} absent");
    }
    let m = &j["negotiationStrategy"]["market_rate_analysis"];
    assert_eq!(m["market_price_range"]["sample_size"], 10);
    assert_eq!(m["market_price_range"]["median"], 1010.0);
    assert_eq!(m["market_price_range"]["minimum"], 900.0);
    assert_eq!(m["market_price_range"]["maximum"], 1250.0);
    let qs = &j["negotiationStrategy"]["questions_to_ask_at_visit"]["questions_by_category"];
    assert!(qs["diet"].as_array().unwrap()[0]
        .as_str()
        .unwrap()
        .contains("diabetic"));
}

#[test]
fn no_homes_means_no_sections() {
    let input = JudgementInput {
        needs: FamilyNeeds::from_questionnaire(&plain_leeds()),
        homes: vec![],
        market: None,
        selection: Selection::default(),
    };
    let j = serde_json::to_value(judge(&input, now())).unwrap();
    for key in [
        "riskAssessment",
        "comparativeAnalysis",
        "negotiationStrategy",
        "nextSteps",
        "executiveSummary",
    ] {
        assert!(j[key].is_null(), "{key} should be absent");
    }
    // Funding routes rest on the questionnaire alone.
    assert!(j["fundingGuidance"].is_object());
}
