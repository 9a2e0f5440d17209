//! The report's judgement: red flags, comparison, negotiation, funding and
//! next steps, each statement traceable to the data that triggered it.
//!
//! Families pay for a report to decide, not to read raw data. These sections
//! are therefore written by deterministic rules over facts the service holds,
//! never by guessing: every statement carries the id of the rule that made it
//! ([`rules::RULES`], also listed in `docs/JUDGEMENT_RULES.md`), the fields it
//! read with their values (`evidence`) and the threshold it crossed.
//!
//! Shape: parse/apply/encode. [`JudgementInput`] is the module's own small,
//! typed input ([`FamilyNeeds`], [`HomeFacts`], [`MarketFacts`]), built by
//! [`facts`] from what exists today (the questionnaire, the plan, the stored
//! source data, the directory), so the rules do not depend on the report's
//! or the questionnaire's wire shapes. [`judge`] is pure: no I/O, the report
//! time is a parameter. Its output sections serialise to the client's
//! TypeScript types (`types.ts` of the client) for every field the client
//! reads, plus `ruleId`, `evidence`, `threshold` and `missingInputs`, which
//! the client ignores.
//!
//! Every sentence a family reads is plain English: answer codes and ids stay
//! in `evidence` ([`prose`] writes budgets, dates and ages in words, and its
//! test helper checks every serialised section).
//!
//! A section that cannot be built from what we hold is `None`, never an empty
//! or half-filled object (the client crashes on those). Two client sections
//! are deliberately not produced, see [`Judgement`].

pub(crate) mod comparative;
pub(crate) mod facts;
pub(crate) mod fair_cost;
pub(crate) mod financial;
pub(crate) mod funding;
pub(crate) mod negotiation;
pub(crate) mod next_steps;
pub(crate) mod prose;
pub(crate) mod questions;
pub(crate) mod risk;
pub mod rules;
pub(crate) mod summary;
#[cfg(test)]
mod testkit;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::directory::CqcRating;
pub use comparative::ComparativeAnalysis;
pub use fair_cost::FairCostGapAnalysis;
pub use funding::FundingGuidance;
pub use negotiation::NegotiationStrategy;
pub use next_steps::NextSteps;
pub use risk::RiskAssessment;
pub use summary::{ExecutiveSummary, HomeSummary};

/// Everything the rules read: the family's needs, the chosen homes and the
/// local market.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JudgementInput {
    /// What the family asked for.
    pub needs: FamilyNeeds,
    /// The chosen homes, best first.
    pub homes: Vec<HomeFacts>,
    /// Fees of comparable homes in the directory (`None`: none known).
    pub market: Option<MarketFacts>,
    /// How the homes were chosen: the radius, what was left out and why.
    pub selection: Selection,
}

/// How the homes were chosen, for the summary to say what the ranking
/// rests on and what it could not check.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Selection {
    /// The radius searched, km.
    pub radius_km: f64,
    /// The radius asked for, km (`None`: distance not important).
    pub requested_radius_km: Option<f64>,
    /// Homes within the radius that were suitable and scored.
    pub considered: usize,
    /// Homes within the radius left out: the count and reason in words
    /// ("6 homes are not registered to care for older people"), and how many.
    pub left_out: Vec<(String, usize)>,
    /// The search centre, e.g. `Birmingham`.
    pub origin: String,
}

impl Selection {
    /// Whether the search had to go further than the family asked.
    pub fn widened(&self) -> bool {
        self.requested_radius_km
            .is_some_and(|r| self.radius_km > r + f64::EPSILON)
    }
}

/// The care the family needs: the same need matching filters homes on
/// (q8's care types, and dementia care whenever dementia is a condition),
/// so the judgement compares exactly the fees and homes the report shows.
use crate::matching::CareNeed;

/// Mobility (q10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MobilityLevel {
    /// Fully mobile.
    FullyMobile,
    /// Uses walking aids.
    WalkingAids,
    /// Uses a wheelchair sometimes.
    WheelchairSometimes,
    /// Uses a wheelchair all the time.
    WheelchairPermanent,
}

