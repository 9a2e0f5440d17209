//! `riskAssessment`: per home red flags and warnings, each from a rule.
//!
//! Only facts the service holds are judged: CQC ratings, inspection age and
//! registration, the FSA rating, Google's rating and the themes of its low
//! reviews, the provider company's Companies House record
//! ([`super::financial`]), the fee against the budget band, the distance
//! against the radius asked for, and which sources are still missing. The
//! client's `financial` category is assessed from the register when the
//! company's record is held (and says what a register cannot show), else
//! `no_data` with the reason; `staff` is always `no_data`: the service holds
//! no staffing data and does not guess.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::prose;
use super::rules::{self, rule};
use super::{
    CqcFacts, CqcRating, Evidence, FamilyNeeds, FsaFacts, GoogleFacts, HomeFacts, JudgementInput,
    Trace,
};

/// A red flag or warning in the client's shape (`RedFlag`, `Warning`), plus
/// its trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flag {
    /// Client category: `financial`, `cqc`, `staff` or `pricing`.
    #[serde(rename = "type")]
    pub category: &'static str,
    /// `high`, `medium` or `low`.
    pub severity: &'static str,
    /// Short title.
    pub title: &'static str,
    /// The statement, with the evidence filled in.
    pub description: String,
    /// What it means.
    pub impact: &'static str,
    /// What to do.
    pub recommendation: &'static str,
    /// Rule, evidence, threshold.
    #[serde(flatten)]
    pub trace: Trace,
}

impl Flag {
    /// A flag from the rule with this id and its evidence.
    pub(crate) fn from_rule(rule_id: &'static str, evidence: Vec<Evidence>) -> Flag {
        let r = rule(rule_id);
        let trace = Trace::new(rule_id, evidence);
        Flag {
            category: r.category,
            severity: r.severity,
            title: r.title,
            description: trace.statement(),
            impact: r.impact,
            recommendation: r.recommendation,
            trace,
        }
    }

    fn is_red(&self) -> bool {
        rule(self.trace.rule_id).kind == "red_flag"
    }

    /// Points towards the risk score (missing data is not risk: 0).
    fn points(&self) -> u32 {
        if self.trace.rule_id == "data.source_missing" {
            return 0;
        }
        match (self.is_red(), self.severity) {
            (true, "high") => 30,
            (true, "medium") => 20,
            (true, _) => 10,
            (false, "high") => 15,
            (false, "medium") => 10,
            (false, _) => 5,
        }
    }
}

/// One category of a home's assessment (client `financial_assessment` etc.).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CategoryAssessment {
    /// Red flags in this category.
    pub red_flags: Vec<Flag>,
    /// Warnings in this category.
    pub warnings: Vec<Flag>,
    /// Sum of the flags' points, at most 100.
    pub risk_score: u32,
    /// `assessed`, `partial` or `no_data`.
    pub status: &'static str,
    /// Why, in words.
    #[serde(rename = "statusNote")]
    pub status_note: String,
    /// CQC only: the overall rating as CQC prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overall_rating: Option<&'static str>,
    /// CQC only: how many key questions are rated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_ratings_count: Option<usize>,
    /// Pricing only: always false (the service keeps no fee history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing_history_available: Option<bool>,
}

/// One home's assessment (client `HomeRiskAssessment`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HomeRiskAssessment {
    /// Directory id.
    pub home_id: String,
    /// Name.
    pub home_name: String,
    /// All red flags.
    pub red_flags: Vec<Flag>,
    /// All warnings.
    pub warnings: Vec<Flag>,
    /// Sum of the flags' points, at most 100.
    pub risk_score: u32,
    /// `high`, `medium` or `low`.
    pub overall_risk_level: &'static str,
    /// This home's own facts in one sentence: its rating, how old it is and
    /// what was flagged (extra).
    pub summary: String,
    /// The provider company's Companies House flags.
    pub financial_assessment: CategoryAssessment,
    /// CQC, FSA, Google and missing-source flags.
    pub cqc_assessment: CategoryAssessment,
    /// No data held: present, empty, `no_data`.
    pub staff_assessment: CategoryAssessment,
    /// Fee and distance flags.
    pub pricing_assessment: CategoryAssessment,
}

/// Counts by level.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RiskDistribution {
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low.
    pub low: usize,
}

/// Flags by client category.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FlagsByCategory {
    /// Financial (the provider company's register entry).
    pub financial: usize,
    /// CQC and other inspection and review sources.
    pub cqc: usize,
    /// Staff (always 0: no data).
    pub staff: usize,
    /// Pricing and distance.
    pub pricing: usize,
}

/// One of the riskiest homes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskiestHome {
    /// Name.
    pub home_name: String,
    /// Score.
    pub risk_score: u32,
    /// Level.
    pub risk_level: &'static str,
    /// Red flags.
    pub red_flag_count: usize,
}

/// The section summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskSummary {
    /// Homes assessed.
    pub total_homes_assessed: usize,
    /// Red flags over all homes.
    pub total_red_flags: usize,
    /// Homes by level.
    pub risk_distribution: RiskDistribution,
    /// Red flags and warnings by category.
    pub flags_by_category: FlagsByCategory,
    /// Homes with a red flag, riskiest first.
    pub highest_risk_homes: Vec<RiskiestHome>,
    /// One paragraph; it always says how old the CQC data is.
    pub overall_assessment: String,
    /// How old the homes' CQC ratings are (extra).
    pub data_age: DataAge,
}

