//! The report on a directory like the operators' real export.
//!
//! `tests/fixtures/trap_export.csv` is our own file in the export's format
//! (its 95 columns, integer phone numbers, JSON cells), holding every trap
//! the real export set for the report: a home registered twice after a
//! change of provider, a younger-adults-only service, a service registered
//! for people detained under the Mental Health Act and a small
//! mental-health service nearest the search centre, supported living,
//! nursing-only homes beside residential ones, `care_respite` empty in
//! every row, facility columns `false` in every row (never collected),
//! a number that is no number, and no fee anywhere. Every test runs on the
//! file as it is and on a copy with fees, where the same traps must hold.

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use care_report::directory::{Directory, ImportReport};
use care_report::facts::HomeSources;
use care_report::geo::city_location;
use care_report::judgement::{FamilyNeeds, HomeFacts};
use care_report::matching::{Exclusion, Fallback};
use care_report::model::{Slot, SlotStatus};
use care_report::questionnaire::Questionnaire;
use care_report::report::{judged, Plan};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap()
}

fn fixture() -> PathBuf {
    care_report_testing::export::trap_export()
}

/// A copy of the fixture with a residential and a nursing fee in every row
/// that offers that care (£700 to £1,400 a week, varying by row), written
/// once for all the tests of this process.
fn with_fees() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(write_with_fees).clone()
}

fn write_with_fees() -> PathBuf {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (res, nur) = (col("fee_residential_from"), col("fee_nursing_from"));
    let (care_res, care_nur) = (col("care_residential"), col("care_nursing"));
    let path = std::env::temp_dir().join(format!("trap-export-fees-{}.csv", std::process::id()));
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&header).unwrap();
    for (i, record) in reader.records().enumerate() {
        let mut row: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        let fee = 700.0 + (i * 37 % 700) as f64;
        if row[care_res] == "true" {
            row[res] = format!("{fee:.2}");
        }
        if row[care_nur] == "true" {
            row[nur] = format!("{:.2}", fee + 250.0);
        }
        writer.write_record(&row).unwrap();
    }
    writer.flush().unwrap();
    path
}

/// Both directories: as exported, and the copy with fees.
fn directories() -> Vec<(&'static str, Directory, ImportReport)> {
    let (plain, plain_report) = Directory::from_csv_path(&fixture()).unwrap();
    let (fees, fees_report) = Directory::from_csv_path(&with_fees()).unwrap();
    vec![
        ("no fees", plain, plain_report),
        ("with fees", fees, fees_report),
    ]
}

/// The trap questionnaire (85–94, Birmingham, residential), edited.
fn questionnaire(edit: impl FnOnce(&mut Value)) -> Questionnaire {
    care_report_testing::export::older_person(edit)
}

fn plan(q: &Questionnaire, directory: &Directory) -> Plan {
    let origin = city_location(&q.location.preferred_city).unwrap();
    Plan::from_origin(q, directory, origin, now()).expect("a plan")
}

/// The whole report as the client reads it, every source not configured.
fn report(q: &Questionnaire, directory: &Directory) -> (Plan, Value) {
    let plan = plan(q, directory);
    let slots: Vec<Slot> = plan
        .homes
        .iter()
        .flat_map(|h| {
            care_report::model::SourceType::ALL.iter().map(|s| Slot {
                status: SlotStatus::NotConfigured,
                ..Slot::pending(&h.home.id, &h.home.name, *s)
            })
        })
        .collect();
    let r = judged(
        FamilyNeeds::from_questionnaire(q),
        &plan,
        "job-1",
        &slots,
        &[],
        directory,
        now(),
    );
    (plan.clone(), serde_json::to_value(r).unwrap())
}

fn ids(plan: &Plan) -> Vec<&str> {
    plan.homes.iter().map(|h| h.home.id.as_str()).collect()
}

fn left_out(plan: &Plan, reason: Exclusion) -> usize {
    plan.left_out
        .iter()
        .find(|l| l.reason == reason)
        .map_or(0, |l| l.count)
}

