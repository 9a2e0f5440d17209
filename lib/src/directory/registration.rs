//! Who a home is registered to care for, from its CQC registration.
//!
//! CQC registers each location for service-user bands ("Older people",
//! "Mental health", "People detained under the Mental Health Act", …) and
//! service types ("Care home service with nursing"). The export carries
//! them twice: as JSON lists (`service_user_bands`, `service_types`,
//! `regulated_activities`) and as `serves_*` flag columns. Both are read and
//! united; a band is known only when the export says something about it.
//! What the bands mean for a person is matching's business, not ours.

use serde::{Deserialize, Serialize};

/// A CQC service-user band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Older people (65 and over).
    OlderPeople,
    /// Younger adults (18–64).
    YoungerAdults,
    /// Dementia.
    Dementia,
    /// Mental health.
    MentalHealth,
    /// Physical disability.
    PhysicalDisability,
    /// Sensory impairment.
    SensoryImpairment,
    /// Learning disabilities or autistic spectrum disorder.
    LearningDisabilities,
    /// People who misuse drugs and alcohol.
    SubstanceMisuse,
    /// People with an eating disorder.
    EatingDisorders,
    /// People detained under the Mental Health Act.
    DetainedMha,
    /// Children (0–18 years).
    Children,
    /// The whole population.
    WholePopulation,
}

impl Band {
    /// Every band with its `serves_*` column.
    pub(crate) const COLUMNS: [(Band, &'static str); 12] = [
        (Band::OlderPeople, "serves_older_people"),
        (Band::YoungerAdults, "serves_younger_adults"),
        (Band::Dementia, "serves_dementia_band"),
        (Band::MentalHealth, "serves_mental_health"),
        (Band::PhysicalDisability, "serves_physical_disabilities"),
        (Band::SensoryImpairment, "serves_sensory_impairments"),
        (Band::LearningDisabilities, "serves_learning_disabilities"),
        (Band::SubstanceMisuse, "serves_substance_misuse"),
        (Band::EatingDisorders, "serves_eating_disorders"),
        (Band::DetainedMha, "serves_detained_mha"),
        (Band::Children, "serves_children"),
        (Band::WholePopulation, "serves_whole_population"),
    ];

    /// The band of a CQC band name as the register spells it, ignoring case.
    pub(crate) fn parse(name: &str) -> Option<Band> {
        let n = name.trim().to_ascii_lowercase();
        let band = match n.as_str() {
            "older people" => Band::OlderPeople,
            "younger adults" => Band::YoungerAdults,
            "dementia" => Band::Dementia,
            "mental health" => Band::MentalHealth,
            "physical disability" => Band::PhysicalDisability,
            "sensory impairment" => Band::SensoryImpairment,
            "children (0-18 years)" | "children" => Band::Children,
            "people who misuse drugs and alcohol" => Band::SubstanceMisuse,
            "people with an eating disorder" => Band::EatingDisorders,
            "people detained under the mental health act" => Band::DetainedMha,
            "whole population" => Band::WholePopulation,
            _ if n.starts_with("learning disabilit") => Band::LearningDisabilities,
            _ => return None,
        };
        Some(band)
    }

    /// The band in words a family reads ("people with mental health needs").
    pub fn describe(self) -> &'static str {
        match self {
            Band::OlderPeople => "older people",
            Band::YoungerAdults => "younger adults",
            Band::Dementia => "people living with dementia",
            Band::MentalHealth => "people with mental health needs",
            Band::PhysicalDisability => "people with a physical disability",
            Band::SensoryImpairment => "people with a sensory impairment",
            Band::LearningDisabilities => "people with learning disabilities or autism",
            Band::SubstanceMisuse => "people who misuse drugs or alcohol",
            Band::EatingDisorders => "people with an eating disorder",
            Band::DetainedMha => "people detained under the Mental Health Act",
            Band::Children => "children",
            Band::WholePopulation => "the whole population",
        }
    }
}

/// A home's CQC registration, as far as the export states it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The bands the home is registered for. `None`: the export says nothing
    /// about its bands (no list and no collected `serves_*` flag).
    #[serde(default)]
    pub bands: Option<Vec<Band>>,
    /// CQC service types, e.g. `Care home service with nursing`.
    #[serde(default)]
    pub service_types: Vec<String>,
    /// Regulated activities as the export names them.
    #[serde(default)]
    pub regulated_activities: Vec<String>,
    /// The year this registration (location id) began.
    #[serde(default)]
    pub registered_year: Option<i32>,
    /// Since when the provider has been registered (`provider_hsca_start_date`).
    #[serde(default)]
    pub provider_since: Option<chrono::NaiveDate>,
}

impl Registration {
    /// Whether the home is registered for the band: `None` when unknown.
    pub fn serves(&self, band: Band) -> Option<bool> {
        self.bands.as_ref().map(|b| b.contains(&band))
    }

    /// Whether CQC registered it as a care home (with or without nursing):
    /// `None` when the export lists no service type.
    pub fn is_care_home(&self) -> Option<bool> {
        if self.service_types.is_empty() {
            return None;
        }
        Some(
            self.service_types
                .iter()
                .any(|s| s.to_ascii_lowercase().starts_with("care home service")),
        )
    }
}

/// The bands from the JSON list and the flags: `None` when neither says
/// anything. `flags` holds each band's collected `serves_*` value.
pub(crate) fn bands(
    listed: Option<Vec<String>>,
    flags: &[(Band, Option<bool>)],
) -> Option<Vec<Band>> {
    let any_flag = flags.iter().any(|(_, v)| v.is_some());
    if listed.is_none() && !any_flag {
        return None;
    }
    let mut out: Vec<Band> = listed
        .unwrap_or_default()
        .iter()
        .filter_map(|n| Band::parse(n))
        .collect();
    out.extend(
        flags
            .iter()
            .filter(|(_, v)| *v == Some(true))
            .map(|(b, _)| *b),
    );
    out.sort();
    out.dedup();
    // CQC registers every location for at least one band: an empty list
    // with no flag set was not collected.
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_names_as_the_register_spells_them() {
        assert_eq!(Band::parse("Older people"), Some(Band::OlderPeople));
        assert_eq!(
            Band::parse("People detained under the Mental Health Act"),
            Some(Band::DetainedMha)
        );
        assert_eq!(
            Band::parse("Learning disabilities or autistic spectrum disorder"),
            Some(Band::LearningDisabilities)
        );
        assert_eq!(Band::parse("Children (0-18 years)"), Some(Band::Children));
        assert_eq!(Band::parse("Something new"), None);
    }

    #[test]
    fn list_and_flags_are_united_and_silence_is_unknown() {
        let flags = [
            (Band::OlderPeople, Some(false)),
            (Band::MentalHealth, Some(true)),
        ];
        let b = bands(Some(vec!["Younger adults".into()]), &flags).unwrap();
        assert_eq!(b, vec![Band::YoungerAdults, Band::MentalHealth]);
        assert_eq!(bands(None, &[(Band::OlderPeople, None)]), None);
        assert_eq!(
            bands(Some(vec![]), &[(Band::OlderPeople, Some(false))]),
            None
        );
        let r = Registration {
            bands: Some(b),
            ..Registration::default()
        };
        assert_eq!(r.serves(Band::OlderPeople), Some(false));
        assert_eq!(Registration::default().serves(Band::OlderPeople), None);
    }
}
