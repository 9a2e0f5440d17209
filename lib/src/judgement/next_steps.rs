//! `nextSteps`: a short ordered plan shaped by the family: funding steps
//! first where their answers call for them, then per-home actions timed by
//! how soon a place is needed, and the questions for each home's manager.
//!
//! Why this shape: the client renders `recommendedActions` (and not
//! `fundingGuidance`), so the funding steps that decide what a family can
//! afford (the NHS Continuing Healthcare checklist, the council's needs and
//! financial assessments, Attendance Allowance, a deferred payment
//! agreement) are actions here, each traced to its rule; actions not about
//! one home have `homeRank` 0. A home CQC rates Inadequate or Requires
//! improvement overall, or that is no longer registered, is never proposed
//! to call, visit or hold as a back-up: the plan says so instead. Timelines
//! follow q17: urgent (calls today and tomorrow, visits this week), next
//! month, planning (two to three months) and exploring (six months or more:
//! read, shortlist, visit when ready, re-check ratings nearer the time).
//!
//! The client's `premiumUpgradeOffer` is a sales block the page does not
//! render from this object; it is left out.

use chrono::NaiveDate;
use serde::Serialize;

use super::risk::RiskAssessment;
use super::{CqcRating, Evidence, HomeFacts, JudgementInput, Trace, Urgency};

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
    today: NaiveDate,
    generated_at: &str,
) -> Option<NextSteps> {
    if input.homes.is_empty() {
        return None;
    }
    let urgent = input.needs.urgency == Urgency::Urgent;
    let mut homes: Vec<&HomeFacts> = input.homes.iter().collect();
    homes.sort_by_key(|h| h.rank);
    let mut actions = super::funding::first_steps(input);
    actions.extend(home_actions(&homes, input.needs.urgency, risk));
    actions.extend(super::funding::later_steps(input, today));
    if input.needs.urgency == Urgency::Exploring {
        actions.push(general(
            "Nearer the time, re-check each home's CQC rating and inspection date on the CQC website: ratings can change within six months.",
            "Before you decide",
            "medium",
            Trace::new("next_steps.recheck_ratings", vec![timeline_evidence(input.needs.urgency)]),
        ));
    }
    Some(NextSteps {
        recommended_actions: actions,
        questions_for_home_manager: manager_questions(input, risk),
        generated_at: generated_at.to_owned(),
        compressed: urgent,
        compressed_because: urgent.then(|| {
            Trace::new(
                "next_steps.urgent_timeline",
                vec![timeline_evidence(Urgency::Urgent)],
            )
        }),
    })
}

/// The q17 answer as evidence: its wire value.
fn timeline_evidence(u: Urgency) -> Evidence {
    let code = match u {
        Urgency::Urgent => "urgent_2_weeks",
        Urgency::NextMonth => "next_month",
        Urgency::Planning => "planning_2_3_months",
        Urgency::Exploring => "exploring_6_plus_months",
    };
    Evidence::new("timeline", code)
}

/// An action about no one home (`homeRank` 0).
pub(crate) fn general(
    action: &str,
    timeline: &'static str,
    priority: &'static str,
    trace: Trace,
) -> Action {
    Action {
        home_name: "All shortlisted homes".to_owned(),
        home_rank: 0,
        action: action.to_owned(),
        timeline,
        priority,
        local_authority: None,
        trace: Some(trace),
    }
}

/// Whether the home may be proposed to call, visit or hold as a back-up:
/// not rated Inadequate or Requires improvement overall, and not
/// deregistered. An unrated home may be, and says so.
pub(crate) fn proposable(h: &HomeFacts) -> bool {
    let Some(c) = &h.cqc else { return true };
    let poor = matches!(
        c.overall,
        Some(CqcRating::Inadequate | CqcRating::RequiresImprovement)
    );
    let deregistered = c
        .registration_status
        .as_deref()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("deregistered"));
    !poor && !deregistered
}

