//! Builders of the judgement's facts from what lies below it: the family's
//! needs from the questionnaire, each chosen home from the directory, its
//! typed source records (`crate::facts`) and slot statuses, and the
//! market from the directory. The report puts them together into a
//! [`JudgementInput`] for its plan; the judgement never names the report.
//!
//! Answers are read by their wire names (`as_str`), not by matching enum
//! variants, so new questionnaire values (`temporary_respite`,
//! `full_administration_required`, `vegetarian_vegan`, …) are understood
//! as soon as the questionnaire accepts them. The source records read
//! leniently (see `crate::facts`): a field that is absent or of another
//! type is unknown, never an error.

use super::*;
use crate::directory::{Directory, Home};
use crate::facts::{self, Company, Cqc, Fsa, HomeSources, Place, Website};
use crate::matching::{relevant_fee, ScoredHome};
use crate::model::{Slot, SlotStatus, SourceType};
use crate::questionnaire::Questionnaire;

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

/// A CQC rating as the source wrote it.
fn rating(text: &Option<String>) -> Option<CqcRating> {
    text.as_deref().and_then(CqcRating::parse)
}

/// CQC facts: the directory's, overridden field by field by the CQC API's
/// record (`facts::Cqc`) when it is loaded.
pub(crate) fn cqc_facts(home: &Home, api: Option<&Cqc>) -> CqcFacts {
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
    let kq = &v.key_question_ratings;
    c.origin = "cqc_api";
    c.overall = rating(&v.overall_rating).or(c.overall);
    c.safe = rating(&kq.safe).or(c.safe);
    c.effective = rating(&kq.effective).or(c.effective);
    c.caring = rating(&kq.caring).or(c.caring);
    c.responsive = rating(&kq.responsive).or(c.responsive);
    c.well_led = rating(&kq.well_led).or(c.well_led);
    c.last_inspection = facts::date(v.last_inspection_date.as_deref()).or(c.last_inspection);
    c.registration_status = v.registration_status.clone();
    c.deregistration_date = facts::date(v.deregistration_date.as_deref());
    c.trend = v.rating_trend.as_ref().and_then(rating_trend);
    let manager = v.registered_manager.as_ref();
    c.manager_in_post = manager.and_then(|m| m.in_post);
    c.manager_absent_since = manager.and_then(|m| facts::date(m.absent_since.as_deref()));
    c
}

/// The CQC record's rating trend, when whole.
fn rating_trend(t: &facts::cqc::RatingTrend) -> Option<RatingTrend> {
    Some(RatingTrend {
        direction: t.direction.clone()?,
        previous: rating(&t.previous)?,
        previous_date: facts::date(t.previous_date.as_deref()),
        current: rating(&t.current)?,
        since: facts::date(t.since.as_deref()),
    })
}

/// FSA facts from the FSA record (`facts::Fsa`).
pub(crate) fn fsa_facts(v: &Fsa) -> FsaFacts {
    let points = |p: Option<u64>| p.and_then(|n| u32::try_from(n).ok());
    FsaFacts {
        rating: v
            .rating
            .or_else(|| v.rating_value.as_deref().and_then(|s| s.parse().ok()))
            .filter(|r| *r <= 5)
            .and_then(|r| u8::try_from(r).ok()),
        rating_date: facts::date(v.rating_date.as_deref()),
        hygiene: points(v.scores.hygiene),
        structural: points(v.scores.structural),
        confidence_in_management: points(v.scores.confidence_in_management),
    }
}

/// When an insolvency case started and ended, from its dates by kind.
const CASE_STARTED: [&str; 7] = [
    "administration-started-on",
    "wound-up-on",
    "ordered-to-wind-up-on",
    "voluntary-arrangement-started-on",
    "moratorium-started-on",
    "instrumented-on",
    "petitioned-on",
];
const CASE_ENDED: [&str; 5] = [
    "administration-ended-on",
    "administration-discharged-on",
    "concluded-winding-up-on",
    "voluntary-arrangement-ended-on",
    "dissolved-on",
];

