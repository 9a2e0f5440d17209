//! `nextSteps`: a short ordered plan (this week, the next two weeks) with
//! per-home actions and the questions for each home's manager. An urgent
//! timeline (`urgent_2_weeks`) compresses it into days.
//!
//! The client's `premiumUpgradeOffer` is a sales block the page does not
//! render from this object; it is left out.

use serde::Serialize;

use super::risk::RiskAssessment;
use super::{Evidence, HomeFacts, JudgementInput, Trace, Urgency};

/// Client `recommendedActions[]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// Home.
    pub home_name: String,
    /// Its rank.
    pub home_rank: usize,
    /// What to do.
    pub action: String,
    /// When.
    pub timeline: &'static str,
    /// `high`, `medium`, `low`.
    pub priority: &'static str,
    /// The home's local authority, from the directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_authority: Option<String>,
    /// Why, when a rule decided it.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
}

/// Client `questionsForHomeManager`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagerQuestions {
    /// From the family's needs.
    pub medical_care: Vec<String>,
    /// Staffing and training.
    pub staff_qualifications: Vec<String>,
    /// From the homes' CQC flags.
    pub cqc_feedback: Vec<String>,
    /// Ownership and stability (the service holds no financial data).
    pub financial_stability: Vec<String>,
    /// Trial period.
    pub trial_period: Vec<String>,
    /// Notice and fees after leaving.
    pub cancellation_terms: Vec<String>,
}

/// Client `NextSteps`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextSteps {
    /// Ordered actions.
    pub recommended_actions: Vec<Action>,
    /// Questions.
    pub questions_for_home_manager: ManagerQuestions,
    /// When.
    #[serde(rename = "generated_at")]
    pub generated_at: String,
    /// Whether the urgent timeline compressed the plan (extra).
    pub compressed: bool,
    /// Why, when compressed (extra).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compressed_because: Option<Trace>,
}

/// The section; `None` when there are no homes.
pub(crate) fn plan(
    input: &JudgementInput,
    risk: Option<&RiskAssessment>,
    generated_at: &str,
) -> Option<NextSteps> {
    if input.homes.is_empty() {
        return None;
    }
    let urgent = input.needs.urgency == Urgency::Urgent;
    let mut homes: Vec<&HomeFacts> = input.homes.iter().collect();
    homes.sort_by_key(|h| h.rank);
    let red_flags = |id: &str| {
        risk.and_then(|r| r.homes_assessment.iter().find(|h| h.home_id == id))
            .map_or(0, |h| h.red_flags.len())
    };
    Some(NextSteps {
        recommended_actions: homes
            .iter()
            .flat_map(|h| home_actions(h, urgent, red_flags(&h.id)))
            .collect(),
        questions_for_home_manager: manager_questions(input, risk),
        generated_at: generated_at.to_owned(),
        compressed: urgent,
        compressed_because: urgent.then(|| {
            Trace::new(
                "next_steps.urgent_timeline",
                vec![Evidence::new("timeline", "urgent_2_weeks")],
            )
        }),
    })
}

/// One home's actions: asking about its red flags first when it has any,
/// then the contact its rank and the urgency call for.
fn home_actions(h: &HomeFacts, urgent: bool, flags: usize) -> Vec<Action> {
    let first = h.rank <= 2;
    let (timeline, action) = match (urgent, first) {
        (true, true) => ("Within 3 days", format!("Call {} today to check a room is free from your start date, and visit within 3 days.", h.name)),
        (true, false) => ("Within 7 days", format!("Call {} this week as a back-up; visit if the first two have no room.", h.name)),
        (false, true) => ("This week", format!("Call {} to check availability and the weekly fee in writing, and book a visit.", h.name)),
        (false, false) => ("Next two weeks", format!("Visit {} or ask for its brochure, contract and fee list to compare.", h.name)),
    };
    let mut actions = Vec::new();
    if flags > 0 {
        actions.push(Action {
            home_name: h.name.clone(),
            home_rank: h.rank,
            action: format!(
                "Before visiting, ask {} about its red flags (see Risk Assessment).",
                h.name
            ),
            timeline,
            priority: "high",
            local_authority: h.local_authority.clone(),
            trace: Some(Trace::new(
                "next_steps.visit_flagged_home",
                vec![
                    Evidence::new("home", h.name.clone()),
                    Evidence::new("red_flags", flags),
                ],
            )),
        });
    }
    actions.push(Action {
        home_name: h.name.clone(),
        home_rank: h.rank,
        action,
        timeline,
        priority: if first { "high" } else { "medium" },
        local_authority: h.local_authority.clone(),
        trace: None,
    });
    actions
}

