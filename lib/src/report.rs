//! The report: the plan checkpoint taken before any fetch, assembly of the
//! final JSON, and merging of sources that answer later.
//!
//! A report is built in two steps because fetching is slow and may be
//! interrupted: [`Plan::build`] does the pure, quick part (locate, match,
//! score) and is stored at once, so a resumed job reports on the very same
//! homes; [`assemble`] later dresses the plan with whatever the sources
//! returned. Retried sources arrive after the report was delivered, so
//! [`merge_source`] patches one (home, source) into a stored report; assembly
//! uses the same code, which keeps the two from drifting apart.
//!
//! Each source's data sits under its own key in the home (see
//! [`source_key`]); `dataSources` maps each source type to `loaded`,
//! `not_found`, `not_configured`, `missing` or `pending`. Completeness is
//! [`crate::model::completeness`] over those statuses; `missing` and `pending`
//! pairs are listed in `missing_data_sources` and make the report partial.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::directory::{Directory, Home};
use crate::geo::{Geocoder, Location};
use crate::matching::{match_homes, ScoredHome, Weights, Winners};
use crate::model::{completeness, MissingSource, Slot, SlotKey, SlotStatus, SourceType};
use crate::questionnaire::Questionnaire;

/// Why no plan could be made. Both are the client's situation, not a fault
/// of ours: the HTTP layer maps them to a failed job with this message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The city (and postcode) could not be located.
    #[error("cannot locate '{city}': {reason}")]
    UnknownLocation {
        /// The city asked for.
        city: String,
        /// Why.
        reason: String,
    },
    /// No home in the directory fits.
    #[error("no matching care homes: {0}")]
    NoCandidates(String),
}

/// The checkpoint stored before any fetch: everything about the report that
/// does not depend on the external sources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The report's id (a UUID).
    pub report_id: String,
    /// When the plan was made.
    pub created_at: DateTime<Utc>,
    /// Which directory the homes came from.
    pub directory: String,
    /// The person the report is for.
    pub client_name: String,
    /// The search centre.
    pub origin: Location,
    /// Weights applied.
    pub weights: Weights,
    /// Adjustments applied.
    pub conditions: Vec<String>,
    /// Radius used, km.
    pub radius_km: f64,
    /// Radius asked for, km (`None`: not important).
    pub requested_radius_km: Option<f64>,
    /// Homes inside the radius that passed the filters.
    pub considered: usize,
    /// Why fewer than 5 homes, or other caveats.
    pub note: Option<String>,
    /// The chosen homes, best first.
    pub homes: Vec<ScoredHome>,
    /// Category winners.
    pub winners: Winners,
}

impl Plan {
    /// Locates the client, matches the directory and records the result.
    pub async fn build(
        q: &Questionnaire,
        directory: &Directory,
        geocoder: &Geocoder,
        now: DateTime<Utc>,
    ) -> Result<Plan, PlanError> {
        let city = &q.location.preferred_city;
        let origin = geocoder
            .resolve(city, q.location.postcode.as_deref())
            .await
            .map_err(|e| PlanError::UnknownLocation {
                city: city.clone(),
                reason: e.to_string(),
            })?;
        Self::from_origin(q, directory, origin, now)
    }

    /// The pure part of [`Plan::build`], for a known origin.
    pub fn from_origin(
        q: &Questionnaire,
        directory: &Directory,
        origin: Location,
        now: DateTime<Utc>,
    ) -> Result<Plan, PlanError> {
        let outcome = match_homes(q, directory.homes(), &origin);
        if outcome.homes.is_empty() {
            return Err(PlanError::NoCandidates(outcome.note.unwrap_or_else(|| {
                "no home in the directory fits the questionnaire".to_owned()
            })));
        }
        Ok(Plan {
            report_id: uuid::Uuid::new_v4().to_string(),
            created_at: now,
            directory: directory.label().to_owned(),
            client_name: q.client_name(),
            origin,
            weights: outcome.weights,
            conditions: outcome.conditions,
            radius_km: outcome.radius_km,
            requested_radius_km: outcome.requested_radius_km,
            considered: outcome.considered,
            note: outcome.note,
            homes: outcome.homes,
            winners: outcome.winners,
        })
    }