/// Company facts from the Companies House record (`facts::Company`);
/// `None` without a number and a status.
pub(crate) fn company_facts(v: &Company) -> Option<CompanyFacts> {
    let cases = v
        .insolvency_cases
        .iter()
        .map(|c| {
            let first = |kinds: &[&str]| {
                kinds
                    .iter()
                    .find_map(|k| facts::date(c.dates.get(*k).map(String::as_str)))
            };
            InsolvencyCase {
                kind: c.kind.clone(),
                started: first(&CASE_STARTED),
                ended: first(&CASE_ENDED),
            }
        })
        .collect();
    let (accounts, confirmation) = (&v.accounts, &v.confirmation_statement);
    Some(CompanyFacts {
        number: v.company_number.clone()?,
        name: v.company_name.clone(),
        status: v.company_status.clone()?,
        status_detail: v.company_status_detail.clone(),
        ceased_on: facts::date(v.date_of_cessation.as_deref()),
        accounts_overdue: accounts.overdue,
        accounts_next_due: facts::date(accounts.next_due.as_deref()),
        accounts_last_made_up_to: facts::date(accounts.last_made_up_to.as_deref()),
        last_accounts_type: accounts.last_accounts_type.clone(),
        confirmation_overdue: confirmation.overdue,
        confirmation_next_due: facts::date(confirmation.next_due.as_deref()),
        insolvency_cases: cases,
        outstanding_charges: v.charges.as_ref().map(|c| c.outstanding),
        register_url: v.register_url.clone(),
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

/// Google facts from the place (`facts::Place`).
pub(crate) fn google_facts(v: &Place) -> GoogleFacts {
    GoogleFacts {
        rating: v.rating,
        review_count: v.user_rating_count,
        reviews: v
            .reviews
            .iter()
            .map(|r| Review {
                rating: r.rating,
                text: r.text.clone(),
            })
            .collect(),
    }
}

impl HomeFacts {
    /// One chosen home with its loaded source data and slot statuses.
    pub(crate) fn from_scored(
        rank: usize,
        scored: &ScoredHome,
        care: &CareNeed,
        sources: &HomeSources,
        slots: &[Slot],
    ) -> HomeFacts {
        let mut facts = HomeFacts::from_home(
            rank,
            &scored.home,
            Some(scored.match_score),
            Some(scored.distance_km),
            care,
            sources,
            slots,
        );
        facts.fallback = scored.fallback.map(|f| f.describe());
        facts
    }

    /// A directory home with its score and distance (when known), its
    /// loaded source records and slot statuses.
    pub fn from_home(
        rank: usize,
        h: &Home,
        score: Option<f64>,
        distance_km: Option<f64>,
        care: &CareNeed,
        sources: &HomeSources,
        slots: &[Slot],
    ) -> HomeFacts {
        let fee = home_fee(h, care, sources.website.as_ref());
        let company = sources.company.as_ref().and_then(company_facts);
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
            cqc: Some(cqc_facts(h, sources.cqc.as_ref())),
            fsa: sources.fsa.as_ref().map(fsa_facts),
            google: sources.google.as_ref().map(google_facts),
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
/// care (the website record's fee quotes, see `sources::fees`).
fn home_fee(h: &Home, care: &CareNeed, website: Option<&Website>) -> Option<(f64, FeeSource)> {
    if let Some(fee) = relevant_fee(h, care) {
        return Some((fee, FeeSource::Directory));
    }
    let site = website?;
    let quote = facts::for_care(&site.fee_quotes, care.market_care_type())?;
    Some((
        quote.weekly_from,
        FeeSource::Website {
            sentence: quote.sentence,
            url: site.url.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

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
        let api = Cqc {
            overall_rating: Some("Requires Improvement".into()),
            key_question_ratings: facts::cqc::KeyQuestionRatings {
                well_led: Some("Inadequate".into()),
                ..Default::default()
            },
            last_inspection_date: Some("2023-01-02".into()),
            registration_status: Some("Deregistered".into()),
            deregistration_date: Some("2024-05-06".into()),
            ..Cqc::default()
        };
        let c = cqc_facts(&home, Some(&api));
        assert_eq!(c.origin, "cqc_api");
        assert_eq!(c.overall, Some(CqcRating::RequiresImprovement));
        assert_eq!(c.safe, Some(CqcRating::Good));
        assert_eq!(c.well_led, Some(CqcRating::Inadequate));
        assert_eq!(c.registration_status.as_deref(), Some("Deregistered"));
        assert_eq!(c.deregistration_date, NaiveDate::from_ymd_opt(2024, 5, 6));
    }

    #[test]
    fn fsa_reads_the_rating_as_written_when_it_is_not_a_number_and_google_its_reviews() {
        let mut fsa = Fsa {
            rating_value: Some("2".into()),
            rating_date: Some("2024-03-01".into()),
            ..Fsa::default()
        };
        fsa.scores.hygiene = Some(10);
        let f = fsa_facts(&fsa);
        assert_eq!(
            (f.rating, f.hygiene, f.structural),
            (Some(2), Some(10), None)
        );
        assert_eq!(f.rating_date, NaiveDate::from_ymd_opt(2024, 3, 1));
        fsa.rating_value = Some("Exempt".into());
        assert_eq!(fsa_facts(&fsa).rating, None);
        fsa.rating = Some(7);
        assert_eq!(fsa_facts(&fsa).rating, None, "not a rating");
        let review = |rating, text: Option<&str>| facts::google::Review {
            rating,
            text: text.map(str::to_owned),
            ..Default::default()
        };
        let g = google_facts(&Place {
            rating: Some(3.2),
            user_rating_count: Some(12),
            reviews: vec![review(Some(1.0), Some("cold food")), review(None, None)],
            ..Place::default()
        });
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
        let site = Website {
            url: Some("https://oak.example/".into()),
            fee_quotes: vec![facts::PageFee {
                care_type: Some("nursing".into()),
                weekly_from: 1300.0,
                weekly_to: None,
                starting_price: false,
                monthly: false,
                sentence: "Nursing care is £1,300 per week.".into(),
            }],
            ..Website::default()
        };
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