/// The questions for the managers, by topic: the family's needs' questions
/// grouped as the client shows them, plus fixed ones on stability and terms.
fn manager_questions(input: &JudgementInput, risk: Option<&RiskAssessment>) -> ManagerQuestions {
    let grouped = super::questions::for_needs(&input.needs);
    let take = |cats: &[&str]| -> Vec<String> {
        grouped
            .iter()
            .filter(|(c, _)| cats.contains(c))
            .flat_map(|(_, qs)| qs.iter().cloned())
            .collect()
    };
    ManagerQuestions {
        medical_care: take(&[
            "dementia_care",
            "falls_prevention",
            "medication",
            "diet",
            "nursing",
            "medical_care",
            "mobility",
            "environment",
        ]),
        staff_qualifications: {
            let mut s = take(&["staffing"]);
            s.push("How long have the manager and the senior staff been in post?".to_owned());
            s
        },
        cqc_feedback: cqc_feedback(risk),
        financial_stability: vec![
            "Who owns the home, and has the owner or manager changed in the last two years?"
                .to_owned(),
            "Do you have plans to sell, close or refurbish the home?".to_owned(),
        ],
        trial_period: vec![
            "Is there a trial period, how long, and what notice applies during it?".to_owned(),
        ],
        cancellation_terms: take(&["contract"]),
    }
}

/// The CQC question for every home, then one per CQC flag of each home.
fn cqc_feedback(risk: Option<&RiskAssessment>) -> Vec<String> {
    let mut cqc_feedback = vec![
        "What did CQC ask you to improve at the last inspection, and what has changed since?"
            .to_owned(),
    ];
    if let Some(r) = risk {
        for h in &r.homes_assessment {
            for f in h
                .cqc_assessment
                .red_flags
                .iter()
                .chain(&h.cqc_assessment.warnings)
            {
                if f.trace.rule_id.starts_with("cqc.") {
                    cqc_feedback.push(format!(
                        "{}: {} What has the home done about it?",
                        h.home_name, f.description
                    ));
                }
            }
        }
    }
    cqc_feedback
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{home, input};
    use super::*;

    #[test]
    fn urgent_timeline_compresses_the_plan() {
        let mut i = input(vec![home(1), home(2), home(3)]);
        i.needs.urgency = Urgency::Urgent;
        let p = plan(&i, None, "t").unwrap();
        assert!(p.compressed);
        assert_eq!(p.recommended_actions[0].timeline, "Within 3 days");
        assert_eq!(p.recommended_actions[2].timeline, "Within 7 days");
        i.needs.urgency = Urgency::NextMonth;
        let p = plan(&i, None, "t").unwrap();
        assert!(!p.compressed && p.compressed_because.is_none());
        assert_eq!(p.recommended_actions[0].timeline, "This week");
        assert_eq!(p.recommended_actions[2].timeline, "Next two weeks");
    }

    #[test]
    fn a_red_flag_adds_an_action_before_the_visit() {
        let mut h = home(1);
        h.cqc.as_mut().unwrap().overall = Some(super::super::CqcRating::Inadequate);
        let i = input(vec![h]);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let r = super::super::risk::assess(&i, today, "t");
        let p = plan(&i, r.as_ref(), "t").unwrap();
        assert_eq!(p.recommended_actions.len(), 2);
        assert_eq!(
            p.recommended_actions[0].trace.as_ref().unwrap().rule_id,
            "next_steps.visit_flagged_home"
        );
        // Just below: no red flag, no extra action.
        let i = input(vec![home(1)]);
        let r = super::super::risk::assess(&i, today, "t");
        assert_eq!(
            plan(&i, r.as_ref(), "t").unwrap().recommended_actions.len(),
            1
        );
    }
}