/// How old the chosen homes' CQC ratings are, as one traced sentence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataAge {
    /// The sentence.
    pub text: String,
    /// Every home's latest inspection is over 2 years old.
    pub all_over_2_years: bool,
    /// Rule, evidence, threshold.
    #[serde(flatten)]
    pub trace: Trace,
}

/// Client `riskAssessment`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskAssessment {
    /// Per home, in rank order.
    pub homes_assessment: Vec<HomeRiskAssessment>,
    /// Summary.
    pub summary: RiskSummary,
    /// When.
    pub generated_at: String,
    /// Sources not yet in: the assessment may change when they arrive.
    #[serde(rename = "missingInputs")]
    pub missing_inputs: Vec<String>,
}

/// The themes looked for in low-rated reviews, as data: (theme, keywords).
pub(crate) const REVIEW_THEMES: &[(&str, &[&str])] = &[
    (
        "staffing levels",
        &[
            "understaffed",
            "short staffed",
            "short-staffed",
            "not enough staff",
            "agency staff",
        ],
    ),
    (
        "cleanliness",
        &[
            "dirty", "smell", "smelled", "smelt", "stank", "unclean", "filthy",
        ],
    ),
    (
        "neglect",
        &[
            "neglect",
            "ignored",
            "left alone",
            "unattended",
            "left in soiled",
        ],
    ),
    ("food", &["food", "meal", "meals", "cold dinner"]),
    (
        "communication",
        &[
            "never told",
            "no one called",
            "not informed",
            "didn't inform",
            "communication",
        ],
    ),
    ("medication", &["medication", "medicine", "tablets"]),
    (
        "attitude of staff",
        &["rude", "disrespectful", "shouted", "unkind"],
    ),
];

/// The assessment; `None` when there are no homes.
pub(crate) fn assess(
    input: &JudgementInput,
    today: NaiveDate,
    generated_at: &str,
) -> Option<RiskAssessment> {
    if input.homes.is_empty() {
        return None;
    }
    let homes: Vec<HomeRiskAssessment> = input
        .homes
        .iter()
        .map(|h| assess_home(input, h, today))
        .collect();
    let total_red_flags: usize = homes.iter().map(|h| h.red_flags.len()).sum();
    let missing = super::missing_inputs(
        &input.homes,
        &["cqc", "fsa", "google_places", "companies_house"],
    );
    let data_age = data_age(&input.homes, today);
    let companies = input.homes.iter().filter(|h| h.company.is_some()).count();
    let overall_assessment = overall_text(&homes, total_red_flags, &missing, &data_age, companies);
    Some(RiskAssessment {
        summary: RiskSummary {
            total_homes_assessed: homes.len(),
            total_red_flags,
            risk_distribution: distribution(&homes),
            flags_by_category: flags_by_category(&homes),
            highest_risk_homes: riskiest(&homes),
            overall_assessment,
            data_age,
        },
        homes_assessment: homes,
        generated_at: generated_at.to_owned(),
        missing_inputs: missing,
    })
}

/// How many homes are at each risk level.
fn distribution(homes: &[HomeRiskAssessment]) -> RiskDistribution {
    let mut distribution = RiskDistribution::default();
    for h in homes {
        match h.overall_risk_level {
            "high" => distribution.high += 1,
            "medium" => distribution.medium += 1,
            _ => distribution.low += 1,
        }
    }
    distribution
}

/// The red flags and warnings of all homes, counted by client category.
fn flags_by_category(homes: &[HomeRiskAssessment]) -> FlagsByCategory {
    let mut by_category = FlagsByCategory::default();
    for f in homes
        .iter()
        .flat_map(|h| h.red_flags.iter().chain(&h.warnings))
    {
        match f.category {
            "financial" => by_category.financial += 1,
            "staff" => by_category.staff += 1,
            "pricing" => by_category.pricing += 1,
            _ => by_category.cqc += 1,
        }
    }
    by_category
}

/// The three riskiest homes with a red flag, riskiest first.
fn riskiest(homes: &[HomeRiskAssessment]) -> Vec<RiskiestHome> {
    let mut riskiest: Vec<RiskiestHome> = homes
        .iter()
        .filter(|h| !h.red_flags.is_empty())
        .map(|h| RiskiestHome {
            home_name: h.home_name.clone(),
            risk_score: h.risk_score,
            risk_level: h.overall_risk_level,
            red_flag_count: h.red_flags.len(),
        })
        .collect();
    riskiest.sort_by_key(|h| std::cmp::Reverse(h.risk_score));
    riskiest.truncate(3);
    riskiest
}

/// How old the homes' ratings are: every one over 2 years, a range, or no
/// date held.
pub(crate) fn data_age(homes: &[HomeFacts], today: NaiveDate) -> DataAge {
    let dates: Vec<NaiveDate> = homes
        .iter()
        .filter_map(|h| h.cqc.as_ref()?.last_inspection)
        .collect();
    let (Some(newest), Some(oldest)) = (dates.iter().max(), dates.iter().min()) else {
        let trace = Trace::new(
            "risk.no_inspection_dates",
            vec![Evidence::new("homes", homes.len())],
        );
        return DataAge {
            text: trace.statement(),
            all_over_2_years: false,
            trace,
        };
    };
    let over = dates
        .iter()
        .filter(|d| age_days(**d, today) > rules::INSPECTION_OLD_DAYS)
        .count();
    let age_range = if newest == oldest {
        prose::age_words(*newest, today)
    } else {
        let (a, b) = (
            prose::age_words(*newest, today),
            prose::age_words(*oldest, today),
        );
        format!("from {a} to {b}")
    };
    let all = over == homes.len();
    let trace = Trace::new(
        if all {
            "risk.all_inspections_over_2_years"
        } else {
            "risk.inspection_ages"
        },
        vec![
            Evidence::new("homes", homes.len()),
            Evidence::new("homes_dated", dates.len()),
            Evidence::new("homes_over_2_years", over),
            Evidence::new("age_range", age_range),
        ],
    );
    DataAge {
        text: trace.statement(),
        all_over_2_years: all,
        trace,
    }
}

