//! Builders of the judgement's input from what the service holds today: the
//! questionnaire, the plan (chosen homes, scores, winners), the stored
//! per-slot source data and statuses, and the directory.
//!
//! Answers are read by their wire names (`as_str`), not by matching enum
//! variants, so new questionnaire values (`temporary_respite`,
//! `full_administration_required`, `vegetarian_vegan`, …) are understood
//! as soon as the questionnaire accepts them. Source data is read
//! defensively from the JSON the adapters store: a field that is absent or of
//! another type is unknown, never an error.

use chrono::NaiveDate;
use serde_json::Value;

use super::*;
use crate::directory::{Directory, Home};
use crate::matching::{relevant_fee, ScoredHome};
use crate::model::{Slot, SlotKey, SlotStatus, SourceType};
use crate::questionnaire::Questionnaire;
use crate::report::Plan;

const WEEKS_PER_MONTH: f64 = 52.0 / 12.0;

/// The top of a q7 band in pounds a week, and who pays.
pub(crate) fn budget_of(answer: &str) -> (Option<f64>, Funder) {
    let funder = if answer.ends_with("_local") {
        Funder::LocalAuthority
    } else if answer.ends_with("_self") {
        Funder::SelfFunded
    } else {
        Funder::Unsure
    };
    let monthly = if answer.starts_with("under_3000") {
        Some(3000.0)
    } else if answer.starts_with("3000_5000") {
        Some(5000.0)
    } else if answer.starts_with("5000_7000") {
        Some(7000.0)
    } else {
        None
    };
    (monthly.map(|m: f64| (m / WEEKS_PER_MONTH).round()), funder)
}

/// q11 on one scale; an answer this code does not know counts as a
/// moderate need (asks the medication questions rather than skipping them).
pub(crate) fn medication_of(answer: &str) -> MedicationSupport {
    match answer {
        "none" | "independent" => MedicationSupport::None,
        "simple_1_2" | "reminders_needed" => MedicationSupport::Light,
        "many_complex_routine" | "full_administration_required" => MedicationSupport::Complex,
        _ => MedicationSupport::Moderate,
    }
}

impl FamilyNeeds {
    /// From a validated questionnaire.
    pub fn from_questionnaire(q: &Questionnaire) -> FamilyNeeds {
        let conditions: Vec<&str> = q.medical.conditions.iter().map(|c| c.as_str()).collect();
        let dementia = conditions.contains(&"dementia_alzheimers");
        let budget_answer = q.location.budget.as_str().to_owned();
        let (budget_max_weekly, funder) = budget_of(&budget_answer);
        FamilyNeeds {
            city: q.location.preferred_city.clone(),
            care: CareNeed::of(q),
            dementia,
            diabetes: conditions.contains(&"diabetes"),
            heart_condition: conditions.contains(&"heart_conditions"),
            mobility_problems: conditions.contains(&"mobility_problems"),
            mobility: match q.medical.mobility.as_str() {
                "walking_aids" => MobilityLevel::WalkingAids,
                "wheelchair_sometimes" => MobilityLevel::WheelchairSometimes,
                "wheelchair_permanent" => MobilityLevel::WheelchairPermanent,
                _ => MobilityLevel::FullyMobile,
            },
            medication: medication_of(q.medical.medication.as_str()),
            falls: match q.safety.fall_history.as_str() {
                "no_falls_occurred" => FallRisk::None,
                "1_2_no_serious_injuries" => FallRisk::Some,
                _ => FallRisk::High,
            },
            allergies: q
                .safety
                .allergies
                .iter()
                .map(|a| a.as_str().to_owned())
                .filter(|a| a != "no_allergies")
                .collect(),
            diets: q
                .safety
                .dietary
                .iter()
                .map(|d| d.as_str().to_owned())
                .filter(|d| d != "no_special_requirements")
                .collect(),
            urgency: match q.timeline.as_str() {
                "urgent_2_weeks" => Urgency::Urgent,
                "next_month" => Urgency::NextMonth,
                "planning_2_3_months" => Urgency::Planning,
                _ => Urgency::Exploring,
            },
            funder,
            budget_answer,
            budget_max_weekly,
            max_distance_km: q.location.max_distance.km(),
            priorities: q
                .priorities
                .as_ref()
                .map(|p| p.order.iter().map(|o| o.as_str().to_owned()).collect())
                .unwrap_or_default(),
        }
    }
}

