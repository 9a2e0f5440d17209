//! `fairCostGapAnalysis`: each chosen home's weekly fee against what its
//! council pays for the same care, from the operator's council rates file
//! (`directory::council_rates`).
//!
//! Built only when both are known: a home whose fee is unknown, or whose
//! council has no rate for the care needed, is left out, and with no home
//! left the section is absent (the client shows "N/A"). Never a rate
//! guessed from another council or year. Example figures (the file's
//! `figures=example`) are said to be examples in the section itself.
//! The shape is the client's `FairCostGapAnalysis` (`types.ts`), every
//! field it reads present.

use serde::Serialize;

use super::{pounds, round1, HomeFacts, JudgementInput};
use crate::directory::{CouncilRate, CouncilRates};

/// The client's `FairCostGapAnalysis`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FairCostGapAnalysis {
    /// The council of the best-ranked home compared.
    pub local_authority: String,
    /// The care compared (`residential`, `nursing`, `dementia`, `respite`).
    pub care_type: String,
    /// The council's rate, as the client shows it.
    pub msif_data: MsifData,
    /// Per home.
    pub homes: Vec<FairCostGapHome>,
    /// Why fees and council rates differ.
    pub why_gap_exists: WhyGapExists,
    /// What a family can do about the gap.
    pub strategies_to_reduce_gap: Vec<Strategy>,
    /// Mean weekly gap over the homes compared.
    pub average_gap_weekly: f64,
    /// The same over a year.
    pub average_gap_annual: f64,
    /// The same over five years.
    pub average_gap_5year: f64,
    /// Whether the rates are example figures, not real ones (extra).
    pub example_figures: bool,
}

/// The client's `msif_data`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MsifData {
    /// Pounds a week.
    pub fair_cost_weekly: f64,
    /// Where the figure comes from, in words, with its address.
    pub source: String,
    /// The year it is for.
    pub year: String,
    /// The care type in words.
    pub care_type_display: String,
    /// True only for published figures, never for example ones.
    pub local_authority_verified: bool,
}

/// The client's `FairCostGapHome`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FairCostGapHome {
    /// Directory id.
    pub home_id: String,
    /// Name.
    pub home_name: String,
    /// The home's weekly fee.
    pub their_price: f64,
    /// Its council's weekly rate.
    pub fair_cost_msif: f64,
    /// Fee minus rate.
    pub gap_weekly: f64,
    /// × 52.
    pub gap_annual: f64,
    /// × 5 years.
    pub gap_5year: f64,
    /// Gap as a percentage of the rate.
    pub gap_percent: f64,
    /// The council whose rate is used (extra).
    pub council: String,
}

/// The client's `why_gap_exists`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WhyGapExists {
    /// Title.
    pub title: String,
    /// Explanation.
    pub explanation: String,
    /// Points.
    pub market_dynamics: Vec<String>,
    /// The rate's source and year.
    pub msif_context: String,
}

/// The client's strategy entries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Strategy {
    /// 1-based.
    pub strategy_number: u32,
    /// Title.
    pub title: String,
    /// What it is.
    pub description: String,
    /// Steps.
    pub action_items: Vec<String>,
}

fn care_display(care: &str) -> String {
    match care {
        "nursing" => "Nursing care".into(),
        "dementia" => "Dementia care".into(),
        "respite" => "Respite care".into(),
        _ => "Residential care".into(),
    }
}

/// One home against its council's rate, when both are known.
fn home_gap<'r>(
    h: &HomeFacts,
    rates: &'r CouncilRates,
    care: &str,
) -> Option<(FairCostGapHome, &'r CouncilRate)> {
    let fee = h.weekly_fee?;
    let council = h.local_authority.as_deref()?;
    let rate = rates.find(council, care)?;
    let gap = fee - rate.weekly_rate;
    Some((
        FairCostGapHome {
            home_id: h.id.clone(),
            home_name: h.name.clone(),
            their_price: fee,
            fair_cost_msif: rate.weekly_rate,
            gap_weekly: round1(gap),
            gap_annual: (gap * 52.0).round(),
            gap_5year: (gap * 52.0 * 5.0).round(),
            gap_percent: round1(gap / rate.weekly_rate * 100.0),
            council: rate.council.clone(),
        },
        rate,
    ))
}