/// The section's paragraph: how old the data is first, then the red flags
/// found in it, then what is not assessed or still missing.
fn overall_text(
    homes: &[HomeRiskAssessment],
    red: usize,
    missing: &[String],
    age: &DataAge,
    companies: usize,
) -> String {
    let clear: Vec<&str> = homes
        .iter()
        .filter(|h| h.red_flags.is_empty())
        .map(|h| h.home_name.as_str())
        .collect();
    let mut text = format!("{} ", age.text);
    text.push_str(&if red == 0 {
        format!(
            "No red flags in the data held for the {} homes, with that caveat.",
            homes.len()
        )
    } else {
        format!(
            "{red} red flag(s) across {} of the {} homes; {} without red flags: {}.",
            homes.len() - clear.len(),
            homes.len(),
            clear.len(),
            if clear.is_empty() {
                "none".to_owned()
            } else {
                clear.join(", ")
            }
        )
    });
    text.push_str(&if companies == 0 {
        " Financial stability and staffing are not assessed: the service holds no data on them."
            .to_owned()
    } else {
        format!(
            " The provider companies of {companies} of the {} homes were checked against Companies House filings (status, overdue filings, insolvency, charges); {} Staffing is not assessed: the service holds no data on it.",
            homes.len(),
            super::financial::CANNOT_SEE
                .replacen("The register", "the register", 1)
        )
    });
    if !missing.is_empty() {
        text.push_str(&format!(
            " {} source result(s) are still missing, so flags from them cannot be ruled out yet.",
            missing.len()
        ));
    }
    text
}

/// The home's CQC record in words: its rating and how old it is.
pub(crate) fn cqc_words(h: &HomeFacts, today: NaiveDate) -> String {
    let Some(c) = &h.cqc else {
        return "no CQC record held".to_owned();
    };
    let rating = c.overall.map_or("not rated by CQC".to_owned(), |r| {
        format!("rated {} by CQC", r.label())
    });
    match c.last_inspection {
        Some(d) => format!(
            "{rating}, last inspected {} ({} before this report)",
            prose::date_words(d),
            prose::age_words(d, today)
        ),
        None => format!("{rating}, no inspection date held"),
    }
}

/// One home's own facts in a sentence: its CQC record and what was flagged.
fn home_summary(h: &HomeFacts, today: NaiveDate, red: &[Flag], warnings: &[Flag]) -> String {
    let words = prose::capitalised(&cqc_words(h, today));
    let count = |n: usize, one: &str| match n {
        0 => format!("no {one}s"),
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    format!(
        "{words}: {}, {}.",
        count(red.len(), "red flag"),
        count(
            warnings
                .iter()
                .filter(|f| f.trace.rule_id != "data.source_missing")
                .count(),
            "warning"
        )
    )
}

/// The flags of one home, in rule order.
pub(crate) fn flags_for(input: &JudgementInput, h: &HomeFacts, today: NaiveDate) -> Vec<Flag> {
    let mut flags = Vec::new();
    if let Some(c) = &h.cqc {
        flags.extend(cqc_flags(h, c, today));
    }
    if let Some(f) = &h.fsa {
        flags.extend(fsa_flag(h, f));
    }
    if let Some(g) = &h.google {
        flags.extend(google_flags(h, g));
    }
    flags.extend(super::financial::flags(h));
    flags.extend(fee_flag(&input.needs, h));
    flags.extend(distance_flag(&input.needs, h));
    flags.extend(missing_source_flags(h));
    flags
}

/// The evidence naming the home, first in every flag.
fn home_evidence(h: &HomeFacts) -> Evidence {
    Evidence::new("home", h.name.clone())
}

/// The evidence saying where the CQC record comes from: its code, and in
/// words for the statement.
fn origin_evidence(c: &CqcFacts) -> [Evidence; 2] {
    let words = if c.origin == "cqc_api" {
        "the CQC API"
    } else {
        "the operators' directory"
    };
    [
        Evidence::new("origin", c.origin),
        Evidence::new("origin_words", words),
    ]
}

/// The evidence of the last inspection's date.
fn inspection_evidence(c: &CqcFacts) -> Evidence {
    Evidence::new("last_inspection", c.last_inspection.map(|d| d.to_string()))
}

/// CQC's flags: registration, the overall rating, each key question, then
/// the inspection's age.
fn cqc_flags(h: &HomeFacts, c: &CqcFacts, today: NaiveDate) -> Vec<Flag> {
    let key_questions = c
        .key_questions()
        .into_iter()
        .filter_map(|(question, rating)| key_question_flag(h, question, rating));
    deregistered_flag(h, c)
        .into_iter()
        .chain(overall_flag(h, c))
        .chain(key_questions)
        .chain(declined_flag(h, c))
        .chain(manager_flag(h, c))
        .chain(inspection_age_flag(h, c, today))
        .collect()
}

/// A warning when the overall rating fell since the one before it.
fn declined_flag(h: &HomeFacts, c: &CqcFacts) -> Option<Flag> {
    let t = c.trend.as_ref().filter(|t| t.direction == "declined")?;
    let words = |d: Option<NaiveDate>| d.map_or("date not given".to_owned(), prose::date_words);
    Some(Flag::from_rule(
        "cqc.rating_declined",
        vec![
            home_evidence(h),
            Evidence::new("previous", t.previous.label()),
            Evidence::new("previous_date", t.previous_date.map(|d| d.to_string())),
            Evidence::new("previous_date_words", words(t.previous_date)),
            Evidence::new("current", t.current.label()),
            Evidence::new("since", t.since.map(|d| d.to_string())),
            Evidence::new("since_words", words(t.since)),
        ],
    ))
}

/// A warning when CQC records no registered manager in post.
fn manager_flag(h: &HomeFacts, c: &CqcFacts) -> Option<Flag> {
    if c.manager_in_post != Some(false) {
        return None;
    }
    let since = c.manager_absent_since;
    Some(Flag::from_rule(
        "cqc.no_registered_manager",
        vec![
            home_evidence(h),
            Evidence::new("absent_since", since.map(|d| d.to_string())),
            Evidence::new(
                "absent_since_words",
                since.map_or("a date CQC does not give".to_owned(), prose::date_words),
            ),
        ],
    ))
}

/// A flag when CQC lists the home as deregistered.
fn deregistered_flag(h: &HomeFacts, c: &CqcFacts) -> Option<Flag> {
    let deregistered = c
        .registration_status
        .as_deref()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("deregistered"));
    deregistered.then(|| {
        Flag::from_rule(
            "cqc.deregistered",
            vec![
                home_evidence(h),
                Evidence::new("registration_status", c.registration_status.clone()),
                Evidence::new(
                    "deregistration_date",
                    c.deregistration_date.map(|d| d.to_string()),
                ),
            ]
            .into_iter()
            .chain(origin_evidence(c))
            .collect(),
        )
    })
}

