//! Suitability: whether a home can take the person at all, from its CQC
//! registration, before anything is scored.
//!
//! Every person this service reports on is 65 or over (q12 has no younger
//! band), so a home must be registered for older people. A home is sorted
//! into one of three tiers:
//!
//! - **suited**: registered for older people (or its bands are unknown: an
//!   unknown is never a "no"), a care home, offering the care needed;
//! - **fallback**: it could take the person but is not what they need
//!   first: a service built around needs the person does not have (mental
//!   health, learning disabilities, substance misuse, eating disorders,
//!   children, or registered for people detained under the Mental Health
//!   Act), or a nursing-only home for someone who needs residential care.
//!   Fallbacks are proposed only when too few suited homes are in reach,
//!   and the report then says what the home specialises in;
//! - **left out**: it cannot take the person (not registered for older
//!   people, not a care home, not offering the care needed, not taking the
//!   funding). Each left-out home counts under its first reason, so the
//!   summary can say "9 homes within 15 km were left out: 6 …".
//!
//! "Built around" a specialist need: the home is registered for that band
//! and not for dementia. Mainstream homes for older people are registered
//! for many bands (dementia, mental health, physical disability, …) and
//! take people with none of those needs; a mental-health service for
//! younger and older adults is registered for mental health without
//! dementia. The person's dementia (a questionnaire condition) is the only
//! one of these needs the questionnaire asks about.

use serde::{Deserialize, Serialize};

use crate::directory::{Band, Home};
use crate::questionnaire::Budget;

use super::{accepts_funding, CareNeed};

/// Why a home was proposed only as a fallback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Registered for people detained under the Mental Health Act.
    DetainedMha,
    /// Built around a need the person does not have (the band named).
    Specialist(Band),
    /// Nursing only, while residential care was asked for (priced as nursing).
    NursingOnly,
}

impl Fallback {
    /// In words: what the home specialises in, or why it comes second.
    pub fn describe(self) -> String {
        match self {
            Fallback::DetainedMha => {
                "registered for people detained under the Mental Health Act".to_owned()
            }
            Fallback::Specialist(b) => format!("a service built around {}", b.describe()),
            Fallback::NursingOnly => {
                "a nursing home (not registered for residential care alone), so its fees are nursing fees"
                    .to_owned()
            }
        }
    }
}

/// Why a home cannot take the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// CQC does not register it for older people.
    NotForOlderPeople,
    /// Not a care home (supported living, home care).
    NotACareHome,
    /// It does not offer the care needed.
    CareNotOffered,
    /// It does not take the funding the family expects.
    FundingNotAccepted,
    /// It says it takes no respite stays.
    NoRespite,
    /// No usable position, so its distance is unknown.
    NoPosition,
    /// A fallback not needed, because enough suited homes were in reach.
    FallbackNotNeeded(Fallback),
    /// Its known fee is above the budget band.
    AboveBudget,
}

impl Exclusion {
    /// "N homes …" in words, with the verb agreeing with `count`; the care
    /// not offered is named from `need`.
    pub fn describe(self, count: usize, need: &CareNeed) -> String {
        let one = count == 1;
        let (are, say) = if one { ("is", "says") } else { ("are", "say") };
        let (does, has) = if one { ("does", "has") } else { ("do", "have") };
        let noun = if one { "home" } else { "homes" };
        let what = match self {
            Exclusion::NotForOlderPeople => {
                format!("{are} not registered to care for older people")
            }
            Exclusion::NotACareHome => {
                format!("{are} not a care home (supported living or home care)")
            }
            Exclusion::CareNotOffered => format!("{does} not offer {}", need.describe()),
            Exclusion::FundingNotAccepted => format!("{does} not take the funding you expect"),
            Exclusion::NoRespite => format!("{say} it takes no respite stays"),
            Exclusion::NoPosition => format!("{has} no map position in the directory"),
            Exclusion::FallbackNotNeeded(Fallback::NursingOnly) => {
                format!("{are} nursing-only, while residential homes were in reach")
            }
            Exclusion::FallbackNotNeeded(Fallback::Specialist(b)) => {
                format!("{are} built around {}", b.describe())
            }
            Exclusion::FallbackNotNeeded(Fallback::DetainedMha) => {
                format!("{are} registered for people detained under the Mental Health Act")
            }
            Exclusion::AboveBudget => {
                format!(
                    "{} a fee above your budget",
                    if one { "lists" } else { "list" }
                )
            }
        };
        format!("{count} {noun} {what}")
    }
}

/// A home's tier for the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fit {
    /// Proposed on its scores.
    Suited,
    /// Proposed only when too few suited homes are in reach.
    Fallback(Fallback),
    /// Never proposed.
    Excluded(Exclusion),
}

/// Whether a home's registration lets it take a person of 65 or over:
/// registered for older people, or its bands unknown.
pub(crate) fn suits_an_older_person(home: &Home) -> bool {
    home.registration.serves(Band::OlderPeople) != Some(false)
        && home.registration.is_care_home() != Some(false)
}

/// The specialist bands, most restrictive first.
const SPECIALIST: [Band; 5] = [
    Band::Children,
    Band::LearningDisabilities,
    Band::SubstanceMisuse,
    Band::EatingDisorders,
    Band::MentalHealth,
];