#[test]
fn the_importer_merges_registrations_restores_numbers_and_sets_uncollected_columns_aside() {
    for (label, d, report) in directories() {
        assert_eq!(
            (report.loaded, report.skipped, report.rows),
            (22, 0, 23),
            "{label}"
        );
        assert_eq!(
            report.merged,
            vec!["TRAP: Edgbaston  Court (B5 7TA): 1-TRAP0002 current, 1-TRAP0001 earlier"]
        );
        let unknown = report.unknown_columns();
        for column in [
            "care_respite",
            "wheelchair_access",
            "ensuite_rooms",
            "secure_garden",
            "wifi_available",
            "accepts_nhs_chc",
        ] {
            assert!(unknown.contains(&column), "{label}: {column} {unknown:?}");
        }
        assert!(!unknown.contains(&"care_residential"), "{label}");
        assert_eq!(
            unknown.contains(&"fee_residential_from"),
            label == "no fees",
            "{label}"
        );

        let current = d.find("1-TRAP0002").expect("the current registration");
        assert_eq!(
            current.ratings.overall, None,
            "not yet rated under its provider"
        );
        assert_eq!(current.previous_registrations.len(), 1);
        assert_eq!(
            current.previous_registrations[0].overall.map(|r| r.label()),
            Some("Good")
        );
        assert!(d.find("1-TRAP0001").is_none(), "one home, one entry");

        let alder = d.find("1-TRAP0020").unwrap();
        assert_eq!(alder.phone().as_deref(), Some("07967 391337"));
        assert_eq!(alder.facilities.wheelchair_access, None, "never collected");
        assert_eq!(alder.care.respite, None);
        let birch = d.find("1-TRAP0021").unwrap();
        assert_eq!(birch.phone().as_deref(), Some("0121 496 0021"));
        assert_eq!(
            d.find("1-TRAP0032").unwrap().phone(),
            None,
            "12345 rings nobody"
        );
        assert_eq!(alder.provider_company_number.as_deref(), Some("03885446"));
    }
}

#[test]
fn an_older_person_needing_residential_care_is_offered_only_homes_that_can_take_them() {
    for (label, d, _) in directories() {
        let q = questionnaire(|_| {});
        let plan = plan(&q, &d);
        let chosen = ids(&plan);
        assert_eq!(chosen.len(), 5, "{label}: {chosen:?}");
        let unique: HashSet<&str> = chosen.iter().copied().collect();
        assert_eq!(unique.len(), 5, "{label}");
        for trap in [
            "1-TRAP0001",
            "1-TRAP0003",
            "1-TRAP0004",
            "1-TRAP0005",
            "1-TRAP0006",
        ] {
            assert!(!chosen.contains(&trap), "{label}: {trap} proposed");
        }
        for h in &plan.homes {
            assert!(
                h.home.care.residential,
                "{label}: {} nursing-only",
                h.home.id
            );
            assert_eq!(h.fallback, None, "{label}");
        }
        assert_eq!(left_out(&plan, Exclusion::NotForOlderPeople), 1, "{label}");
        assert_eq!(left_out(&plan, Exclusion::NotACareHome), 1, "{label}");
        assert_eq!(
            left_out(&plan, Exclusion::FallbackNotNeeded(Fallback::DetainedMha)),
            1,
            "{label}"
        );
        assert_eq!(
            left_out(
                &plan,
                Exclusion::FallbackNotNeeded(Fallback::Specialist(
                    care_report::directory::Band::MentalHealth
                ))
            ),
            1,
            "{label}"
        );
        assert_eq!(
            left_out(&plan, Exclusion::FallbackNotNeeded(Fallback::NursingOnly)),
            5,
            "{label}"
        );
    }
}

#[test]
fn nursing_homes_suit_a_nursing_need_and_respite_unknown_is_asked_not_refused() {
    for (label, d, _) in directories() {
        let nursing = questionnaire(|v| {
            v["section_3_medical_needs"]["q8_care_types"] = json!(["medical_nursing"]);
        });
        let plan = plan(&nursing, &d);
        assert!(plan.homes.iter().all(|h| h.home.care.nursing), "{label}");
        assert!(
            plan.homes.iter().any(|h| !h.home.care.residential),
            "{label}: nursing-only homes suit a nursing need"
        );

        let respite = questionnaire(|v| {
            v["section_3_medical_needs"]["q8_care_types"] = json!(["temporary_respite"]);
        });
        let (plan, r) = report(&respite, &d);
        assert_eq!(plan.homes.len(), 5, "{label}: respite unknown is not a no");
        let summary = r["executiveSummary"]["personalizedMatching"]
            .as_str()
            .unwrap();
        assert!(summary.contains("confirm respite"), "{label}: {summary}");
        for h in r["careHomes"].as_array().unwrap() {
            let reason = h["matchReason"].as_str().unwrap();
            assert!(reason.contains("respite stays: ask"), "{label}: {reason}");
        }
    }
}