/// How much help with medicines is needed (q11), on one scale for the old
/// and the new answer sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedicationSupport {
    /// No medicines, or manages them alone.
    None,
    /// A simple routine, or reminders only.
    Light,
    /// Several medicines on a routine.
    Moderate,
    /// Many or complex medicines, or full administration by staff.
    Complex,
}

/// Falls (q13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallRisk {
    /// No falls.
    None,
    /// One or two falls without serious injury.
    Some,
    /// Three or more falls, a serious injury, or judged at high risk.
    High,
}

/// When a place is needed (q17).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Within two weeks.
    Urgent,
    /// Next month.
    NextMonth,
    /// In two to three months.
    Planning,
    /// Exploring, six months or more.
    Exploring,
}

/// Who the family expects to pay (the suffix of q7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funder {
    /// Paying privately.
    SelfFunded,
    /// Expecting the council to fund.
    LocalAuthority,
    /// Asked for guidance.
    Unsure,
}

/// The family's needs, as the rules read them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyNeeds {
    /// The preferred city (q5).
    pub city: String,
    /// The care needed.
    pub care: CareNeed,
    /// Dementia or Alzheimer's among the conditions.
    pub dementia: bool,
    /// Diabetes among the conditions.
    pub diabetes: bool,
    /// Heart conditions among the conditions.
    pub heart_condition: bool,
    /// Mobility problems among the conditions.
    pub mobility_problems: bool,
    /// Mobility.
    pub mobility: MobilityLevel,
    /// Help with medicines.
    pub medication: MedicationSupport,
    /// Falls.
    pub falls: FallRisk,
    /// Allergies (wire names, `no_allergies` left out).
    pub allergies: Vec<String>,
    /// Diets (wire names, `no_special_requirements` left out).
    pub diets: Vec<String>,
    /// When a place is needed.
    pub urgency: Urgency,
    /// Who pays.
    pub funder: Funder,
    /// The q7 answer as given.
    pub budget_answer: String,
    /// Top of the budget band, pounds a week (`None`: open or no band).
    pub budget_max_weekly: Option<f64>,
    /// The furthest distance asked for, km (`None`: not important).
    pub max_distance_km: Option<f64>,
    /// Priorities, most important first (wire names).
    pub priorities: Vec<String>,
}

/// CQC's record of a home.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CqcFacts {
    /// Where these facts come from: `cqc_api` (fresh) or `directory` (the
    /// operators' export).
    pub origin: &'static str,
    /// Overall rating.
    pub overall: Option<CqcRating>,
    /// Safe.
    pub safe: Option<CqcRating>,
    /// Effective.
    pub effective: Option<CqcRating>,
    /// Caring.
    pub caring: Option<CqcRating>,
    /// Responsive.
    pub responsive: Option<CqcRating>,
    /// Well-led.
    pub well_led: Option<CqcRating>,
    /// Last inspection.
    pub last_inspection: Option<NaiveDate>,
    /// Registration status as CQC spells it (`Registered`, `Deregistered`).
    pub registration_status: Option<String>,
    /// Deregistration date, when CQC gives one.
    pub deregistration_date: Option<NaiveDate>,
    /// The overall rating against the one before it (CQC API only).
    pub trend: Option<RatingTrend>,
    /// Whether a registered manager is in post (`None`: not known).
    pub manager_in_post: Option<bool>,
    /// Since when CQC records no registered manager.
    pub manager_absent_since: Option<NaiveDate>,
}

/// The overall rating in force against the newest earlier one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RatingTrend {
    /// `improved`, `declined` or `unchanged`.
    pub direction: String,
    /// The earlier rating.
    pub previous: CqcRating,
    /// When it was given.
    pub previous_date: Option<NaiveDate>,
    /// The rating in force.
    pub current: CqcRating,
    /// When it was given: the trend holds since then.
    pub since: Option<NaiveDate>,
}