/// The home's tier for a person of 65 or over with this need and budget.
pub(crate) fn fit(home: &Home, need: &CareNeed, budget: Budget) -> Fit {
    let r = &home.registration;
    if r.serves(Band::OlderPeople) == Some(false) {
        return Fit::Excluded(Exclusion::NotForOlderPeople);
    }
    if r.is_care_home() == Some(false) {
        return Fit::Excluded(Exclusion::NotACareHome);
    }
    if !need.met_by(home) {
        let no_respite = need.respite && home.care.respite == Some(false);
        return Fit::Excluded(if no_respite {
            Exclusion::NoRespite
        } else {
            Exclusion::CareNotOffered
        });
    }
    if !accepts_funding(home, budget) {
        return Fit::Excluded(Exclusion::FundingNotAccepted);
    }
    if home.coordinates().is_none() {
        return Fit::Excluded(Exclusion::NoPosition);
    }
    match fallback(home, need) {
        Some(f) => Fit::Fallback(f),
        None => Fit::Suited,
    }
}

/// Why the home would be a fallback for this need, if it is one.
fn fallback(home: &Home, need: &CareNeed) -> Option<Fallback> {
    let r = &home.registration;
    if r.serves(Band::DetainedMha) == Some(true) {
        return Some(Fallback::DetainedMha);
    }
    if r.serves(Band::Dementia) != Some(true) {
        if let Some(b) = SPECIALIST.iter().find(|b| r.serves(**b) == Some(true)) {
            return Some(Fallback::Specialist(*b));
        }
    }
    let residential_only = need.residential && !need.nursing;
    if residential_only && !home.care.residential && home.care.nursing {
        return Some(Fallback::NursingOnly);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Registration;

    fn home(bands: Option<Vec<Band>>) -> Home {
        let mut h = Home {
            id: "1-1".into(),
            name: "H".into(),
            latitude: Some(52.48),
            longitude: Some(-1.89),
            registration: Registration {
                bands,
                service_types: vec!["Care home service without nursing".into()],
                ..Registration::default()
            },
            ..Home::default()
        };
        h.care.residential = true;
        h
    }

    fn residential() -> CareNeed {
        CareNeed {
            residential: true,
            ..CareNeed::default()
        }
    }

    const SELF: Budget = Budget::From3000To5000Self;

    #[test]
    fn older_people_homes_suit_and_unknown_bands_are_not_a_no() {
        let h = home(Some(vec![
            Band::OlderPeople,
            Band::Dementia,
            Band::MentalHealth,
        ]));
        assert_eq!(fit(&h, &residential(), SELF), Fit::Suited);
        assert_eq!(fit(&home(None), &residential(), SELF), Fit::Suited);
    }

    #[test]
    fn younger_adults_only_and_supported_living_are_left_out() {
        let h = home(Some(vec![Band::YoungerAdults]));
        assert_eq!(
            fit(&h, &residential(), SELF),
            Fit::Excluded(Exclusion::NotForOlderPeople)
        );
        let mut h = home(Some(vec![Band::OlderPeople]));
        h.registration.service_types = vec!["Supported living service".into()];
        assert_eq!(
            fit(&h, &residential(), SELF),
            Fit::Excluded(Exclusion::NotACareHome)
        );
    }

    #[test]
    fn specialist_services_are_fallbacks_but_not_when_they_also_take_dementia() {
        let mh = home(Some(vec![Band::OlderPeople, Band::MentalHealth]));
        assert_eq!(
            fit(&mh, &residential(), SELF),
            Fit::Fallback(Fallback::Specialist(Band::MentalHealth))
        );
        let mhd = home(Some(vec![
            Band::OlderPeople,
            Band::MentalHealth,
            Band::Dementia,
        ]));
        assert_eq!(fit(&mhd, &residential(), SELF), Fit::Suited);
        let detained = home(Some(vec![
            Band::OlderPeople,
            Band::Dementia,
            Band::DetainedMha,
        ]));
        assert_eq!(
            fit(&detained, &residential(), SELF),
            Fit::Fallback(Fallback::DetainedMha)
        );
    }

    #[test]
    fn nursing_only_is_a_fallback_for_residential_care_but_suits_nursing() {
        let mut h = home(Some(vec![Band::OlderPeople]));
        h.care.residential = false;
        h.care.nursing = true;
        assert_eq!(
            fit(&h, &residential(), SELF),
            Fit::Fallback(Fallback::NursingOnly)
        );
        let nursing = CareNeed {
            residential: true,
            nursing: true,
            ..CareNeed::default()
        };
        assert_eq!(fit(&h, &nursing, SELF), Fit::Suited);
    }

    #[test]
    fn respite_unknown_passes_and_a_stated_no_is_left_out() {
        let need = CareNeed {
            respite: true,
            ..CareNeed::default()
        };
        let mut h = home(Some(vec![Band::OlderPeople]));
        assert_eq!(fit(&h, &need, SELF), Fit::Suited);
        h.care.respite = Some(false);
        assert_eq!(fit(&h, &need, SELF), Fit::Excluded(Exclusion::NoRespite));
    }

    #[test]
    fn reasons_read_as_plain_words_with_the_verb_agreeing() {
        let need = residential();
        assert_eq!(
            Exclusion::NotForOlderPeople.describe(1, &need),
            "1 home is not registered to care for older people"
        );
        assert_eq!(
            Exclusion::CareNotOffered.describe(3, &need),
            "3 homes do not offer residential care"
        );
        assert_eq!(
            Exclusion::FallbackNotNeeded(Fallback::Specialist(Band::MentalHealth))
                .describe(2, &need),
            "2 homes are built around people with mental health needs"
        );
    }
}
