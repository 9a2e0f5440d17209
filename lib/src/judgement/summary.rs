//! Executive summary fields the client reads: the `executiveSummary` texts,
//! and per home `matchReason` and `category_labels` (from the category
//! winners of matching).

use serde::Serialize;

use super::risk::RiskAssessment;
use super::{
    pounds, CqcRating, Evidence, FeeSource, HomeFacts, JudgementInput, Selection, Trace,
    WinnerCategory,
};

/// Client `executiveSummary`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutiveSummary {
    /// What was matched on.
    pub personalized_matching: String,
    /// How many homes, how they scored.
    pub precision_matching: String,
    /// Which sources were read.
    pub deep_analysis: String,
    /// The headline finding.
    pub expert_insights: String,
}

/// Per-home fields for the client's `careHomes[]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HomeSummary {
    /// The home.
    #[serde(rename = "homeId")]
    pub home_id: String,
    /// Client `matchReason`.
    #[serde(rename = "matchReason")]
    pub match_reason: String,
    /// Client `category_labels`.
    pub category_labels: Vec<&'static str>,
    /// Rule, evidence, threshold.
    #[serde(flatten)]
    pub trace: Trace,
    /// The fee the judgement read (directory's or website's) and whether
    /// it is above the budget, for the report's `weeklyPrice` when the
    /// directory has none.
    #[serde(skip)]
    pub fee: Option<(f64, FeeSource, Option<bool>)>,
}

/// The client label of a category won. "Medical & Safety" marks the label the
/// client shows as determined by medical needs.
pub(crate) fn label(c: WinnerCategory) -> &'static str {
    match c {
        WinnerCategory::BestOverall => "Best Overall Match",
        WinnerCategory::BestCare => "Best Medical & Safety",
        WinnerCategory::BestValue => "Best Value",
    }
}

/// The family's budget band in pounds a month and a week, and who pays
/// ([`super::prose::budget_words`]); `None` when the family asked for
/// guidance instead of giving a band.
fn budget_words(answer: &str) -> Option<String> {
    use crate::questionnaire::Budget;
    matches!(Budget::parse(answer), Some(b) if b != Budget::NeedGuidance)
        .then(|| super::prose::budget_words(answer))
}

/// The fee against the budget, with the band in words beside it.
/// A fee from the home's website is said to be from there, a starting
/// price as "from".
fn fee_words(input: &JudgementInput, h: &HomeFacts) -> String {
    let band = budget_words(&input.needs.budget_answer);
    let Some(f) = h.weekly_fee else {
        return "no fee listed (ask the home)".to_owned();
    };
    let amount = match &h.fee_source {
        Some(FeeSource::Website {
            starting_price: true,
            ..
        }) => format!("from {} a week on its own website", pounds(f)),
        Some(FeeSource::Website { .. }) => format!("{} a week on its own website", pounds(f)),
        _ => format!("{} a week", pounds(f)),
    };
    match (over_budget(input, h), band) {
        (Some(false), Some(b)) => format!("{amount}, within your budget of {b}"),
        (Some(true), Some(b)) => format!("{amount}, above your budget of {b}"),
        _ => amount,
    }
}

/// Whether the home's known fee is above the top of the budget band
/// (`None`: no fee known, or no upper limit).
pub(crate) fn over_budget(input: &JudgementInput, h: &HomeFacts) -> Option<bool> {
    Some(h.weekly_fee? > input.needs.budget_max_weekly?)
}

