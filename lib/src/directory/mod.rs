//! The care-home directory: the candidates a report chooses from.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A CQC rating, compared case-insensitively when parsed
/// (`Requires Improvement` and `Requires improvement` are the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CqcRating {
    /// Inadequate.
    Inadequate,
    /// Requires improvement.
    RequiresImprovement,
    /// Good.
    Good,
    /// Outstanding.
    Outstanding,
}

/// CQC ratings per key question; any may be unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CqcRatings {
    /// Overall.
    pub overall: Option<CqcRating>,
    /// Safe.
    pub safe: Option<CqcRating>,
    /// Effective.
    pub effective: Option<CqcRating>,
    /// Caring.
    pub caring: Option<CqcRating>,
    /// Responsive.
    pub responsive: Option<CqcRating>,
    /// Well-led.
    pub well_led: Option<CqcRating>,
}

/// Care the home is registered for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareFlags {
    /// Residential (personal) care.
    pub residential: bool,
    /// Nursing care.
    pub nursing: bool,
    /// Dementia care.
    pub dementia: bool,
    /// Respite stays.
    pub respite: bool,
}

/// Weekly fees in pounds, where known.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fees {
    /// Residential care from.
    pub residential_from: Option<f64>,
    /// Nursing care from.
    pub nursing_from: Option<f64>,
    /// Dementia care from.
    pub dementia_from: Option<f64>,
    /// Respite from.
    pub respite_from: Option<f64>,
}

/// One care home.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Home {
    /// CQC location id (e.g. `1-10016894058`), or `DEMO-…` in the demo directory.
    pub id: String,
    /// Name.
    pub name: String,
    /// Street address, when known.
    pub address: Option<String>,
    /// Town or city.
    pub city: String,
    /// Postcode, when known.
    pub postcode: Option<String>,
    /// Local authority.
    pub local_authority: Option<String>,
    /// Latitude, when known.
    pub latitude: Option<f64>,
    /// Longitude, when known.
    pub longitude: Option<f64>,
    /// Registered care.
    pub care: CareFlags,
    /// Registered beds.
    pub beds: Option<u32>,
    /// CQC ratings.
    pub ratings: CqcRatings,
    /// Last CQC inspection date.
    pub last_inspection: Option<NaiveDate>,
    /// Weekly fees.
    pub fees: Fees,
    /// Accepts local-authority funded residents, when known.
    pub accepts_local_authority: Option<bool>,
    /// Accepts self-funded residents, when known.
    pub accepts_self_funding: Option<bool>,
    /// Website, when known.
    pub website: Option<String>,
    /// Provider name.
    pub provider: Option<String>,
}
