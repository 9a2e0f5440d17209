//! The rules, as data: one row per statement the judgement can make.
//!
//! Each rule has an id (cited by every statement it produces as `ruleId`), a
//! plain-English statement template whose `{placeholders}` are the evidence
//! fields it reads, and the threshold it tests, in words. The numbers the
//! thresholds name are the constants below, used by the section code, and each
//! rule has a unit test at its threshold (fires on the trigger, silent just
//! below). `docs/JUDGEMENT_RULES.md` is generated from this table by
//! [`markdown_table`] and a test fails if the two differ.

use serde_json::Value;

use super::Evidence;

/// An inspection more than this many days before the report (2 years) is
/// flagged as old: CQC aims to re-inspect Good homes within about that time,
/// so an older rating may no longer describe the home.
pub(crate) const INSPECTION_OLD_DAYS: i64 = 730;
/// An inspection more than this many days before the report (4 years, with
/// one leap day) is flagged as very old, in place of the 2-year flag.
pub(crate) const INSPECTION_VERY_OLD_DAYS: i64 = 1461;
/// An FSA rating at or below this is flagged.
pub(crate) const FSA_LOW_RATING: u8 = 2;
/// A Google rating below this is flagged...
pub(crate) const GOOGLE_LOW_RATING: f64 = 3.5;
/// ...when it is over at least this many reviews.
pub(crate) const GOOGLE_MIN_REVIEWS: u64 = 10;
/// Reviews at or below this many stars are read for complaint themes.
pub(crate) const LOW_REVIEW_STARS: f64 = 2.0;
/// A theme is recurring when at least this many low reviews mention it.
pub(crate) const RECURRING_THEME_MIN: usize = 2;
/// A fee at least this far above the local median (percent) has high
/// negotiation potential.
pub(crate) const MARKET_HIGH_PCT: f64 = 15.0;
/// A fee at least this far above it (percent) has medium potential; within
/// this either side is "at market".
pub(crate) const MARKET_NEAR_PCT: f64 = 5.0;
/// Fewer local fees than this make the local median a thin comparison.
pub(crate) const MARKET_MIN_SAMPLE: usize = 3;
/// This many NHS Continuing Healthcare indicators or more suggest asking for
/// the screening checklist.
pub(crate) const CHC_MIN_INDICATORS: usize = 2;
/// A Google rating at or above this over [`GOOGLE_MIN_REVIEWS`] counts as a
/// strong reputation differentiator.
pub(crate) const GOOGLE_STRONG_RATING: f64 = 4.5;

/// One rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, e.g. `cqc.safe_or_well_led_inadequate`.
    pub id: &'static str,
    /// The section it writes into (client key).
    pub section: &'static str,
    /// What it produces: `red_flag`, `warning` or `statement`; for flags, the
    /// client category and severity follow.
    pub kind: &'static str,
    /// Client category of a flag (`cqc`, `pricing`, …), or `-`.
    pub category: &'static str,
    /// `high`, `medium`, `low`, or `-`.
    pub severity: &'static str,
    /// Short title.
    pub title: &'static str,
    /// The statement; `{field}` is replaced by that evidence value.
    pub statement: &'static str,
    /// What it means for the family (flags), or `-`.
    pub impact: &'static str,
    /// What to do (flags), or `-`.
    pub recommendation: &'static str,
    /// The fields read.
    pub evidence: &'static [&'static str],
    /// The test, in words.
    pub threshold: &'static str,
}