/// A flag for an overall rating below Good, or for no overall rating.
fn overall_flag(h: &HomeFacts, c: &CqcFacts) -> Option<Flag> {
    match c.overall {
        Some(CqcRating::Inadequate) => Some(Flag::from_rule(
            "cqc.overall_inadequate",
            vec![
                home_evidence(h),
                Evidence::new("overall", "Inadequate"),
                inspection_evidence(c),
            ],
        )),
        Some(CqcRating::RequiresImprovement) => Some(Flag::from_rule(
            "cqc.overall_requires_improvement",
            vec![
                home_evidence(h),
                Evidence::new("overall", "Requires improvement"),
                inspection_evidence(c),
            ],
        )),
        Some(_) => None,
        None => Some(Flag::from_rule(
            "cqc.not_rated",
            [home_evidence(h)]
                .into_iter()
                .chain(origin_evidence(c))
                .collect(),
        )),
    }
}

/// A flag for a key question rated below Good; Safe and Well-led weigh more.
fn key_question_flag(
    h: &HomeFacts,
    question: &'static str,
    rating: Option<CqcRating>,
) -> Option<Flag> {
    let weighty = matches!(question, "safe" | "well_led");
    let id = match (rating, weighty) {
        (Some(CqcRating::Inadequate), true) => "cqc.safe_or_well_led_inadequate",
        (Some(CqcRating::RequiresImprovement), true) => "cqc.safe_or_well_led_requires_improvement",
        (Some(CqcRating::Inadequate), false) => "cqc.other_key_question_inadequate",
        (Some(CqcRating::RequiresImprovement), false) => {
            "cqc.other_key_question_requires_improvement"
        }
        _ => return None,
    };
    let label = match question {
        "well_led" => "Well-led",
        "safe" => "Safe",
        "effective" => "Effective",
        "caring" => "Caring",
        _ => "Responsive",
    };
    Some(Flag::from_rule(
        id,
        vec![
            home_evidence(h),
            Evidence::new("key_question", label),
            Evidence::new("rating", rating.map(CqcRating::label)),
        ],
    ))
}

/// A flag when the last inspection is over 2 years old, or over 4 years old
/// (one flag, the older bracket).
fn inspection_age_flag(h: &HomeFacts, c: &CqcFacts, today: NaiveDate) -> Option<Flag> {
    let date = c.last_inspection?;
    let days = age_days(date, today);
    let id = if days > rules::INSPECTION_VERY_OLD_DAYS {
        "cqc.inspection_over_4_years"
    } else if days > rules::INSPECTION_OLD_DAYS {
        "cqc.inspection_over_2_years"
    } else {
        return None;
    };
    Some(Flag::from_rule(
        id,
        vec![
            home_evidence(h),
            inspection_evidence(c),
            Evidence::new("inspected", prose::date_words(date)),
            Evidence::new("age", prose::age_words(date, today)),
            Evidence::new("age_days", days),
        ],
    ))
}

/// A flag for a low food hygiene rating.
fn fsa_flag(h: &HomeFacts, f: &FsaFacts) -> Option<Flag> {
    let r = f.rating.filter(|r| *r <= rules::FSA_LOW_RATING)?;
    Some(Flag::from_rule(
        "fsa.rating_2_or_below",
        vec![
            home_evidence(h),
            Evidence::new("fsa_rating", r),
            Evidence::new("rating_date", f.rating_date.map(|d| d.to_string())),
        ],
    ))
}

/// Google's flags: a low rating over enough reviews, then one per theme
/// recurring in low reviews.
fn google_flags(h: &HomeFacts, g: &GoogleFacts) -> Vec<Flag> {
    let low_rating = match (g.rating, g.review_count) {
        (Some(rating), Some(count))
            if rating < rules::GOOGLE_LOW_RATING && count >= rules::GOOGLE_MIN_REVIEWS =>
        {
            Some(Flag::from_rule(
                "google.low_rating",
                vec![
                    home_evidence(h),
                    Evidence::new("google_rating", rating),
                    Evidence::new("review_count", count),
                ],
            ))
        }
        _ => None,
    };
    let complaints = recurring_themes(&g.reviews)
        .into_iter()
        .map(|(theme, count, keywords)| {
            Flag::from_rule(
                "google.recurring_complaint",
                vec![
                    home_evidence(h),
                    Evidence::new("theme", theme),
                    Evidence::new("count", count),
                    Evidence::new("keywords", keywords),
                ],
            )
        });
    low_rating.into_iter().chain(complaints).collect()
}