#[test]
fn claims_are_made_only_when_earned() {
    for (label, d, _) in directories() {
        let q = questionnaire(|_| {});
        let (plan, r) = report(&q, &d);
        let fees = label == "with fees";
        let summary = r["executiveSummary"]["personalizedMatching"]
            .as_str()
            .unwrap();
        assert!(!summary.contains("with your budget"), "{summary}");
        assert!(
            summary.contains("Availability was not checked"),
            "{summary}"
        );
        assert!(summary.contains("left out"), "{summary}");
        assert!(summary.contains("£3,000–£5,000 a month"), "{summary}");
        // The export never collected facilities: what matching could not
        // weigh for a person with mobility problems is said.
        assert!(
            summary.contains("does not record wheelchair access"),
            "{summary}"
        );
        assert_eq!(summary.contains("could not be checked"), !fees, "{summary}");
        for h in r["careHomes"].as_array().unwrap() {
            assert_eq!(h.get("overBudget").is_some(), fees, "{label}: {h}");
            assert_eq!(h.get("weeklyPrice").is_some(), fees, "{label}");
            let labels: Vec<&str> = h["category_labels"]
                .as_array()
                .map(|l| l.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !fees {
                assert!(!labels.contains(&"Best Value"), "{label}: {labels:?}");
            }
            let phone = h["contact"]["phone"].as_str().unwrap_or("0");
            assert!(phone.starts_with('0'), "{label}: {phone}");
        }
        assert_eq!(
            plan.winners.best_value.is_some(),
            fees && {
                // Earned only with a clear lead on cost among the chosen.
                let mut cost: Vec<f64> = plan
                    .homes
                    .iter()
                    .map(|h| h.factor_scores.financial)
                    .collect();
                cost.sort_by(|a, b| b.total_cmp(a));
                cost[0] - cost[1] >= 5.0
            }
        );
    }
}

#[test]
fn a_widened_radius_is_said() {
    let (_, d, _) = directories().remove(0);
    // Four homes offering nursing care are within 5 km.
    let q = questionnaire(|v| {
        v["section_2_location_budget"]["q6_max_distance"] = json!("5km");
        v["section_3_medical_needs"]["q8_care_types"] = json!(["medical_nursing"]);
    });
    let (plan, r) = report(&q, &d);
    assert!(plan.radius_km > 5.0);
    let summary = r["executiveSummary"]["personalizedMatching"]
        .as_str()
        .unwrap();
    assert!(summary.contains("you asked for 5 km"), "{summary}");
}

#[test]
fn a_re_registered_home_shows_its_earlier_rating_as_history() {
    let (_, d, _) = directories().remove(0);
    let home = d.find("1-TRAP0002").unwrap();
    let care = care_report::matching::CareNeed::default();
    let facts = HomeFacts::from_home(
        1,
        home,
        Some(70.0),
        Some(0.8),
        &care,
        &HomeSources::default(),
        &[],
    );
    assert_eq!(facts.cqc.as_ref().and_then(|c| c.overall), None);
    assert_eq!(
        facts.previous_rating.as_deref(),
        Some("rated Good in December 2019 under Old Opco Ltd (fictional)")
    );
}

#[test]
fn a_fee_on_the_homes_own_website_is_used_and_quoted_when_the_directory_has_none() {
    let (_, d, _) = directories().remove(0);
    let q = questionnaire(|_| {});
    let plan = plan(&q, &d);
    let first = &plan.homes[0].home;
    let page = json!({
        "url": "https://first.example/fees",
        "feeQuotes": [
            {"careType": "nursing", "weeklyFrom": 1400.0, "weeklyTo": null,
             "startingPrice": true, "monthly": false, "sentence": "Nursing care from £1,400 per week."},
            {"careType": "residential", "weeklyFrom": 950.0, "weeklyTo": null,
             "startingPrice": true, "monthly": false, "sentence": "Residential care from £950 per week."}
        ]
    });
    let key = care_report::model::SlotKey {
        home_id: first.id.clone(),
        source_type: care_report::model::SourceType::Firecrawl,
    };
    let r = judged(
        FamilyNeeds::from_questionnaire(&q),
        &plan,
        "job-1",
        &[],
        &[(key, page)],
        &d,
        now(),
    );
    let v = serde_json::to_value(r).unwrap();
    let home = &v["careHomes"][0];
    assert_eq!(
        home["weeklyPrice"], 950.0,
        "the residential fee, for a residential need"
    );
    assert_eq!(home["weeklyPriceSource"], "website");
    assert_eq!(
        home["weeklyPriceQuote"]["sentence"],
        "Residential care from £950 per week."
    );
    assert_eq!(
        home["weeklyPriceQuote"]["url"],
        "https://first.example/fees"
    );
    assert_eq!(home["overBudget"], false);
    let reason = home["matchReason"].as_str().unwrap();
    assert!(
        reason.contains("from £950 a week on its own website, within your budget"),
        "{reason}"
    );
    // The other homes' fees stay unknown.
    assert!(v["careHomes"][1].get("weeklyPrice").is_none());
    let summary = v["executiveSummary"]["personalizedMatching"]
        .as_str()
        .unwrap();
    assert!(
        summary.contains("checked for the 1 home(s) whose fee is known"),
        "{summary}"
    );
}
