//! Questions to ask a home, chosen by the family's needs, as data.

use super::{FallRisk, FamilyNeeds, MedicationSupport, MobilityLevel};

/// What makes a question relevant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Every family.
    Always,
    /// Dementia among the conditions or care types.
    Dementia,
    /// Any falls, or a high fall risk.
    Falls,
    /// Several or complex medicines.
    Medication,
    /// A diabetic diet or diabetes.
    Diabetes,
    /// Puréed or soft food.
    Pureed,
    /// Vegetarian or vegan.
    Vegetarian,
    /// Food allergies.
    FoodAllergy,
    /// Medication allergies.
    MedicationAllergy,
    /// Environmental allergies.
    EnvironmentalAllergy,
    /// Uses a wheelchair.
    Wheelchair,
    /// Needs nursing care.
    Nursing,
    /// Heart conditions.
    Heart,
}

impl Trigger {
    /// Whether it applies to the family.
    pub(crate) fn applies(self, n: &FamilyNeeds) -> bool {
        match self {
            Self::Always => true,
            Self::Dementia => n.dementia || n.care.dementia,
            Self::Falls => n.falls != FallRisk::None,
            Self::Medication => n.medication >= MedicationSupport::Moderate,
            Self::Diabetes => n.diabetes || n.diets.iter().any(|d| d == "diabetic_diet"),
            Self::Pureed => n.diets.iter().any(|d| d == "pureed_soft_food"),
            Self::Vegetarian => n.diets.iter().any(|d| d == "vegetarian_vegan"),
            Self::FoodAllergy => n.allergies.iter().any(|a| a == "food_allergies"),
            Self::MedicationAllergy => n.allergies.iter().any(|a| a == "medication_allergies"),
            Self::EnvironmentalAllergy => {
                n.allergies.iter().any(|a| a == "environmental_allergies")
            }
            Self::Wheelchair => matches!(
                n.mobility,
                MobilityLevel::WheelchairSometimes | MobilityLevel::WheelchairPermanent
            ),
            Self::Nursing => n.care.nursing,
            Self::Heart => n.heart_condition,
        }
    }
}

/// (trigger, category, question). Categories are the client's
/// `questions_by_category` keys and map onto `questionsForHomeManager`.
pub(crate) const QUESTIONS: &[(Trigger, &str, &str)] = &[
    (Trigger::Dementia, "dementia_care", "How many staff on each shift have dementia training, and what training is it?"),
    (Trigger::Dementia, "dementia_care", "How do you support residents who become distressed or try to leave the building?"),
    (Trigger::Dementia, "dementia_care", "Is there a secure garden or safe space to walk?"),
    (Trigger::Falls, "falls_prevention", "How do you assess falls risk on admission, and how often is it reviewed?"),
    (Trigger::Falls, "falls_prevention", "What equipment do you use to prevent falls at night (sensor mats, low beds)?"),
    (Trigger::Falls, "falls_prevention", "How and how quickly are families told about a fall?"),
    (Trigger::Medication, "medication", "Who gives medicines, and how are they trained and checked?"),
    (Trigger::Medication, "medication", "How do you record medicines and handle changes from the GP or hospital?"),
    (Trigger::MedicationAllergy, "medication", "How are medication allergies recorded and checked before each round?"),
    (Trigger::Diabetes, "diet", "How do you manage diabetic diets and blood sugar monitoring?"),
    (Trigger::Pureed, "diet", "Do you prepare puréed and soft meals in-house, following IDDSI levels?"),
    (Trigger::Vegetarian, "diet", "What vegetarian or vegan meals are on the menu each day?"),
    (Trigger::FoodAllergy, "diet", "How does the kitchen keep allergens apart and label meals?"),
    (Trigger::EnvironmentalAllergy, "environment", "How do you manage pollen, dust and pet allergies in rooms and shared areas?"),
    (Trigger::Wheelchair, "mobility", "Are all shared areas, the garden and the bathrooms accessible by wheelchair?"),
    (Trigger::Wheelchair, "mobility", "How many staff are trained in moving and handling, and what hoists do you have?"),
    (Trigger::Nursing, "nursing", "How many registered nurses are on duty by day and by night?"),
    (Trigger::Heart, "medical_care", "How do you monitor heart conditions and work with the GP and cardiology team?"),
    (Trigger::Always, "staffing", "What is the staff-to-resident ratio by day and by night, and how much agency staff do you use?"),
    (Trigger::Always, "fees", "What exactly does the weekly fee include, and what costs extra?"),
    (Trigger::Always, "fees", "How much notice do you give of fee increases, and how were they worked out in recent years?"),
    (Trigger::Always, "trial", "Is there a trial period, how long is it, and what notice applies if it does not work out?"),
    (Trigger::Always, "contract", "How much notice must either side give to end the contract, and what is charged during it?"),
    (Trigger::Always, "contract", "What happens to fees if my relative goes into hospital, and after a death?"),
];

/// The question a manager can act on for a flag of this rule, or `None`
/// when the flag is not the manager's to answer (distance, missing data).
pub(crate) fn for_flag(rule_id: &str) -> Option<&'static str> {
    Some(match rule_id {
        "cqc.inspection_over_2_years" | "cqc.inspection_over_4_years" => {
            "When do you expect your next CQC inspection, and what has changed since the last (manager, owner, staffing)?"
        }
        "cqc.not_rated" => "When did CQC last inspect the home, and when do you expect a rating?",
        "cqc.deregistered" => "Is the home registered with CQC today, and under which provider?",
        "fsa.rating_2_or_below" => {
            "What did the food hygiene inspection ask you to fix, and when is the re-inspection?"
        }
        "google.low_rating" | "google.recurring_complaint" => {
            "What have you changed in response to these reviews?"
        }
        "pricing.over_budget" => "Is the fee negotiable, and what exactly does it include?",
        "pricing.fee_unknown" => {
            "What is your weekly fee for this care, in writing, and what does it include?"
        }
        id if id.starts_with("cqc.") => {
            "What did CQC ask you to change, and can we see the evidence it is done?"
        }
        _ => return None,
    })
}

/// The questions for these needs, grouped by category, in table order.
pub(crate) fn for_needs(n: &FamilyNeeds) -> Vec<(&'static str, Vec<String>)> {
    let mut out: Vec<(&'static str, Vec<String>)> = Vec::new();
    for (trigger, category, question) in QUESTIONS {
        if !trigger.applies(n) {
            continue;
        }
        match out.iter_mut().find(|(c, _)| c == category) {
            Some((_, qs)) => qs.push((*question).to_owned()),
            None => out.push((category, vec![(*question).to_owned()])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::needs;
    use super::*;

    #[test]
    fn questions_follow_the_needs() {
        let plain = for_needs(&needs());
        assert!(plain
            .iter()
            .all(|(c, _)| matches!(*c, "staffing" | "fees" | "trial" | "contract")));
        let mut n = needs();
        n.dementia = true;
        n.falls = FallRisk::High;
        n.diets = vec!["vegetarian_vegan".into()];
        let cats: Vec<&str> = for_needs(&n).iter().map(|(c, _)| *c).collect();
        assert!(cats.contains(&"dementia_care"));
        assert!(cats.contains(&"falls_prevention"));
        assert!(cats.contains(&"diet"));
        assert!(!cats.contains(&"medication"));
    }
}