    /// The chosen homes, best first.
    pub fn homes(&self) -> impl Iterator<Item = &Home> {
        self.homes.iter().map(|s| &s.home)
    }
}

/// The key a source's data has in a report home.
pub fn source_key(source: SourceType) -> &'static str {
    match source {
        SourceType::Cqc => "cqcDeepDive",
        SourceType::Fsa => "fsaDetailed",
        SourceType::GooglePlaces => "googlePlaces",
        SourceType::Neighbourhood => "neighbourhood",
        SourceType::Firecrawl => "websiteInsights",
    }
}

/// The wire name of a slot status in `dataSources`.
fn status_name(status: &SlotStatus) -> &'static str {
    match status {
        SlotStatus::Pending => "pending",
        SlotStatus::Loaded => "loaded",
        SlotStatus::NotFound => "not_found",
        SlotStatus::NotConfigured => "not_configured",
        SlotStatus::Missing => "missing",
    }
}

fn parse_status(s: &str) -> SlotStatus {
    match s {
        "loaded" => SlotStatus::Loaded,
        "not_found" => SlotStatus::NotFound,
        "not_configured" => SlotStatus::NotConfigured,
        "missing" => SlotStatus::Missing,
        _ => SlotStatus::Pending,
    }
}

/// The full report JSON for a plan, the slots' states and the loaded data.
///
/// A (home, source) with no slot is `pending`. Data without a slot counts as
/// loaded. Slots and data for homes not in the plan are ignored.
pub fn assemble(
    plan: &Plan,
    slots: &[Slot],
    data: &[(SlotKey, Value)],
    generated_at: DateTime<Utc>,
) -> Value {
    let homes: Vec<Value> = plan
        .homes
        .iter()
        .enumerate()
        .map(|(i, scored)| {
            let h = &scored.home;
            let mut home = json!({
                "rank": i + 1,
                "home_id": h.id,
                "name": h.name,
                "address": h.address,
                "city": h.city,
                "postcode": h.postcode,
                "local_authority": h.local_authority,
                "latitude": h.latitude,
                "longitude": h.longitude,
                "provider": h.provider,
                "website": h.website,
                "beds": h.beds,
                "care": h.care,
                "cqc_ratings": h.ratings,
                "last_inspection": h.last_inspection,
                "cqc_report_url": h.cqc_report_url,
                "fees": h.fees,
                "facilities": h.facilities,
                "distance_km": scored.distance_km,
                "over_budget": scored.over_budget,
                "match_score": scored.match_score,
                "factor_scores": scored.factor_scores,
            });
            let mut sources = Map::new();
            for source in SourceType::ALL {
                let status = slots
                    .iter()
                    .find(|s| s.home_id == h.id && s.source_type == source)
                    .map(|s| s.status.clone())
                    .unwrap_or(SlotStatus::Pending);
                sources.insert(source.as_str().to_owned(), status_name(&status).into());
                home[source_key(source)] = Value::Null;
            }
            home["dataSources"] = Value::Object(sources);
            home
        })
        .collect();

    let missing: Vec<Value> = slots
        .iter()
        .filter(|s| matches!(s.status, SlotStatus::Missing | SlotStatus::Pending))
        .filter(|s| plan.homes.iter().any(|h| h.home.id == s.home_id))
        .map(missing_entry)
        .collect();

    let mut report = json!({
        "report_id": plan.report_id,
        "created_at": plan.created_at,
        "generated_at": generated_at,
        "directory": plan.directory,
        "client_name": plan.client_name,
        "search": {
            "origin": plan.origin,
            "radius_km": plan.radius_km,
            "requested_radius_km": plan.requested_radius_km,
            "homes_considered": plan.considered,
            "note": plan.note,
        },
        "applied_weights": plan.weights,
        "applied_conditions": plan.conditions,
        "winners": plan.winners,
        "homes": homes,
        "missing_data_sources": missing,
    });
    for (key, value) in data {
        // Data wins over a stale slot status: it was saved when it loaded.
        put_source(&mut report, &key.home_id, key.source_type, value.clone());
    }
    refresh_summary(&mut report);
    report
}