/// The reason, from the home's strongest known facts: its standing (the
/// best match only when it leads by the tie margin), its rating, its fee
/// against the budget, its distance and reviews; then what the family must
/// know (a fallback's specialism, respite to confirm).
pub(crate) fn match_reason(input: &JudgementInput, h: &HomeFacts) -> HomeSummary {
    let mut parts: Vec<String> = Vec::new();
    if h.winner_of.contains(&WinnerCategory::BestOverall) {
        parts.push("Strongest overall match".to_owned());
    }
    match h.cqc.as_ref().and_then(|c| c.overall) {
        Some(r) => parts.push(format!("rated {} by CQC", r.label())),
        None => match &h.previous_rating {
            Some(p) => parts.push(format!(
                "not yet rated by CQC under its current provider (it was {p})"
            )),
            None => parts.push("not yet rated by CQC".to_owned()),
        },
    }
    parts.push(fee_words(input, h));
    if let Some(d) = h.distance_km {
        parts.push(format!("{d:.1} km away"));
    }
    if let Some(g) = &h.google {
        if let (Some(r), Some(n)) = (g.rating, g.review_count) {
            parts.push(format!("{r:.1} stars from {n} Google reviews"));
        }
    }
    let mut reason = parts.join(", ");
    if let Some(first) = reason.get(..1) {
        reason = first.to_uppercase() + &reason[1..];
    }
    reason.push('.');
    if let Some(f) = &h.fallback {
        reason.push_str(&format!(
            " Proposed only because too few homes suited to the person were in reach: it is {f}."
        ));
    }
    if h.respite_unconfirmed {
        reason.push_str(" The directory does not say whether it takes respite stays: ask.");
    }
    HomeSummary {
        home_id: h.id.clone(),
        category_labels: h.winner_of.iter().map(|c| label(*c)).collect(),
        trace: Trace::new(
            "summary.match_reason",
            vec![
                Evidence::new("reason", reason.clone()),
                Evidence::new("score", h.score),
                Evidence::new("rank", h.rank),
            ],
        ),
        fee: h
            .weekly_fee
            .zip(h.fee_source.clone())
            .map(|(f, s)| (f, s, over_budget(input, h))),
        match_reason: reason,
    }
}

/// Per home, in rank order.
pub(crate) fn homes(input: &JudgementInput) -> Vec<HomeSummary> {
    input.homes.iter().map(|h| match_reason(input, h)).collect()
}

/// The texts; `None` when there are no homes.
pub(crate) fn executive(
    input: &JudgementInput,
    risk: Option<&RiskAssessment>,
) -> Option<ExecutiveSummary> {
    let top = input.homes.iter().min_by_key(|h| h.rank)?;
    let missing: usize = input.homes.iter().map(|h| h.missing.len()).sum();
    let red: usize = risk.map_or(0, |r| r.summary.total_red_flags);
    Some(ExecutiveSummary {
        personalized_matching: personalized(input),
        precision_matching: precision(input),
        deep_analysis: format!(
            "Each home checked against CQC inspections, food hygiene ratings, public reviews, its area, its own website and its provider company's Companies House record{}.",
            if missing > 0 {
                format!("; {missing} source result(s) are still missing and will be added when they arrive")
            } else {
                String::new()
            }
        ),
        expert_insights: expert_insights(top, risk, red),
    })
}

/// What was matched on, where, and what could not be checked: the radius
/// (and that it was widened), the homes left out and why, the budget (with
/// its band in pounds) and availability.
fn personalized(input: &JudgementInput) -> String {
    let (n, s) = (&input.needs, &input.selection);
    let mut out = format!(
        "Matched on {} for an older person, within {:.0} km of {}",
        n.care.describe(),
        s.radius_km,
        s.origin
    );
    match s.requested_radius_km {
        Some(r) if s.widened() => out.push_str(&format!(
            ": you asked for {r:.0} km, but too few suitable homes were that close, so the search was widened."
        )),
        _ => out.push('.'),
    }
    if let Some(left) = left_out_words(s) {
        out.push(' ');
        out.push_str(&left);
    }
    out.push(' ');
    out.push_str(&budget_checked(input));
    out.push_str(" Availability was not checked: ask each home whether it has a room.");
    for fact in unrecorded_facilities(input) {
        out.push_str(&format!(
            " The directory does not record {fact} for the chosen homes: check it on each visit."
        ));
    }
    if input.homes.iter().any(|h| h.respite_unconfirmed) {
        out.push_str(
            " The directory does not record which homes take respite stays: confirm respite with each.",
        );
    }
    out
}

