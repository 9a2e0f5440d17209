//! One home, one entry: registrations of the same home merged.
//!
//! The CQC register gives a care home a new location id when its provider
//! changes, and keeps the old one (often with the old ratings and
//! inspection). An export of the register therefore lists such a home twice,
//! same name, same postcode, and a report would recommend it twice. Rows
//! with the same normalised name (letters and digits, case ignored) and the
//! same postcode are one home here.
//!
//! The current registration wins, decided by the export's dates: the latest
//! `year_registered` (when the location id was registered: a new provider's
//! registration is the newer one), then the latest `provider_hsca_start_date`,
//! then the latest inspection, then the larger id (for a stable order). The
//! earlier registrations' ratings become the winner's history
//! ([`PastRegistration`]): shown, never scored as the current rating, since
//! CQC rates the provider that ran the home then.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CqcRating, Home};

/// An earlier registration of the same home.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastRegistration {
    /// Its CQC location id.
    pub id: String,
    /// The provider then.
    pub provider: Option<String>,
    /// The year it was registered.
    pub registered_year: Option<i32>,
    /// Its overall rating.
    pub overall: Option<CqcRating>,
    /// Its last inspection.
    pub last_inspection: Option<NaiveDate>,
}

/// Merges registrations of the same home: the homes in their first order
/// (each group at its first member's place), and one line per merged home
/// saying which ids were joined.
pub(crate) fn merge_registrations(homes: Vec<Home>) -> (Vec<Home>, Vec<String>) {
    let mut groups: Vec<Vec<Home>> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for home in homes {
        match key(&home) {
            Some(k) => match index.get(&k) {
                Some(&g) => groups[g].push(home),
                None => {
                    index.insert(k, groups.len());
                    groups.push(vec![home]);
                }
            },
            None => groups.push(vec![home]),
        }
    }
    let mut merged = Vec::new();
    let homes = groups
        .into_iter()
        .map(|group| {
            let (home, note) = merge_group(group);
            merged.extend(note);
            home
        })
        .collect();
    (homes, merged)
}

/// The normalised name and postcode; `None` without a postcode (a name
/// alone is not enough to say two rows are one building).
fn key(home: &Home) -> Option<(String, String)> {
    let postcode: String = home
        .postcode
        .as_deref()?
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let name: String = home
        .name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    (!postcode.is_empty() && !name.is_empty()).then_some((name, postcode))
}

/// The current registration with the others as its history, and a note
/// when there were others.
fn merge_group(mut group: Vec<Home>) -> (Home, Option<String>) {
    group.sort_by(|a, b| currency(b).cmp(&currency(a)));
    let mut current = group.remove(0);
    if group.is_empty() {
        return (current, None);
    }
    let earlier: Vec<String> = group.iter().map(|h| h.id.clone()).collect();
    current
        .previous_registrations
        .extend(group.into_iter().map(|h| PastRegistration {
            id: h.id,
            provider: h.provider,
            registered_year: h.registration.registered_year,
            overall: h.ratings.overall,
            last_inspection: h.last_inspection,
        }));
    let note = format!(
        "{} ({}): {} current, {} earlier",
        current.name,
        current.postcode.as_deref().unwrap_or_default(),
        current.id,
        earlier.join(", ")
    );
    (current, Some(note))
}

/// The order of "more current": registration year, provider start,
/// inspection, id.
#[allow(clippy::type_complexity)]
fn currency(h: &Home) -> (Option<i32>, Option<NaiveDate>, Option<NaiveDate>, &str) {
    (
        h.registration.registered_year,
        h.registration.provider_since,
        h.last_inspection,
        h.id.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(id: &str, name: &str, postcode: &str, year: i32, rating: Option<CqcRating>) -> Home {
        let mut h = Home {
            id: id.into(),
            name: name.into(),
            postcode: Some(postcode.into()),
            ..Home::default()
        };
        h.registration.registered_year = Some(year);
        h.ratings.overall = rating;
        h
    }

    #[test]
    fn a_re_registered_home_is_one_entry_and_the_newest_registration_wins() {
        let old = reg(
            "1-OLD",
            "Edgbaston Manor",
            "B5 7PR",
            2018,
            Some(CqcRating::Good),
        );
        let other = reg("1-OTHER", "Another Home", "B5 7PR", 2011, None);
        let new = reg("1-NEW", "EDGBASTON  manor", "b57pr", 2024, None);
        let (homes, notes) = merge_registrations(vec![old, other, new]);
        assert_eq!(homes.len(), 2);
        assert_eq!(homes[0].id, "1-NEW");
        assert_eq!(
            homes[0].ratings.overall, None,
            "the old rating is not current"
        );
        let past = &homes[0].previous_registrations;
        assert_eq!(past.len(), 1);
        assert_eq!(past[0].id, "1-OLD");
        assert_eq!(past[0].overall, Some(CqcRating::Good));
        assert_eq!(
            notes,
            vec!["EDGBASTON  manor (b57pr): 1-NEW current, 1-OLD earlier"]
        );
    }

    #[test]
    fn same_year_falls_to_the_provider_start_then_the_inspection() {
        let mut a = reg("1-A", "Mercia Grange", "B74 4EH", 2018, None);
        let mut b = reg("1-B", "Mercia Grange", "B74 4EH", 2018, None);
        a.registration.provider_since = NaiveDate::from_ymd_opt(2010, 10, 1);
        b.registration.provider_since = NaiveDate::from_ymd_opt(2017, 11, 21);
        let (homes, _) = merge_registrations(vec![a.clone(), b.clone()]);
        assert_eq!(homes[0].id, "1-B");
        b.registration.provider_since = a.registration.provider_since;
        a.last_inspection = NaiveDate::from_ymd_opt(2023, 1, 1);
        let (homes, _) = merge_registrations(vec![a, b]);
        assert_eq!(homes[0].id, "1-A");
    }

    #[test]
    fn without_a_postcode_or_with_another_name_nothing_is_merged() {
        let mut a = reg("1-A", "Oak House", "B1 1AA", 2010, None);
        a.postcode = None;
        let mut b = a.clone();
        b.id = "1-B".into();
        let c = reg("1-C", "Oak House Nursing", "B1 1AA", 2010, None);
        let d = reg("1-D", "Oak House", "B1 1AB", 2010, None);
        let (homes, notes) = merge_registrations(vec![a, b, c, d]);
        assert_eq!(homes.len(), 4);
        assert!(notes.is_empty());
    }
}