/// Merges one source's data, loaded after the report was made, into it:
/// the data goes under the source's key, its status becomes `loaded`
/// (`not_found` when `data` is null), and completeness, `is_partial` and the
/// missing list are brought up to date. False if the home is not in the report.
pub fn merge_source(report: &mut Value, home_id: &str, source: SourceType, data: Value) -> bool {
    if !put_source(report, home_id, source, data) {
        return false;
    }
    refresh_summary(report);
    true
}

fn put_source(report: &mut Value, home_id: &str, source: SourceType, data: Value) -> bool {
    let Some(home) = report
        .get_mut("homes")
        .and_then(Value::as_array_mut)
        .and_then(|homes| {
            homes
                .iter_mut()
                .find(|h| h.get("home_id").and_then(Value::as_str) == Some(home_id))
        })
    else {
        return false;
    };
    let Some(home) = home.as_object_mut() else {
        return false;
    };
    let status = if data.is_null() {
        "not_found"
    } else {
        "loaded"
    };
    home.insert(source_key(source).to_owned(), data);
    let sources = home
        .entry("dataSources")
        .or_insert_with(|| Value::Object(Map::new()));
    if !sources.is_object() {
        *sources = Value::Object(Map::new());
    }
    sources[source.as_str()] = status.into();
    true
}

