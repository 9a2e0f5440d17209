//! Source facts: the typed values an adapter writes into a source's stored
//! answer and the judgement and the report read back, so neither names
//! the sources' code. Below `sources`, `judgement` and `report`
//! (`lib/tests/layers.rs`). The start of issue 21's typed facts: the
//! website's fee quotes; the other sources' summaries are still JSON read
//! by field name.

use serde::{Deserialize, Serialize};

/// One fee a home's page states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageFee {
    /// The care the sentence names (`residential`, `nursing`, `dementia`,
    /// `respite`), when it names one.
    pub(crate) care_type: Option<String>,
    /// The weekly amount, or the lower end of a range, pounds.
    pub(crate) weekly_from: f64,
    /// The upper end of a range, pounds a week.
    pub(crate) weekly_to: Option<f64>,
    /// Whether the page says "from" (a starting price).
    pub(crate) starting_price: bool,
    /// Whether the page gave a monthly figure (converted to a week).
    pub(crate) monthly: bool,
    /// The sentence, as written (cut).
    pub(crate) sentence: String,
}

/// The fee that applies to a need: the sentence naming the care type
/// (`nursing`, `dementia`, `respite`, `residential`), else one naming none;
/// the lowest such "from" amount.
pub(crate) fn for_care(fees: &[PageFee], care_type: &str) -> Option<PageFee> {
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