/// A flag for a fee above the budget band, or for no published fee.
fn fee_flag(needs: &FamilyNeeds, h: &HomeFacts) -> Option<Flag> {
    let Some(fee) = h.weekly_fee else {
        return Some(Flag::from_rule(
            "pricing.fee_unknown",
            vec![
                home_evidence(h),
                Evidence::new("care_type", needs.care.describe()),
            ],
        ));
    };
    let max = needs.budget_max_weekly.filter(|max| fee > *max)?;
    Some(Flag::from_rule(
        "pricing.over_budget",
        vec![
            home_evidence(h),
            Evidence::new("weekly_fee", super::pounds(fee)),
            Evidence::new("budget_max_weekly", super::pounds(max)),
            Evidence::new("budget", needs.budget_answer.clone()),
            Evidence::new("budget_words", prose::budget_words(&needs.budget_answer)),
        ],
    ))
}

/// A flag for a home further away than the distance asked for.
fn distance_flag(needs: &FamilyNeeds, h: &HomeFacts) -> Option<Flag> {
    let (d, max) = (h.distance_km?, needs.max_distance_km?);
    (d > max).then(|| {
        Flag::from_rule(
            "location.beyond_requested_distance",
            vec![
                home_evidence(h),
                Evidence::new("distance_km", d),
                Evidence::new("max_distance_km", max),
            ],
        )
    })
}

/// A source as a family knows it ("Google reviews", not `google_places`).
fn source_words(source: &str) -> &str {
    match source {
        "cqc" => "CQC inspection",
        "fsa" => "food hygiene",
        "google_places" => "Google reviews",
        "companies_house" => "Companies House",
        other => other,
    }
}

/// A warning for each judged source whose data has not arrived.
fn missing_source_flags(h: &HomeFacts) -> impl Iterator<Item = Flag> + '_ {
    h.missing
        .iter()
        .filter(|m| {
            matches!(
                m.source.as_str(),
                "cqc" | "fsa" | "google_places" | "companies_house"
            )
        })
        .map(|m| {
            Flag::from_rule(
                "data.source_missing",
                vec![
                    home_evidence(h),
                    Evidence::new("source", source_words(&m.source)),
                    Evidence::new("status", m.status.clone()),
                ],
            )
        })
}

fn assess_home(input: &JudgementInput, h: &HomeFacts, today: NaiveDate) -> HomeRiskAssessment {
    let flags = flags_for(input, h, today);
    let risk_score = score(&flags);
    let any_high_red = flags.iter().any(|f| f.is_red() && f.severity == "high");
    let overall_risk_level = if any_high_red || risk_score >= 50 {
        "high"
    } else if risk_score >= 20 {
        "medium"
    } else {
        "low"
    };
    let (red_flags, warnings) = red_and_warnings(&flags);
    let (financial_status, financial_note) = super::financial::status_and_note(h);
    HomeRiskAssessment {
        home_id: h.id.clone(),
        home_name: h.name.clone(),
        summary: home_summary(h, today, &red_flags, &warnings),
        red_flags,
        warnings,
        risk_score,
        overall_risk_level,
        financial_assessment: category(&flags, "financial", financial_status, financial_note),
        cqc_assessment: cqc_assessment(h, &flags, today),
        staff_assessment: category(
            &flags,
            "staff",
            "no_data",
            "The service holds no staffing data (turnover, tenure, staff reviews) for this home."
                .to_owned(),
        ),
        pricing_assessment: pricing_assessment(h, &flags),
    }
}

/// The sum of the flags' points, at most 100.
fn score<'a>(flags: impl IntoIterator<Item = &'a Flag>) -> u32 {
    flags.into_iter().map(Flag::points).sum::<u32>().min(100)
}

/// The flags split into red flags and warnings, each in rule order.
fn red_and_warnings<'a>(flags: impl IntoIterator<Item = &'a Flag>) -> (Vec<Flag>, Vec<Flag>) {
    flags.into_iter().cloned().partition(Flag::is_red)
}

/// One category's assessment from the home's flags of that category.
fn category(
    flags: &[Flag],
    cat: &str,
    status: &'static str,
    status_note: String,
) -> CategoryAssessment {
    let mine: Vec<&Flag> = flags.iter().filter(|f| f.category == cat).collect();
    let (red_flags, warnings) = red_and_warnings(mine.iter().copied());
    CategoryAssessment {
        red_flags,
        warnings,
        risk_score: score(mine),
        status,
        status_note,
        overall_rating: None,
        detailed_ratings_count: None,
        pricing_history_available: None,
    }
}

