//! Funding routes in England that apply from the questionnaire alone, with
//! the public figures they rest on as configuration (source and tax year).
//!
//! Own shape (`fundingGuidance`), not the client's `fundingOptimization`:
//! that block displays a CHC eligibility percentage, a council contribution
//! split and a deferred-payment amount, each of which needs the person's
//! savings, property, income or a clinical assessment. The service holds none
//! of those, so this section says which routes to ask about and what it
//! cannot know, and never estimates an amount.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::next_steps::{general, Action};
use super::{
    pounds, prose, Evidence, FallRisk, FamilyNeeds, Funder, JudgementInput, MedicationSupport,
    MobilityLevel, Trace, Urgency,
};

/// A public figure with where it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Figure {
    /// Its id (machine).
    pub name: &'static str,
    /// What it is, in words.
    pub label: &'static str,
    /// Pounds (a week for rates, a total for capital limits).
    pub amount: f64,
    /// The tax year it applies to, e.g. `2025/26` (6 April to 5 April).
    pub tax_year: &'static str,
    /// Its first calendar year (2025 for 2025/26).
    #[serde(skip)]
    pub year_start: i32,
    /// Where it is published.
    pub source: &'static str,
}

/// The figures, newest first within each name. Each cites GOV.UK or the
/// NHS (the page and the tax year), never a council or a news site, so a
/// family can check it at the source. Update each April.
pub(crate) const FIGURES: &[Figure] = &[
    Figure {
        name: "upper_capital_limit",
        label: "upper capital limit",
        amount: 23_250.0,
        tax_year: "2025/26",
        year_start: 2025,
        source: "DHSC, Social care charging for care and support: local authority circular LAC(DHSC)(2025)1, for 2025/26 (the capital limits are unchanged since 2010), https://www.gov.uk/government/publications/social-care-charging-for-care-and-support-local-authority-circular",
    },
    Figure {
        name: "lower_capital_limit",
        label: "lower capital limit",
        amount: 14_250.0,
        tax_year: "2025/26",
        year_start: 2025,
        source: "DHSC, Social care charging for care and support: local authority circular LAC(DHSC)(2025)1, for 2025/26 (the capital limits are unchanged since 2010), https://www.gov.uk/government/publications/social-care-charging-for-care-and-support-local-authority-circular",
    },
    Figure {
        name: "nhs_funded_nursing_care_weekly",
        label: "NHS-funded nursing care weekly rate",
        amount: 267.68,
        tax_year: "2026/27",
        year_start: 2026,
        source: "DHSC, Better community care thanks to nursing funding boost (9 March 2026): standard rate £254.06 to £267.68 from 1 April 2026, for 2026/27, https://www.gov.uk/government/news/better-community-care-thanks-to-nursing-funding-boost",
    },
    Figure {
        name: "nhs_funded_nursing_care_weekly",
        label: "NHS-funded nursing care weekly rate",
        amount: 254.06,
        tax_year: "2025/26",
        year_start: 2025,
        source: "DHSC, Boost in funding for care homes providing nursing (4 March 2025): standard rate £254.06 from 1 April 2025, for 2025/26, https://www.gov.uk/government/news/boost-in-funding-for-care-homes-providing-nursing",
    },
    Figure {
        name: "attendance_allowance_higher_weekly",
        label: "Attendance Allowance higher weekly rate",
        amount: 110.40,
        tax_year: "2025/26",
        year_start: 2025,
        source: "GOV.UK, Attendance Allowance: what you'll get, rates for 2025/26 (lower £73.90, higher £110.40), https://www.gov.uk/attendance-allowance/what-youll-get",
    },
    Figure {
        name: "attendance_allowance_lower_weekly",
        label: "Attendance Allowance lower weekly rate",
        amount: 73.90,
        tax_year: "2025/26",
        year_start: 2025,
        source: "GOV.UK, Attendance Allowance: what you'll get, rates for 2025/26 (lower £73.90, higher £110.40), https://www.gov.uk/attendance-allowance/what-youll-get",
    },
];

/// Where each route's rules are published (GOV.UK or the NHS).
const CHC_SOURCE: &str = "NHS, NHS continuing healthcare, https://www.nhs.uk/social-care-and-support/money-work-and-benefits/nhs-continuing-healthcare/";
const CARE_ACT_SOURCE: &str = "DHSC, Care and support statutory guidance (chapter 8, charging and financial assessment; chapter 9 and annex on deferred payment agreements), https://www.gov.uk/government/publications/care-act-statutory-guidance/care-and-support-statutory-guidance";
const AA_SOURCE: &str = "GOV.UK, Attendance Allowance, https://www.gov.uk/attendance-allowance";
const FNC_SOURCE: &str = "DHSC, National framework for NHS continuing healthcare and NHS-funded nursing care, https://www.gov.uk/government/publications/national-framework-for-nhs-continuing-healthcare-and-nhs-funded-nursing-care";