/// The facilities the person needs that the directory records for none of
/// the chosen homes (so matching could not weigh them): wheelchair access
/// for a wheelchair user or someone with mobility problems, a secure garden
/// for someone living with dementia.
fn unrecorded_facilities(input: &JudgementInput) -> Vec<&'static str> {
    let n = &input.needs;
    let wheelchair = n.mobility_problems
        || matches!(
            n.mobility,
            super::MobilityLevel::WheelchairSometimes | super::MobilityLevel::WheelchairPermanent
        );
    let mut out = Vec::new();
    if wheelchair && input.homes.iter().all(|h| h.wheelchair_access.is_none()) {
        out.push("wheelchair access");
    }
    if n.dementia && input.homes.iter().all(|h| h.secure_garden.is_none()) {
        out.push("a secure garden");
    }
    out
}

/// "9 homes within 15 km were left out: 6 are …, 3 …"; `None` when none were.
fn left_out_words(s: &Selection) -> Option<String> {
    let total: usize = s.left_out.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let parts: Vec<String> = s.left_out.iter().map(|(why, _)| why.clone()).collect();
    let homes = if total == 1 { "home" } else { "homes" };
    let were = if total == 1 { "was" } else { "were" };
    Some(format!(
        "{total} {homes} within {:.0} km {were} left out: {}.",
        s.radius_km,
        parts.join(", ")
    ))
}

/// Whether the budget could be checked, with the band in words.
fn budget_checked(input: &JudgementInput) -> String {
    let known = input
        .homes
        .iter()
        .filter(|h| h.weekly_fee.is_some())
        .count();
    match (budget_words(&input.needs.budget_answer), known) {
        (None, _) => "You asked for budget guidance, so no budget was applied.".to_owned(),
        (Some(b), 0) => format!(
            "No fee is known for the chosen homes (the directory lists none, nor do their websites so far), so your budget ({b}) could not be checked: ask each home for its weekly fee."
        ),
        (Some(b), k) if k < input.homes.len() => format!(
            "Your budget ({b}) was checked for the {k} home(s) whose fee is known (from the directory or the home's own website); ask the others for theirs."
        ),
        (Some(b), _) => format!("Every chosen home's fee was checked against your budget ({b})."),
    }
}

/// How the homes scored, whether the top ones are level, and what the
/// order rests on.
fn precision(input: &JudgementInput) -> String {
    let mut scores: Vec<f64> = input.homes.iter().filter_map(|h| h.score).collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    let count = input.homes.len();
    let mut out = match (scores.first(), scores.last()) {
        (Some(hi), Some(lo)) => {
            format!("{count} homes chosen, match scores {lo:.1} to {hi:.1} out of 100.")
        }
        _ => format!("{count} homes chosen."),
    };
    if let Some(level) = level_at_top(&scores) {
        out.push(' ');
        out.push_str(&level);
    }
    out.push_str(" The order rests on the directory's facts (CQC registration and ratings, distance) and your priorities; food hygiene ratings, reviews and each home's website arrive afterwards and are shown with each home, but do not change the order.");
    out
}

/// "The top 3 are within 1 point of each other: treat them as equal." when
/// the best scores are closer than the tie margin; `None` otherwise.
fn level_at_top(scores: &[f64]) -> Option<String> {
    let hi = *scores.first()?;
    let level = scores
        .iter()
        .take_while(|s| hi - **s < crate::matching::TIE_MARGIN)
        .count();
    match level {
        0 | 1 => None,
        n if n == scores.len() => Some(format!(
            "All {n} are within {:.0} point of each other: treat them as equal and let visits decide.",
            crate::matching::TIE_MARGIN
        )),
        n => Some(format!(
            "The top {n} are within {:.0} point of each other: treat them as equal.",
            crate::matching::TIE_MARGIN
        )),
    }
}