/// The homes' actions: the first two proposable homes to contact first, the
/// other proposable homes as back-ups (or a statement that there is none),
/// and a statement for each home not proposed.
fn home_actions(
    homes: &[&HomeFacts],
    urgency: Urgency,
    risk: Option<&RiskAssessment>,
) -> Vec<Action> {
    let red_flags = |id: &str| {
        risk.and_then(|r| r.homes_assessment.iter().find(|h| h.home_id == id))
            .map_or(0, |h| h.red_flags.len())
    };
    let (ok, poor): (Vec<&HomeFacts>, Vec<&HomeFacts>) =
        homes.iter().copied().partition(|h| proposable(h));
    let mut actions = Vec::new();
    for (i, h) in ok.iter().enumerate() {
        actions.extend(flagged_home_action(h, red_flags(&h.id), urgency));
        actions.push(contact_action(h, i < 2, urgency));
    }
    if ok.len() <= 2 {
        actions.push(no_back_up(ok.len(), homes.len(), poor.len()));
    }
    actions.extend(poor.iter().map(|h| not_proposed(h)));
    actions
}

/// Asking a home about its red flags before visiting, when it has any.
fn flagged_home_action(h: &HomeFacts, flags: usize, urgency: Urgency) -> Option<Action> {
    (flags > 0).then(|| Action {
        home_name: h.name.clone(),
        home_rank: h.rank,
        action: format!(
            "Before visiting, ask {} about its red flags (see Risk Assessment).",
            h.name
        ),
        timeline: contact_timeline(urgency, true),
        priority: "high",
        local_authority: h.local_authority.clone(),
        trace: Some(Trace::new(
            "next_steps.visit_flagged_home",
            vec![
                Evidence::new("home", h.name.clone()),
                Evidence::new("red_flags", flags),
            ],
        )),
    })
}

/// When to contact a first choice (`first`) or a back-up.
fn contact_timeline(urgency: Urgency, first: bool) -> &'static str {
    match (urgency, first) {
        (Urgency::Urgent, true) => "Today",
        (Urgency::Urgent, false) => "Tomorrow",
        (Urgency::NextMonth, true) => "This week",
        (Urgency::NextMonth, false) => "Next two weeks",
        (Urgency::Planning, true) => "Next two to four weeks",
        (Urgency::Planning, false) => "Within six weeks",
        (Urgency::Exploring, _) => "When you are ready",
    }
}

/// What to do with a first choice or a back-up, by how soon a place is
/// needed; an unrated home says so.
fn contact_action(h: &HomeFacts, first: bool, urgency: Urgency) -> Action {
    let n = &h.name;
    let text = match (urgency, first) {
        (Urgency::Urgent, true) => format!("Call {n} today to check a room is free from your start date, and visit this week."),
        (Urgency::Urgent, false) => format!("Call {n} tomorrow as a back-up, and visit this week if your first choices have no room."),
        (Urgency::NextMonth, true) => format!("Call {n} this week to check availability and the weekly fee in writing, and book a visit."),
        (Urgency::NextMonth, false) => format!("Keep {n} as a back-up: ask for its brochure, contract and fee list, and visit if your first choices fall through."),
        (Urgency::Planning, true) => format!("Book a visit to {n} in the next few weeks, and ask for the weekly fee and contract in writing."),
        (Urgency::Planning, false) => format!("Keep {n} as a back-up: ask for its brochure, contract and fee list to compare."),
        (Urgency::Exploring, true) => format!("Read {n}'s latest CQC report and add it to your shortlist; visit when you are ready to choose."),
        (Urgency::Exploring, false) => format!("Keep {n} on your list as an alternative and read its latest CQC report."),
    };
    let unrated = h.cqc.as_ref().is_none_or(|c| c.overall.is_none());
    let note = if unrated {
        format!(" {n} has no CQC rating on record: ask when CQC last inspected it.")
    } else {
        String::new()
    };
    Action {
        home_name: h.name.clone(),
        home_rank: h.rank,
        action: text + &note,
        timeline: contact_timeline(urgency, first),
        priority: if first { "high" } else { "medium" },
        local_authority: h.local_authority.clone(),
        trace: Some(Trace::new(
            timeline_rule(urgency),
            vec![
                Evidence::new("home", h.name.clone()),
                timeline_evidence(urgency),
                Evidence::new("first_choice", first),
            ],
        )),
    }
}

/// The rule that times a home's contact.
fn timeline_rule(urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::Urgent => "next_steps.urgent_timeline",
        Urgency::NextMonth => "next_steps.next_month_timeline",
        Urgency::Planning => "next_steps.planning_timeline",
        Urgency::Exploring => "next_steps.exploring_timeline",
    }
}

