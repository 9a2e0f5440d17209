//! The questionnaire as a job keeps it: the stored canonical form as serde
//! types.
//!
//! [`Stored`] serializes to exactly the JSON the service has always stored
//! (`Questionnaire::to_stored_json`: the current numbering, every answer
//! by its canonical wire name, section 1 reduced to the patient's name, no
//! contact details, no free text, no unknown field) and deserializes it
//! back by a typed decode: no second validation, no error list, no path
//! walking. A record that does not decode is a corrupt job, reported by the
//! one caller that needed it.

use serde::{Deserialize, Serialize};

use super::{
    stored_names, AgeRange, Allergy, Budget, CareType, Contact, Diet, FallHistory, LocationBudget,
    MaxDistance, MedicalCondition, MedicalNeeds, Medication, Mobility, Priority, PriorityRanking,
    Questionnaire, SafetyNeeds, Social, Timeline,
};

/// The stored questionnaire: sections 1–6 under their wire names.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Stored {
    #[serde(rename = "section_1_contact_emergency")]
    contact: Names,
    #[serde(rename = "section_2_location_budget")]
    location: Location,
    #[serde(rename = "section_3_medical_needs")]
    medical: Medical,
    #[serde(rename = "section_4_safety_special_needs")]
    safety: Safety,
    #[serde(rename = "section_5_timeline")]
    timeline: TimelineSection,
    #[serde(
        rename = "section_6_priorities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    priorities: Option<Priorities>,
}

/// Section 1: the patient's name alone (labelled when it needs to be).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Names {
    q1_names: String,
}

/// Section 2; the postcode only when given.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q4_postcode: Option<String>,
    q5_preferred_city: String,
    q6_max_distance: MaxDistance,
    q7_budget: Budget,
}

/// Section 3 in the current numbering; the legacy equipment list only
/// when it has items.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Medical {
    q8_care_types: Vec<CareType>,
    q9_medical_conditions: Vec<MedicalCondition>,
    q10_mobility_level: Mobility,
    q11_medication_management: Medication,
    q12_age_range: AgeRange,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    q12_special_equipment: Vec<String>,
}

/// Section 4, with q16 in it wherever the client gave it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Safety {
    q13_fall_history: FallHistory,
    q14_allergies: Vec<Allergy>,
    q15_dietary_requirements: Vec<Diet>,
    q16_social_personality: Social,
}

/// Section 5.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct TimelineSection {
    q17_placement_timeline: Timeline,
}

/// Section 6.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Priorities {
    q18_priority_ranking: Ranking,
}

/// q18: the order and a weight for each (the rank weights when the client
/// gave none).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Ranking {
    priority_order: Vec<Priority>,
    priority_weights: Vec<u32>,
}

impl Stored {
    /// The stored form of `q`.
    pub(super) fn of(q: &Questionnaire) -> Stored {
        let (l, m, s) = (&q.location, &q.medical, &q.safety);
        Stored {
            contact: Names {
                q1_names: stored_names(&q.contact.names),
            },
            location: Location {
                q4_postcode: l.postcode.clone(),
                q5_preferred_city: l.preferred_city.clone(),
                q6_max_distance: l.max_distance,
                q7_budget: l.budget,
            },
            medical: Medical {
                q8_care_types: m.care_types.clone(),
                q9_medical_conditions: m.conditions.clone(),
                q10_mobility_level: m.mobility,
                q11_medication_management: m.medication,
                q12_age_range: m.age_range,
                q12_special_equipment: m.special_equipment.clone(),
            },
            safety: Safety {
                q13_fall_history: s.fall_history,
                q14_allergies: s.allergies.clone(),
                q15_dietary_requirements: s.dietary.clone(),
                q16_social_personality: s.social,
            },
            timeline: TimelineSection {
                q17_placement_timeline: q.timeline,
            },
            priorities: q.priorities.as_ref().map(|p| Priorities {
                q18_priority_ranking: Ranking {
                    priority_order: p.order.clone(),
                    priority_weights: p.weights.clone(),
                },
            }),
        }
    }

    /// The questionnaire it holds: what parsing the stored JSON gives
    /// (no contact details, no description).
    pub(super) fn into_questionnaire(self) -> Questionnaire {
        let Stored {
            contact,
            location: l,
            medical: m,
            safety: s,
            timeline,
            priorities,
        } = self;
        Questionnaire {
            profile_description: None,
            contact: Contact {
                names: contact.q1_names,
                email: None,
                phone: None,
                emergency_contact: None,
            },
            location: LocationBudget {
                postcode: l.q4_postcode,
                preferred_city: l.q5_preferred_city,
                max_distance: l.q6_max_distance,
                budget: l.q7_budget,
            },
            medical: MedicalNeeds {
                care_types: m.q8_care_types,
                conditions: m.q9_medical_conditions,
                mobility: m.q10_mobility_level,
                medication: m.q11_medication_management,
                age_range: m.q12_age_range,
                special_equipment: m.q12_special_equipment,
            },
            safety: SafetyNeeds {
                fall_history: s.q13_fall_history,
                allergies: s.q14_allergies,
                dietary: s.q15_dietary_requirements,
                social: s.q16_social_personality,
            },
            timeline: timeline.q17_placement_timeline,
            priorities: priorities.map(|p| PriorityRanking {
                order: p.q18_priority_ranking.priority_order,
                weights: p.q18_priority_ranking.priority_weights,
            }),
        }
    }
}