/// The CQC category, with how fresh its record is and the ratings held.
fn cqc_assessment(h: &HomeFacts, flags: &[Flag], today: NaiveDate) -> CategoryAssessment {
    let cqc_missing = h.missing.iter().any(|m| m.source == "cqc");
    let (cqc_status, cqc_note) = match &h.cqc {
        None => (
            "no_data",
            "The service holds no CQC record for this home.".to_owned(),
        ),
        Some(c) if c.origin == "directory" && cqc_missing => (
            "partial",
            format!(
                "{}; ratings from the directory, the CQC API has not answered yet.",
                prose::capitalised(&cqc_words(h, today))
            ),
        ),
        Some(c) => (
            "assessed",
            format!(
                "{}; ratings from {}.",
                prose::capitalised(&cqc_words(h, today)),
                if c.origin == "cqc_api" {
                    "the CQC API"
                } else {
                    "the directory"
                }
            ),
        ),
    };
    let mut cqc = category(flags, "cqc", cqc_status, cqc_note);
    if let Some(c) = &h.cqc {
        cqc.overall_rating = c.overall.map(CqcRating::label);
        cqc.detailed_ratings_count = Some(
            c.key_questions()
                .iter()
                .filter(|(_, r)| r.is_some())
                .count(),
        );
    }
    cqc
}

/// The pricing category, assessed when the home publishes a fee.
fn pricing_assessment(h: &HomeFacts, flags: &[Flag]) -> CategoryAssessment {
    let mut pricing = category(
        flags,
        "pricing",
        if h.weekly_fee.is_some() {
            "assessed"
        } else {
            "no_data"
        },
        if h.weekly_fee.is_some() {
            "Fee from the directory, against your budget band and distance.".to_owned()
        } else {
            "No fee published for the care needed.".to_owned()
        },
    );
    pricing.pricing_history_available = Some(false);
    pricing
}

/// Days from `date` to `today` (negative when `date` is later).
pub(crate) fn age_days(date: NaiveDate, today: NaiveDate) -> i64 {
    (today - date).num_days()
}

/// Whole calendar months from `from` to `to`.
pub(crate) fn months_between(from: NaiveDate, to: NaiveDate) -> i32 {
    let mut months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    if to.day() < from.day() {
        months -= 1;
    }
    months
}