/// The tax year's first calendar year for a date (the year starts 6 April).
pub(crate) fn tax_year_start(d: NaiveDate) -> i32 {
    if (d.month(), d.day()) >= (4, 6) {
        d.year()
    } else {
        d.year() - 1
    }
}

/// The figure in force on `today`, or the newest one held.
pub(crate) fn figure(name: &str, today: NaiveDate) -> &'static Figure {
    let year = tax_year_start(today);
    let mut of_name = FIGURES.iter().filter(|f| f.name == name);
    let newest = of_name.clone().max_by_key(|f| f.year_start);
    of_name
        .find(|f| f.year_start == year)
        .or(newest)
        .unwrap_or_else(|| panic!("no funding figure {name}"))
}

/// A route and why it applies.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingRoute {
    /// Short id: `means_test`, `council_assessment`, `chc_screening`,
    /// `nursing_care_contribution`, `attendance_allowance`, `deferred_payment`.
    pub route: &'static str,
    /// Title.
    pub title: &'static str,
    /// The statement.
    pub summary: String,
    /// What to ask, and whom.
    pub ask: Vec<&'static str>,
    /// The figures used.
    pub figures: Vec<Figure>,
    /// Where the route's rules are published (GOV.UK or the NHS).
    pub source: &'static str,
    /// Rule, evidence, threshold.
    #[serde(flatten)]
    pub trace: Trace,
}

/// The section (own shape, key `fundingGuidance`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingGuidance {
    /// `England`: the figures and rules are England's.
    pub jurisdiction: &'static str,
    /// The routes that apply, most decisive first.
    pub routes: Vec<FundingRoute>,
    /// What the service cannot know, plainly.
    pub cannot_know: Vec<&'static str>,
    /// Questions for the council.
    pub questions_for_council: Vec<&'static str>,
    /// Figures older than the report's tax year.
    pub out_of_date: Vec<String>,
    /// When.
    pub generated_at: String,
    /// Inputs not held (always the finances).
    pub missing_inputs: Vec<&'static str>,
}

/// The CHC checklist indicators the answers show.
pub(crate) fn chc_indicators(n: &FamilyNeeds) -> Vec<&'static str> {
    let mut out = Vec::new();
    if n.care.nursing {
        out.push("nursing care");
    }
    if n.dementia || n.care.dementia {
        out.push("dementia");
    }
    if n.mobility == MobilityLevel::WheelchairPermanent {
        out.push("permanent wheelchair use");
    }
    if n.medication == MedicationSupport::Complex {
        out.push("complex medicines");
    }
    if n.falls == FallRisk::High {
        out.push("high fall risk");
    }
    if n.diets.iter().any(|d| d == "pureed_soft_food") {
        out.push("puréed diet");
    }
    out
}

/// The section. Always built (the means test applies to everyone in England).
pub(crate) fn guidance(
    n: &FamilyNeeds,
    today: NaiveDate,
    generated_at: &str,
) -> Option<FundingGuidance> {
    let upper = figure("upper_capital_limit", today);
    let lower = figure("lower_capital_limit", today);
    let mut routes = Vec::new();
    let indicators = chc_indicators(n);
    if indicators.len() >= super::rules::CHC_MIN_INDICATORS {
        routes.push(chc_screening(indicators));
    }
    if n.care.nursing {
        routes.push(nursing_care_contribution(today));
    }
    if matches!(n.funder, Funder::LocalAuthority | Funder::Unsure) {
        routes.push(council_assessment(n));
    }
    routes.push(means_test(upper, lower));
    // Both can apply whoever the family expects to pay: the statements say
    // what decides them (age and who pays; a home owned and the savings).
    routes.push(attendance_allowance(n, today));
    routes.push(deferred_payment(n, upper));
    let out_of_date = out_of_date(&routes, today);
    Some(FundingGuidance {
        jurisdiction: "England",
        routes,
        cannot_know: vec![
            "The person's savings and other capital, so whether the council will contribute.",
            "Whether they own a property, and whether it counts (a partner or relative may live there).",
            "Their income and benefits, so what they would pay under the means test.",
            "Whether the NHS will find them eligible for Continuing Healthcare: only its assessment decides.",
        ],
        questions_for_council: vec![
            "Can you carry out a care needs assessment, and how soon?",
            "After the financial assessment, how much would you pay and how much would we?",
            "Which of our shortlisted homes accept your usual rate, and is a top-up needed?",
            "Do you offer a deferred payment agreement, at what interest rate and fees?",
        ],
        out_of_date,
        generated_at: generated_at.to_owned(),
        missing_inputs: vec!["savings", "property", "income"],
    })
}