fn care_offered(home: &Home) -> Vec<&'static str> {
    let c = &home.care;
    [
        (c.residential, "residential"),
        (c.nursing, "nursing"),
        (c.dementia, "dementia"),
        (c.respite == Some(true), "respite"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

fn date_at(v: &Value, pointer: &str) -> Option<NaiveDate> {
    let s = v.pointer(pointer)?.as_str()?;
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)?.as_str()
}

/// CQC facts: the directory's, overridden field by field by the CQC API's
/// summary (`lib/src/sources/cqc.rs`) when it is loaded.
pub(crate) fn cqc_facts(home: &Home, api: Option<&Value>) -> CqcFacts {
    let r = &home.ratings;
    let mut c = CqcFacts {
        origin: "directory",
        overall: r.overall,
        safe: r.safe,
        effective: r.effective,
        caring: r.caring,
        responsive: r.responsive,
        well_led: r.well_led,
        last_inspection: home.last_inspection,
        registration_status: None,
        deregistration_date: None,
        trend: None,
        manager_in_post: None,
        manager_absent_since: None,
    };
    let Some(v) = api else { return c };
    c.origin = "cqc_api";
    let rating = |p: &str| str_at(v, p).and_then(CqcRating::parse);
    c.overall = rating("/overallRating").or(c.overall);
    c.safe = rating("/keyQuestionRatings/safe").or(c.safe);
    c.effective = rating("/keyQuestionRatings/effective").or(c.effective);
    c.caring = rating("/keyQuestionRatings/caring").or(c.caring);
    c.responsive = rating("/keyQuestionRatings/responsive").or(c.responsive);
    c.well_led = rating("/keyQuestionRatings/wellLed").or(c.well_led);
    c.last_inspection = date_at(v, "/lastInspectionDate").or(c.last_inspection);
    c.registration_status = str_at(v, "/registrationStatus").map(str::to_owned);
    c.deregistration_date = date_at(v, "/deregistrationDate");
    c.trend = rating_trend(v);
    c.manager_in_post = v
        .pointer("/registeredManager/inPost")
        .and_then(Value::as_bool);
    c.manager_absent_since = date_at(v, "/registeredManager/absentSince");
    c
}

/// The CQC adapter's `ratingTrend`, when whole.
fn rating_trend(v: &Value) -> Option<RatingTrend> {
    let rating = |p: &str| str_at(v, p).and_then(CqcRating::parse);
    Some(RatingTrend {
        direction: str_at(v, "/ratingTrend/direction")?.to_owned(),
        previous: rating("/ratingTrend/previous")?,
        previous_date: date_at(v, "/ratingTrend/previousDate"),
        current: rating("/ratingTrend/current")?,
        since: date_at(v, "/ratingTrend/since"),
    })
}

/// FSA facts from the FSA adapter's summary (`lib/src/sources/fsa.rs`).
pub(crate) fn fsa_facts(v: &Value) -> FsaFacts {
    let points = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    FsaFacts {
        rating: v
            .get("rating")
            .and_then(Value::as_u64)
            .or_else(|| str_at(v, "/ratingValue").and_then(|s| s.parse().ok()))
            .filter(|r| *r <= 5)
            .and_then(|r| u8::try_from(r).ok()),
        rating_date: date_at(v, "/ratingDate"),
        hygiene: points("/scores/hygiene"),
        structural: points("/scores/structural"),
        confidence_in_management: points("/scores/confidenceInManagement"),
    }
}

/// Company facts from the Companies House adapter's summary
/// (`lib/src/sources/companies_house.rs`); `None` when it is not one.
pub(crate) fn company_facts(v: &Value) -> Option<CompanyFacts> {
    let flag = |p: &str| v.pointer(p).and_then(Value::as_bool);
    let cases = v
        .get("insolvencyCases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let first = |kinds: &[&str]| {
                kinds
                    .iter()
                    .find_map(|k| date_at(c, &format!("/dates/{k}")))
            };
            Some(InsolvencyCase {
                kind: str_at(c, "/type")?.to_owned(),
                started: first(&[
                    "administration-started-on",
                    "wound-up-on",
                    "ordered-to-wind-up-on",
                    "voluntary-arrangement-started-on",
                    "moratorium-started-on",
                    "instrumented-on",
                    "petitioned-on",
                ]),
                ended: first(&[
                    "administration-ended-on",
                    "administration-discharged-on",
                    "concluded-winding-up-on",
                    "voluntary-arrangement-ended-on",
                    "dissolved-on",
                ]),
            })
        })
        .collect();
    Some(CompanyFacts {
        number: str_at(v, "/companyNumber")?.to_owned(),
        name: str_at(v, "/companyName").map(str::to_owned),
        status: str_at(v, "/companyStatus")?.to_owned(),
        status_detail: str_at(v, "/companyStatusDetail").map(str::to_owned),
        ceased_on: date_at(v, "/dateOfCessation"),
        accounts_overdue: flag("/accounts/overdue"),
        accounts_next_due: date_at(v, "/accounts/nextDue"),
        accounts_last_made_up_to: date_at(v, "/accounts/lastMadeUpTo"),
        last_accounts_type: str_at(v, "/accounts/lastAccountsType").map(str::to_owned),
        confirmation_overdue: flag("/confirmationStatement/overdue"),
        confirmation_next_due: date_at(v, "/confirmationStatement/nextDue"),
        insolvency_cases: cases,
        outstanding_charges: v.pointer("/charges/outstanding").and_then(Value::as_u64),
        register_url: str_at(v, "/registerUrl").map(str::to_owned),
    })
}