/// The headline: the strongest match (and whether its rating lets us
/// propose it), how old the CQC data is, then the red flags found in it.
/// "No red flags" is never said without the data's age.
fn expert_insights(top: &HomeFacts, risk: Option<&RiskAssessment>, red: usize) -> String {
    let mut text = if top.winner_of.contains(&WinnerCategory::BestOverall) {
        format!("{} is the strongest match on your answers.", top.name)
    } else {
        format!(
            "No home leads clearly on your answers: {} is listed first, but the top scores are within {:.0} point of each other.",
            top.name,
            crate::matching::TIE_MARGIN
        )
    };
    let rating = top.cqc.as_ref().and_then(|c| c.overall);
    if matches!(
        rating,
        Some(CqcRating::Inadequate | CqcRating::RequiresImprovement)
    ) {
        text.push_str(&format!(
            " CQC rates it {}, so the next steps do not propose it.",
            rating.map_or("", CqcRating::label)
        ));
    }
    let Some(age) = risk.map(|r| &r.summary.data_age) else {
        return text;
    };
    text.push(' ');
    text.push_str(&age.text);
    if age.all_over_2_years {
        text.push_str(" Ask each home when it expects its next CQC inspection and what has changed since the last, and judge it on your own visit.");
    }
    text.push_str(&if red == 0 {
        " No red flags were found in that data.".to_owned()
    } else {
        format!(" {red} red flag(s) were found: read the Risk Assessment before visiting.")
    });
    text
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{home, input};
    use super::*;

    #[test]
    fn match_reason_names_the_facts_and_labels_follow_the_winners() {
        let mut h = home(1);
        h.winner_of = vec![WinnerCategory::BestOverall, WinnerCategory::BestCare];
        let i = input(vec![h.clone()]);
        let s = match_reason(&i, &h);
        assert_eq!(
            s.match_reason,
            "Strongest overall match, rated Good by CQC, £1,000 a week, within your budget of £3,000–£5,000 a month (about £692–£1,154 a week), self-funded, 3.0 km away, 4.3 stars from 40 Google reviews."
        );
        assert_eq!(
            s.category_labels,
            vec!["Best Overall Match", "Best Medical & Safety"]
        );
        assert!(summary_has_no_empty(&executive(&i, None).unwrap()));
    }

    #[test]
    fn expert_insights_say_plainly_when_every_rating_is_over_2_years_old() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        let old = |n: usize, days: u64| {
            let mut h = home(n);
            h.cqc.as_mut().unwrap().last_inspection = Some(today - chrono::Days::new(days));
            h
        };
        let i = input(vec![old(1, 800), old(2, 2000)]);
        let r = super::super::risk::assess(&i, today, "t");
        let text = executive(&i, r.as_ref()).unwrap().expert_insights;
        assert!(
            text.contains("Every home's latest CQC inspection is over 2 years old"),
            "{text}"
        );
        assert!(
            text.contains("No red flags were found in that data."),
            "{text}"
        );
        // Just below: one home inspected 730 days ago; the age is still said.
        let i = input(vec![old(1, 730), old(2, 2000)]);
        let r = super::super::risk::assess(&i, today, "t");
        let text = executive(&i, r.as_ref()).unwrap().expert_insights;
        assert!(!text.contains("Every home"), "{text}");
        assert!(text.contains("(1 of 2 over 2 years old)"), "{text}");
    }

    #[test]
    fn a_poorly_rated_top_match_is_named_as_not_proposed() {
        let mut h = home(1);
        h.cqc.as_mut().unwrap().overall = Some(CqcRating::Inadequate);
        let i = input(vec![h, home(2)]);
        let text = executive(&i, None).unwrap().expert_insights;
        assert!(
            text.contains("CQC rates it Inadequate, so the next steps do not propose it."),
            "{text}"
        );
    }

    fn summary_has_no_empty(s: &ExecutiveSummary) -> bool {
        [
            &s.personalized_matching,
            &s.precision_matching,
            &s.deep_analysis,
            &s.expert_insights,
        ]
        .iter()
        .all(|t| !t.is_empty())
    }

    #[test]
    fn unrecorded_facilities_are_said_only_when_needed_and_unknown_everywhere() {
        let mut h = home(1);
        h.wheelchair_access = None;
        let mut i = input(vec![h.clone()]);
        i.needs.mobility_problems = true;
        let text = personalized(&i);
        assert!(text.contains("does not record wheelchair access"), "{text}");
        // Known for one chosen home: matching weighed it, nothing to say.
        let mut known = h.clone();
        known.wheelchair_access = Some(false);
        i.homes.push(known);
        assert!(!personalized(&i).contains("wheelchair"));
        // Not needed: not said.
        let mut i = input(vec![h]);
        i.needs.mobility_problems = false;
        assert!(!personalized(&i).contains("wheelchair"));
    }
}
