//! The external data sources that enrich each chosen home.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a failed fetch should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// May succeed later (timeouts, 429, 5xx, malformed bodies, network errors).
    Transient,
    /// Will not succeed without a change on our side (401/403, bad request).
    Permanent,
}

/// A failed fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFailure {
    /// Transient or permanent.
    pub kind: FailureKind,
    /// The source's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// What went wrong, for the missing-sources list. Never contains keys.
    pub message: String,
}

/// What one source said about one home.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceOutcome {
    /// The source's data for the home, as it goes into the report.
    Loaded(serde_json::Value),
    /// The source has no record of this home (not retried; counts as loaded).
    NotFound,
    /// No API key is configured for this source (not retried; not expected).
    NotConfigured,
    /// The fetch failed.
    Failed(SourceFailure),
}