/// The section; `None` without a home whose fee and council rate are both
/// known.
pub(crate) fn analyse(input: &JudgementInput, rates: &CouncilRates) -> Option<FairCostGapAnalysis> {
    let care = input.needs.care.market_care_type();
    let mut ranked: Vec<&HomeFacts> = input.homes.iter().collect();
    ranked.sort_by_key(|h| h.rank);
    let gaps: Vec<(FairCostGapHome, &CouncilRate)> = ranked
        .iter()
        .filter_map(|h| home_gap(h, rates, care))
        .collect();
    let (_, first) = gaps.first()?;
    let example = gaps.iter().any(|(_, r)| r.example);
    let n = gaps.len() as f64;
    let mean = gaps.iter().map(|(g, _)| g.gap_weekly).sum::<f64>() / n;
    let example_words = if example {
        " These are EXAMPLE figures, not real ones: replace them with the council's published rates."
    } else {
        ""
    };
    let source = format!(
        "Council rates file provided by the service's operator ({}){}",
        first.source_url,
        if example { "; example figures" } else { "" }
    );
    Some(FairCostGapAnalysis {
        local_authority: first.council.clone(),
        care_type: care.to_owned(),
        msif_data: MsifData {
            fair_cost_weekly: first.weekly_rate,
            source,
            year: first.year.clone(),
            care_type_display: care_display(care),
            local_authority_verified: !example,
        },
        why_gap_exists: why(first, care, example_words),
        strategies_to_reduce_gap: strategies(first),
        average_gap_weekly: round1(mean),
        average_gap_annual: (mean * 52.0).round(),
        average_gap_5year: (mean * 52.0 * 5.0).round(),
        example_figures: example,
        homes: gaps.into_iter().map(|(g, _)| g).collect(),
    })
}

fn why(rate: &CouncilRate, care: &str, example_words: &str) -> WhyGapExists {
    WhyGapExists {
        title: "Why a home's fee differs from the council's rate".into(),
        explanation: format!(
            "{} pays {} a week for {} it arranges ({}). Homes set their own fees for people who pay for themselves, and these are often higher than the council's rate.{example_words}",
            rate.council,
            pounds(rate.weekly_rate),
            care_display(care).to_lowercase(),
            rate.year
        ),
        market_dynamics: vec![
            "Council rates are set by each council for the places it buys, usually below what homes charge privately.".into(),
            "A fee above the council's rate is not necessarily unfair: rooms, staffing and extras differ.".into(),
            "If the council arranges and funds the care, anything above its rate is usually paid as a top-up by a third party.".into(),
        ],
        msif_context: format!(
            "Rate for {}, {}, from {}.",
            rate.council, rate.year, rate.source_url
        ),
    }
}

fn strategies(rate: &CouncilRate) -> Vec<Strategy> {
    vec![
        Strategy {
            strategy_number: 1,
            title: "Ask for a council needs and financial assessment".into(),
            description: format!(
                "If {} assesses the person as eligible for funding, it arranges care at its own rate.",
                rate.council
            ),
            action_items: vec![
                "Contact the council's adult social care team and ask for a needs assessment.".into(),
                "Ask what the council's usual weekly rate is for the care needed, and which homes accept it.".into(),
            ],
        },
        Strategy {
            strategy_number: 2,
            title: "Use the council's rate when discussing the fee".into(),
            description: "Ask each home why its fee is above the council's rate and what the difference pays for.".into(),
            action_items: vec![
                "Ask for the fee in writing, with what it includes and excludes.".into(),
                "Ask whether the fee changes after a period, and by how much each year.".into(),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{home, input};
    use super::*;

    fn rates() -> CouncilRates {
        CouncilRates::parse(
            b"council,care_type,weekly_rate,year,source_url,figures\n\
              Leeds,residential,800,2024-25,https://www.gov.uk/x,example\n",
        )
        .unwrap()
    }

    #[test]
    fn gaps_per_home_against_their_council_and_absent_without_either() {
        let mut a = home(1);
        a.local_authority = Some("Leeds".into());
        a.weekly_fee = Some(1000.0);
        let mut b = home(2);
        b.local_authority = Some("Bradford".into()); // no rate: left out
        let mut c = home(3);
        c.local_authority = Some("Leeds".into());
        c.weekly_fee = None; // no fee: left out
        let i = input(vec![a.clone(), b, c]);
        let s = analyse(&i, &rates()).unwrap();
        assert_eq!(s.homes.len(), 1);
        let h = &s.homes[0];
        assert_eq!(
            (h.their_price, h.fair_cost_msif, h.gap_weekly),
            (1000.0, 800.0, 200.0)
        );
        assert_eq!(
            (h.gap_annual, h.gap_5year, h.gap_percent),
            (10400.0, 52000.0, 25.0)
        );
        assert_eq!(s.average_gap_weekly, 200.0);
        assert!(s.example_figures && !s.msif_data.local_authority_verified);
        assert!(s.why_gap_exists.explanation.contains("EXAMPLE figures"));
        let v = serde_json::to_value(&s).unwrap();
        super::super::prose::assert_plain_english(&v);
        // Without a rate for any chosen home: absent.
        let mut far = a;
        far.local_authority = Some("York".into());
        assert!(analyse(&input(vec![far]), &rates()).is_none());
    }
}
