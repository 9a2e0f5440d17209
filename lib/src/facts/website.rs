//! The home's own website as the Firecrawl adapter keeps it
//! (`sources/firecrawl.rs`): the page's title, the phrases it mentions by
//! group, the fees it states (each with its sentence, see
//! `sources::fees`) and the contact details it shows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{lenient, lenient_list, lenient_or_default};

/// What the home's website says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Website {
    /// The page read.
    #[serde(default, deserialize_with = "lenient")]
    pub url: Option<String>,
    /// Its title.
    #[serde(default, deserialize_with = "lenient")]
    pub title: Option<String>,
    /// Its description.
    #[serde(default, deserialize_with = "lenient")]
    pub description: Option<String>,
    /// The phrases found, by group (`activities`, `specialisms`, …).
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub mentions: BTreeMap<String, Vec<String>>,
    /// Up to three `£` amounts as written.
    #[serde(default, deserialize_with = "lenient_list")]
    pub fees: Vec<String>,
    /// Weekly fees with the sentence each came from.
    #[serde(default, deserialize_with = "lenient_list")]
    pub fee_quotes: Vec<PageFee>,
    /// Phones and e-mails the page shows.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub contact: SiteContact,
    /// How many words were read.
    #[serde(default, deserialize_with = "lenient")]
    pub word_count: Option<u64>,
    /// When the shared source cache fetched it (RFC 3339).
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_at: Option<String>,
}

impl Website {
    /// The specialisms the page mentions.
    pub fn specialisms(&self) -> &[String] {
        self.mentions
            .get("specialisms")
            .map_or(&[][..], Vec::as_slice)
    }
}

/// The contact details a page shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteContact {
    /// Telephone numbers, as written.
    #[serde(default, deserialize_with = "lenient_list")]
    pub phones: Vec<String>,
    /// E-mail addresses.
    #[serde(default, deserialize_with = "lenient_list")]
    pub emails: Vec<String>,
}

/// One fee a home's page states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageFee {
    /// The care the sentence names (`residential`, `nursing`, `dementia`,
    /// `respite`), when it names one.
    pub care_type: Option<String>,
    /// The weekly amount, or the lower end of a range, pounds.
    pub weekly_from: f64,
    /// The upper end of a range, pounds a week.
    pub weekly_to: Option<f64>,
    /// Whether the page says "from" (a starting price).
    pub starting_price: bool,
    /// Whether the page gave a monthly figure (converted to a week).
    pub monthly: bool,
    /// The sentence, as written (cut).
    pub sentence: String,
}

/// The fee that applies to a need: the sentence naming the care type
/// (`nursing`, `dementia`, `respite`, `residential`), else one naming none;
/// the lowest such "from" amount.
pub fn for_care(fees: &[PageFee], care_type: &str) -> Option<PageFee> {
    let named: Vec<&PageFee> = fees
        .iter()
        .filter(|f| f.care_type.as_deref() == Some(care_type))
        .collect();
    let pool = if named.is_empty() {
        fees.iter().filter(|f| f.care_type.is_none()).collect()
    } else {
        named
    };
    pool.into_iter()
        .min_by(|a, b| a.weekly_from.total_cmp(&b.weekly_from))
        .cloned()
}