/// Recomputes `completeness`, `is_partial` and `missing_data_sources` from
/// the homes' `dataSources`. Existing missing entries keep their details
/// (errors); pairs no longer missing are dropped; newly missing ones added.
fn refresh_summary(report: &mut Value) {
    let mut slots = Vec::new();
    if let Some(homes) = report.get("homes").and_then(Value::as_array) {
        for home in homes {
            let id = home
                .get("home_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = home.get("name").and_then(Value::as_str).unwrap_or_default();
            for source in SourceType::ALL {
                let status = home
                    .get("dataSources")
                    .and_then(|d| d.get(source.as_str()))
                    .and_then(Value::as_str)
                    .map(parse_status)
                    .unwrap_or(SlotStatus::Pending);
                let mut slot = Slot::pending(id, name, source);
                slot.status = status;
                slots.push(slot);
            }
        }
    }
    let outstanding: Vec<&Slot> = slots
        .iter()
        .filter(|s| matches!(s.status, SlotStatus::Missing | SlotStatus::Pending))
        .collect();
    let previous: Vec<Value> = report
        .get("missing_data_sources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let missing: Vec<Value> = outstanding
        .iter()
        .map(|s| {
            previous
                .iter()
                .find(|m| {
                    m.get("home_id").and_then(Value::as_str) == Some(s.home_id.as_str())
                        && m.get("source_type").and_then(Value::as_str)
                            == Some(s.source_type.as_str())
                })
                .cloned()
                .unwrap_or_else(|| missing_entry(s))
        })
        .collect();
    let Some(obj) = report.as_object_mut() else {
        return;
    };
    obj.insert("completeness".to_owned(), completeness(&slots).into());
    obj.insert("is_partial".to_owned(), (!missing.is_empty()).into());
    obj.insert("missing_data_sources".to_owned(), Value::Array(missing));
}

/// A missing (or not yet attempted) pair as the API shows it everywhere:
/// the fields of [`MissingSource`], `status` `pending` for a pair never tried.
fn missing_entry(slot: &Slot) -> Value {
    let mut entry = MissingSource::from(slot);
    if slot.status == SlotStatus::Pending {
        entry.status = "pending".to_owned();
    }
    serde_json::to_value(entry).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::tests::q_with;
    use crate::questionnaire::tests::sample;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 10, 0, 0).unwrap()
    }

    async fn demo_plan(q: &Questionnaire) -> Plan {
        let geo = Geocoder::new(reqwest::Client::new(), None);
        Plan::build(q, &Directory::demo(), &geo, now())
            .await
            .unwrap()
    }

    /// distance, budget, care types, conditions, mobility, medication, falls, timeline.
    type SampleCase = (
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );

    /// Questionnaires reproducing the ten samples' shapes (invented people,
    /// the samples' combinations of answers).
    fn sample_like() -> Vec<Questionnaire> {
        let cases: [SampleCase; 10] = [
            (
                "15km",
                "5000_7000_local",
                &["specialised_dementia"],
                &["dementia_alzheimers", "mobility_problems"],
                "walking_aids",
                "several_simple_routine",
                "1_2_no_serious_injuries",
                "next_month",
            ),
            (
                "10km",
                "3000_5000_self",
                &["medical_nursing", "general_residential"],
                &["diabetes", "mobility_problems"],
                "wheelchair_sometimes",
                "many_complex_routine",
                "3_plus_or_serious_injuries",
                "urgent_2_weeks",
            ),
            (
                "5km",
                "over_7000_self",
                &["medical_nursing"],
                &["heart_conditions"],
                "walking_aids",
                "many_complex_routine",
                "no_falls_occurred",
                "planning_2_3_months",
            ),
            (
                "distance_not_important",
                "under_3000_self",
                &["general_residential"],
                &["no_serious_medical"],
                "fully_mobile",
                "simple_1_2",
                "no_falls_occurred",
                "exploring_6_plus_months",
            ),
            (
                "15km",
                "5000_7000_local",
                &["general_residential", "medical_nursing"],
                &["mobility_problems"],
                "wheelchair_permanent",
                "several_simple_routine",
                "high_risk_of_falling",
                "urgent_2_weeks",
            ),
            (
                "30km",
                "over_7000_local",
                &["medical_nursing", "specialised_dementia"],
                &[
                    "dementia_alzheimers",
                    "diabetes",
                    "heart_conditions",
                    "mobility_problems",
                ],
                "wheelchair_sometimes",
                "many_complex_routine",
                "high_risk_of_falling",
                "urgent_2_weeks",
            ),
            (
                "20km",
                "5000_7000_self",
                &["medical_nursing"],
                &["diabetes", "heart_conditions", "mobility_problems"],
                "walking_aids",
                "many_complex_routine",
                "1_2_no_serious_injuries",
                "planning_2_3_months",
            ),
            (
                "10km",
                "5000_7000_local",
                &["general_residential"],
                &["mobility_problems"],
                "walking_aids",
                "simple_1_2",
                "no_falls_occurred",
                "urgent_2_weeks",
            ),
            (
                "distance_not_important",
                "under_3000_local",
                &["medical_nursing"],
                &["diabetes"],
                "walking_aids",
                "several_simple_routine",
                "no_falls_occurred",
                "planning_2_3_months",
            ),
            (
                "15km",
                "under_3000_self",
                &["general_residential"],
                &["no_serious_medical"],
                "fully_mobile",
                "simple_1_2",
                "no_falls_occurred",
                "urgent_2_weeks",
            ),
        ];
        cases
            .iter()
            .map(|(dist, budget, care, conds, mob, meds, falls, when)| {
                q_with(|v| {
                    v["section_2_location_budget"]["q6_max_distance"] = json!(dist);
                    v["section_2_location_budget"]["q7_budget"] = json!(budget);
                    v["section_3_medical_needs"]["q8_care_types"] = json!(care);
                    v["section_3_medical_needs"]["q9_medical_conditions"] = json!(conds);
                    v["section_3_medical_needs"]["q10_mobility_level"] = json!(mob);
                    v["section_3_medical_needs"]["q11_medication_management"] = json!(meds);
                    v["section_4_safety_special_needs"]["q13_fall_history"] = json!(falls);
                    v["section_5_timeline"]["q17_placement_timeline"] = json!(when);
                })
            })
            .collect()
    }

    #[tokio::test]
    async fn every_sample_shape_gets_five_demo_homes_or_says_why() {
        for (i, q) in sample_like().iter().enumerate() {
            let plan = demo_plan(q).await;
            assert_eq!(plan.homes.len(), 5, "case {i}: {:?}", plan.note);
            assert_eq!(plan.directory, "demo (fictional homes)");
            let need = crate::matching::CareNeed::of(q);
            for h in plan.homes() {
                assert!(
                    need.met_by(h),
                    "case {i}: {} lacks {}",
                    h.id,
                    need.describe()
                );
                assert!(h.id.starts_with("DEMO-"));
            }
            // Over-budget homes only ever come with a note saying so.
            if plan.homes.iter().any(|h| h.over_budget) {
                assert!(
                    plan.note
                        .as_deref()
                        .unwrap_or("")
                        .contains("above the budget"),
                    "case {i}"
                );
            }
            let scores: Vec<f64> = plan.homes.iter().map(|h| h.match_score).collect();
            assert!(
                scores.windows(2).all(|w| w[0] >= w[1]),
                "case {i}: {scores:?}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_city_and_no_candidates_are_clear_errors() {
        let geo = Geocoder::new(reqwest::Client::new(), None);
        let q = q_with(|v| v["section_2_location_budget"]["q5_preferred_city"] = json!("Atlantis"));
        let err = Plan::build(&q, &Directory::demo(), &geo, now())
            .await
            .unwrap_err();
        assert!(matches!(err, PlanError::UnknownLocation { .. }));
        assert!(err.to_string().contains("Atlantis"));

        let q = Questionnaire::parse(&sample()).unwrap();
        let empty = Directory::from_homes("empty", Vec::new());
        let err = Plan::build(&q, &empty, &geo, now()).await.unwrap_err();
        assert!(matches!(err, PlanError::NoCandidates(_)), "{err}");
    }

    #[tokio::test]
    async fn plan_round_trips_through_json() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let text = serde_json::to_string(&plan).unwrap();
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, plan);
        assert_eq!(plan.client_name, "Bob Example");
        assert!(uuid::Uuid::parse_str(&plan.report_id).is_ok());
    }

    fn slots_for(plan: &Plan, failed: &[(usize, SourceType)]) -> Vec<Slot> {
        let mut slots = Vec::new();
        for (i, h) in plan.homes().enumerate() {
            for source in SourceType::ALL {
                let mut slot = Slot::pending(&h.id, &h.name, source);
                slot.status = if failed.contains(&(i, source)) {
                    slot.error = Some("timeout".into());
                    SlotStatus::Missing
                } else if source == SourceType::Firecrawl {
                    SlotStatus::NotConfigured
                } else if source == SourceType::Fsa && i == 4 {
                    SlotStatus::NotFound
                } else {
                    SlotStatus::Loaded
                };
                slots.push(slot);
            }
        }
        slots
    }

    fn data_for(slots: &[Slot]) -> Vec<(SlotKey, Value)> {
        slots
            .iter()
            .filter(|s| s.status == SlotStatus::Loaded)
            .map(|s| {
                (
                    s.key(),
                    json!({"from": s.source_type.as_str(), "home": s.home_id}),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn complete_report_has_envelope_sources_and_statuses() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let slots = slots_for(&plan, &[]);
        let report = assemble(&plan, &slots, &data_for(&slots), now());
        assert_eq!(report["report_id"], plan.report_id.as_str());
        assert_eq!(report["directory"], "demo (fictional homes)");
        assert_eq!(report["client_name"], "Bob Example");
        assert_eq!(report["generated_at"], "2026-11-03T10:00:00Z");
        assert!(report["applied_weights"]["medical_safety"].is_number());
        assert!(report["applied_conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "dementia"));
        assert_eq!(report["completeness"], 100);
        assert_eq!(report["is_partial"], false);
        assert_eq!(report["missing_data_sources"], json!([]));
        let homes = report["homes"].as_array().unwrap();
        assert_eq!(homes.len(), 5);
        let first = &homes[0];
        assert_eq!(first["rank"], 1);
        assert!(first["match_score"].is_number());
        assert!(first["factor_scores"]["quality"].is_number());
        assert_eq!(first["cqcDeepDive"]["from"], "cqc");
        assert_eq!(first["googlePlaces"]["from"], "google_places");
        assert_eq!(first["websiteInsights"], Value::Null);
        assert_eq!(first["dataSources"]["firecrawl"], "not_configured");
        assert_eq!(homes[4]["dataSources"]["fsa"], "not_found");
        assert_eq!(first["dataSources"]["cqc"], "loaded");
    }

    #[tokio::test]
    async fn partial_report_becomes_complete_after_merging_the_missing_sources() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let failed = [
            (0, SourceType::GooglePlaces),
            (2, SourceType::Cqc),
            (3, SourceType::Neighbourhood),
        ];
        let slots = slots_for(&plan, &failed);
        let mut report = assemble(&plan, &slots, &data_for(&slots), now());

        assert_eq!(report["is_partial"], true);
        // 20 expected (firecrawl not configured), 17 done.
        assert_eq!(report["completeness"], 85);
        let ids: Vec<&Home> = plan.homes().collect();
        let listed: Vec<(String, String)> = report["missing_data_sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["home_id"].as_str().unwrap().to_owned(),
                    m["source_type"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = failed
            .iter()
            .map(|(i, s)| (ids[*i].id.clone(), s.as_str().to_owned()))
            .collect();
        assert_eq!(listed, expected);
        assert_eq!(report["missing_data_sources"][0]["error"], "timeout");
        // Every field of a missing source (SPEC §3), as the other views show it.
        let first = &report["missing_data_sources"][0];
        assert_eq!(
            first["source_name"],
            SourceType::GooglePlaces.display_name()
        );
        assert_eq!(first["retry_count"], 0);
        assert_eq!(first["status"], "given_up");
        assert!(first["last_attempt"].is_null() && first["next_attempt_at"].is_null());
        assert_eq!(
            report["homes"][0]["dataSources"]["google_places"],
            "missing"
        );

        // Merge one: still partial, its entry gone, others keep their details.
        assert!(merge_source(
            &mut report,
            &ids[2].id,
            SourceType::Cqc,
            json!({"rating": "Good"})
        ));
        assert_eq!(report["is_partial"], true);
        assert_eq!(report["completeness"], 90);
        assert_eq!(report["missing_data_sources"].as_array().unwrap().len(), 2);
        assert_eq!(report["missing_data_sources"][0]["error"], "timeout");
        assert_eq!(report["homes"][2]["cqcDeepDive"]["rating"], "Good");
        assert_eq!(report["homes"][2]["dataSources"]["cqc"], "loaded");

        assert!(merge_source(
            &mut report,
            &ids[0].id,
            SourceType::GooglePlaces,
            json!({"rating": 4.5})
        ));
        // A not-found answer counts as loaded.
        assert!(merge_source(
            &mut report,
            &ids[3].id,
            SourceType::Neighbourhood,
            Value::Null
        ));
        assert_eq!(report["is_partial"], false);
        assert_eq!(report["completeness"], 100);
        assert_eq!(report["missing_data_sources"], json!([]));
        assert_eq!(
            report["homes"][3]["dataSources"]["neighbourhood"],
            "not_found"
        );

        assert!(!merge_source(
            &mut report,
            "DEMO-9999",
            SourceType::Cqc,
            json!({})
        ));
        assert!(!merge_source(
            &mut json!({"no": "homes"}),
            "x",
            SourceType::Cqc,
            json!({})
        ));
    }

    #[tokio::test]
    async fn without_slots_every_source_is_pending() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let report = assemble(&plan, &[], &[], now());
        assert_eq!(report["completeness"], 0);
        assert_eq!(report["is_partial"], true);
        assert_eq!(report["homes"][0]["dataSources"]["cqc"], "pending");
        assert_eq!(report["missing_data_sources"].as_array().unwrap().len(), 25);
        assert_eq!(report["missing_data_sources"][0]["status"], "pending");
    }
}