/// Every rule.
pub const RULES: &[Rule] = &[
    // ---- riskAssessment: CQC ----
    Rule {
        id: "cqc.deregistered",
        section: "riskAssessment",
        kind: "red_flag",
        category: "cqc",
        severity: "high",
        title: "No longer registered with CQC",
        statement: "CQC lists {home} as {registration_status} (source: {origin_words}).",
        impact: "A home that is not registered may not legally provide regulated care.",
        recommendation: "Do not proceed until CQC's register shows the home as registered under its current provider.",
        evidence: &["home", "registration_status", "deregistration_date", "origin", "origin_words"],
        threshold: "registrationStatus is `Deregistered`",
    },
    Rule {
        id: "cqc.overall_inadequate",
        section: "riskAssessment",
        kind: "red_flag",
        category: "cqc",
        severity: "high",
        title: "Rated Inadequate overall",
        statement: "{home} is rated {overall} overall by CQC (last inspected {last_inspection}).",
        impact: "Inadequate homes are placed in special measures and re-inspected; care may be unsafe.",
        recommendation: "Read the latest CQC report and ask the manager what has changed since, in writing.",
        evidence: &["home", "overall", "last_inspection"],
        threshold: "overall rating = Inadequate",
    },
    Rule {
        id: "cqc.overall_requires_improvement",
        section: "riskAssessment",
        kind: "red_flag",
        category: "cqc",
        severity: "medium",
        title: "Overall rating below Good",
        statement: "{home} is rated {overall} overall by CQC (last inspected {last_inspection}).",
        impact: "CQC found the home is not yet consistently good.",
        recommendation: "Ask to see the home's improvement plan and what CQC asked it to fix.",
        evidence: &["home", "overall", "last_inspection"],
        threshold: "overall rating = Requires improvement",
    },
    Rule {
        id: "cqc.safe_or_well_led_inadequate",
        section: "riskAssessment",
        kind: "red_flag",
        category: "cqc",
        severity: "high",
        title: "Safe or Well-led rated Inadequate",
        statement: "CQC rates {home} {rating} for {key_question}.",
        impact: "Safe and Well-led weigh most: they cover harm, medicines, staffing and how the home is run.",
        recommendation: "Ask what CQC found and what the home has done about it; check the next inspection date.",
        evidence: &["home", "key_question", "rating"],
        threshold: "Safe or Well-led = Inadequate",
    },
    Rule {
        id: "cqc.safe_or_well_led_requires_improvement",
        section: "riskAssessment",
        kind: "red_flag",
        category: "cqc",
        severity: "medium",
        title: "Safe or Well-led needs improvement",
        statement: "CQC rates {home} {rating} for {key_question}.",
        impact: "Safe and Well-led weigh most: they cover harm, medicines, staffing and how the home is run.",
        recommendation: "Ask the manager what CQC asked them to improve and to show the evidence it is done.",
        evidence: &["home", "key_question", "rating"],
        threshold: "Safe or Well-led = Requires improvement",
    },
    Rule {
        id: "cqc.other_key_question_inadequate",
        section: "riskAssessment",
        kind: "red_flag",
        category: "cqc",
        severity: "medium",
        title: "A key question rated Inadequate",
        statement: "CQC rates {home} {rating} for {key_question}.",
        impact: "CQC found serious shortcomings in this part of the care.",
        recommendation: "Read that section of the CQC report and ask what has changed.",
        evidence: &["home", "key_question", "rating"],
        threshold: "Effective, Caring or Responsive = Inadequate",
    },
    Rule {
        id: "cqc.other_key_question_requires_improvement",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "medium",
        title: "A key question needs improvement",
        statement: "CQC rates {home} {rating} for {key_question}.",
        impact: "This part of the care is not yet consistently good.",
        recommendation: "Ask the manager what they have changed since the inspection.",
        evidence: &["home", "key_question", "rating"],
        threshold: "Effective, Caring or Responsive = Requires improvement",
    },
    Rule {
        id: "cqc.rating_declined",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "medium",
        title: "CQC rating has fallen",
        statement: "CQC's overall rating of {home} fell from {previous} ({previous_date_words}) to {current} ({since_words}).",
        impact: "A home getting worse is a different risk from one that has always been rated the same: something changed (manager, owner, staffing).",
        recommendation: "Ask what CQC found at the last inspection that it did not find before, and what has been done since.",
        evidence: &["home", "previous", "previous_date", "previous_date_words", "current", "since", "since_words"],
        threshold: "overall rating in force below the newest earlier overall rating in CQC's history",
    },
    Rule {
        id: "cqc.no_registered_manager",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "medium",
        title: "No registered manager",
        statement: "CQC records no registered manager in post at {home} since {absent_since_words}.",
        impact: "Every care home must have a registered manager; a long gap often comes before a fall in the rating.",
        recommendation: "Ask who runs the home day to day and when a manager will be registered with CQC.",
        evidence: &["home", "absent_since", "absent_since_words"],
        threshold: "CQC's record has registeredManagerAbsentDate",
    },
    Rule {
        id: "cqc.inspection_over_2_years",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "medium",
        title: "CQC inspection over 2 years old",
        statement: "{home} was last inspected by CQC on {inspected}, {age} before this report.",
        impact: "The rating may no longer describe the home as it is now.",
        recommendation: "Ask when the home expects its next CQC inspection, and what has changed since the last (manager, owner, staffing).",
        evidence: &["home", "last_inspection", "inspected", "age", "age_days"],
        threshold: "last inspection more than 730 days (2 years) and at most 1461 days before the report date",
    },
    Rule {
        id: "cqc.inspection_over_4_years",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "high",
        title: "CQC inspection over 4 years old",
        statement: "{home} was last inspected by CQC on {inspected}, {age} before this report: its rating is too old to rely on.",
        impact: "A lot can change in four years (managers, owners, staff): the rating is a weak guide to the home today.",
        recommendation: "Judge the home on your own visit; ask when it expects its next CQC inspection and what has changed since the last.",
        evidence: &["home", "last_inspection", "inspected", "age", "age_days"],
        threshold: "last inspection more than 1461 days (4 years) before the report date",
    },
    Rule {
        id: "cqc.not_rated",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "low",
        title: "No CQC rating on record",
        statement: "The service holds no overall CQC rating for {home} (source: {origin_words}).",
        impact: "New or re-registered homes may not be rated yet; there is no independent view of quality.",
        recommendation: "Ask when CQC last visited and whether a rating is due.",
        evidence: &["home", "origin", "origin_words"],
        threshold: "overall rating absent",
    },
    // ---- riskAssessment: other sources ----
    Rule {
        id: "fsa.rating_2_or_below",
        section: "riskAssessment",
        kind: "red_flag",
        category: "cqc",
        severity: "medium",
        title: "Low food hygiene rating",
        statement: "The Food Standards Agency rates {home}'s kitchen {fsa_rating} out of 5 ({rating_date}).",
        impact: "A rating of 2 or below means improvement is necessary or urgent in hygiene, premises or management.",
        recommendation: "Ask to see the food hygiene report and what was fixed; check the re-inspection.",
        evidence: &["home", "fsa_rating", "rating_date"],
        threshold: "FSA rating ≤ 2 (of 5)",
    },
    Rule {
        id: "google.low_rating",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "medium",
        title: "Low public rating",
        statement: "{home} has {google_rating} stars on Google over {review_count} reviews.",
        impact: "Families and visitors report a poor experience more often than at most homes.",
        recommendation: "Read the low reviews and ask the manager how they responded.",
        evidence: &["home", "google_rating", "review_count"],
        threshold: "Google rating < 3.5 over ≥ 10 reviews",
    },
    Rule {
        id: "google.recurring_complaint",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "medium",
        title: "The same complaint in several low reviews",
        statement: "{count} of {home}'s low-rated reviews mention {theme}.",
        impact: "A complaint that recurs is more likely a pattern than a one-off.",
        recommendation: "Raise the theme at the visit and ask what changed.",
        evidence: &["home", "theme", "count", "keywords"],
        threshold: "the same theme in ≥ 2 reviews rated ≤ 2 stars",
    },
    // ---- riskAssessment: the provider company (Companies House) ----
    Rule {
        id: "financial.company_insolvent",
        section: "riskAssessment",
        kind: "red_flag",
        category: "financial",
        severity: "high",
        title: "Provider company in insolvency",
        statement: "Companies House lists {company}, the company running {home}, as {status_words} {since_words}.",
        impact: "A provider in administration or liquidation may sell, close or hand over its homes; residents can be asked to move at short notice.",
        recommendation: "Ask the home who the administrator or liquidator is, what the plan for the home is, and whether contracts will be honoured.",
        evidence: &["home", "company", "company_number", "company_status", "status_words", "since", "since_words"],
        threshold: "company_status is administration, liquidation, receivership, insolvency-proceedings or voluntary-arrangement",
    },
    Rule {
        id: "financial.company_dissolved",
        section: "riskAssessment",
        kind: "red_flag",
        category: "financial",
        severity: "high",
        title: "Provider company closed",
        statement: "Companies House lists {company}, the company the directory names as running {home}, as {status_words} {since_words}.",
        impact: "A closed company cannot be the provider: the home is run by someone else now, or the directory is out of date.",
        recommendation: "Ask the home which company holds its CQC registration and your contract, and check that company instead.",
        evidence: &["home", "company", "company_number", "company_status", "status_words", "since", "since_words"],
        threshold: "company_status is dissolved, converted-closed, closed or removed",
    },
    Rule {
        id: "financial.strike_off_proposed",
        section: "riskAssessment",
        kind: "red_flag",
        category: "financial",
        severity: "medium",
        title: "Provider company may be struck off",
        statement: "Companies House shows a proposal to strike {company}, the company running {home}, off the register.",
        impact: "A strike-off proposal usually follows missed filings; a struck-off company ceases to exist.",
        recommendation: "Ask the home why the company is facing strike-off and whether the filings have since been made.",
        evidence: &["home", "company", "company_number", "company_status_detail"],
        threshold: "company_status_detail is active-proposal-to-strike-off",
    },
    Rule {
        id: "financial.accounts_overdue",
        section: "riskAssessment",
        kind: "red_flag",
        category: "financial",
        severity: "medium",
        title: "Provider's accounts overdue",
        statement: "{company}, the company running {home}, has accounts overdue since {due} (the last accounts filed run to {last_made_up_to}).",
        impact: "Late accounts are a common early sign of financial difficulty, and mean nobody can see the company's recent finances.",
        recommendation: "Ask the home why the accounts are late and when they will be filed.",
        evidence: &["home", "company", "company_number", "accounts_next_due", "due", "last_made_up_to"],
        threshold: "Companies House marks the accounts overdue",
    },
    Rule {
        id: "financial.confirmation_overdue",
        section: "riskAssessment",
        kind: "warning",
        category: "financial",
        severity: "medium",
        title: "Provider's confirmation statement overdue",
        statement: "{company}, the company running {home}, has its confirmation statement overdue since {due}.",
        impact: "A missed yearly confirmation can lead to strike-off and suggests the company's administration is slipping.",
        recommendation: "Ask the home whether the company's filings are up to date.",
        evidence: &["home", "company", "company_number", "confirmation_next_due", "due"],
        threshold: "Companies House marks the confirmation statement overdue",
    },
    Rule {
        id: "financial.insolvency_history",
        section: "riskAssessment",
        kind: "warning",
        category: "financial",
        severity: "medium",
        title: "Provider has been through insolvency",
        statement: "{company}, the company running {home}, is active but has an insolvency history on the register: {cases}.",
        impact: "A company that has been through insolvency before carries more risk of it again.",
        recommendation: "Ask who owns the company now and how it is financed.",
        evidence: &["home", "company", "company_number", "case_count", "cases"],
        threshold: "an active company with at least one insolvency case",
    },
    Rule {
        id: "financial.outstanding_charges",
        section: "riskAssessment",
        kind: "warning",
        category: "financial",
        severity: "low",
        title: "Secured borrowing registered",
        statement: "{company}, the company running {home}, has {outstanding} outstanding charge(s) registered at Companies House.",
        impact: "A charge is secured borrowing, often a mortgage on the building; common for care providers, and a lender could take the property if the loan fails.",
        recommendation: "Ask who owns the building and whether the home is leased or mortgaged.",
        evidence: &["home", "company", "company_number", "outstanding"],
        threshold: "at least one charge neither satisfied nor part-satisfied",
    },
    Rule {
        id: "pricing.over_budget",
        section: "riskAssessment",
        kind: "red_flag",
        category: "pricing",
        severity: "medium",
        title: "Fee above your budget",
        statement: "{home} charges {weekly_fee} a week, above the {budget_max_weekly} top of your budget band ({budget_words}).",
        impact: "The gap has to be found every week, or by a third-party top-up if the council funds.",
        recommendation: "Ask whether the fee is negotiable and what it includes before visiting.",
        evidence: &["home", "weekly_fee", "budget_max_weekly", "budget", "budget_words"],
        threshold: "weekly fee > top of the q7 band (monthly × 12 ÷ 52)",
    },
    Rule {
        id: "pricing.fee_unknown",
        section: "riskAssessment",
        kind: "warning",
        category: "pricing",
        severity: "low",
        title: "Fee not published",
        statement: "The directory lists no {care_type} fee for {home}.",
        impact: "The home cannot be compared on price until it quotes one.",
        recommendation: "Ask for a written weekly fee for the care needed, and what it includes.",
        evidence: &["home", "care_type"],
        threshold: "no fee for the care type needed",
    },
    Rule {
        id: "location.beyond_requested_distance",
        section: "riskAssessment",
        kind: "warning",
        category: "pricing",
        severity: "medium",
        title: "Further than you asked",
        statement: "{home} is {distance_km} km away; you asked for within {max_distance_km} km.",
        impact: "Visiting will take longer; it was included because too few homes fit closer.",
        recommendation: "Check the journey at visiting times before shortlisting it.",
        evidence: &["home", "distance_km", "max_distance_km"],
        threshold: "distance > the q6 radius",
    },
    Rule {
        id: "data.source_missing",
        section: "riskAssessment",
        kind: "warning",
        category: "cqc",
        severity: "low",
        title: "Some checks still missing",
        statement: "The {source} data for {home} is {status}; its checks are not in this assessment yet.",
        impact: "A flag from that source cannot be ruled out yet.",
        recommendation: "The report updates when the source answers; check again before deciding.",
        evidence: &["home", "source", "status"],
        threshold: "slot status pending or missing",
    },
    Rule {
        id: "risk.all_inspections_over_2_years",
        section: "riskAssessment.summary",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Every rating is over 2 years old",
        statement: "Every home's latest CQC inspection is over 2 years old ({age_range} before this report), so the ratings may no longer describe the homes as they are now.",
        impact: "-",
        recommendation: "-",
        evidence: &["homes", "homes_dated", "homes_over_2_years", "age_range"],
        threshold: "every home has an inspection date, each more than 730 days before the report date",
    },
    Rule {
        id: "risk.inspection_ages",
        section: "riskAssessment.summary",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "How old the ratings are",
        statement: "The latest CQC inspections held are {age_range} before this report ({homes_over_2_years} of {homes_dated} over 2 years old).",
        impact: "-",
        recommendation: "-",
        evidence: &["homes", "homes_dated", "homes_over_2_years", "age_range"],
        threshold: "at least one inspection date held, and not every home's inspection more than 730 days old",
    },
    Rule {
        id: "risk.no_inspection_dates",
        section: "riskAssessment.summary",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "No inspection dates held",
        statement: "The service holds no CQC inspection date for any of the {homes} homes, so how current their ratings are is unknown.",
        impact: "-",
        recommendation: "-",
        evidence: &["homes"],
        threshold: "no inspection date held for any home",
    },
    // ---- comparativeAnalysis ----
    Rule {
        id: "comparative.best_value",
        section: "comparativeAnalysis",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Best value",
        statement: "{home} gives the most match score per pound: {match_score} for {weekly_fee} a week.",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "match_score", "weekly_fee", "value_score"],
        threshold: "highest match score ÷ (weekly fee ÷ 100) among homes with a fee",
    },
    Rule {
        id: "comparative.top_cqc",
        section: "comparativeAnalysis",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Highest CQC rating",
        statement: "{home} has the best CQC rating of the homes compared: {overall}.",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "overall"],
        threshold: "best overall rating, held by one home only",
    },
    Rule {
        id: "comparative.lowest_fee",
        section: "comparativeAnalysis",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Lowest fee",
        statement: "{home} has the lowest weekly fee: {weekly_fee}, {saving} less than the dearest.",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "weekly_fee", "saving"],
        threshold: "lowest fee, at least two fees known and not all equal",
    },
    Rule {
        id: "comparative.nearest",
        section: "comparativeAnalysis",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Closest",
        statement: "{home} is the closest, {distance_km} km away.",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "distance_km"],
        threshold: "smallest distance, at least two homes",
    },
    Rule {
        id: "comparative.strong_reputation",
        section: "comparativeAnalysis",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Strong public reputation",
        statement: "{home} has {google_rating} stars on Google over {review_count} reviews.",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "google_rating", "review_count"],
        threshold: "Google rating ≥ 4.5 over ≥ 10 reviews",
    },
    // ---- negotiationStrategy ----
    Rule {
        id: "negotiation.well_above_market",
        section: "negotiationStrategy",
        kind: "statement",
        category: "-",
        severity: "high",
        title: "Well above the local market",
        statement: "{home}'s {weekly_fee} a week is {pct_vs_local}% above the local median of {local_median} ({local_count} homes).",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "weekly_fee", "local_median", "local_count", "pct_vs_local"],
        threshold: "fee ≥ 15% above the local median",
    },
    Rule {
        id: "negotiation.above_market",
        section: "negotiationStrategy",
        kind: "statement",
        category: "-",
        severity: "medium",
        title: "Above the local market",
        statement: "{home}'s {weekly_fee} a week is {pct_vs_local}% above the local median of {local_median} ({local_count} homes).",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "weekly_fee", "local_median", "local_count", "pct_vs_local"],
        threshold: "fee ≥ 5% and < 15% above the local median",
    },
    Rule {
        id: "negotiation.at_market",
        section: "negotiationStrategy",
        kind: "statement",
        category: "-",
        severity: "low",
        title: "At the local market rate",
        statement: "{home}'s {weekly_fee} a week is within 5% of the local median of {local_median} ({local_count} homes).",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "weekly_fee", "local_median", "local_count", "pct_vs_local"],
        threshold: "fee within ±5% of the local median",
    },
    Rule {
        id: "negotiation.below_market",
        section: "negotiationStrategy",
        kind: "statement",
        category: "-",
        severity: "low",
        title: "Below the local market",
        statement: "{home}'s {weekly_fee} a week is {pct_below_local}% below the local median of {local_median} ({local_count} homes).",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "weekly_fee", "local_median", "local_count", "pct_below_local"],
        threshold: "fee ≥ 5% below the local median",
    },
    Rule {
        id: "negotiation.thin_market",
        section: "negotiationStrategy",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Few local fees",
        statement: "Only {local_count} homes in the area list a {care_type} fee, so the local median is a thin comparison.",
        impact: "-",
        recommendation: "-",
        evidence: &["local_count", "care_type"],
        threshold: "fewer than 3 local fees",
    },
    Rule {
        id: "negotiation.no_fees_known",
        section: "negotiationStrategy",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "No fee known",
        statement: "No {care_type} care fee is known in the directory for these homes or the area, so this report gives no market rate and estimates none: ask each home for its weekly fee in writing, with what it includes.",
        impact: "-",
        recommendation: "-",
        evidence: &["care_type", "homes"],
        threshold: "no fee for the care type anywhere in the directory (market absent)",
    },
    // ---- fundingGuidance ----
    Rule {
        id: "funding.means_test",
        section: "fundingGuidance",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Council means test",
        statement: "In England the council pays nothing towards care home fees while the person's capital is above {upper_limit}, and ignores capital below {lower_limit} ({tax_year}).",
        impact: "-",
        recommendation: "-",
        evidence: &["upper_limit", "lower_limit", "tax_year"],
        threshold: "always (England)",
    },
    Rule {
        id: "funding.council_assessment",
        section: "fundingGuidance",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Ask the council for assessments",
        statement: "With {budget_words}, ask the council for a care needs assessment and a financial assessment before choosing a home: only its assessments decide what it will pay.",
        impact: "-",
        recommendation: "-",
        evidence: &["budget", "budget_words"],
        threshold: "q7 budget ends in `_local` or is `need_budget_guidance`",
    },
    Rule {
        id: "funding.chc_screening",
        section: "fundingGuidance",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Ask for NHS Continuing Healthcare screening",
        statement: "{count} of the answers point to health needs the NHS Continuing Healthcare checklist looks at ({indicators}): ask the GP or hospital team for the checklist.",
        impact: "-",
        recommendation: "-",
        evidence: &["count", "indicators"],
        threshold: "≥ 2 of: nursing care, dementia, permanent wheelchair use, complex medicines, high fall risk, puréed diet",
    },
    Rule {
        id: "funding.nursing_care_contribution",
        section: "fundingGuidance",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "NHS-funded nursing care",
        statement: "For nursing care the NHS pays {weekly_rate} a week ({tax_year}) directly to the home towards the nursing, if assessed eligible.",
        impact: "-",
        recommendation: "-",
        evidence: &["weekly_rate", "tax_year"],
        threshold: "q8 includes medical_nursing",
    },
    Rule {
        id: "funding.attendance_allowance",
        section: "fundingGuidance",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Attendance Allowance",
        statement: "Attendance Allowance is not means-tested: {lower_rate} or {higher_rate} a week ({tax_year}) for someone over State Pension age who needs care. It continues while they pay for their own care home place, and stops after 28 days if the council pays for the care home.",
        impact: "-",
        recommendation: "-",
        evidence: &["lower_rate", "higher_rate", "tax_year", "funder"],
        threshold: "always: age and who pays for the care home decide it, and the statement says so",
    },
    Rule {
        id: "funding.deferred_payment",
        section: "fundingGuidance",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Deferred payment agreement",
        statement: "If the person owns a home and their savings and other capital, not counting the home, are below {upper_limit}, the council must offer a deferred payment agreement: fees are paid later from the home's value, with interest. Owning a home and the capital held decide it; the service knows neither.",
        impact: "-",
        recommendation: "-",
        evidence: &["upper_limit", "funder"],
        threshold: "always: home ownership and capital not counting the home decide it, and the statement says so",
    },
    Rule {
        id: "funding.figures_out_of_date",
        section: "fundingGuidance",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Figures may be out of date",
        statement: "The {figure} figure is for {tax_year}; this report is dated {report_date}. Check the current figure at the source.",
        impact: "-",
        recommendation: "-",
        evidence: &["figure", "tax_year", "report_date"],
        threshold: "report date after the figure's tax year ends (5 April)",
    },
    // ---- nextSteps ----
    Rule {
        id: "next_steps.urgent_timeline",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Urgent placement: plan compressed",
        statement: "A place is needed within two weeks, so first choices are called today, back-ups tomorrow, and visits made this week.",
        impact: "-",
        recommendation: "-",
        evidence: &["timeline", "home", "first_choice"],
        threshold: "q17 = urgent_2_weeks",
    },
    Rule {
        id: "next_steps.visit_flagged_home",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Raise the red flags before visiting",
        statement: "{home} has {red_flags} red flag(s): ask about them by phone before arranging a visit.",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "red_flags"],
        threshold: "≥ 1 red flag in riskAssessment",
    },
    Rule {
        id: "next_steps.next_month_timeline",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Place needed next month",
        statement: "A place is needed next month, so first choices are called this week and back-ups kept for the next two weeks.",
        impact: "-",
        recommendation: "-",
        evidence: &["timeline", "home", "first_choice"],
        threshold: "q17 = next_month",
    },
    Rule {
        id: "next_steps.planning_timeline",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Planning two to three months ahead",
        statement: "A place is needed in two to three months, so visits are booked over the next few weeks, with time to compare written quotes.",
        impact: "-",
        recommendation: "-",
        evidence: &["timeline", "home", "first_choice"],
        threshold: "q17 = planning_2_3_months",
    },
    Rule {
        id: "next_steps.exploring_timeline",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Exploring six months or more ahead",
        statement: "You are exploring six months or more ahead, so the plan is to read, shortlist and visit when ready: nothing needs a call this week.",
        impact: "-",
        recommendation: "-",
        evidence: &["timeline", "home", "first_choice"],
        threshold: "q17 = exploring_6_plus_months (or an answer this code does not know)",
    },
    Rule {
        id: "next_steps.recheck_ratings",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Re-check ratings nearer the time",
        statement: "Nearer the time, re-check each home's CQC rating and inspection date on the CQC website: ratings can change within six months.",
        impact: "-",
        recommendation: "-",
        evidence: &["timeline"],
        threshold: "q17 = exploring_6_plus_months",
    },
    Rule {
        id: "next_steps.poorly_rated_not_proposed",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Not proposed: rated below Good or not registered",
        statement: "{home} is not proposed to call, visit or hold as a back-up: {why}. Consider it only if a newer CQC inspection rates it Good or better.",
        impact: "-",
        recommendation: "-",
        evidence: &["home", "why", "overall", "registration_status"],
        threshold: "overall rating Inadequate or Requires improvement, or registration status Deregistered",
    },
    Rule {
        id: "next_steps.no_back_up",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "No back-up to propose",
        statement: "No back-up can be proposed: only {proposable} of the {homes} chosen homes are rated Good or Outstanding, or not yet rated ({poorly_rated} rated below Good or no longer registered). Widen the search (distance or care type) to find one.",
        impact: "-",
        recommendation: "-",
        evidence: &["homes", "proposable", "poorly_rated"],
        threshold: "1 or 2 homes proposable (not rated Inadequate or Requires improvement overall, not deregistered)",
    },
    Rule {
        id: "next_steps.no_home_to_propose",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "No home to propose",
        statement: "None of the {homes} chosen homes can be proposed to call or visit: {poorly_rated} are rated below Good by CQC or no longer registered. Widen the search (distance or care type), or ask the council's adult social care team for homes with places.",
        impact: "-",
        recommendation: "-",
        evidence: &["homes", "proposable", "poorly_rated"],
        threshold: "no home proposable",
    },
    Rule {
        id: "next_steps.chc_checklist_first",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "NHS Continuing Healthcare checklist first",
        statement: "First ask the GP, hospital discharge team or social worker for the NHS Continuing Healthcare checklist: {count} of your answers point to needs it looks at ({indicators}). If the NHS finds the person eligible, it pays the whole care home fee.",
        impact: "-",
        recommendation: "-",
        evidence: &["count", "indicators"],
        threshold: "≥ 2 of: nursing care, dementia, permanent wheelchair use, complex medicines, high fall risk, puréed diet",
    },
    Rule {
        id: "next_steps.council_assessment_first",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Council assessments first",
        statement: "Before choosing a home, ask the adult social care team of {council} for a care needs assessment and a financial assessment: only the council's assessments decide whether it pays, how much, and which homes it pays for at its usual rate. Your budget: {budget_words}.",
        impact: "-",
        recommendation: "-",
        evidence: &["council", "budget", "budget_words"],
        threshold: "q7 budget ends in `_local` or is `need_budget_guidance`",
    },
    Rule {
        id: "next_steps.attendance_allowance",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Claim Attendance Allowance",
        statement: "If the person is over State Pension age and does not already get it, claim Attendance Allowance from the Department for Work and Pensions: {lower_rate} or {higher_rate} a week ({tax_year}), not means-tested. It continues while they pay for their own care home place, and stops after 28 days if the council pays for the care home.",
        impact: "-",
        recommendation: "-",
        evidence: &["lower_rate", "higher_rate", "tax_year", "funder"],
        threshold: "always: age and who pays for the care home decide it, and the action says so",
    },
    Rule {
        id: "next_steps.deferred_payment",
        section: "nextSteps",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Ask about a deferred payment agreement",
        statement: "If the person owns their home and their savings and other capital, not counting the home, are below {upper_limit}, ask the council for a deferred payment agreement: the fees are paid later from the home's value, with interest. Owning a home and the capital held decide it.",
        impact: "-",
        recommendation: "-",
        evidence: &["upper_limit", "funder"],
        threshold: "always: home ownership and capital not counting the home decide it, and the action says so",
    },
    // ---- executive summary ----
    Rule {
        id: "summary.match_reason",
        section: "careHomes[].matchReason",
        kind: "statement",
        category: "-",
        severity: "-",
        title: "Why this home",
        statement: "{reason}",
        impact: "-",
        recommendation: "-",
        evidence: &["reason", "score", "rank"],
        threshold: "always, from the home's strongest known facts",
    },
];

