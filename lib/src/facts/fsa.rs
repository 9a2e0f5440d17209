//! The FSA's food hygiene establishment as the FSA adapter keeps it
//! (`sources/fsa.rs`): the rating, its date and the inspection's scores.

use serde::{Deserialize, Serialize};

use super::{lenient, lenient_or_default};

/// The useful part of an FSA establishment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fsa {
    /// FHRS id.
    #[serde(default, deserialize_with = "lenient")]
    pub fhrs_id: Option<u64>,
    /// The name on the register.
    #[serde(default, deserialize_with = "lenient")]
    pub business_name: Option<String>,
    /// The kind of business.
    #[serde(default, deserialize_with = "lenient")]
    pub business_type: Option<String>,
    /// The postcode on the register.
    #[serde(default, deserialize_with = "lenient")]
    pub postcode: Option<String>,
    /// The rating as the FSA writes it (`5`, `Exempt`, …).
    #[serde(default, deserialize_with = "lenient")]
    pub rating_value: Option<String>,
    /// The rating as a number, when it is one.
    #[serde(default, deserialize_with = "lenient")]
    pub rating: Option<u64>,
    /// When it was rated (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub rating_date: Option<String>,
    /// `FHRS` or `FHIS`.
    #[serde(default, deserialize_with = "lenient")]
    pub scheme_type: Option<String>,
    /// The local authority that inspects it.
    #[serde(default, deserialize_with = "lenient")]
    pub local_authority: Option<String>,
    /// The inspection's scores.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub scores: Scores,
    /// Whether a new rating is awaiting publication.
    #[serde(default, deserialize_with = "lenient")]
    pub new_rating_pending: Option<bool>,
    /// How sure the match to the home is, 0 to 1.
    #[serde(default, deserialize_with = "lenient")]
    pub match_confidence: Option<f64>,
    /// `name` (name and postcode search) or `nearby` (the geo fallback).
    #[serde(default, deserialize_with = "lenient")]
    pub matched_by: Option<String>,
    /// When the shared source cache fetched it (RFC 3339).
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_at: Option<String>,
}

/// The inspection's scores, in penalty points (lower is better).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scores {
    /// Hygiene, 0–25.
    #[serde(default, deserialize_with = "lenient")]
    pub hygiene: Option<u64>,
    /// Structural, 0–25.
    #[serde(default, deserialize_with = "lenient")]
    pub structural: Option<u64>,
    /// Confidence in management, 0–30.
    #[serde(default, deserialize_with = "lenient")]
    pub confidence_in_management: Option<u64>,
}
