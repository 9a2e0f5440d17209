//! Source facts: what each source adapter writes into a slot's stored
//! answer, as serde types, and what the judgement and the report read
//! back. Below `sources`, `judgement` and `report` (`lib/tests/layers.rs`),
//! so none of them names another's code, and the stored shape is a type the
//! compiler checks instead of field names and JSON pointers on both sides.
//!
//! One file per source: [`cqc`], [`fsa`], [`google`], [`area`] (the
//! neighbourhood), [`website`] (Firecrawl, with the fee quotes) and
//! [`company`] (Companies House). Each record serializes to the very JSON
//! the adapters stored before these types existed (every field present,
//! `null` when unknown, `cachedAt` only for an answer from the source
//! cache), so stored jobs of that shape read as they are and new ones are
//! stored the same way. Reading is lenient, as the readers by pointer were:
//! a field that is absent or of another type is unknown (`None`, or an
//! empty list), never an error and never a made-up value.
//!
//! [`HomeSources`] is one home's loaded records, decoded once per read.

pub mod area;
pub mod company;
pub mod cqc;
pub mod fsa;
pub mod google;
pub mod website;

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::model::{SlotKey, SourceType};

pub use area::Area;
pub use company::Company;
pub use cqc::Cqc;
pub use fsa::Fsa;
pub use google::Place;
pub use website::{for_care, PageFee, Website};

/// One home's loaded source records (a source that found nothing, or has
/// not answered, is `None`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HomeSources {
    /// CQC's location record.
    pub cqc: Option<Cqc>,
    /// The FSA food hygiene establishment.
    pub fsa: Option<Fsa>,
    /// Google's place.
    pub google: Option<Place>,
    /// The neighbourhood (postcodes.io and OpenStreetMap).
    pub area: Option<Area>,
    /// The home's own website.
    pub website: Option<Website>,
    /// The provider's Companies House record.
    pub company: Option<Company>,
}

impl HomeSources {
    /// The records stored for `home_id` in `data` (one entry per slot that
    /// loaded; a `null` entry is a source that found nothing). A record
    /// that is not an object of its source's shape is left out.
    pub fn of(data: &[(SlotKey, Value)], home_id: &str) -> HomeSources {
        let mut out = HomeSources::default();
        for (key, value) in data.iter().filter(|(k, _)| k.home_id == home_id) {
            if !value.is_object() {
                continue;
            }
            match key.source_type {
                SourceType::Cqc => out.cqc = record(value),
                SourceType::Fsa => out.fsa = record(value),
                SourceType::GooglePlaces => out.google = record(value),
                SourceType::Neighbourhood => out.area = record(value),
                SourceType::Firecrawl => out.website = record(value),
                SourceType::CompaniesHouse => out.company = record(value),
            }
        }
        out
    }

    /// When the answer of `source` came from the shared source cache, when
    /// it was fetched upstream (RFC 3339).
    pub fn cached_at(&self, source: SourceType) -> Option<&str> {
        match source {
            SourceType::Cqc => self.cqc.as_ref()?.cached_at.as_deref(),
            SourceType::Fsa => self.fsa.as_ref()?.cached_at.as_deref(),
            SourceType::GooglePlaces => self.google.as_ref()?.cached_at.as_deref(),
            SourceType::Neighbourhood => self.area.as_ref()?.cached_at.as_deref(),
            SourceType::Firecrawl => self.website.as_ref()?.cached_at.as_deref(),
            SourceType::CompaniesHouse => self.company.as_ref()?.cached_at.as_deref(),
        }
    }
}

/// A stored record as `T`; `None` when it does not decode.
fn record<T: DeserializeOwned>(value: &Value) -> Option<T> {
    T::deserialize(value).ok()
}

/// A record as the JSON an adapter stores.
pub(crate) fn to_stored<T: Serialize>(record: &T) -> Value {
    // Every record is plain data (strings, numbers, maps with string
    // keys), which always serializes.
    serde_json::to_value(record).unwrap_or(Value::Null)
}

/// A field read leniently: of another type, it is unknown.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(T::deserialize(v).ok())
}

/// A field read leniently, its default when of another type (a record
/// the adapter always writes, such as a map of counts).
pub(crate) fn lenient_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    Ok(lenient(d)?.unwrap_or_default())
}

/// A list read leniently: the items of another type are left out, and a
/// value that is not a list is an empty one.
pub(crate) fn lenient_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|i| T::deserialize(i).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// A `YYYY-MM-DD…` text as a date.
pub(crate) fn date(text: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text?.get(..10)?, "%Y-%m-%d").ok()
}

/// `Some` text when it has more than blanks, trimmed.
pub(crate) fn text(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_of_another_shape_is_left_out_and_a_wrong_field_is_unknown() {
        let key = |s| SlotKey::new("h", s);
        let data = vec![
            (
                key(SourceType::Fsa),
                json!({"rating": "x", "ratingValue": "2"}),
            ),
            (key(SourceType::Cqc), json!(["not", "an", "object"])),
            (key(SourceType::GooglePlaces), Value::Null),
            (
                SlotKey::new("other", SourceType::Neighbourhood),
                json!({"latitude": 1.0}),
            ),
        ];
        let s = HomeSources::of(&data, "h");
        let fsa = s.fsa.unwrap();
        assert_eq!((fsa.rating, fsa.rating_value.as_deref()), (None, Some("2")));
        assert!(s.cqc.is_none() && s.google.is_none() && s.area.is_none());
    }

    #[test]
    fn dates_and_texts_are_read_as_written() {
        assert_eq!(
            date(Some("2024-05-06T10:00:00Z")),
            NaiveDate::from_ymd_opt(2024, 5, 6)
        );
        assert_eq!(date(Some("May 2024")), None);
        assert_eq!(text(Some("  x ")).as_deref(), Some("x"));
        assert_eq!(text(Some("  ")), None);
    }
}
