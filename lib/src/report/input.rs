//! The judgement's input for a plan: the report puts together what the
//! judgement reads (the family's needs, each chosen home with its source
//! records and slot statuses, the winners, the market and how the homes
//! were chosen), so the judgement never names the report's types.

use serde_json::Value;

use super::{plan_sources, Plan};
use crate::directory::Directory;
use crate::facts::HomeSources;
use crate::judgement::{
    FamilyNeeds, HomeFacts, JudgementInput, MarketFacts, Selection, WinnerCategory,
};
use crate::matching::CareNeed;
use crate::model::{Slot, SlotKey};

/// The input for `plan`: `needs`, the plan's homes with the stored source
/// data (`data`) and slot statuses, and the directory's market.
pub fn judgement_input(
    needs: FamilyNeeds,
    plan: &Plan,
    slots: &[Slot],
    data: &[(SlotKey, Value)],
    directory: &Directory,
) -> JudgementInput {
    input_read(needs, plan, slots, &plan_sources(plan, data), directory)
}

/// [`judgement_input`] over the records already decoded (in plan order).
pub(super) fn input_read(
    needs: FamilyNeeds,
    plan: &Plan,
    slots: &[Slot],
    sources: &[HomeSources],
    directory: &Directory,
) -> JudgementInput {
    let winners = [
        (&plan.winners.best_overall, WinnerCategory::BestOverall),
        (&plan.winners.best_care, WinnerCategory::BestCare),
        (&plan.winners.best_value, WinnerCategory::BestValue),
    ];
    let homes = plan
        .homes
        .iter()
        .zip(sources)
        .enumerate()
        .map(|(i, (s, records))| {
            let mut h = HomeFacts::from_scored(i + 1, s, &needs.care, records, slots);
            h.winner_of = winners
                .iter()
                .filter(|(w, _)| w.as_ref().is_some_and(|w| w.home_id == h.id))
                .map(|(_, c)| *c)
                .collect();
            h
        })
        .collect();
    let area = format!("within {:.0} km of {}", plan.radius_km, plan.origin.label);
    let market = MarketFacts::from_directory(
        directory,
        &needs.care,
        (plan.origin.lat, plan.origin.lon),
        plan.radius_km,
        area,
    );
    let selection = selection(plan, &needs.care);
    JudgementInput {
        needs,
        homes,
        market,
        selection,
    }
}

/// How the plan chose its homes, for the judgement.
fn selection(plan: &Plan, need: &CareNeed) -> Selection {
    Selection {
        radius_km: plan.radius_km,
        requested_radius_km: plan.requested_radius_km,
        considered: plan.considered,
        left_out: plan
            .left_out
            .iter()
            .map(|l| (l.reason.describe(l.count, need), l.count))
            .collect(),
        origin: plan.origin.label.clone(),
    }
}