/// Why `h` has no company record, from its Companies House slot.
fn company_lookup(h: &Home, slots: &[Slot], held: bool) -> Option<CompanyLookup> {
    if held {
        return None;
    }
    let status = slots
        .iter()
        .find(|s| s.home_id == h.id && s.source_type == SourceType::CompaniesHouse)
        .map(|s| s.status.clone());
    Some(match status {
        Some(SlotStatus::NotConfigured) => CompanyLookup::NotConfigured,
        Some(SlotStatus::Pending | SlotStatus::Missing) => CompanyLookup::NotYet,
        _ if h.provider_company_number.is_none() => CompanyLookup::NoNumber,
        Some(_) => CompanyLookup::Unknown,
        None => CompanyLookup::NotYet,
    })
}

/// Google facts from the Places adapter's summary (`lib/src/sources/google_places.rs`).
pub(crate) fn google_facts(v: &Value) -> GoogleFacts {
    GoogleFacts {
        rating: v.get("rating").and_then(Value::as_f64),
        review_count: v.get("userRatingCount").and_then(Value::as_u64),
        reviews: v
            .get("reviews")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|r| Review {
                        rating: r.get("rating").and_then(Value::as_f64),
                        text: str_at(r, "/text").map(str::to_owned),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

impl HomeFacts {
    /// One chosen home with its loaded source data and slot statuses.
    pub(crate) fn from_scored(
        rank: usize,
        scored: &ScoredHome,
        care: &CareNeed,
        data: &[(SlotKey, Value)],
        slots: &[Slot],
    ) -> HomeFacts {
        let mut facts = HomeFacts::from_home(
            rank,
            &scored.home,
            Some(scored.match_score),
            Some(scored.distance_km),
            care,
            data,
            slots,
        );
        facts.fallback = scored.fallback.map(|f| f.describe());
        facts
    }

    /// A directory home with its score and distance (when known), loaded
    /// source data and slot statuses.
    pub fn from_home(
        rank: usize,
        h: &Home,
        score: Option<f64>,
        distance_km: Option<f64>,
        care: &CareNeed,
        data: &[(SlotKey, Value)],
        slots: &[Slot],
    ) -> HomeFacts {
        let source = |s: SourceType| {
            data.iter()
                .find(|(k, _)| k.home_id == h.id && k.source_type == s)
                .map(|(_, v)| v)
                .filter(|v| v.is_object())
        };
        let fee = home_fee(h, care, source(SourceType::Firecrawl));
        let company = source(SourceType::CompaniesHouse).and_then(company_facts);
        let company_lookup = company_lookup(h, slots, company.is_some());
        HomeFacts {
            rank,
            id: h.id.clone(),
            name: h.name.clone(),
            location: h.city.clone(),
            local_authority: h.local_authority.clone(),
            score,
            distance_km,
            weekly_fee: fee.as_ref().map(|f| f.0),
            fee_source: fee.map(|f| f.1),
            care_offered: care_offered(h),
            cqc: Some(cqc_facts(h, source(SourceType::Cqc))),
            fsa: source(SourceType::Fsa).map(fsa_facts),
            google: source(SourceType::GooglePlaces).map(google_facts),
            missing: slots
                .iter()
                .filter(|s| s.home_id == h.id)
                .filter(|s| matches!(s.status, SlotStatus::Pending | SlotStatus::Missing))
                .map(|s| MissingInput {
                    source: s.source_type.as_str().to_owned(),
                    status: s.status.as_str().to_owned(),
                })
                .collect(),
            winner_of: Vec::new(),
            fallback: None,
            respite_unconfirmed: care.respite_unconfirmed(h),
            previous_rating: previous_rating(h),
            wheelchair_access: h.facilities.wheelchair_access,
            secure_garden: h.facilities.secure_garden,
            company,
            company_lookup,
        }
    }
}

/// The weekly fee for the care needed and where it comes from: the
/// directory's wins; else the fee the home's own website states for that
/// care (the website adapter's `feeQuotes`, see `sources::fees`).
fn home_fee(h: &Home, care: &CareNeed, website: Option<&Value>) -> Option<(f64, FeeSource)> {
    if let Some(fee) = relevant_fee(h, care) {
        return Some((fee, FeeSource::Directory));
    }
    let site = website?;
    let quotes: Vec<crate::facts::PageFee> =
        serde_json::from_value(site.get("feeQuotes")?.clone()).ok()?;
    let quote = crate::facts::for_care(&quotes, care.market_care_type())?;
    Some((
        quote.weekly_from,
        FeeSource::Website {
            sentence: quote.sentence,
            url: str_at(site, "/url").map(str::to_owned),
            starting_price: quote.starting_price,
        },
    ))
}

/// The newest earlier registration's rating in words, when there is one.
fn previous_rating(h: &Home) -> Option<String> {
    let past = h
        .previous_registrations
        .iter()
        .filter(|p| p.overall.is_some())
        .max_by_key(|p| p.last_inspection)?;
    let mut words = format!("rated {}", past.overall?.label());
    if let Some(d) = past.last_inspection {
        words.push_str(&format!(" in {}", d.format("%B %Y")));
    }
    if let Some(p) = &past.provider {
        words.push_str(&format!(" under {p}"));
    }
    Some(words)
}

impl MarketFacts {
    /// Fees for the care needed among homes offering it: within `radius_km`
    /// of `origin`, and over the whole directory. `None` when no home in the
    /// directory lists such a fee.
    pub(crate) fn from_directory(
        directory: &Directory,
        care: &CareNeed,
        origin: (f64, f64),
        radius_km: f64,
        area: String,
    ) -> Option<MarketFacts> {
        let mut all = Vec::new();
        let mut local = Vec::new();
        for h in directory.homes() {
            if !crate::matching::suits_an_older_person(h) || !care.met_by(h) {
                continue;
            }
            let Some(fee) = relevant_fee(h, care).filter(|f| *f > 0.0) else {
                continue;
            };
            all.push(fee);
            if h.coordinates()
                .is_some_and(|c| crate::geo::haversine_km(origin, c) <= radius_km)
            {
                local.push(fee);
            }
        }
        let all = FeeStats::of(&all)?;
        Some(MarketFacts {
            care_type: care.market_care_type(),
            directory: directory.label().to_owned(),
            area,
            radius_km,
            local: FeeStats::of(&local),
            all: Some(all),
        })
    }
}

impl JudgementInput {
    /// The input for a plan: the questionnaire's needs, the plan's homes with
    /// the stored source data and slot statuses, and the directory's market.
    pub fn from_plan(
        q: &Questionnaire,
        plan: &Plan,
        slots: &[Slot],
        data: &[(SlotKey, Value)],
        directory: &Directory,
    ) -> JudgementInput {
        let needs = FamilyNeeds::from_questionnaire(q);
        let needs_care = needs.care;
        let winners = [
            (&plan.winners.best_overall, WinnerCategory::BestOverall),
            (&plan.winners.best_care, WinnerCategory::BestCare),
            (&plan.winners.best_value, WinnerCategory::BestValue),
        ];
        let homes = plan
            .homes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut h = HomeFacts::from_scored(i + 1, s, &needs.care, data, slots);
                h.winner_of = winners
                    .iter()
                    .filter(|(w, _)| w.as_ref().is_some_and(|w| w.home_id == h.id))
                    .map(|(_, c)| *c)
                    .collect();
                h
            })
            .collect();
        let area = format!("within {:.0} km of {}", plan.radius_km, plan.origin.label);
        let market = MarketFacts::from_directory(
            directory,
            &needs.care,
            (plan.origin.lat, plan.origin.lon),
            plan.radius_km,
            area,
        );
        JudgementInput {
            needs,
            homes,
            market,
            selection: Selection::of(plan, &needs_care),
        }
    }
}

impl Selection {
    /// From the plan.
    pub(crate) fn of(plan: &Plan, need: &CareNeed) -> Selection {
        Selection {
            radius_km: plan.radius_km,
            requested_radius_km: plan.requested_radius_km,
            considered: plan.considered,
            left_out: plan
                .left_out
                .iter()
                .map(|l| (l.reason.describe(l.count, need), l.count))
                .collect(),
            origin: plan.origin.label.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn budget_bands_match_the_matching_bands() {
        assert_eq!(
            budget_of("3000_5000_self"),
            (Some(1154.0), Funder::SelfFunded)
        );
        assert_eq!(
            budget_of("under_3000_local"),
            (Some(692.0), Funder::LocalAuthority)
        );
        assert_eq!(budget_of("over_7000_self"), (None, Funder::SelfFunded));
        assert_eq!(budget_of("need_budget_guidance"), (None, Funder::Unsure));
    }

    #[test]
    fn medication_scale_reads_old_and_new_answers() {
        assert_eq!(medication_of("independent"), MedicationSupport::None);
        assert_eq!(medication_of("reminders_needed"), MedicationSupport::Light);
        assert_eq!(
            medication_of("full_administration_required"),
            MedicationSupport::Complex
        );
        assert_eq!(
            medication_of("several_simple_routine"),
            MedicationSupport::Moderate
        );
    }

    #[test]
    fn cqc_api_overrides_the_directory_and_deregistration_is_read() {
        let home = Home {
            ratings: crate::directory::CqcRatings {
                overall: Some(CqcRating::Good),
                safe: Some(CqcRating::Good),
                ..Default::default()
            },
            ..Default::default()
        };
        let c = cqc_facts(&home, None);
        assert_eq!((c.origin, c.overall), ("directory", Some(CqcRating::Good)));
        let api = json!({"overallRating": "Requires Improvement", "keyQuestionRatings": {"wellLed": "Inadequate"},
            "lastInspectionDate": "2023-01-02", "registrationStatus": "Deregistered", "deregistrationDate": "2024-05-06"});
        let c = cqc_facts(&home, Some(&api));
        assert_eq!(c.origin, "cqc_api");
        assert_eq!(c.overall, Some(CqcRating::RequiresImprovement));
        assert_eq!(c.safe, Some(CqcRating::Good));
        assert_eq!(c.well_led, Some(CqcRating::Inadequate));
        assert_eq!(c.registration_status.as_deref(), Some("Deregistered"));
        assert_eq!(c.deregistration_date, NaiveDate::from_ymd_opt(2024, 5, 6));
    }

    #[test]
    fn fsa_and_google_are_read_defensively() {
        let f = fsa_facts(
            &json!({"rating": null, "ratingValue": "2", "ratingDate": "2024-03-01",
            "scores": {"hygiene": 10, "structural": "x"}}),
        );
        assert_eq!(f.rating, Some(2));
        assert_eq!(f.hygiene, Some(10));
        assert_eq!(f.structural, None);
        assert_eq!(fsa_facts(&json!({"ratingValue": "Exempt"})).rating, None);
        let g = google_facts(&json!({"rating": 3.2, "userRatingCount": 12,
            "reviews": [{"rating": 1.0, "text": "cold food"}, {"text": 5}]}));
        assert_eq!(
            (g.rating, g.review_count, g.reviews.len()),
            (Some(3.2), Some(12), 2)
        );
        assert_eq!(g.reviews[1].text, None);
    }

    #[test]
    fn the_directory_fee_wins_over_the_website_and_the_website_is_read_for_the_care_needed() {
        let care = CareNeed {
            nursing: true,
            ..CareNeed::default()
        };
        let site = json!({"url": "https://oak.example/", "feeQuotes": [
            {"careType": "nursing", "weeklyFrom": 1300.0, "weeklyTo": null, "startingPrice": false,
             "monthly": false, "sentence": "Nursing care is £1,300 per week."}]});
        let mut home = Home::default();
        let (fee, source) = home_fee(&home, &care, Some(&site)).unwrap();
        assert_eq!(fee, 1300.0);
        assert!(matches!(
            source,
            FeeSource::Website {
                starting_price: false,
                ..
            }
        ));
        home.fees.nursing_from = Some(1250.0);
        assert_eq!(
            home_fee(&home, &care, Some(&site)),
            Some((1250.0, FeeSource::Directory))
        );
        let residential = CareNeed {
            residential: true,
            ..CareNeed::default()
        };
        assert_eq!(home_fee(&Home::default(), &residential, Some(&site)), None);
        assert_eq!(home_fee(&Home::default(), &care, None), None);
    }
}