/// A route from the rule with this id: its title, and its statement from
/// the evidence.
fn route(
    (route, source): (&'static str, &'static str),
    rule_id: &'static str,
    ask: Vec<&'static str>,
    figures: Vec<Figure>,
    ev: Vec<Evidence>,
) -> FundingRoute {
    let trace = Trace::new(rule_id, ev);
    FundingRoute {
        route,
        title: super::rules::rule(rule_id).title,
        summary: trace.statement(),
        ask,
        figures,
        source,
        trace,
    }
}

/// NHS Continuing Healthcare screening, for the CHC indicators the answers
/// show.
fn chc_screening(indicators: Vec<&'static str>) -> FundingRoute {
    route(
        ("chc_screening", CHC_SOURCE),
        "funding.chc_screening",
        vec![
            "Ask the GP, hospital discharge team or social worker for the NHS Continuing Healthcare checklist.",
            "If the checklist is positive, a full assessment (the Decision Support Tool) follows; if eligible, the NHS pays the whole fee.",
        ],
        vec![],
        vec![
            Evidence::new("count", indicators.len()),
            Evidence::new("indicators", indicators),
        ],
    )
}

/// The NHS-funded nursing care contribution at the rate in force.
fn nursing_care_contribution(today: NaiveDate) -> FundingRoute {
    let fnc = figure("nhs_funded_nursing_care_weekly", today);
    route(
        ("nursing_care_contribution", FNC_SOURCE),
        "funding.nursing_care_contribution",
        vec!["Ask each nursing home whether its quoted fee is before or after the NHS-funded nursing care contribution."],
        vec![*fnc],
        vec![
            Evidence::new("weekly_rate", pounds(fnc.amount)),
            Evidence::new("tax_year", fnc.tax_year),
        ],
    )
}

/// The council's needs and financial assessments.
fn council_assessment(n: &FamilyNeeds) -> FundingRoute {
    route(
        ("council_assessment", CARE_ACT_SOURCE),
        "funding.council_assessment",
        vec![
            "Ask the council's adult social care team for a care needs assessment.",
            "Ask for a financial assessment and which homes the council pays for at its usual rate.",
        ],
        vec![],
        vec![
            Evidence::new("budget", n.budget_answer.clone()),
            Evidence::new("budget_words", prose::budget_words(&n.budget_answer)),
        ],
    )
}

/// The means test with its capital limits.
fn means_test(upper: &Figure, lower: &Figure) -> FundingRoute {
    route(
        ("means_test", CARE_ACT_SOURCE),
        "funding.means_test",
        vec!["Between the two limits the council assumes £1 a week of income for every £250 of capital: ask for the calculation in writing."],
        vec![*upper, *lower],
        vec![
            Evidence::new("upper_limit", pounds(upper.amount)),
            Evidence::new("lower_limit", pounds(lower.amount)),
            Evidence::new("tax_year", upper.tax_year),
        ],
    )
}

/// Attendance Allowance at its rates in force.
fn attendance_allowance(n: &FamilyNeeds, today: NaiveDate) -> FundingRoute {
    let (hi, lo) = (
        figure("attendance_allowance_higher_weekly", today),
        figure("attendance_allowance_lower_weekly", today),
    );
    route(
        ("attendance_allowance", AA_SOURCE),
        "funding.attendance_allowance",
        vec!["Claim from the Department for Work and Pensions if the person is over State Pension age and not already receiving it."],
        vec![*hi, *lo],
        vec![
            Evidence::new("lower_rate", pounds(lo.amount)),
            Evidence::new("higher_rate", pounds(hi.amount)),
            Evidence::new("tax_year", hi.tax_year),
            Evidence::new("funder", prose::funder_words(n.funder)),
        ],
    )
}

