//! Executive summary fields the client reads: the `executiveSummary` texts,
//! and per home `matchReason` and `category_labels` (from the category
//! winners of matching).

use serde::Serialize;

use super::risk::RiskAssessment;
use super::{pounds, CqcRating, Evidence, HomeFacts, JudgementInput, Trace, WinnerCategory};

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

/// The reason, from the home's strongest known facts.
pub(crate) fn match_reason(input: &JudgementInput, h: &HomeFacts) -> HomeSummary {
    let mut parts: Vec<String> = Vec::new();
    if h.rank == 1 {
        parts.push("Strongest overall match".to_owned());
    }
    if let Some(r) = h.cqc.as_ref().and_then(|c| c.overall) {
        parts.push(format!("rated {} by CQC", r.label()));
    }
    if let Some(f) = h.weekly_fee {
        match input.needs.budget_max_weekly {
            Some(max) if f <= max => {
                parts.push(format!("{} a week, within your budget", pounds(f)))
            }
            Some(_) => parts.push(format!("{} a week, above your budget", pounds(f))),
            None => parts.push(format!("{} a week", pounds(f))),
        }
    }
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
    if reason.is_empty() {
        reason = format!("Offers {}", input.needs.care.describe());
    }
    reason.push('.');
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
    let n = &input.needs;
    let scores: Vec<f64> = input.homes.iter().filter_map(|h| h.score).collect();
    let (hi, lo) = (
        scores.iter().copied().reduce(f64::max),
        scores.iter().copied().reduce(f64::min),
    );
    let missing: usize = input.homes.iter().map(|h| h.missing.len()).sum();
    let red: usize = risk.map_or(0, |r| r.summary.total_red_flags);
    Some(ExecutiveSummary {
        personalized_matching: format!(
            "Matched on {} near {}{}, with your budget and priorities.",
            n.care.describe(),
            n.city,
            n.max_distance_km.map_or(String::new(), |d| format!(" (within {d:.0} km)"))
        ),
        precision_matching: match (hi, lo) {
            (Some(hi), Some(lo)) => format!(
                "{} homes chosen, match scores {lo:.1} to {hi:.1} out of 100.",
                input.homes.len()
            ),
            _ => format!("{} homes chosen.", input.homes.len()),
        },
        deep_analysis: format!(
            "Each home checked against CQC inspections, food hygiene ratings, public reviews, its area and its own website{}.",
            if missing > 0 {
                format!("; {missing} source result(s) are still missing and will be added when they arrive")
            } else {
                String::new()
            }
        ),
        expert_insights: expert_insights(top, risk, red),
    })
}

/// The headline: the strongest match (and whether its rating lets us
/// propose it), how old the CQC data is, then the red flags found in it.
/// "No red flags" is never said without the data's age.
fn expert_insights(top: &HomeFacts, risk: Option<&RiskAssessment>, red: usize) -> String {
    let mut text = format!("{} is the strongest match on your answers.", top.name);
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
            "Strongest overall match, rated Good by CQC, £1,000 a week, within your budget, 3.0 km away, 4.3 stars from 40 Google reviews."
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
}