/// Said when no home is left to hold as a back-up (or none to contact).
fn no_back_up(proposable: usize, homes: usize, poor: usize) -> Action {
    let trace = Trace::new(
        if proposable == 0 {
            "next_steps.no_home_to_propose"
        } else {
            "next_steps.no_back_up"
        },
        vec![
            Evidence::new("homes", homes),
            Evidence::new("proposable", proposable),
            Evidence::new("poorly_rated", poor),
        ],
    );
    general(&trace.statement(), "Now", "high", trace)
}

/// Said for a home not proposed: its rating or registration.
fn not_proposed(h: &HomeFacts) -> Action {
    let c = h.cqc.clone().unwrap_or_default();
    let why = match c.overall {
        Some(r @ (CqcRating::Inadequate | CqcRating::RequiresImprovement)) => {
            format!("CQC rates it {} overall", r.label())
        }
        _ => "CQC lists it as no longer registered".to_owned(),
    };
    let trace = Trace::new(
        "next_steps.poorly_rated_not_proposed",
        vec![
            Evidence::new("home", h.name.clone()),
            Evidence::new("why", why),
            Evidence::new("overall", c.overall.map(CqcRating::label)),
            Evidence::new("registration_status", c.registration_status.clone()),
        ],
    );
    Action {
        home_name: h.name.clone(),
        home_rank: h.rank,
        action: trace.statement(),
        timeline: "Not now",
        priority: "low",
        local_authority: h.local_authority.clone(),
        trace: Some(trace),
    }
}

/// The questions for the managers, by topic: the family's needs' questions
/// grouped as the client shows them, plus fixed ones on stability and terms,
/// each asked once.
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
        cqc_feedback: cqc_feedback(input, risk),
        financial_stability: vec![
            "Who owns the home, and has the owner or manager changed in the last two years?"
                .to_owned(),
            "Do you have plans to sell, close or refurbish the home?".to_owned(),
        ],
        trial_period: take(&["trial"]),
        cancellation_terms: take(&["contract"]),
    }
}

