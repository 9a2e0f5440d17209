//! The neighbourhood as its adapter keeps it (`sources/neighbourhood.rs`):
//! where the home is (postcodes.io), and the amenities around it by kind
//! (OpenStreetMap), each with its count and nearest few.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{lenient, lenient_list, lenient_or_default};

/// A home's surroundings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Area {
    /// The point searched around.
    #[serde(default, deserialize_with = "lenient")]
    pub latitude: Option<f64>,
    /// The same.
    #[serde(default, deserialize_with = "lenient")]
    pub longitude: Option<f64>,
    /// postcodes.io's codes for the home's postcode (`null` without one).
    #[serde(default, deserialize_with = "lenient")]
    pub area: Option<Codes>,
    /// How far around was searched, metres.
    #[serde(default, deserialize_with = "lenient")]
    pub radius_meters: Option<u64>,
    /// The amenities by kind (`gp`, `pharmacy`, `hospital`, `park`,
    /// `placeOfWorship`, `cafe`, `shop`, `busStop`, `library`).
    #[serde(default, deserialize_with = "lenient")]
    pub amenities: Option<BTreeMap<String, Amenities>>,
    /// When the oldest cached half was fetched (RFC 3339).
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_at: Option<String>,
}

/// postcodes.io's codes for a postcode.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Codes {
    /// The postcode.
    #[serde(default, deserialize_with = "lenient")]
    pub postcode: Option<String>,
    /// The local authority district.
    #[serde(default, deserialize_with = "lenient")]
    pub admin_district: Option<String>,
    /// The ward.
    #[serde(default, deserialize_with = "lenient")]
    pub admin_ward: Option<String>,
    /// The region.
    #[serde(default, deserialize_with = "lenient")]
    pub region: Option<String>,
    /// The country.
    #[serde(default, deserialize_with = "lenient")]
    pub country: Option<String>,
    /// The LSOA.
    #[serde(default, deserialize_with = "lenient")]
    pub lsoa: Option<String>,
    /// The constituency.
    #[serde(default, deserialize_with = "lenient")]
    pub parliamentary_constituency: Option<String>,
}

impl Area {
    /// The amenities of kind `name`, when the record lists them.
    pub fn amenities(&self, name: &str) -> Option<&Amenities> {
        self.amenities.as_ref()?.get(name)
    }
}

/// One kind of amenity around the home.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Amenities {
    /// How many.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub count: u64,
    /// The nearest few, nearest first.
    #[serde(default, deserialize_with = "lenient_list")]
    pub nearest: Vec<Nearby>,
}

/// One place near the home.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nearby {
    /// Its name, when OpenStreetMap has one.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// How far from the home, metres.
    #[serde(default, deserialize_with = "lenient")]
    pub distance_meters: Option<u64>,
}