impl CqcFacts {
    /// The five key questions with their client names.
    pub(crate) fn key_questions(&self) -> [(&'static str, Option<CqcRating>); 5] {
        [
            ("safe", self.safe),
            ("effective", self.effective),
            ("caring", self.caring),
            ("responsive", self.responsive),
            ("well_led", self.well_led),
        ]
    }
}

/// The Food Standards Agency's record of the home's kitchen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FsaFacts {
    /// Rating 0–5 (`None`: exempt or awaiting inspection).
    pub rating: Option<u8>,
    /// Date of the rating.
    pub rating_date: Option<NaiveDate>,
    /// Hygiene penalty points (lower is better).
    pub hygiene: Option<u32>,
    /// Structural penalty points.
    pub structural: Option<u32>,
    /// Confidence-in-management penalty points.
    pub confidence_in_management: Option<u32>,
}

/// One Google review: only its stars and text are read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Review {
    /// Stars, 1–5.
    pub rating: Option<f64>,
    /// Text.
    pub text: Option<String>,
}

/// Google Places' record of the home.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GoogleFacts {
    /// Average stars.
    pub rating: Option<f64>,
    /// How many ratings the average is over.
    pub review_count: Option<u64>,
    /// The few reviews Google returns.
    pub reviews: Vec<Review>,
}

/// Where a home's fee comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum FeeSource {
    /// The operators' directory.
    Directory,
    /// The home's own website: the sentence that states it and the page.
    Website {
        /// The sentence, as written.
        sentence: String,
        /// The page's address.
        url: Option<String>,
        /// Whether the page gives it as a starting ("from") price.
        starting_price: bool,
    },
}

/// A source whose data the report does not have yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingInput {
    /// The source (`cqc`, `fsa`, `google_places`, …).
    pub source: String,
    /// Its slot status (`pending` or `missing`).
    pub status: String,
}

/// A category a home won among the chosen homes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WinnerCategory {
    /// Highest match score.
    BestOverall,
    /// Best medical care and safety.
    BestCare,
    /// Best value for money.
    BestValue,
}

/// One chosen home, with only facts the service holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HomeFacts {
    /// 1 for the best match.
    pub rank: usize,
    /// Directory id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Town or city.
    pub location: String,
    /// Local authority, from the directory.
    pub local_authority: Option<String>,
    /// Match score out of 100.
    pub score: Option<f64>,
    /// Distance from the search centre, km.
    pub distance_km: Option<f64>,
    /// The weekly fee for the care needed, pounds: the directory's, else
    /// the one the home's own website states (see `fee_source`).
    pub weekly_fee: Option<f64>,
    /// Where `weekly_fee` comes from (`None` when it is unknown).
    pub fee_source: Option<FeeSource>,
    /// Care types offered (`residential`, `nursing`, `dementia`, `respite`).
    pub care_offered: Vec<&'static str>,
    /// CQC.
    pub cqc: Option<CqcFacts>,
    /// FSA.
    pub fsa: Option<FsaFacts>,
    /// Google Places.
    pub google: Option<GoogleFacts>,
    /// Sources still pending or missing.
    pub missing: Vec<MissingInput>,
    /// Categories won.
    pub winner_of: Vec<WinnerCategory>,
    /// Why it was proposed only as a fallback (what it specialises in), in
    /// words; `None` for a home suited to the person.
    pub fallback: Option<String>,
    /// Respite is needed and the directory does not say the home offers it.
    pub respite_unconfirmed: bool,
    /// The latest rating under an earlier registration (another provider
    /// ran the home), in words, e.g. `rated Good in December 2019 under
    /// Old Opco Ltd`; history, never the current rating.
    pub previous_rating: Option<String>,
    /// Step-free, wheelchair-accessible building (`None`: the directory
    /// does not say).
    pub wheelchair_access: Option<bool>,
    /// A secure garden (`None`: the directory does not say).
    pub secure_garden: Option<bool>,
    /// The provider company's Companies House record (`None`: not held).
    pub company: Option<CompanyFacts>,
    /// Why there is no company record, when there is none: the state of
    /// the Companies House source for this home (`not_found` with no
    /// number in the directory, `not_found`, `not_configured`, `missing`,
    /// `pending`); `None` when the record is held.
    pub company_lookup: Option<CompanyLookup>,
}

/// Why a home has no Companies House record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyLookup {
    /// The directory names no company number for the provider.
    NoNumber,
    /// Companies House has no company with the directory's number.
    Unknown,
    /// No Companies House key is configured.
    NotConfigured,
    /// The answer has not arrived (pending or missing).
    NotYet,
}