/// Themes mentioned by at least [`rules::RECURRING_THEME_MIN`] reviews rated
/// at most [`rules::LOW_REVIEW_STARS`]: (theme, how many, keywords seen).
pub(crate) fn recurring_themes(
    reviews: &[super::Review],
) -> Vec<(&'static str, usize, Vec<&'static str>)> {
    let low: Vec<String> = reviews
        .iter()
        .filter(|r| r.rating.is_some_and(|s| s <= rules::LOW_REVIEW_STARS))
        .filter_map(|r| r.text.as_deref().map(str::to_lowercase))
        .collect();
    REVIEW_THEMES
        .iter()
        .filter_map(|(theme, words)| {
            let mut seen: Vec<&'static str> = Vec::new();
            let count = low
                .iter()
                .filter(|text| {
                    let hits: Vec<&'static str> =
                        words.iter().copied().filter(|w| text.contains(w)).collect();
                    for w in &hits {
                        if !seen.contains(w) {
                            seen.push(w);
                        }
                    }
                    !hits.is_empty()
                })
                .count();
            (count >= rules::RECURRING_THEME_MIN).then_some((*theme, count, seen))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{home, input};
    use super::super::{CqcFacts, FsaFacts, GoogleFacts, MissingInput, Review};
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
    }

    fn ids(h: &HomeFacts) -> Vec<&'static str> {
        let i = input(vec![h.clone()]);
        flags_for(&i, h, today())
            .iter()
            .map(|f| f.trace.rule_id)
            .collect()
    }

    fn fires(h: &HomeFacts, id: &str) -> bool {
        ids(h).contains(&id)
    }

    fn with_cqc(f: impl FnOnce(&mut CqcFacts)) -> HomeFacts {
        let mut h = home(1);
        let mut c = h.cqc.clone().unwrap();
        f(&mut c);
        h.cqc = Some(c);
        h
    }

    #[test]
    fn a_clean_home_has_no_flags() {
        assert_eq!(ids(&home(1)), Vec::<&str>::new());
    }

    #[test]
    fn deregistered_fires_on_the_status_and_not_on_registered() {
        let h = with_cqc(|c| c.registration_status = Some("Deregistered".into()));
        assert!(fires(&h, "cqc.deregistered"));
        let h = with_cqc(|c| c.registration_status = Some("Registered".into()));
        assert!(!fires(&h, "cqc.deregistered"));
    }

    #[test]
    fn overall_inadequate_and_requires_improvement_fire_good_does_not() {
        let h = with_cqc(|c| c.overall = Some(CqcRating::Inadequate));
        assert!(fires(&h, "cqc.overall_inadequate"));
        assert!(!fires(&h, "cqc.overall_requires_improvement"));
        let h = with_cqc(|c| c.overall = Some(CqcRating::RequiresImprovement));
        assert!(fires(&h, "cqc.overall_requires_improvement"));
        let h = with_cqc(|c| c.overall = Some(CqcRating::Good));
        assert!(!fires(&h, "cqc.overall_requires_improvement"));
        assert!(!fires(&h, "cqc.overall_inadequate"));
    }

    #[test]
    fn safe_and_well_led_weigh_more_than_the_other_key_questions() {
        let h = with_cqc(|c| c.safe = Some(CqcRating::Inadequate));
        assert!(fires(&h, "cqc.safe_or_well_led_inadequate"));
        let h = with_cqc(|c| c.well_led = Some(CqcRating::RequiresImprovement));
        assert!(fires(&h, "cqc.safe_or_well_led_requires_improvement"));
        let h = with_cqc(|c| c.caring = Some(CqcRating::Inadequate));
        assert!(fires(&h, "cqc.other_key_question_inadequate"));
        assert!(!fires(&h, "cqc.safe_or_well_led_inadequate"));
        let h = with_cqc(|c| c.responsive = Some(CqcRating::RequiresImprovement));
        assert!(fires(&h, "cqc.other_key_question_requires_improvement"));
        // Just below: Good on every key question.
        let h = with_cqc(|c| c.safe = Some(CqcRating::Good));
        assert!(!fires(&h, "cqc.safe_or_well_led_requires_improvement"));
        assert!(!fires(&h, "cqc.other_key_question_requires_improvement"));
        let f = Flag::from_rule(
            "cqc.safe_or_well_led_inadequate",
            vec![
                Evidence::new("home", "A"),
                Evidence::new("key_question", "Safe"),
                Evidence::new("rating", "Inadequate"),
            ],
        );
        assert_eq!(f.description, "CQC rates A Inadequate for Safe.");
        assert_eq!((f.category, f.severity), ("cqc", "high"));
    }

    #[test]
    fn inspection_over_2_years_fires_after_730_days_not_at_730() {
        let at = today() - chrono::Days::new(730);
        let h = with_cqc(|c| c.last_inspection = Some(at));
        assert!(!fires(&h, "cqc.inspection_over_2_years"));
        let h = with_cqc(|c| c.last_inspection = at.pred_opt());
        assert!(fires(&h, "cqc.inspection_over_2_years"));
        assert!(!fires(&h, "cqc.inspection_over_4_years"));
        let i = input(vec![h.clone()]);
        let f = &flags_for(&i, &h, today())[0];
        assert_eq!(
            f.description,
            "Home 1 was last inspected by CQC on 14 June 2024, 2 years before this report."
        );
    }

    #[test]
    fn inspection_over_4_years_fires_after_1461_days_not_at_1461() {
        let at = today() - chrono::Days::new(1461);
        let h = with_cqc(|c| c.last_inspection = Some(at));
        assert!(!fires(&h, "cqc.inspection_over_4_years"));
        assert!(fires(&h, "cqc.inspection_over_2_years"));
        let h = with_cqc(|c| c.last_inspection = at.pred_opt());
        assert!(fires(&h, "cqc.inspection_over_4_years"));
        assert!(!fires(&h, "cqc.inspection_over_2_years"));
    }

    fn dated(days: &[u64]) -> Vec<HomeFacts> {
        days.iter()
            .enumerate()
            .map(|(i, d)| {
                let mut h = home(i + 1);
                h.cqc.as_mut().unwrap().last_inspection = Some(today() - chrono::Days::new(*d));
                h
            })
            .collect()
    }

    #[test]
    fn all_inspections_over_2_years_fires_when_every_one_is_and_not_when_one_is_730_days() {
        let a = data_age(&dated(&[731, 1000, 2200]), today());
        assert_eq!(a.trace.rule_id, "risk.all_inspections_over_2_years");
        assert!(a.all_over_2_years);
        assert!(a.text.contains("from 2 years to 6 years"), "{}", a.text);
        let a = data_age(&dated(&[730, 1000, 2200]), today());
        assert_eq!(a.trace.rule_id, "risk.inspection_ages");
        assert!(a.text.contains("(2 of 3 over 2 years old)"), "{}", a.text);
        // A home with no date held: not every rating is known to be old.
        let mut homes = dated(&[800, 900]);
        homes[1].cqc.as_mut().unwrap().last_inspection = None;
        assert_eq!(
            data_age(&homes, today()).trace.rule_id,
            "risk.inspection_ages"
        );
    }

    #[test]
    fn no_inspection_dates_fires_only_when_no_home_has_one() {
        let mut homes = dated(&[100, 200]);
        homes[0].cqc.as_mut().unwrap().last_inspection = None;
        assert_eq!(
            data_age(&homes, today()).trace.rule_id,
            "risk.inspection_ages"
        );
        homes[1].cqc = None;
        let a = data_age(&homes, today());
        assert_eq!(a.trace.rule_id, "risk.no_inspection_dates");
        assert!(!a.all_over_2_years);
    }

    #[test]
    fn no_red_flags_is_never_said_without_how_old_the_data_is() {
        for days in [[100, 200], [800, 2000]] {
            let i = input(dated(&days));
            let r = assess(&i, today(), "t").unwrap();
            let text = &r.summary.overall_assessment;
            assert!(text.contains("No red flags"), "{text}");
            assert!(text.starts_with(&r.summary.data_age.text), "{text}");
            assert!(text.contains("before this report"), "{text}");
        }
    }

    #[test]
    fn each_home_assessment_carries_its_own_rating_and_age() {
        let mut homes = dated(&[100, 1600]);
        homes[1].cqc.as_mut().unwrap().overall = Some(CqcRating::Outstanding);
        let r = assess(&input(homes), today(), "t").unwrap();
        let (a, b) = (&r.homes_assessment[0], &r.homes_assessment[1]);
        assert_ne!(a.summary, b.summary);
        assert!(
            a.summary
                .starts_with("Rated Good by CQC, last inspected 7 March 2026"),
            "{}",
            a.summary
        );
        assert!(
            b.summary.contains("Rated Outstanding") && b.summary.contains("4 years"),
            "{}",
            b.summary
        );
        assert_ne!(a.cqc_assessment.status_note, b.cqc_assessment.status_note);
    }

    #[test]
    fn not_rated_fires_without_an_overall_rating() {
        let h = with_cqc(|c| c.overall = None);
        assert!(fires(&h, "cqc.not_rated"));
        assert!(!fires(&home(1), "cqc.not_rated"));
    }

    #[test]
    fn fsa_fires_at_2_not_at_3() {
        let mut h = home(1);
        h.fsa = Some(FsaFacts {
            rating: Some(2),
            ..FsaFacts::default()
        });
        assert!(fires(&h, "fsa.rating_2_or_below"));
        h.fsa = Some(FsaFacts {
            rating: Some(3),
            ..FsaFacts::default()
        });
        assert!(!fires(&h, "fsa.rating_2_or_below"));
        h.fsa = Some(FsaFacts {
            rating: None,
            ..FsaFacts::default()
        });
        assert!(!fires(&h, "fsa.rating_2_or_below"));
    }

    #[test]
    fn google_low_rating_needs_both_the_rating_and_the_review_count() {
        let mut h = home(1);
        let g = |rating, count| {
            Some(GoogleFacts {
                rating: Some(rating),
                review_count: Some(count),
                reviews: vec![],
            })
        };
        h.google = g(3.4, 10);
        assert!(fires(&h, "google.low_rating"));
        h.google = g(3.5, 10);
        assert!(!fires(&h, "google.low_rating"));
        h.google = g(3.4, 9);
        assert!(!fires(&h, "google.low_rating"));
    }

    #[test]
    fn recurring_complaint_needs_two_low_reviews_on_one_theme() {
        let review = |stars: f64, text: &str| Review {
            rating: Some(stars),
            text: Some(text.into()),
        };
        let mut h = home(1);
        h.google = Some(GoogleFacts {
            rating: Some(4.0),
            review_count: Some(30),
            reviews: vec![
                review(1.0, "Always understaffed at weekends"),
                review(2.0, "Short staffed and the room smelt"),
                review(5.0, "Understaffed? Never saw it."),
            ],
        });
        let i = input(vec![h.clone()]);
        let flags = flags_for(&i, &h, today());
        let f = flags
            .iter()
            .find(|f| f.trace.rule_id == "google.recurring_complaint")
            .unwrap();
        assert!(f.description.starts_with("2 of "), "{}", f.description);
        assert!(f.description.contains("staffing levels"));
        // Just below: one low review per theme (the 5-star one does not count).
        h.google.as_mut().unwrap().reviews.remove(1);
        assert!(!fires(&h, "google.recurring_complaint"));
    }

    #[test]
    fn over_budget_fires_above_the_band_not_at_its_top() {
        let mut h = home(1);
        h.weekly_fee = Some(1154.01);
        assert!(fires(&h, "pricing.over_budget"));
        h.weekly_fee = Some(1154.0);
        assert!(!fires(&h, "pricing.over_budget"));
        h.weekly_fee = None;
        assert!(fires(&h, "pricing.fee_unknown"));
        assert!(!fires(&h, "pricing.over_budget"));
    }

    #[test]
    fn distance_fires_beyond_the_radius_not_on_it() {
        let mut h = home(1);
        h.distance_km = Some(15.1);
        assert!(fires(&h, "location.beyond_requested_distance"));
        h.distance_km = Some(15.0);
        assert!(!fires(&h, "location.beyond_requested_distance"));
    }

    #[test]
    fn missing_sources_are_warned_of_and_do_not_score() {
        let mut h = home(1);
        h.missing = vec![MissingInput {
            source: "fsa".into(),
            status: "pending".into(),
        }];
        assert!(fires(&h, "data.source_missing"));
        let i = input(vec![h]);
        let r = assess(&i, today(), "t").unwrap();
        assert_eq!(r.homes_assessment[0].risk_score, 0);
        assert_eq!(r.homes_assessment[0].overall_risk_level, "low");
        assert_eq!(r.missing_inputs, vec!["Home 1: fsa (pending)".to_owned()]);
    }

    #[test]
    fn a_declining_rating_and_an_absent_manager_are_warnings_with_evidence() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let trend = |direction: &str| {
            with_cqc(|c| {
                c.overall = Some(CqcRating::RequiresImprovement);
                c.trend = Some(super::super::RatingTrend {
                    direction: direction.into(),
                    previous: CqcRating::Good,
                    previous_date: d("2022-06-10"),
                    current: CqcRating::RequiresImprovement,
                    since: d("2025-03-01"),
                });
            })
        };
        let declined = trend("declined");
        let flags = flags_for(&input(vec![declined.clone()]), &declined, today());
        let f = flags
            .iter()
            .find(|f| f.trace.rule_id == "cqc.rating_declined")
            .expect("declined flag");
        assert!(!f.is_red());
        assert!(
            f.description
                .contains("fell from Good (10 June 2022) to Requires improvement (1 March 2025)"),
            "{}",
            f.description
        );
        assert!(!ids(&trend("unchanged")).contains(&"cqc.rating_declined"));
        assert!(!ids(&trend("improved")).contains(&"cqc.rating_declined"));

        let absent = with_cqc(|c| {
            c.manager_in_post = Some(false);
            c.manager_absent_since = d("2025-11-03");
        });
        let flags = flags_for(&input(vec![absent.clone()]), &absent, today());
        let f = flags
            .iter()
            .find(|f| f.trace.rule_id == "cqc.no_registered_manager")
            .expect("manager flag");
        assert!(f.description.contains("since 3 November 2025"));
        let unknown = with_cqc(|c| c.manager_in_post = None);
        assert!(!ids(&unknown).contains(&"cqc.no_registered_manager"));
    }

    #[test]
    fn financial_and_staff_are_present_with_no_data() {
        let r = assess(&input(vec![home(1)]), today(), "t").unwrap();
        let h = &r.homes_assessment[0];
        assert_eq!(h.financial_assessment.status, "no_data");
        assert!(h.financial_assessment.red_flags.is_empty());
        assert_eq!(h.staff_assessment.status, "no_data");
        assert_eq!(assess(&input(vec![]), today(), "t"), None);
    }
}
