//! Google's place as the Google Places adapter keeps it
//! (`sources/google_places.rs`): the rating, the count and up to five
//! reviews with the attribution Google's policy requires.

use serde::{Deserialize, Serialize};

use super::{lenient, lenient_list};

/// The useful part of a Google place.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    /// Google's place id.
    #[serde(default, deserialize_with = "lenient")]
    pub place_id: Option<String>,
    /// Its name on Google.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// Its address on Google.
    #[serde(default, deserialize_with = "lenient")]
    pub address: Option<String>,
    /// The average rating.
    #[serde(default, deserialize_with = "lenient")]
    pub rating: Option<f64>,
    /// How many ratings.
    #[serde(default, deserialize_with = "lenient")]
    pub user_rating_count: Option<u64>,
    /// The place on Google Maps.
    #[serde(default, deserialize_with = "lenient")]
    pub google_maps_uri: Option<String>,
    /// The website Google knows.
    #[serde(default, deserialize_with = "lenient")]
    pub website_uri: Option<String>,
    /// The reviews Google returned.
    #[serde(default, deserialize_with = "lenient_list")]
    pub reviews: Vec<Review>,
    /// When the shared source cache fetched it (RFC 3339).
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_at: Option<String>,
}

/// One review.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    /// 1–5.
    #[serde(default, deserialize_with = "lenient")]
    pub rating: Option<f64>,
    /// The text (cut).
    #[serde(default, deserialize_with = "lenient")]
    pub text: Option<String>,
    /// When published (RFC 3339).
    #[serde(default, deserialize_with = "lenient")]
    pub publish_time: Option<String>,
    /// Google's relative description of when.
    #[serde(default, deserialize_with = "lenient")]
    pub relative_time: Option<String>,
    /// The author's display name.
    #[serde(default, deserialize_with = "lenient")]
    pub author: Option<String>,
    /// The author's profile.
    #[serde(default, deserialize_with = "lenient")]
    pub author_uri: Option<String>,
    /// The author's photo.
    #[serde(default, deserialize_with = "lenient")]
    pub author_photo_uri: Option<String>,
    /// The review on Google Maps.
    #[serde(default, deserialize_with = "lenient")]
    pub review_uri: Option<String>,
}
