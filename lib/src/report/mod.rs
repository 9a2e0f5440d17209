//! The report: the plan checkpoint taken before any fetch, and assembly of
//! the client-shaped report ([`wire`]) from it.
//!
//! A report is built in two steps because fetching is slow and may be
//! interrupted: [`Plan::build`] does the pure, quick part (locate, match,
//! score) and is stored at once, so a resumed job reports on the very same
//! homes; [`assemble`] dresses the plan with whatever the sources returned.
//! Nothing assembled is stored: every read assembles again from the plan,
//! the slots and the saved source data, so a source that loads late (a
//! retry, the sweep) is in the next read with no patching of a stored
//! document, and there is one way a report comes to be.
//!
//! Each home's `dataSources` maps each source type to `loaded`,
//! `not_found`, `not_configured`, `missing` or `pending`. Completeness is
//! [`crate::model::completeness`] over those statuses; `missing` and `pending`
//! pairs are listed in `missingDataSources` and make the report partial.

mod input;
pub(crate) mod wire;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::directory::{Directory, Home};
use crate::facts::HomeSources;
use crate::geo::{Geocoder, Location};
use crate::judgement::{judge, FamilyNeeds};
use crate::matching::{match_homes, LeftOut, ScoredHome, Weights, Winners};
use crate::model::{
    completeness, MissingSource, MissingSourceStatus, Slot, SlotKey, SlotStatus, SourceType,
};
use crate::questionnaire::Questionnaire;

pub use input::judgement_input;
use wire::{
    AnalysisSummary, AppliedWeights, AreaMap, CareHome, ClientNeeds, Contact, CqcDeepDive,
    FactorScore, FsaDetailed, GooglePlaces, MedicalCare, Neighbourhood, ProfessionalReport, Search,
    FACTOR_CATEGORIES,
};

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
    /// The city asked for (q5).
    #[serde(default)]
    pub city: Option<String>,
    /// The postcode asked for (q4), when given.
    #[serde(default)]
    pub postcode: Option<String>,
    /// The needs the questionnaire states, in words.
    #[serde(default)]
    pub client_needs: Option<ClientNeeds>,
    /// Homes within the radius left out, by reason (plans stored before
    /// this field read as none counted).
    #[serde(default)]
    pub left_out: Vec<LeftOut>,
    /// The family's needs as the judgement reads them, taken from the
    /// questionnaire when the plan was made, so that reading the report
    /// does not parse the questionnaire again. `None` for plans stored
    /// before this field (or unreadable): then they are taken from the
    /// stored questionnaire.
    #[serde(default, deserialize_with = "crate::facts::lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<FamilyNeeds>,
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
            left_out: outcome.left_out,
            city: Some(q.location.preferred_city.clone()),
            postcode: q.location.postcode.clone(),
            client_needs: Some(client_needs(q)),
            needs: Some(FamilyNeeds::from_questionnaire(q)),
        })
    }

    /// The chosen homes, best first.
    pub fn homes(&self) -> impl Iterator<Item = &Home> {
        self.homes.iter().map(|s| &s.home)
    }
}