/// Companies House's record of the company that runs a home: what it
/// files, never how it trades (no accounts figures are read).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CompanyFacts {
    /// Company number.
    pub number: String,
    /// Registered name.
    pub name: Option<String>,
    /// `company_status` as Companies House codes it (`active`,
    /// `administration`, `liquidation`, `dissolved`, …).
    pub status: String,
    /// `company_status_detail` (`active-proposal-to-strike-off`, …).
    pub status_detail: Option<String>,
    /// When it was dissolved or closed.
    pub ceased_on: Option<NaiveDate>,
    /// Companies House's own overdue flag for the accounts.
    pub accounts_overdue: Option<bool>,
    /// When the next accounts are (or were) due.
    pub accounts_next_due: Option<NaiveDate>,
    /// The period end of the last accounts filed.
    pub accounts_last_made_up_to: Option<NaiveDate>,
    /// Their type (`full`, `small`, `micro-entity`, …).
    pub last_accounts_type: Option<String>,
    /// Companies House's own overdue flag for the confirmation statement.
    pub confirmation_overdue: Option<bool>,
    /// When the next confirmation statement is (or was) due.
    pub confirmation_next_due: Option<NaiveDate>,
    /// Insolvency cases, oldest first.
    pub insolvency_cases: Vec<InsolvencyCase>,
    /// Charges neither satisfied nor part-satisfied (`None`: not known).
    pub outstanding_charges: Option<u64>,
    /// The public register page.
    pub register_url: Option<String>,
}

/// One insolvency case on the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InsolvencyCase {
    /// Case type as coded (`in-administration`,
    /// `creditors-voluntary-liquidation`, …).
    pub kind: String,
    /// When it started (administration started, wound up, petitioned,
    /// arrangement started, …), when the register gives it.
    pub started: Option<NaiveDate>,
    /// When it ended, when it did (administration ended or discharged,
    /// winding up concluded, arrangement ended, dissolved).
    pub ended: Option<NaiveDate>,
}

/// Weekly fees of a set of homes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeeStats {
    /// How many homes list a fee.
    pub count: usize,
    /// Median, pounds a week.
    pub median: f64,
    /// Lowest.
    pub min: f64,
    /// Highest.
    pub max: f64,
    /// Mean (rounded to pounds).
    pub mean: f64,
}

impl FeeStats {
    /// Statistics of the fees; `None` when there are none.
    pub fn of(fees: &[f64]) -> Option<FeeStats> {
        let mut v: Vec<f64> = fees.iter().copied().filter(|f| f.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(FeeStats {
            count: n,
            median: round2(median),
            min: v[0],
            max: v[n - 1],
            mean: (v.iter().sum::<f64>() / n as f64).round(),
        })
    }
}

/// The market for the care needed, from the directory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarketFacts {
    /// Care type compared (see [`crate::matching::CareNeed::market_care_type`]).
    pub care_type: &'static str,
    /// Which directory.
    pub directory: String,
    /// The search area, e.g. `within 15 km of Leeds`.
    pub area: String,
    /// Radius of the area, km.
    pub radius_km: f64,
    /// Fees within the area (`None`: no home there lists one).
    pub local: Option<FeeStats>,
    /// Fees over the whole directory.
    pub all: Option<FeeStats>,
}

/// One fact a statement rests on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    /// The field read, e.g. `cqc.safe`.
    pub field: String,
    /// Its value.
    pub value: Value,
}

impl Evidence {
    /// A piece of evidence.
    pub fn new(field: impl Into<String>, value: impl Into<Value>) -> Evidence {
        Evidence {
            field: field.into(),
            value: value.into(),
        }
    }
}

/// How a statement is traced: its rule, evidence and threshold. Flattened
/// into each statement as `ruleId`, `evidence`, `threshold`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    /// The rule's id in [`rules::RULES`].
    pub rule_id: &'static str,
    /// The facts read.
    pub evidence: Vec<Evidence>,
    /// The threshold crossed, in words.
    pub threshold: &'static str,
}

impl Trace {
    /// A trace for the rule with this id.
    pub fn new(rule_id: &'static str, evidence: Vec<Evidence>) -> Trace {
        Trace {
            rule_id,
            threshold: rules::rule(rule_id).threshold,
            evidence,
        }
    }

