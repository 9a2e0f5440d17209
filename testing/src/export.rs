//! The real-export traps shared by the suites that run the report on them:
//! the fixture in the export's format (`lib/tests/fixtures/trap_export.csv`,
//! described in `lib/tests/sources/real_export.rs`) and a questionnaire for an
//! 85–94-year-old in Birmingham to run it with.

use std::path::PathBuf;

use care_report::questionnaire::Questionnaire;
use serde_json::{json, Value};

/// The trap fixture's path.
pub fn trap_export() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lib/tests/fixtures/trap_export.csv")
}

/// Residential care for an 85–94-year-old within 15 km of Birmingham,
/// £3,000–£5,000 a month self-funded, high fall risk, prefers quiet, urgent;
/// `edit` changes the answers before they are parsed.
pub fn older_person(edit: impl FnOnce(&mut Value)) -> Questionnaire {
    let mut v = json!({
        "section_1_contact_emergency": {"q1_names": "Patient: Ada Example"},
        "section_2_location_budget": {
            "q5_preferred_city": "Birmingham",
            "q6_max_distance": "15km",
            "q7_budget": "3000_5000_self"
        },
        "section_3_medical_needs": {
            "q8_care_types": ["general_residential"],
            "q9_medical_conditions": ["mobility_problems"],
            "q10_mobility_level": "walking_aids",
            "q11_medication_management": "several_simple_routine",
            "q12_age_range": "85_94"
        },
        "section_4_safety_special_needs": {
            "q13_fall_history": "high_risk_of_falling",
            "q14_allergies": ["no_allergies"],
            "q15_dietary_requirements": ["no_special_requirements"],
            "q16_social_personality": "prefers_quiet"
        },
        "section_5_timeline": {"q17_placement_timeline": "urgent_2_weeks"}
    });
    edit(&mut v);
    Questionnaire::parse(&v).expect("a valid questionnaire")
}