/// A deferred payment agreement against the upper capital limit.
fn deferred_payment(n: &FamilyNeeds, upper: &Figure) -> FundingRoute {
    route(
        ("deferred_payment", CARE_ACT_SOURCE),
        "funding.deferred_payment",
        vec![
            "Ask the council about a deferred payment agreement, its interest rate and fees.",
            "The home is not counted for the first 12 weeks of a permanent placement: ask the council how this applies.",
        ],
        vec![*upper],
        vec![
            Evidence::new("upper_limit", pounds(upper.amount)),
            Evidence::new("funder", prose::funder_words(n.funder)),
        ],
    )
}

/// When a funding step is due, by how soon a place is needed (`first`: a
/// step that decides what the family can afford, due before any visit).
fn step_timeline(urgency: Urgency, first: bool) -> &'static str {
    match (urgency, first) {
        (Urgency::Urgent, true) => "Today",
        (Urgency::Urgent, false) => "This week",
        (Urgency::NextMonth, true) => "This week",
        (Urgency::NextMonth, false) => "Next two weeks",
        (Urgency::Planning, true) => "Next two weeks",
        (Urgency::Planning, false) => "This month",
        (Urgency::Exploring, _) => "Before you choose a home",
    }
}

/// The funding steps due before contacting homes, as next-step actions:
/// the NHS Continuing Healthcare checklist when the answers show its
/// indicators, then the council's assessments when the family expects the
/// council to pay or is unsure.
pub(crate) fn first_steps(input: &JudgementInput) -> Vec<Action> {
    let n = &input.needs;
    let when = step_timeline(n.urgency, true);
    let mut steps = Vec::new();
    let indicators = chc_indicators(n);
    if indicators.len() >= super::rules::CHC_MIN_INDICATORS {
        let trace = Trace::new(
            "next_steps.chc_checklist_first",
            vec![
                Evidence::new("count", indicators.len()),
                Evidence::new("indicators", indicators),
            ],
        );
        steps.push(general(&trace.statement(), when, "high", trace));
    }
    if matches!(n.funder, Funder::LocalAuthority | Funder::Unsure) {
        // The council responsible is where the person lives now, not where
        // a chosen home is: the service does not know it, so it says so.
        let council = "the council where the person lives now";
        let trace = Trace::new(
            "next_steps.council_assessment_first",
            vec![
                Evidence::new("council", council),
                Evidence::new("budget", n.budget_answer.clone()),
                Evidence::new("budget_words", prose::budget_words(&n.budget_answer)),
            ],
        );
        steps.push(general(&trace.statement(), when, "high", trace));
    }
    steps
}

/// The funding steps that can apply to any family, with what decides them:
/// Attendance Allowance and a deferred payment agreement.
pub(crate) fn later_steps(input: &JudgementInput, today: NaiveDate) -> Vec<Action> {
    let n = &input.needs;
    let when = step_timeline(n.urgency, false);
    let (hi, lo) = (
        figure("attendance_allowance_higher_weekly", today),
        figure("attendance_allowance_lower_weekly", today),
    );
    let upper = figure("upper_capital_limit", today);
    let funder = Evidence::new("funder", prose::funder_words(n.funder));
    let aa = Trace::new(
        "next_steps.attendance_allowance",
        vec![
            Evidence::new("lower_rate", pounds(lo.amount)),
            Evidence::new("higher_rate", pounds(hi.amount)),
            Evidence::new("tax_year", hi.tax_year),
            funder.clone(),
        ],
    );
    let dpa = Trace::new(
        "next_steps.deferred_payment",
        vec![Evidence::new("upper_limit", pounds(upper.amount)), funder],
    );
    vec![
        general(&aa.statement(), when, "medium", aa),
        general(&dpa.statement(), when, "medium", dpa),
    ]
}

/// One statement per figure the routes use that is older than the report's
/// tax year, without repeats.
fn out_of_date(routes: &[FundingRoute], today: NaiveDate) -> Vec<String> {
    let report_year = tax_year_start(today);
    let mut out_of_date: Vec<String> = Vec::new();
    for f in routes.iter().flat_map(|r| &r.figures) {
        if f.year_start < report_year {
            let s = Trace::new(
                "funding.figures_out_of_date",
                vec![
                    Evidence::new("figure", f.label),
                    Evidence::new("tax_year", f.tax_year),
                    Evidence::new("report_date", today.to_string()),
                ],
            )
            .statement();
            if !out_of_date.contains(&s) {
                out_of_date.push(s);
            }
        }
    }
    out_of_date
}