/// The CQC question for every home, then, for each home proposed in the
/// plan, one question per CQC flag that its manager can act on.
fn cqc_feedback(input: &JudgementInput, risk: Option<&RiskAssessment>) -> Vec<String> {
    let mut out = vec![
        "What did CQC ask you to improve at the last inspection, and what has changed since?"
            .to_owned(),
    ];
    let proposed = |id: &str| input.homes.iter().any(|h| h.id == id && proposable(h));
    for h in risk
        .iter()
        .flat_map(|r| &r.homes_assessment)
        .filter(|h| proposed(&h.home_id))
    {
        for f in h
            .cqc_assessment
            .red_flags
            .iter()
            .chain(&h.cqc_assessment.warnings)
        {
            if !f.trace.rule_id.starts_with("cqc.") {
                continue;
            }
            if let Some(q) = super::questions::for_flag(f.trace.rule_id) {
                // Most descriptions name the home already.
                let line = if f.description.contains(&h.home_name) {
                    format!("{} {q}", f.description)
                } else {
                    format!("{}: {} {q}", h.home_name, f.description)
                };
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{home, input};
    use super::super::{CqcRating, Funder, MedicationSupport};
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
    }

    fn steps(i: &JudgementInput) -> NextSteps {
        let r = super::super::risk::assess(i, today(), "t");
        plan(i, r.as_ref(), today(), "t").unwrap()
    }

    fn ids(p: &NextSteps) -> Vec<&'static str> {
        p.recommended_actions
            .iter()
            .filter_map(|a| a.trace.as_ref().map(|t| t.rule_id))
            .collect()
    }

    /// The actions about one home.
    fn of<'a>(p: &'a NextSteps, name: &str) -> Vec<&'a Action> {
        p.recommended_actions
            .iter()
            .filter(|a| a.home_name == name)
            .collect()
    }

    fn rated(n: usize, r: Option<CqcRating>) -> HomeFacts {
        let mut h = home(n);
        h.cqc.as_mut().unwrap().overall = r;
        h
    }

    #[test]
    fn each_timeline_times_the_calls_its_own_way() {
        let mut i = input(vec![home(1), home(2), home(3)]);
        let cases = [
            (
                Urgency::Urgent,
                "next_steps.urgent_timeline",
                "Today",
                "Tomorrow",
            ),
            (
                Urgency::NextMonth,
                "next_steps.next_month_timeline",
                "This week",
                "Next two weeks",
            ),
            (
                Urgency::Planning,
                "next_steps.planning_timeline",
                "Next two to four weeks",
                "Within six weeks",
            ),
            (
                Urgency::Exploring,
                "next_steps.exploring_timeline",
                "When you are ready",
                "When you are ready",
            ),
        ];
        for (u, rule, first, back_up) in cases {
            i.needs.urgency = u;
            let p = steps(&i);
            assert_eq!(of(&p, "Home 1")[0].timeline, first, "{u:?}");
            assert_eq!(of(&p, "Home 3")[0].timeline, back_up, "{u:?}");
            assert_eq!(of(&p, "Home 1")[0].trace.as_ref().unwrap().rule_id, rule);
            // Silent for the other timelines.
            for (other, other_rule, _, _) in cases {
                if other != u {
                    assert!(!ids(&p).contains(&other_rule), "{u:?} has {other_rule}");
                }
            }
            assert_eq!(p.compressed, u == Urgency::Urgent);
        }
    }

    #[test]
    fn exploring_never_calls_this_week_and_rechecks_ratings_nearer_the_time() {
        let mut i = input(vec![home(1), home(2), home(3)]);
        i.needs.urgency = Urgency::Exploring;
        let p = steps(&i);
        assert!(ids(&p).contains(&"next_steps.recheck_ratings"));
        for a in &p.recommended_actions {
            let text = a.action.to_lowercase();
            assert!(
                !text.contains("this week") && !text.contains("today"),
                "{}",
                a.action
            );
        }
        // Just below: planning two to three months ahead does not re-check.
        i.needs.urgency = Urgency::Planning;
        assert!(!ids(&steps(&i)).contains(&"next_steps.recheck_ratings"));
    }

    #[test]
    fn a_poorly_rated_home_is_never_proposed_and_the_back_up_is_rated_good_or_unrated() {
        let homes = vec![
            home(1),
            rated(2, Some(CqcRating::Inadequate)),
            home(3),
            rated(4, Some(CqcRating::RequiresImprovement)),
            rated(5, None),
        ];
        let mut i = input(homes);
        i.needs.urgency = Urgency::Urgent;
        let p = steps(&i);
        for name in ["Home 2", "Home 4"] {
            let a = of(&p, name);
            assert_eq!(a.len(), 1, "{a:#?}");
            assert_eq!(
                a[0].trace.as_ref().unwrap().rule_id,
                "next_steps.poorly_rated_not_proposed"
            );
            assert!(!a[0].action.contains("Call "), "{}", a[0].action);
        }
        // First choices: homes 1 and 3; back-up: home 5, said to be unrated.
        assert_eq!(of(&p, "Home 3")[0].timeline, "Today");
        let back_up = of(&p, "Home 5");
        assert_eq!(back_up[0].timeline, "Tomorrow");
        assert!(
            back_up[0].action.contains("no CQC rating on record"),
            "{}",
            back_up[0].action
        );
        assert!(!ids(&p).contains(&"next_steps.no_back_up"));
        // Just below: a Good home is proposed.
        let p = steps(&input(vec![home(1)]));
        assert!(!ids(&p).contains(&"next_steps.poorly_rated_not_proposed"));
        // A deregistered home is not proposed either.
        let mut h = home(1);
        h.cqc.as_mut().unwrap().registration_status = Some("Deregistered".into());
        assert!(!proposable(&h));
    }

    #[test]
    fn no_back_up_is_said_when_only_the_first_choices_can_be_proposed() {
        let i = input(vec![
            home(1),
            home(2),
            rated(3, Some(CqcRating::Inadequate)),
        ]);
        assert!(ids(&steps(&i)).contains(&"next_steps.no_back_up"));
        // Just below: a third proposable home is the back-up.
        let i = input(vec![home(1), home(2), home(3)]);
        assert!(!ids(&steps(&i)).contains(&"next_steps.no_back_up"));
    }

    #[test]
    fn no_home_to_propose_is_said_when_every_home_is_poorly_rated() {
        let poor = || rated(1, Some(CqcRating::RequiresImprovement));
        let i = input(vec![poor(), rated(2, Some(CqcRating::Inadequate))]);
        let p = steps(&i);
        assert!(ids(&p).contains(&"next_steps.no_home_to_propose"));
        assert!(!ids(&p).contains(&"next_steps.no_back_up"));
        // Just below: one Good home.
        let p = steps(&input(vec![poor(), home(2)]));
        assert!(!ids(&p).contains(&"next_steps.no_home_to_propose"));
        assert!(ids(&p).contains(&"next_steps.no_back_up"));
    }

    #[test]
    fn a_red_flag_adds_an_action_before_the_visit() {
        let mut h = home(1);
        h.fsa.as_mut().unwrap().rating = Some(2);
        let p = steps(&input(vec![h]));
        assert_eq!(
            of(&p, "Home 1")[0].trace.as_ref().unwrap().rule_id,
            "next_steps.visit_flagged_home"
        );
        // Just below: no red flag, no extra action.
        let p = steps(&input(vec![home(1)]));
        assert!(!ids(&p).contains(&"next_steps.visit_flagged_home"));
    }

    #[test]
    fn council_funded_families_ask_the_council_first_self_funders_do_not() {
        let mut i = input(vec![home(1)]);
        for f in [Funder::LocalAuthority, Funder::Unsure] {
            i.needs.funder = f;
            i.needs.budget_answer = "5000_7000_local".into();
            let p = steps(&i);
            let first = &p.recommended_actions[0];
            assert_eq!(
                first.trace.as_ref().unwrap().rule_id,
                "next_steps.council_assessment_first"
            );
            assert!(
                first
                    .action
                    .contains("the council where the person lives now"),
                "{}",
                first.action
            );
            assert!(
                first.action.contains("£5,000–£7,000 a month"),
                "{}",
                first.action
            );
        }
        i.needs.funder = Funder::SelfFunded;
        assert!(!ids(&steps(&i)).contains(&"next_steps.council_assessment_first"));
    }

    #[test]
    fn chc_checklist_comes_first_at_two_indicators_not_one() {
        let mut i = input(vec![home(1)]);
        i.needs.funder = Funder::LocalAuthority;
        i.needs.dementia = true;
        assert!(!ids(&steps(&i)).contains(&"next_steps.chc_checklist_first"));
        i.needs.medication = MedicationSupport::Complex;
        let p = steps(&i);
        assert_eq!(ids(&p)[0], "next_steps.chc_checklist_first");
        assert_eq!(ids(&p)[1], "next_steps.council_assessment_first");
    }

    #[test]
    fn attendance_allowance_and_deferred_payment_are_offered_to_every_funder_with_what_decides_them(
    ) {
        let mut i = input(vec![home(1)]);
        for f in [Funder::SelfFunded, Funder::LocalAuthority, Funder::Unsure] {
            i.needs.funder = f;
            let p = steps(&i);
            let aa = p
                .recommended_actions
                .iter()
                .find(|a| a.trace.as_ref().unwrap().rule_id == "next_steps.attendance_allowance");
            let aa = aa.unwrap();
            assert!(aa.action.contains("State Pension age") && aa.action.contains("28 days"));
            let dpa = p
                .recommended_actions
                .iter()
                .find(|a| a.trace.as_ref().unwrap().rule_id == "next_steps.deferred_payment");
            assert!(dpa.unwrap().action.contains("not counting the home"));
        }
    }

    #[test]
    fn every_question_is_asked_once_and_an_old_inspection_asks_about_the_next_one() {
        let mut h = home(1);
        h.cqc.as_mut().unwrap().last_inspection = NaiveDate::from_ymd_opt(2022, 1, 1);
        let p = steps(&input(vec![h, home(2)]));
        let q = &p.questions_for_home_manager;
        let all: Vec<&String> = [
            &q.medical_care,
            &q.staff_qualifications,
            &q.cqc_feedback,
            &q.financial_stability,
            &q.trial_period,
            &q.cancellation_terms,
        ]
        .into_iter()
        .flatten()
        .collect();
        let trials = all.iter().filter(|s| s.contains("trial period")).count();
        assert_eq!(trials, 1, "{all:#?}");
        assert!(q.cancellation_terms.iter().all(|s| !s.contains("trial")));
        let old: Vec<&String> = q
            .cqc_feedback
            .iter()
            .filter(|s| s.contains("Home 1"))
            .collect();
        assert_eq!(old.len(), 1, "{old:#?}");
        assert!(
            old[0].contains("When do you expect your next CQC inspection"),
            "{}",
            old[0]
        );
        assert!(all.iter().all(|s| !s.contains("done about it")));
    }
}
