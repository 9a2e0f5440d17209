//! Small hand-made inputs for the rule tests.

use chrono::NaiveDate;

use super::*;

/// A family: residential care, Leeds, £3,000–5,000 a month self-funded,
/// within 15 km, next month, no special needs.
pub(super) fn needs() -> FamilyNeeds {
    FamilyNeeds {
        city: "Leeds".into(),
        care: CareNeed {
            residential: true,
            ..CareNeed::default()
        },
        dementia: false,
        diabetes: false,
        heart_condition: false,
        mobility_problems: false,
        mobility: MobilityLevel::FullyMobile,
        medication: MedicationSupport::Light,
        falls: FallRisk::None,
        allergies: vec![],
        diets: vec![],
        urgency: Urgency::NextMonth,
        funder: Funder::SelfFunded,
        budget_answer: "3000_5000_self".into(),
        budget_max_weekly: Some(1154.0),
        max_distance_km: Some(15.0),
        priorities: vec![],
    }
}

/// A home with nothing wrong: all Good, inspected a year before mid-2026,
/// FSA 5, 4.6 stars over 40 reviews, £1,000 a week, 3 km.
pub(super) fn home(n: usize) -> HomeFacts {
    let good = Some(CqcRating::Good);
    HomeFacts {
        rank: n,
        id: format!("H{n}"),
        name: format!("Home {n}"),
        location: "Leeds".into(),
        local_authority: Some("Leeds".into()),
        score: Some(80.0 - n as f64),
        distance_km: Some(3.0),
        weekly_fee: Some(1000.0),
        fee_source: Some(FeeSource::Directory),
        care_offered: vec!["residential"],
        cqc: Some(CqcFacts {
            origin: "cqc_api",
            overall: good,
            safe: good,
            effective: good,
            caring: good,
            responsive: good,
            well_led: good,
            last_inspection: NaiveDate::from_ymd_opt(2025, 6, 1),
            registration_status: Some("Registered".into()),
            deregistration_date: None,
            trend: None,
            manager_in_post: Some(true),
            manager_absent_since: None,
        }),
        fsa: Some(FsaFacts {
            rating: Some(5),
            ..FsaFacts::default()
        }),
        google: Some(GoogleFacts {
            rating: Some(4.3),
            review_count: Some(40),
            reviews: vec![],
        }),
        missing: vec![],
        winner_of: vec![],
        fallback: None,
        respite_unconfirmed: false,
        previous_rating: None,
        wheelchair_access: Some(true),
        secure_garden: Some(true),
        company: None,
        company_lookup: Some(CompanyLookup::NoNumber),
    }
}

/// An input of these homes with [`needs`] and a local market of median £1,000.
pub(super) fn input(homes: Vec<HomeFacts>) -> JudgementInput {
    JudgementInput {
        needs: needs(),
        homes,
        market: Some(market(1000.0, 5)),
        selection: Selection {
            radius_km: 15.0,
            requested_radius_km: Some(15.0),
            considered: 12,
            left_out: vec![],
            origin: "Leeds".into(),
        },
    }
}

/// A market with this local median and sample size.
pub(super) fn market(median: f64, count: usize) -> MarketFacts {
    MarketFacts {
        care_type: "residential",
        directory: "test".into(),
        area: "within 15 km of Leeds".into(),
        radius_km: 15.0,
        local: Some(FeeStats {
            count,
            median,
            min: median - 200.0,
            max: median + 300.0,
            mean: median + 20.0,
        }),
        all: Some(FeeStats {
            count: 50,
            median: 980.0,
            min: 600.0,
            max: 1900.0,
            mean: 1010.0,
        }),
    }
}