#[cfg(test)]
mod tests {
    use super::super::testkit::needs;
    use super::super::CareNeed;
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn routes(n: &FamilyNeeds) -> Vec<&'static str> {
        guidance(n, day(2025, 10, 1), "t")
            .unwrap()
            .routes
            .iter()
            .map(|r| r.route)
            .collect()
    }

    #[test]
    fn means_test_is_always_there_with_its_figures() {
        let g = guidance(&needs(), day(2025, 10, 1), "t").unwrap();
        let m = g.routes.iter().find(|r| r.route == "means_test").unwrap();
        assert!(
            m.summary.contains("£23,250") && m.summary.contains("£14,250"),
            "{}",
            m.summary
        );
        assert!(m.figures.iter().all(|f| f.source.contains("https://")));
        assert!(g.out_of_date.is_empty());
    }

    #[test]
    fn chc_screening_fires_at_two_indicators_not_one() {
        let mut n = needs();
        n.dementia = true;
        assert!(!routes(&n).contains(&"chc_screening"));
        n.falls = FallRisk::High;
        assert!(routes(&n).contains(&"chc_screening"));
    }

    #[test]
    fn nursing_contribution_only_for_nursing_care() {
        let mut n = needs();
        assert!(!routes(&n).contains(&"nursing_care_contribution"));
        n.care = CareNeed {
            nursing: true,
            ..CareNeed::default()
        };
        assert!(routes(&n).contains(&"nursing_care_contribution"));
        let g = guidance(&n, day(2026, 4, 6), "t").unwrap();
        let r = g
            .routes
            .iter()
            .find(|r| r.route == "nursing_care_contribution")
            .unwrap();
        assert!(r.summary.contains("£267.68"), "{}", r.summary);
        let g = guidance(&n, day(2026, 4, 5), "t").unwrap();
        let r = g
            .routes
            .iter()
            .find(|r| r.route == "nursing_care_contribution")
            .unwrap();
        assert!(r.summary.contains("£254.06"), "{}", r.summary);
    }

    #[test]
    fn council_assessment_for_council_funding_attendance_allowance_and_deferred_payment_for_all() {
        let mut n = needs();
        assert!(!routes(&n).contains(&"council_assessment"));
        for f in [Funder::SelfFunded, Funder::LocalAuthority, Funder::Unsure] {
            n.funder = f;
            assert!(routes(&n).contains(&"attendance_allowance"), "{f:?}");
            assert!(routes(&n).contains(&"deferred_payment"), "{f:?}");
        }
        n.funder = Funder::LocalAuthority;
        n.budget_answer = "5000_7000_local".into();
        assert!(routes(&n).contains(&"council_assessment"));
        let g = guidance(&n, day(2025, 10, 1), "t").unwrap();
        let c = g
            .routes
            .iter()
            .find(|r| r.route == "council_assessment")
            .unwrap();
        assert!(
            c.summary.starts_with("With £5,000–£7,000 a month"),
            "{}",
            c.summary
        );
        let aa = g
            .routes
            .iter()
            .find(|r| r.route == "attendance_allowance")
            .unwrap();
        assert!(
            aa.summary
                .contains("stops after 28 days if the council pays"),
            "{}",
            aa.summary
        );
    }

    #[test]
    fn every_figure_and_route_cites_gov_uk_or_the_nhs_over_https() {
        let official = |s: &str| {
            let url = &s[s
                .find("https://")
                .unwrap_or_else(|| panic!("no https in {s}"))..];
            let host = url["https://".len()..].split('/').next().unwrap();
            assert!(
                matches!(host, "www.gov.uk" | "www.england.nhs.uk" | "www.nhs.uk"),
                "{host} in {s}"
            );
        };
        for f in FIGURES {
            official(f.source);
            assert!(
                f.source.contains(f.tax_year),
                "{}: no tax year in its source",
                f.name
            );
        }
        let mut n = needs();
        n.care.nursing = true;
        n.dementia = true;
        n.funder = Funder::Unsure;
        for r in guidance(&n, day(2025, 10, 1), "t").unwrap().routes {
            official(r.source);
        }
    }

    #[test]
    fn figures_out_of_date_fires_after_their_tax_year() {
        let g = guidance(&needs(), day(2026, 4, 5), "t").unwrap();
        assert!(g.out_of_date.is_empty());
        let g = guidance(&needs(), day(2026, 4, 6), "t").unwrap();
        assert!(
            g.out_of_date
                .iter()
                .any(|s| s.contains("The upper capital limit figure is for 2025/26")),
            "{:?}",
            g.out_of_date
        );
    }
}
