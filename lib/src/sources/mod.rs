//! The external data sources that enrich each chosen home.
//!
//! [`Sources`] holds one shared HTTP client (one connection pool, rustls)
//! and the [`SourcesConfig`]; [`Sources::fetch`] asks one source about one
//! home and always answers with a [`SourceOutcome`], never an error or a
//! panic, because the engine must record *something* for every slot.
//! Adapters are real HTTP clients of the public APIs; the sandbox
//! (`crate::sandbox`) serves the same APIs locally, so the code under test
//! is the code that runs in production. Whatever an adapter returns is free
//! of API keys: keys travel in headers only, and failure messages are built
//! by us from the status or error kind, never copied from URLs or bodies.

pub mod config;
mod cqc;
mod firecrawl;
mod fsa;
mod google_places;
mod guard;
pub mod http;
mod neighbourhood;

use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

pub use config::{ConfigError, SourceSettings, SourcesConfig};
pub use neighbourhood::{overpass_query, RADIUS_M as NEIGHBOURHOOD_RADIUS_M};

use crate::directory::Home;
use crate::model::SourceType;

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceFailure {
    /// Transient or permanent.
    pub kind: FailureKind,
    /// The source's `Retry-After`, when it sent one (serialized as
    /// `retry_after_secs`).
    #[serde(rename = "retry_after_secs", serialize_with = "secs")]
    pub retry_after: Option<Duration>,
    /// What went wrong, for the missing-sources list. Never contains keys.
    pub message: String,
}

/// What one source said about one home. Serializes as `{"status":
/// "loaded", "data": …}`, `{"status": "not_found"}`, `{"status":
/// "failed", "data": {"kind", "retry_after_secs", "message"}}`…
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", content = "data", rename_all = "snake_case")]
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

fn secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

impl SourceOutcome {
    /// A short wire name for logs and status maps (`loaded`, `not_found`,
    /// `not_configured`, `transient`, `permanent`).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Loaded(_) => "loaded",
            Self::NotFound => "not_found",
            Self::NotConfigured => "not_configured",
            Self::Failed(f) => match f.kind {
                FailureKind::Transient => "transient",
                FailureKind::Permanent => "permanent",
            },
        }
    }
}

/// The five adapters behind one shared HTTP client.
#[derive(Clone, Debug)]
pub struct Sources {
    config: SourcesConfig,
    client: reqwest::Client,
}

impl Sources {
    /// Builds the shared client (rustls, no redirects; per-request timeouts
    /// come from each source's settings).
    pub fn new(config: SourcesConfig) -> Result<Self, ConfigError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("care-report/", env!("CARGO_PKG_VERSION")))
            // No API we call redirects; following one could carry a key
            // header to another host, so a 3xx is reported instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Client(e.without_url().to_string()))?;
        Ok(Self { config, client })
    }

    /// The configuration.
    pub fn config(&self) -> &SourcesConfig {
        &self.config
    }

    /// The shared client (the geocoder reuses it for postcodes.io).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Asks `source` about `home`. Never panics: an adapter bug becomes a
    /// transient failure, logged at error level and counted
    /// ([`crate::metrics::source_adapter_panics`]).
    pub async fn fetch(&self, source: SourceType, home: &Home) -> SourceOutcome {
        let c = &self.config;
        let client = &self.client;
        let work = async {
            match source {
                SourceType::Cqc => cqc::fetch(client, &c.cqc, home).await,
                SourceType::Fsa => fsa::fetch(client, &c.fsa, home).await,
                SourceType::GooglePlaces => {
                    google_places::fetch(client, &c.google_places, home).await
                }
                SourceType::Neighbourhood => {
                    neighbourhood::fetch(client, &c.postcodes, &c.overpass, home).await
                }
                SourceType::Firecrawl => firecrawl::fetch(client, &c.firecrawl, home).await,
            }
        };
        let outcome = guard::catch_adapter_panic(source, &home.id, work).await;
        match &outcome {
            SourceOutcome::Failed(f) => tracing::warn!(
                source = source.as_str(),
                home_id = %home.id,
                outcome = outcome.label(),
                retry_after_secs = f.retry_after.map(|d| d.as_secs()),
                message = %f.message,
                "source fetch failed"
            ),
            _ => tracing::debug!(
                source = source.as_str(),
                home_id = %home.id,
                outcome = outcome.label(),
                "source fetch done"
            ),
        }
        outcome
    }
}