/// The rule with this id. Ids used in code are tested to exist, so a missing
/// one is a programming error caught by the tests, not by users.
pub fn rule(id: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no judgement rule {id}"))
}

/// Fills `{field}` placeholders from the evidence (strings unquoted).
pub(crate) fn render(template: &str, evidence: &[Evidence]) -> String {
    let mut out = template.to_owned();
    for e in evidence {
        let value = match &e.value {
            Value::String(s) => s.clone(),
            Value::Null => "unknown".to_owned(),
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{}}}", e.field), &value);
    }
    out
}

/// The placeholders of a template, in order.
#[cfg(test)]
pub(crate) fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// The rules table as Markdown, the body of `docs/JUDGEMENT_RULES.md`.
#[cfg(test)]
pub(crate) fn markdown_table() -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "| id | section | kind | category | severity | statement | evidence | threshold |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in RULES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            r.id,
            r.section,
            r.kind,
            r.category,
            r.severity,
            cell(r.statement),
            r.evidence
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", "),
            cell(r.threshold),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_templates_name_only_their_evidence() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate rule id");
        for r in RULES {
            for p in placeholders(r.statement) {
                assert!(
                    r.evidence.contains(&p),
                    "rule {}: placeholder {{{p}}} is not in its evidence list",
                    r.id
                );
            }
            assert!(
                matches!(r.kind, "red_flag" | "warning" | "statement"),
                "{}",
                r.id
            );
            if r.kind != "statement" {
                assert!(matches!(
                    r.category,
                    "financial" | "cqc" | "staff" | "pricing"
                ));
                assert!(matches!(r.severity, "high" | "medium" | "low"));
            }
        }
    }

    #[test]
    fn render_fills_placeholders() {
        let s = render(
            "{home} is {n} km; {list}; {gone}",
            &[
                Evidence::new("home", "Oak"),
                Evidence::new("n", 3.5),
                Evidence::new("list", serde_json::json!(["a", "b"])),
                Evidence::new("gone", Value::Null),
            ],
        );
        assert_eq!(s, "Oak is 3.5 km; a, b; unknown");
    }

    /// The documented table is this table. To refresh it after changing a
    /// rule: `JUDGEMENT_RULES_WRITE=1 cargo test -p care-report --lib judgement::rules`.
    #[test]
    fn docs_table_matches_the_rules_in_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/JUDGEMENT_RULES.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let begin = "<!-- rules:begin (generated from lib/src/judgement/rules.rs) -->\n";
        let end = "<!-- rules:end -->";
        let table = markdown_table();
        if std::env::var_os("JUDGEMENT_RULES_WRITE").is_some() {
            let (head, tail) = match (doc.find(begin), doc.find(end)) {
                (Some(b), Some(e)) => (doc[..b].to_owned(), doc[e + end.len()..].to_owned()),
                _ => (doc.clone(), "\n".to_owned()),
            };
            std::fs::write(path, format!("{head}{begin}{table}{end}{tail}")).unwrap();
            return;
        }
        let b = doc
            .find(begin)
            .expect("docs/JUDGEMENT_RULES.md has the begin marker")
            + begin.len();
        let e = doc
            .find(end)
            .expect("docs/JUDGEMENT_RULES.md has the end marker");
        assert_eq!(
            &doc[b..e],
            table,
            "docs/JUDGEMENT_RULES.md differs from RULES; regenerate with JUDGEMENT_RULES_WRITE=1"
        );
    }
}

#[cfg(test)]
mod usage {
    use super::RULES;

    /// Every rule in the table is applied by some section (no dead rows).
    #[test]
    fn every_rule_is_applied_by_a_section() {
        let code = [
            include_str!("risk.rs"),
            include_str!("financial.rs"),
            include_str!("comparative.rs"),
            include_str!("negotiation.rs"),
            include_str!("funding.rs"),
            include_str!("next_steps.rs"),
            include_str!("summary.rs"),
        ]
        .map(|src| src.split("#[cfg(test)]").next().unwrap_or(src))
        .join("\n");
        for r in RULES {
            assert!(
                code.contains(&format!("\"{}\"", r.id)),
                "rule {} is never applied",
                r.id
            );
        }
    }
}