    /// The rule's statement template filled from the evidence.
    pub fn statement(&self) -> String {
        rules::render(rules::rule(self.rule_id).statement, &self.evidence)
    }
}

/// The sections, each `None` when it cannot be built.
///
/// Not produced, on purpose:
/// - the client's `fundingOptimization` block displays a CHC eligibility
///   percentage, a council contribution split and a deferred-payment amount.
///   Each needs the person's savings, property, income or a clinical
///   assessment, which the service does not hold; numbers there would be
///   invented and nulls crash the page. [`FundingGuidance`] says what can be
///   said from the questionnaire, with the public figures and their sources,
///   under its own key (`fundingGuidance`).
/// - `fairCostGapAnalysis` is the gap between each home's fee and the
///   council's "fair cost of care" (the MSIF figures per local authority).
///   The service holds no MSIF figures, and presenting the market median as
///   a fair cost would mislabel it; the market comparison is in
///   [`NegotiationStrategy`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Judgement {
    /// Client `riskAssessment`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_assessment: Option<RiskAssessment>,
    /// Client `comparativeAnalysis`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparative_analysis: Option<ComparativeAnalysis>,
    /// Client `negotiationStrategy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negotiation_strategy: Option<NegotiationStrategy>,
    /// Funding routes (own shape; see the type's docs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding_guidance: Option<FundingGuidance>,
    /// Client `nextSteps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_steps: Option<NextSteps>,
    /// Client `executiveSummary` text fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executive_summary: Option<ExecutiveSummary>,
    /// Per home: `matchReason` and `category_labels`, by home id.
    pub home_summaries: Vec<HomeSummary>,
}

/// Judges the homes for the family. Pure: same input and time, same output.
pub fn judge(input: &JudgementInput, now: DateTime<Utc>) -> Judgement {
    let generated_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let today = now.date_naive();
    let risk = risk::assess(input, today, &generated_at);
    Judgement {
        comparative_analysis: comparative::compare(input, risk.as_ref(), &generated_at),
        negotiation_strategy: negotiation::strategy(input, risk.as_ref(), &generated_at),
        funding_guidance: funding::guidance(&input.needs, today, &generated_at),
        next_steps: next_steps::plan(input, risk.as_ref(), today, &generated_at),
        executive_summary: summary::executive(input, risk.as_ref()),
        home_summaries: summary::homes(input),
        risk_assessment: risk,
    }
}

/// The sources still missing for the homes, as `home name: source (status)`,
/// shared by the sections whose inputs they are.
pub(crate) fn missing_inputs(homes: &[HomeFacts], sources: &[&str]) -> Vec<String> {
    homes
        .iter()
        .flat_map(|h| {
            h.missing
                .iter()
                .filter(|m| sources.contains(&m.source.as_str()))
                .map(move |m| format!("{}: {} ({})", h.name, m.source, m.status))
        })
        .collect()
}

/// Rounds to pence.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Rounds to one decimal.
pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Pounds with thousands separators and no pence when whole: `£1,234`.
pub(crate) fn pounds(x: f64) -> String {
    let pence = (x * 100.0).round() as i64;
    let whole = pence / 100;
    let frac = (pence % 100).abs();
    let digits = whole.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    let sign = if pence < 0 { "-" } else { "" };
    if frac == 0 {
        format!("{sign}£{out}")
    } else {
        format!("{sign}£{out}.{frac:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_stats_median_and_range() {
        let s = FeeStats::of(&[900.0, 1100.0, 1000.0, 1300.0]).unwrap();
        assert_eq!(
            (s.count, s.median, s.min, s.max, s.mean),
            (4, 1050.0, 900.0, 1300.0, 1075.0)
        );
        assert_eq!(FeeStats::of(&[]), None);
    }

    #[test]
    fn pounds_are_written_as_people_read_them() {
        assert_eq!(pounds(1234.0), "£1,234");
        assert_eq!(pounds(254.06), "£254.06");
        assert_eq!(pounds(23250.0), "£23,250");
        assert_eq!(pounds(-50.5), "-£50.50");
    }
}