/// The questionnaire's needs in words, for `clientNeeds`.
pub(crate) fn client_needs(q: &Questionnaire) -> ClientNeeds {
    use crate::questionnaire::{Allergy, CareType, Diet, MedicalCondition, Medication, Mobility};
    let condition = |c: &MedicalCondition| match c {
        MedicalCondition::DementiaAlzheimers => "Dementia or Alzheimer's",
        MedicalCondition::Diabetes => "Diabetes",
        MedicalCondition::HeartConditions => "Heart conditions",
        MedicalCondition::MobilityProblems => "Mobility problems",
        MedicalCondition::NoSeriousMedical => "No serious medical conditions",
    };
    let care = |c: &CareType| match c {
        CareType::GeneralResidential => "Residential care",
        CareType::MedicalNursing => "Nursing care",
        CareType::SpecialisedDementia => "Specialist dementia care",
        CareType::TemporaryRespite => "Respite stay",
    };
    let mobility = match q.medical.mobility {
        Mobility::FullyMobile => "Fully mobile",
        Mobility::WalkingAids => "Uses walking aids",
        Mobility::WheelchairSometimes => "Uses a wheelchair sometimes",
        Mobility::WheelchairPermanent => "Uses a wheelchair all the time",
    };
    let medication = match q.medical.medication {
        Medication::None => "No regular medication",
        Medication::Simple => "One or two simple medicines",
        Medication::SeveralSimpleRoutine => "Several medicines on a simple routine",
        Medication::ManyComplexRoutine => "Many medicines on a complex routine",
        Medication::Independent => "Manages own medication",
        Medication::RemindersNeeded => "Needs reminders to take medication",
        Medication::FullAdministrationRequired => "Needs staff to give every dose",
    };
    let allergy = |a: &Allergy| match a {
        Allergy::NoAllergies => "No allergies",
        Allergy::FoodAllergies => "Food allergies",
        Allergy::MedicationAllergies => "Medication allergies",
        Allergy::EnvironmentalAllergies => "Environmental allergies",
    };
    let diet = |d: &Diet| match d {
        Diet::NoSpecialRequirements => "No special requirements",
        Diet::DiabeticDiet => "Diabetic diet",
        Diet::PureedSoftFood => "Puréed or soft food",
        Diet::VegetarianVegan => "Vegetarian or vegan",
    };
    let words = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect();
    ClientNeeds {
        medical_conditions: words(q.medical.conditions.iter().map(condition).collect()),
        mobility_level: mobility.to_owned(),
        care_requirements: words(q.medical.care_types.iter().map(care).collect()),
        medication: medication.to_owned(),
        allergies: words(q.safety.allergies.iter().map(allergy).collect()),
        dietary_requirements: words(q.safety.dietary.iter().map(diet).collect()),
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

/// `42 seconds`, `3 minutes`, `2 hours`: a plain duration.
fn plain_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (n, unit) = match secs {
        0..=119 => (secs, "second"),
        120..=7199 => (secs / 60, "minute"),
        _ => (secs / 3600, "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The client-shaped report for a plan, the slots' states and the loaded
/// data, as of `generated_at`.
///
/// A (home, source) with no slot is `pending`. Data without a slot counts
/// as loaded (`not_found` when it is null): data is saved when it loads, so
/// it wins over a stale status. Slots and data for homes not in the plan
/// are ignored.
pub fn assemble(
    plan: &Plan,
    job_id: &str,
    slots: &[Slot],
    data: &[(SlotKey, Value)],
    generated_at: DateTime<Utc>,
) -> ProfessionalReport {
    let sources = plan_sources(plan, data);
    assemble_read(plan, job_id, slots, data, &sources, generated_at)
}

/// Each chosen home's source records, in plan order, decoded once per read.
fn plan_sources(plan: &Plan, data: &[(SlotKey, Value)]) -> Vec<HomeSources> {
    plan.homes().map(|h| HomeSources::of(data, &h.id)).collect()
}

/// [`assemble`] over the records already decoded (`sources`, in plan
/// order); `data` still says which sources answered and which found
/// nothing.
fn assemble_read(
    plan: &Plan,
    job_id: &str,
    slots: &[Slot],
    data: &[(SlotKey, Value)],
    sources: &[HomeSources],
    generated_at: DateTime<Utc>,
) -> ProfessionalReport {
    let mut all_slots: Vec<Slot> = Vec::new();
    let mut missing: Vec<MissingSource> = Vec::new();
    let mut care_homes = Vec::with_capacity(plan.homes.len());
    for (i, (scored, records)) in plan.homes.iter().zip(sources).enumerate() {
        let mut states = source_states(&scored.home, slots, data);
        all_slots.append(&mut states.counted);
        missing.append(&mut states.missing);
        care_homes.push(care_home(
            i + 1,
            scored,
            &plan.weights,
            states,
            records,
            generated_at,
        ));
    }

    ProfessionalReport {
        report_id: plan.report_id.clone(),
        job_id: job_id.to_owned(),
        client_name: plan.client_name.clone(),
        city: plan
            .city
            .clone()
            .unwrap_or_else(|| plan.origin.label.clone()),
        postcode: plan.postcode.clone(),
        client_needs: plan.client_needs.clone(),
        analysis_summary: analysis_summary(plan, generated_at),
        applied_weights: applied_weights(&plan.weights),
        applied_conditions: plan.conditions.clone(),
        care_homes,
        generated_at,
        created_at: plan.created_at,
        directory: plan.directory.clone(),
        search: search(plan),
        is_partial: !missing.is_empty(),
        completeness: completeness(&all_slots),
        missing_data_sources: missing,
        executive_summary: None,
        risk_assessment: None,
        comparative_analysis: None,
        negotiation_strategy: None,
        next_steps: None,
        funding_guidance: None,
        fair_cost_gap_analysis: None,
    }
}

/// What the slots and the saved data say of one home's sources.
#[derive(Default)]
struct SourceStates {
    /// Each source's wire status, for `dataSources`.
    statuses: BTreeMap<&'static str, &'static str>,
    /// The display names of the sources that loaded, for `dataSource`.
    answered: Vec<String>,
    /// One slot per source with its resolved status, for `completeness`.
    counted: Vec<Slot>,
    /// The sources still missing or pending, for `missingDataSources`.
    missing: Vec<MissingSource>,
}

/// The data saved for a home's source, if any (null: the source found nothing).
fn saved<'a>(data: &'a [(SlotKey, Value)], home_id: &str, source: SourceType) -> Option<&'a Value> {
    data.iter()
        .find(|(k, _)| k.home_id == home_id && k.source_type == source)
        .map(|(_, v)| v)
}

/// Each source's state for one home. Saved data wins over the slot's status:
/// data is saved when it loads, so the status may be stale.
fn source_states(h: &Home, slots: &[Slot], data: &[(SlotKey, Value)]) -> SourceStates {
    let mut states = SourceStates::default();
    for source in SourceType::ALL {
        let slot = slots
            .iter()
            .find(|s| s.home_id == h.id && s.source_type == source);
        let mut status = slot.map_or(SlotStatus::Pending, |s| s.status.clone());
        if let Some(v) = saved(data, &h.id, source) {
            status = if v.is_null() {
                SlotStatus::NotFound
            } else {
                SlotStatus::Loaded
            };
        }
        if matches!(status, SlotStatus::Missing | SlotStatus::Pending) {
            let base = slot
                .cloned()
                .unwrap_or_else(|| Slot::pending(&h.id, &h.name, source));
            let mut entry = MissingSource::from(&base);
            if status == SlotStatus::Pending {
                entry.status = MissingSourceStatus::Pending;
            }
            states.missing.push(entry);
        }
        if status == SlotStatus::Loaded {
            states.answered.push(source.display_name().to_owned());
        }
        let mut counted = Slot::pending(&h.id, &h.name, source);
        counted.status = status.clone();
        states.counted.push(counted);
        states
            .statuses
            .insert(source.as_str(), status_name(&status));
    }
    states
}

/// One home of the report: the plan's scored home dressed with what its
/// sources loaded.
fn care_home(
    rank: usize,
    scored: &ScoredHome,
    weights: &Weights,
    states: SourceStates,
    records: &HomeSources,
    generated_at: DateTime<Utc>,
) -> CareHome {
    let h = &scored.home;
    let website = records.website.as_ref();
    let (site_phone, site_email) = website.map(wire::website_contact).unwrap_or_default();
    let neighbourhood = records.area.as_ref();
    CareHome {
        id: h.id.clone(),
        name: h.name.clone(),
        rank,
        location: home_location(h),
        postcode: h.postcode.clone(),
        address: h.address.clone(),
        cqc_rating: cqc_rating(h, records.cqc.as_ref()),
        distance: format!("{:.1} km", scored.distance_km),
        distance_km: scored.distance_km,
        weekly_price: scored.weekly_fee,
        // Over or within the budget is a fact only when the fee is known.
        over_budget: scored.weekly_fee.map(|_| scored.over_budget),
        weekly_price_source: None,
        weekly_price_quote: None,
        match_score: scored.match_score,
        match_reason: None,
        factor_scores: factor_scores(scored, weights),
        category_labels: Vec::new(),
        contact: Contact {
            phone: h
                .phone()
                .or_else(|| site_phone.as_deref().and_then(crate::directory::uk_phone)),
            email: h.email.clone().or(site_email),
        },
        last_audited: h.last_inspection.map(|d| d.to_string()),
        beds_total: h.beds,
        website: h.website.clone(),
        provider: h.provider.clone(),
        cqc_report_url: h.cqc_report_url.clone(),
        data_source: states.answered,
        data_sources: states.statuses,
        cached_at: cached_at(records),
        medical_care: medical_care(h, website),
        fsa_detailed: records.fsa.as_ref().map(FsaDetailed::from_record),
        google_places: records.google.as_ref().map(GooglePlaces::from_record),
        cqc_deep_dive: (records.cqc.as_ref()).map(|v| CqcDeepDive::from_record(v, generated_at)),
        neighbourhood: neighbourhood.and_then(Neighbourhood::from_record),
        area_map: neighbourhood.and_then(AreaMap::from_record),
        website_insights: website.map(crate::facts::to_stored),
        provider_company: records.company.clone(),
    }
}

/// `City, Local authority`, or the city alone when the authority is unknown,
/// the same as the city, or there is no city to go before it.
fn home_location(h: &Home) -> String {
    match &h.local_authority {
        Some(la) if !la.eq_ignore_ascii_case(&h.city) && !h.city.is_empty() => {
            format!("{}, {la}", h.city)
        }
        _ => h.city.clone(),
    }
}

/// The directory's overall CQC rating, else the one the CQC source loaded.
fn cqc_rating(h: &Home, cqc: Option<&crate::facts::Cqc>) -> Option<String> {
    h.ratings
        .overall
        .map(|r| r.label().to_owned())
        .or_else(|| cqc?.overall_rating.clone())
}

/// The five factor scores with the weights applied, in [`FACTOR_CATEGORIES`]
/// order.
fn factor_scores(scored: &ScoredHome, w: &Weights) -> Vec<FactorScore> {
    let f = &scored.factor_scores;
    let weights = [
        w.medical_safety,
        w.quality,
        w.location,
        w.financial,
        w.lifestyle,
    ];
    FACTOR_CATEGORIES
        .iter()
        .zip([
            f.medical_safety,
            f.quality,
            f.location,
            f.financial,
            f.lifestyle,
        ])
        .zip(weights)
        .map(|((category, score), weight)| FactorScore {
            category: (*category).to_owned(),
            score,
            max_score: 100.0,
            weight,
        })
        .collect()
}

/// When each source answered from the shared source cache was fetched
/// upstream, by source type; sources fetched for this report have none.
fn cached_at(records: &HomeSources) -> BTreeMap<&'static str, String> {
    SourceType::ALL
        .into_iter()
        .filter_map(|source| Some((source.as_str(), records.cached_at(source)?.to_owned())))
        .collect()
}

/// The care the directory registers, with the specialisms the website names.
fn medical_care(h: &Home, website: Option<&crate::facts::Website>) -> MedicalCare {
    MedicalCare {
        care_residential: h.care.residential,
        care_nursing: h.care.nursing,
        care_dementia: h.care.dementia,
        care_respite: h.care.respite,
        medical_specialisms: website.map_or_else(Vec::new, |w| w.specialisms().to_vec()),
    }
}

/// `analysisSummary`: how many homes and factors were weighed, and how long
/// the report took from plan to this read.
fn analysis_summary(plan: &Plan, generated_at: DateTime<Utc>) -> AnalysisSummary {
    AnalysisSummary {
        total_homes_analyzed: plan.considered,
        factors_analyzed: plan.considered * FACTOR_CATEGORIES.len(),
        analysis_time: plain_duration(generated_at - plan.created_at),
    }
}

/// `appliedWeights`: the plan's weights under the client's names.
fn applied_weights(w: &Weights) -> AppliedWeights {
    AppliedWeights {
        medical: w.medical_safety,
        cqc: w.quality,
        location: w.location,
        financial: w.financial,
        social: w.lifestyle,
    }
}

/// `search`: where the plan searched from, how far, and what it found.
fn search(plan: &Plan) -> Search {
    Search {
        origin: plan.origin.label.clone(),
        latitude: plan.origin.lat,
        longitude: plan.origin.lon,
        radius_km: plan.radius_km,
        requested_radius_km: plan.requested_radius_km,
        homes_considered: plan.considered,
        note: plan.note.clone(),
    }
}

/// The whole report: [`assemble`] plus the judgement's sections over the
/// same facts ([`crate::judgement::judge`] at `generated_at`), so a source
/// that loads late changes every section that reads it on the next read.
pub fn judged(
    needs: FamilyNeeds,
    plan: &Plan,
    job_id: &str,
    slots: &[Slot],
    data: &[(SlotKey, Value)],
    directory: &Directory,
    generated_at: DateTime<Utc>,
) -> ProfessionalReport {
    let sources = plan_sources(plan, data);
    let input = input::input_read(needs, plan, slots, &sources, directory);
    let mut report = assemble_read(plan, job_id, slots, data, &sources, generated_at)
        .with_judgement(judge(&input, generated_at));
    report.fair_cost_gap_analysis = directory
        .council_rates()
        .and_then(|rates| crate::judgement::fair_cost::analyse(&input, rates));
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::tests::q_with;
    use crate::questionnaire::tests::sample;
    use crate::questionnaire::Timeline;
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

    /// What each adapter stores, in its real shape (see `sources/*.rs`).
    pub(crate) fn stored(source: SourceType, home_id: &str) -> Value {
        match source {
            SourceType::Cqc => json!({
                "locationId": home_id, "name": "Oak", "postcode": "B1 1AA",
                "registrationStatus": "Registered", "numberOfBeds": 40,
                "overallRating": "Good", "ratingDate": "2024-01-02",
                "keyQuestionRatings": {"safe": "Requires improvement", "wellLed": "Good"},
                "lastInspectionDate": "2026-10-04", "latestReport": null, "reportCount": 2,
                "profileUrl": format!("https://www.cqc.org.uk/location/{home_id}"),
            }),
            SourceType::Fsa => json!({
                "fhrsId": 123456, "businessName": "Oak Kitchen", "businessType": "Caring Premises",
                "postcode": "B1 1AA", "ratingValue": "5", "rating": 5, "ratingDate": "2024-05-01",
                "schemeType": "FHRS", "localAuthority": "Birmingham",
                "scores": {"hygiene": 5, "structural": 0, "confidenceInManagement": 5},
                "newRatingPending": false, "matchConfidence": 0.95,
            }),
            SourceType::GooglePlaces => json!({
                "placeId": "p1", "name": "Oak", "address": "1 Oak St", "rating": 4.5,
                "userRatingCount": 31, "googleMapsUri": "https://maps.example/p1", "websiteUri": null,
                "reviews": [{"rating": 5.0, "text": "Kind staff", "publishTime": "2025-01-01T00:00:00Z",
                             "relativeTime": "a year ago", "author": "A Reviewer"}],
            }),
            SourceType::Neighbourhood => json!({
                "latitude": 52.48, "longitude": -1.9, "radiusMeters": 800,
                "area": {"postcode": "B1 1AA", "adminDistrict": "Birmingham"},
                "amenities": {
                    "pharmacy": {"count": 2, "nearest": [{"name": "Boots", "distanceMeters": 250}]},
                    "gp": {"count": 1, "nearest": [{"name": null, "distanceMeters": 400}]},
                    "hospital": {"count": 0, "nearest": []},
                    "park": {"count": 3, "nearest": [{"name": "Oak Park", "distanceMeters": 120}]},
                    "placeOfWorship": {"count": 1, "nearest": []},
                    "cafe": {"count": 4, "nearest": []},
                    "shop": {"count": 2, "nearest": [{"name": "Spar", "distanceMeters": 90}]},
                    "busStop": {"count": 6, "nearest": [{"name": "Oak Road", "distanceMeters": 60}]},
                    "library": {"count": 0, "nearest": []},
                },
            }),
            SourceType::Firecrawl => json!({
                "url": "https://oak.example/", "title": "Oak", "description": null,
                "mentions": {"specialisms": ["dementia", "respite"], "activities": [], "visiting": [], "facilities": []},
                "fees": [], "contact": {"phones": ["0121 496 0000"], "emails": ["hello@oak.example"]},
                "wordCount": 300,
            }),
            SourceType::CompaniesHouse => json!({
                "companyNumber": "99000012", "companyName": "OAK CARE LIMITED",
                "companyStatus": "active", "companyStatusDetail": null, "companyType": "ltd",
                "dateOfCreation": "2004-03-15", "dateOfCessation": null,
                "accounts": {"overdue": true, "nextDue": "2026-09-30",
                             "lastMadeUpTo": "2024-12-31", "lastAccountsType": "full"},
                "confirmationStatement": {"overdue": false, "nextDue": "2027-03-14",
                                          "lastMadeUpTo": "2026-02-28"},
                "hasInsolvencyHistory": false, "hasBeenLiquidated": false,
                "insolvencyCases": [], "hasCharges": false, "charges": null,
                "registerUrl": "https://find-and-update.company-information.service.gov.uk/company/99000012",
            }),
        }
    }

    fn data_for(slots: &[Slot]) -> Vec<(SlotKey, Value)> {
        slots
            .iter()
            .filter(|s| s.status == SlotStatus::Loaded)
            .map(|s| (s.key(), stored(s.source_type, &s.home_id)))
            .collect()
    }

    const JOB: &str = "00000000-0000-4000-8000-000000000000";

    /// Report keys whose values are for machines, not read as sentences:
    /// ids, codes, statuses, URLs, names as the directory spells them.
    const REPORT_MACHINE_KEYS: &[&str] = &[
        "id",
        "jobId",
        "reportId",
        "source_type",
        "dataSources",
        "dataSource",
        "data_source",
        "appliedConditions",
        "directory",
        "cachedAt",
        "website",
        "cqc_report_url",
        "cqcReportUrl",
        "provider",
        "location",
        "address",
        "postcode",
        "city",
        "home_name",
        "homeName",
        "clientName",
        "websiteInsights",
        "providerCompany",
    ];

    fn trap_directory() -> Directory {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trap_export.csv");
        Directory::from_csv_path(&path).unwrap().0
    }

    /// Every string a family reads, in every section of every report, is
    /// plain English: the ten sample shapes, each timeline and a respite
    /// stay, on the demo directory and on the real export's traps, with
    /// sources pending, missing and loaded.
    #[test]
    fn every_sentence_of_every_report_is_plain_english() {
        let mut questionnaires = sample_like();
        for timeline in Timeline::ALL {
            questionnaires.push(q_with(|v| {
                v["section_5_timeline"]["q17_placement_timeline"] = json!(timeline.as_str());
                v["section_3_medical_needs"]["q8_care_types"] = json!(["temporary_respite"]);
            }));
        }
        let mut checked = 0;
        for directory in [Directory::demo(), trap_directory()] {
            for q in &questionnaires {
                let origin = crate::geo::city_location(&q.location.preferred_city).unwrap();
                let Ok(plan) = Plan::from_origin(q, &directory, origin, now()) else {
                    continue;
                };
                for failed in [
                    vec![],
                    vec![(0, SourceType::Cqc), (1, SourceType::GooglePlaces)],
                ] {
                    let slots = slots_for(&plan, &failed);
                    let data = data_for(&slots);
                    let r = judged(
                        FamilyNeeds::from_questionnaire(q),
                        &plan,
                        JOB,
                        &slots,
                        &data,
                        &directory,
                        now(),
                    );
                    let v = serde_json::to_value(r).unwrap();
                    let codes = crate::judgement::prose::codes_in(&v, REPORT_MACHINE_KEYS);
                    assert!(codes.is_empty(), "{}", codes.join("\n"));
                    checked += 1;
                }
            }
        }
        assert!(checked >= 40, "{checked} reports checked");
    }

    #[tokio::test]
    async fn complete_report_is_in_the_clients_shape_with_the_services_facts() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let slots = slots_for(&plan, &[]);
        let q = Questionnaire::parse(&sample()).unwrap();
        let data = data_for(&slots);
        let report = judged(
            FamilyNeeds::from_questionnaire(&q),
            &plan,
            JOB,
            &slots,
            &data,
            &Directory::demo(),
            now(),
        );
        let report = serde_json::to_value(report).unwrap();
        assert_eq!(report["reportId"], plan.report_id.as_str());
        assert_eq!(report["jobId"], JOB);
        assert_eq!(report["directory"], "demo (fictional homes)");
        assert_eq!(report["clientName"], "Bob Example");
        assert_eq!(report["city"], "Birmingham");
        assert!(report.get("postcode").is_none(), "not given, not sent");
        assert_eq!(report["generatedAt"], "2026-11-03T10:00:00Z");
        assert_eq!(report["analysisSummary"]["analysisTime"], "0 seconds");
        assert_eq!(
            report["analysisSummary"]["factorsAnalyzed"],
            plan.considered * 5
        );
        assert_eq!(
            report["appliedWeights"]["medical"],
            plan.weights.medical_safety
        );
        assert_eq!(report["appliedWeights"]["social"], plan.weights.lifestyle);
        assert!(report["appliedWeights"].get("staff").is_none());
        assert!(report["appliedConditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "dementia"));
        assert_eq!(
            report["clientNeeds"]["medicalConditions"][0],
            "Dementia or Alzheimer's"
        );
        assert_eq!(report["search"]["radiusKm"], plan.radius_km);
        assert_eq!(report["completeness"], 100);
        assert_eq!(report["isPartial"], false);
        assert_eq!(report["missingDataSources"], json!([]));
        let homes = report["careHomes"].as_array().unwrap();
        assert_eq!(homes.len(), 5);
        let first = &homes[0];
        assert_eq!(first["rank"], 1);
        assert!(first["matchScore"].is_number());
        let d = first["distance"].as_str().unwrap();
        assert!(d.ends_with(" km"), "{d}");
        assert_eq!(first["factorScores"].as_array().unwrap().len(), 5);
        assert_eq!(first["factorScores"][0]["category"], "Medical & Safety");
        assert_eq!(first["factorScores"][0]["maxScore"], 100.0);
        assert_eq!(
            first["weeklyPrice"].as_f64(),
            plan.homes[0].weekly_fee,
            "the fee for the care needed"
        );
        assert_eq!(
            first["cqcDeepDive"]["detailed_ratings"]["safe"]["rating"],
            "Requires improvement"
        );
        assert_eq!(first["cqcDeepDive"]["days_since_inspection"], 30);
        assert!(first["cqcDeepDive"]["detailed_ratings"]
            .get("caring")
            .is_none());
        assert_eq!(first["fsaDetailed"]["rating"], 5);
        assert_eq!(first["fsaDetailed"]["fhrs_id"], "123456");
        assert_eq!(
            first["fsaDetailed"]["breakdown_scores"]["confidence_in_management"],
            5
        );
        assert_eq!(first["googlePlaces"]["user_ratings_total"], 31);
        assert_eq!(
            first["googlePlaces"]["reviews"][0]["author_name"],
            "A Reviewer"
        );
        assert_eq!(
            first["neighbourhood"]["walkability"]["amenitiesNearby"]["healthcare"]["count"],
            3
        );
        assert_eq!(
            first["neighbourhood"]["walkability"]["amenitiesNearby"]["healthcare"]["nearest_m"],
            250
        );
        assert_eq!(
            first["areaMap"]["nearby_pharmacies"][0],
            json!({"name": "Boots", "distance": 0.3})
        );
        assert_eq!(
            first["areaMap"]["nearby_gps"],
            json!([]),
            "unnamed places are left out"
        );
        assert!(first["areaMap"].get("nearest_hospital").is_none());
        // Firecrawl is not configured in this fixture: no website block, and
        // the directory's own contact facts (the demo has none) stay absent.
        assert!(first.get("websiteInsights").is_none());
        assert!(first["contact"].is_object());
        assert_eq!(first["dataSources"]["firecrawl"], "not_configured");
        assert_eq!(homes[4]["dataSources"]["fsa"], "not_found");
        assert!(homes[4].get("fsaDetailed").is_none());
        assert_eq!(first["dataSources"]["cqc"], "loaded");
        assert!(first["dataSource"]
            .as_array()
            .unwrap()
            .contains(&json!(SourceType::Cqc.display_name())));
        assert_eq!(first["medicalCare"]["care_dementia"], true);
        assert!(first["matchReason"]
            .as_str()
            .unwrap()
            .starts_with("Strongest overall match"));
        assert!(first["categoryLabels"].is_null() && first["category_labels"].is_array());
    }

    /// What the live-sources work added to the stored data reaches the
    /// report: Google's review attribution, a deregistered CQC location's
    /// status and historical rating, and `cachedAt` for a cached answer.
    #[tokio::test]
    async fn attribution_deregistration_and_cache_times_reach_the_report() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let id = plan.homes[0].home.id.clone();
        let slot = |source| {
            let mut s = Slot::pending(&id, "x", source);
            s.status = SlotStatus::Loaded;
            s
        };
        let google = json!({
            "placeId": "p1", "rating": 4.5, "userRatingCount": 31,
            "reviews": [{"rating": 5.0, "text": "Kind staff", "author": "A Reviewer",
                         "authorUri": "https://www.google.com/maps/contrib/1",
                         "authorPhotoUri": "https://lh3.example/photo.jpg",
                         "reviewUri": "https://maps.example/review/1"}],
        });
        let cqc = json!({
            "locationId": id, "registrationStatus": "Deregistered", "deregistered": true,
            "deregistrationDate": "2023-08-31", "overallRating": null, "keyQuestionRatings": {},
            "ratingSource": null, "historicalRatings": {"overallRating": "Good"},
            "cachedAt": "2026-11-02T09:00:00Z",
        });
        let slots = [slot(SourceType::GooglePlaces), slot(SourceType::Cqc)];
        let data = vec![(slots[0].key(), google), (slots[1].key(), cqc)];
        let report = serde_json::to_value(assemble(&plan, JOB, &slots, &data, now())).unwrap();
        let home = &report["careHomes"][0];
        let review = &home["googlePlaces"]["reviews"][0];
        assert_eq!(review["author_name"], "A Reviewer");
        assert_eq!(
            review["author_url"],
            "https://www.google.com/maps/contrib/1"
        );
        assert_eq!(review["profile_photo_url"], "https://lh3.example/photo.jpg");
        assert_eq!(review["review_url"], "https://maps.example/review/1");
        let cqc = &home["cqcDeepDive"];
        assert_eq!(cqc["registration_status"], "Deregistered");
        assert_eq!(cqc["deregistration_date"], "2023-08-31");
        assert_eq!(cqc["historical_overall_rating"], "Good");
        assert!(
            cqc.get("overall_rating").is_none(),
            "old ratings are not current"
        );
        assert_eq!(home["cachedAt"], json!({"cqc": "2026-11-02T09:00:00Z"}));
        assert!(report["careHomes"][1].get("cachedAt").is_none());
    }

    #[tokio::test]
    async fn website_data_fills_contact_and_specialisms() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let id = plan.homes[0].home.id.clone();
        let mut slot = Slot::pending(&id, "x", SourceType::Firecrawl);
        slot.status = SlotStatus::Loaded;
        let data = vec![(slot.key(), stored(SourceType::Firecrawl, &id))];
        let report = serde_json::to_value(assemble(&plan, JOB, &[slot], &data, now())).unwrap();
        let first = &report["careHomes"][0];
        assert_eq!(first["contact"]["phone"], "0121 496 0000");
        assert_eq!(first["contact"]["email"], "hello@oak.example");
        assert_eq!(
            first["medicalCare"]["medical_specialisms"],
            json!(["dementia", "respite"])
        );
        assert_eq!(first["websiteInsights"]["url"], "https://oak.example/");
        // The directory's telephone wins over the website's.
        let mut plan = plan;
        plan.homes[0].home.telephone = Some("0121 000 0000".into());
        let report = serde_json::to_value(assemble(&plan, JOB, &[], &data, now())).unwrap();
        assert_eq!(report["careHomes"][0]["contact"]["phone"], "0121 000 0000");
    }

    /// The judgement is recomputed from the facts of each read: a partial
    /// report's sections name the inputs still missing, and once the retry
    /// loads them the sections read the new data and name nothing.
    #[tokio::test]
    async fn the_sections_follow_the_sources_as_they_arrive() {
        let q = Questionnaire::parse(&sample()).unwrap();
        let plan = demo_plan(&q).await;
        let failed = [(0, SourceType::Cqc), (1, SourceType::Fsa)];
        let mut slots = slots_for(&plan, &failed);
        let directory = Directory::demo();
        let read = |slots: &[Slot]| {
            let data = data_for(slots);
            serde_json::to_value(judged(
                FamilyNeeds::from_questionnaire(&q),
                &plan,
                JOB,
                slots,
                &data,
                &directory,
                now(),
            ))
            .unwrap()
        };
        let partial = read(&slots);
        let missing = partial["riskAssessment"]["missingInputs"]
            .as_array()
            .unwrap();
        let first = &plan.homes[0].home.name;
        assert!(
            missing
                .iter()
                .any(|m| m.as_str().unwrap().starts_with(&format!("{first}: cqc"))),
            "{missing:?}"
        );
        assert_eq!(missing.len(), 2, "{missing:?}");
        for s in &mut slots {
            s.status = SlotStatus::Loaded;
            s.error = None;
        }
        let complete = read(&slots);
        assert_eq!(complete["isPartial"], false);
        assert_eq!(complete["riskAssessment"]["missingInputs"], json!([]));
        // The newly loaded CQC data (Safe: Requires improvement) is judged;
        // the directory's ratings for the home said nothing of it.
        let before = &partial["riskAssessment"]["homes_assessment"][0];
        assert!(
            !before.to_string().contains("Requires improvement"),
            "{before}"
        );
        let home = &complete["riskAssessment"]["homes_assessment"][0];
        assert!(home.to_string().contains("Requires improvement"), "{home}");
    }

    #[tokio::test]
    async fn partial_report_becomes_complete_when_the_missing_sources_load() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let failed = [
            (0, SourceType::GooglePlaces),
            (2, SourceType::Cqc),
            (3, SourceType::Neighbourhood),
        ];
        let mut slots = slots_for(&plan, &failed);
        let report =
            serde_json::to_value(assemble(&plan, JOB, &slots, &data_for(&slots), now())).unwrap();

        assert_eq!(report["isPartial"], true);
        // 25 expected (firecrawl not configured), 22 done.
        assert_eq!(report["completeness"], 88);
        let ids: Vec<&Home> = plan.homes().collect();
        let listed: Vec<(String, String)> = report["missingDataSources"]
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
        let first = &report["missingDataSources"][0];
        assert_eq!(first["error"], "timeout");
        assert_eq!(
            first["source_name"],
            SourceType::GooglePlaces.display_name()
        );
        assert_eq!(first["retry_count"], 0);
        assert_eq!(first["status"], "given_up");
        assert!(first["last_attempt"].is_null() && first["next_attempt_at"].is_null());
        let home0 = &report["careHomes"][0];
        assert_eq!(home0["dataSources"]["google_places"], "missing");
        assert!(
            home0.get("googlePlaces").is_none(),
            "absent, not null or empty"
        );

        // Sources that load later are in the next assembly: data wins over
        // the stale slot status, and a not-found answer counts as loaded.
        let key = |home: usize, source: SourceType| SlotKey {
            home_id: ids[home].id.clone(),
            source_type: source,
        };
        let mut data = data_for(&slots);
        data.push((key(2, SourceType::Cqc), stored(SourceType::Cqc, &ids[2].id)));
        let report = assemble(&plan, JOB, &slots, &data, now());
        assert!(report.is_partial);
        assert_eq!(report.completeness, 92);
        assert_eq!(report.missing_data_sources.len(), 2);
        assert!(report.care_homes[2].cqc_deep_dive.is_some());
        assert_eq!(report.care_homes[2].data_sources["cqc"], "loaded");
        data.push((
            key(0, SourceType::GooglePlaces),
            stored(SourceType::GooglePlaces, &ids[0].id),
        ));
        for s in slots.iter_mut() {
            if s.home_id == ids[3].id && s.source_type == SourceType::Neighbourhood {
                s.status = SlotStatus::NotFound;
            }
        }
        let report = assemble(&plan, JOB, &slots, &data, now());
        assert!(!report.is_partial);
        assert_eq!(report.completeness, 100);
        assert!(report.missing_data_sources.is_empty());
        assert_eq!(
            report.care_homes[3].data_sources["neighbourhood"],
            "not_found"
        );
        assert!(report.care_homes[3].neighbourhood.is_none());
    }

    /// The provider's Companies House record, missing then loaded: the
    /// home's financial assessment goes from "not arrived yet" to assessed
    /// with its red flag and evidence, and the record is in the home.
    #[tokio::test]
    async fn the_financial_assessment_changes_when_the_company_record_arrives() {
        let q = Questionnaire::parse(&sample()).unwrap();
        let plan = demo_plan(&q).await;
        let directory = Directory::demo();
        let read = |slots: &[Slot], data: &[(SlotKey, Value)]| {
            serde_json::to_value(judged(
                FamilyNeeds::from_questionnaire(&q),
                &plan,
                JOB,
                slots,
                data,
                &directory,
                now(),
            ))
            .unwrap()
        };
        let slots = slots_for(&plan, &[(0, SourceType::CompaniesHouse)]);
        let mut data = data_for(&slots);
        let before = read(&slots, &data);
        let financial =
            |r: &Value| r["riskAssessment"]["homes_assessment"][0]["financial_assessment"].clone();
        assert_eq!(before["isPartial"], true);
        assert_eq!(financial(&before)["status"], "no_data");
        assert!(financial(&before)["statusNote"]
            .as_str()
            .unwrap()
            .contains("has not arrived yet"));
        assert!(before["careHomes"][0].get("providerCompany").is_none());
        assert_eq!(
            before["careHomes"][1]["providerCompany"]["companyNumber"],
            "99000012"
        );

        let id = plan.homes().next().unwrap().id.clone();
        data.push((
            SlotKey::new(&id, SourceType::CompaniesHouse),
            stored(SourceType::CompaniesHouse, &id),
        ));
        let after = read(&slots, &data);
        assert_eq!(after["isPartial"], false);
        let f = financial(&after);
        assert_eq!(f["status"], "assessed");
        assert!(f["statusNote"].as_str().unwrap().contains("bed occupancy"));
        assert_eq!(f["red_flags"][0]["ruleId"], "financial.accounts_overdue");
        assert!(f["red_flags"][0]["description"]
            .as_str()
            .unwrap()
            .contains("accounts overdue since 30 September 2026"));
        assert_eq!(
            after["careHomes"][0]["dataSources"]["companies_house"],
            "loaded"
        );
        assert_eq!(
            after["careHomes"][0]["providerCompany"]["accounts"]["overdue"],
            true
        );
    }

    /// CQC's record arriving with a fallen rating and no registered
    /// manager: the deep dive carries both and the risk assessment warns,
    /// with the dates as evidence.
    #[tokio::test]
    async fn a_declining_cqc_trend_arrives_as_a_warning() {
        let q = Questionnaire::parse(&sample()).unwrap();
        let plan = demo_plan(&q).await;
        let directory = Directory::demo();
        let slots = slots_for(&plan, &[(0, SourceType::Cqc)]);
        let mut data = data_for(&slots);
        let read = |data: &[(SlotKey, Value)]| {
            serde_json::to_value(judged(
                FamilyNeeds::from_questionnaire(&q),
                &plan,
                JOB,
                &slots,
                data,
                &directory,
                now(),
            ))
            .unwrap()
        };
        let warned = |r: &Value, rule: &str| {
            r["riskAssessment"]["homes_assessment"][0]["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["ruleId"] == rule)
        };
        let before = read(&data);
        assert!(!warned(&before, "cqc.rating_declined"));
        assert!(before["careHomes"][0].get("cqcDeepDive").is_none());
        let id = plan.homes().next().unwrap().id.clone();
        let mut cqc = stored(SourceType::Cqc, &id);
        cqc["ratingTrend"] = json!({"direction": "declined", "current": "Requires improvement",
            "since": "2025-03-01", "previous": "Good", "previousDate": "2022-06-10"});
        cqc["overallRating"] = json!("Requires improvement");
        cqc["registeredManager"] = json!({"inPost": false, "absentSince": "2025-11-03"});
        data.push((SlotKey::new(&id, SourceType::Cqc), cqc));
        let after = read(&data);
        assert!(
            warned(&after, "cqc.rating_declined"),
            "{}",
            after["riskAssessment"]
        );
        assert!(warned(&after, "cqc.no_registered_manager"));
        let dive = &after["careHomes"][0]["cqcDeepDive"];
        assert_eq!(dive["rating_trend"], "declined");
        assert_eq!(dive["trend"], "Declining since 1 March 2025");
        assert_eq!(dive["rating_changes"][0]["from_rating"], "Good");
        assert_eq!(dive["registered_manager"]["inPost"], false);
    }

    /// With the shipped example council rates the report fills the
    /// client's Fair Cost Gap section for the homes whose fee and council
    /// rate are known, says the figures are examples, and without rates the
    /// section is absent.
    #[tokio::test]
    async fn the_fair_cost_gap_is_filled_only_with_council_rates() {
        let q = Questionnaire::parse(&sample()).unwrap();
        let plan = demo_plan(&q).await;
        let slots = slots_for(&plan, &[]);
        let data = data_for(&slots);
        let plain = serde_json::to_value(judged(
            FamilyNeeds::from_questionnaire(&q),
            &plan,
            JOB,
            &slots,
            &data,
            &Directory::demo(),
            now(),
        ))
        .unwrap();
        assert!(plain.get("fairCostGapAnalysis").is_none());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/examples/council_rates.EXAMPLE.csv");
        let rates = crate::directory::CouncilRates::from_path(&path).unwrap();
        let directory = Directory::demo().with_council_rates(Some(rates));
        let r = serde_json::to_value(judged(
            FamilyNeeds::from_questionnaire(&q),
            &plan,
            JOB,
            &slots,
            &data,
            &directory,
            now(),
        ))
        .unwrap();
        let gap = &r["fairCostGapAnalysis"];
        assert_eq!(gap["local_authority"], "Birmingham", "{gap}");
        assert_eq!(gap["example_figures"], true);
        assert_eq!(gap["msif_data"]["local_authority_verified"], false);
        let homes = gap["homes"].as_array().unwrap();
        assert!(!homes.is_empty());
        for h in homes {
            let (fee, rate) = (
                h["their_price"].as_f64().unwrap(),
                h["fair_cost_msif"].as_f64().unwrap(),
            );
            assert!(
                (h["gap_weekly"].as_f64().unwrap() - (fee - rate)).abs() < 0.05,
                "{h}"
            );
        }
        for key in [
            "average_gap_weekly",
            "average_gap_annual",
            "average_gap_5year",
        ] {
            assert!(gap[key].is_number(), "{key}");
        }
        assert!(gap["why_gap_exists"]["explanation"]
            .as_str()
            .unwrap()
            .contains("EXAMPLE"));
    }

    #[tokio::test]
    async fn without_slots_every_source_is_pending() {
        let plan = demo_plan(&Questionnaire::parse(&sample()).unwrap()).await;
        let report = assemble(&plan, JOB, &[], &[], now());
        assert_eq!(report.completeness, 0);
        assert!(report.is_partial);
        assert_eq!(report.care_homes[0].data_sources["cqc"], "pending");
        assert_eq!(report.missing_data_sources.len(), 30);
        assert_eq!(
            report.missing_data_sources[0].status,
            crate::model::MissingSourceStatus::Pending
        );
    }
}
