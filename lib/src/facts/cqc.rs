//! CQC's location record as the CQC adapter keeps it
//! (`sources/cqc.rs`): the ratings in force, a deregistered location's
//! last ratings kept apart as historical, the trend, the history, the
//! registered manager (never a name) and the latest report.

use serde::{Deserialize, Serialize};

use super::{lenient, lenient_list, lenient_or_default};

/// The useful part of a CQC location record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cqc {
    /// CQC's location id.
    #[serde(default, deserialize_with = "lenient")]
    pub location_id: Option<String>,
    /// The registered name.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// The registered postcode.
    #[serde(default, deserialize_with = "lenient")]
    pub postcode: Option<String>,
    /// `Registered`, `Deregistered`.
    #[serde(default, deserialize_with = "lenient")]
    pub registration_status: Option<String>,
    /// Whether the location left the register.
    #[serde(default, deserialize_with = "lenient")]
    pub deregistered: Option<bool>,
    /// When it left (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub deregistration_date: Option<String>,
    /// Registered beds.
    #[serde(default, deserialize_with = "lenient")]
    pub number_of_beds: Option<u64>,
    /// The overall rating in force, as CQC prints it (none for a
    /// deregistered location: see `historical_ratings`).
    #[serde(default, deserialize_with = "lenient")]
    pub overall_rating: Option<String>,
    /// When the rating in force was published.
    #[serde(default, deserialize_with = "lenient")]
    pub rating_date: Option<String>,
    /// The key questions' ratings in force.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub key_question_ratings: KeyQuestionRatings,
    /// `currentRatings` (the older framework) or `assessment` (the Single
    /// Assessment Framework).
    #[serde(default, deserialize_with = "lenient")]
    pub rating_source: Option<String>,
    /// A deregistered location's last ratings: never current.
    #[serde(default, deserialize_with = "lenient")]
    pub historical_ratings: Option<HistoricalRatings>,
    /// The last inspection (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub last_inspection_date: Option<String>,
    /// The newest report with a link.
    #[serde(default, deserialize_with = "lenient")]
    pub latest_report: Option<LatestReport>,
    /// How many reports CQC lists.
    #[serde(default, deserialize_with = "lenient")]
    pub report_count: Option<u64>,
    /// The location's page on CQC's site.
    #[serde(default, deserialize_with = "lenient")]
    pub profile_url: Option<String>,
    /// Its page of inspection reports.
    #[serde(default, deserialize_with = "lenient")]
    pub reports_url: Option<String>,
    /// The rating in force against the one before it.
    #[serde(default, deserialize_with = "lenient")]
    pub rating_trend: Option<RatingTrend>,
    /// Earlier overall ratings, newest first.
    #[serde(default, deserialize_with = "lenient_list")]
    pub rating_history: Vec<PastRating>,
    /// Whether a registered manager is in post.
    #[serde(default, deserialize_with = "lenient")]
    pub registered_manager: Option<RegisteredManager>,
    /// When the shared source cache fetched it (RFC 3339); absent when
    /// fetched for this report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "lenient")]
    pub cached_at: Option<String>,
}

/// The five key questions' ratings; only those CQC gave are written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyQuestionRatings {
    /// Safe.
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safe: Option<String>,
    /// Effective.
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective: Option<String>,
    /// Caring.
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caring: Option<String>,
    /// Responsive.
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsive: Option<String>,
    /// Well-led.
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub well_led: Option<String>,
}

impl KeyQuestionRatings {
    /// Whether no key question is rated.
    pub fn is_empty(&self) -> bool {
        *self == KeyQuestionRatings::default()
    }

    /// The rating of the key question named as CQC's API names it
    /// (`safe`, `effective`, `caring`, `responsive`, `wellLed`).
    pub fn set(&mut self, key: &str, rating: String) {
        let slot = match key {
            "safe" => &mut self.safe,
            "effective" => &mut self.effective,
            "caring" => &mut self.caring,
            "responsive" => &mut self.responsive,
            "wellLed" => &mut self.well_led,
            _ => return,
        };
        *slot = Some(rating);
    }
}

/// A deregistered location's last ratings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoricalRatings {
    /// The overall rating.
    #[serde(default, deserialize_with = "lenient")]
    pub overall_rating: Option<String>,
    /// When it was published.
    #[serde(default, deserialize_with = "lenient")]
    pub rating_date: Option<String>,
    /// The key questions.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub key_question_ratings: KeyQuestionRatings,
    /// Where they came from.
    #[serde(default, deserialize_with = "lenient")]
    pub rating_source: Option<String>,
}

/// The newest report: `{linkId, reportDate, reportType, reportUri}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestReport {
    /// CQC's link id.
    #[serde(default, deserialize_with = "lenient")]
    pub link_id: Option<String>,
    /// When it was published.
    #[serde(default, deserialize_with = "lenient")]
    pub report_date: Option<String>,
    /// Its kind.
    #[serde(default, deserialize_with = "lenient")]
    pub report_type: Option<String>,
    /// Its address on CQC's API.
    #[serde(default, deserialize_with = "lenient")]
    pub report_uri: Option<String>,
}

/// The overall rating in force against the newest earlier one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RatingTrend {
    /// `improved`, `declined` or `unchanged`.
    #[serde(default, deserialize_with = "lenient")]
    pub direction: Option<String>,
    /// The rating in force.
    #[serde(default, deserialize_with = "lenient")]
    pub current: Option<String>,
    /// Since when (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub since: Option<String>,
    /// The earlier rating.
    #[serde(default, deserialize_with = "lenient")]
    pub previous: Option<String>,
    /// Its date.
    #[serde(default, deserialize_with = "lenient")]
    pub previous_date: Option<String>,
}

/// One earlier overall rating.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PastRating {
    /// When (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub date: Option<String>,
    /// As CQC prints it.
    pub rating: String,
}

/// Whether a registered manager is in post: no (with since when) when CQC
/// records one absent, yes when a contact has the role, else unknown.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredManager {
    /// In post.
    #[serde(default, deserialize_with = "lenient")]
    pub in_post: Option<bool>,
    /// Absent since (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub absent_since: Option<String>,
}
