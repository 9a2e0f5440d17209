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

pub(crate) mod cached;
mod companies_house;
pub(crate) mod config;
mod cqc;
pub(crate) mod fees;
mod firecrawl;
mod fsa;
mod google_places;
mod guard;
pub mod http;
mod neighbourhood;

use std::time::Duration;

use serde::{Serialize, Serializer};

pub use cached::CacheConfig;
pub use config::{SourceConfig, SourcesConfig};
pub use neighbourhood::{
    overpass_query, rounded_point as neighbourhood_rounded_point,
    RADIUS_M as NEIGHBOURHOOD_RADIUS_M,
};

use std::sync::Arc;

use crate::clock::Clock;
use crate::store::source_cache::{SourceCache, UpstreamLease};

use crate::directory::Home;
use crate::model::SourceType;

pub use crate::model::FailureKind;

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

/// Asked right before a slot's upstream call starts (after the source
/// cache missed): `Some(outcome)` is recorded instead of making the call.
pub(crate) trait UpstreamGate: Send + Sync {
    /// Whether a call to `source` may be made now.
    fn before_call(
        &self,
        source: SourceType,
    ) -> futures::future::BoxFuture<'_, Option<SourceOutcome>>;
}

/// The six adapters behind one shared HTTP client, and what they share
/// across jobs: the source cache and the Overpass lease ([`cached`]).
#[derive(Clone, Debug)]
pub struct Sources {
    config: SourcesConfig,
    client: reqwest::Client,
    shared: Arc<cached::Shared>,
}

/// The shared HTTP client could not be built (its TLS set-up failed).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the sources' HTTP client")]
pub struct ClientError(#[source] reqwest::Error);

impl Sources {
    /// Builds the shared client (rustls, no redirects, `SOURCES_USER_AGENT`;
    /// per-request timeouts come from each source's settings). No cache;
    /// Overpass one request at a time within this process (see
    /// [`Sources::with_cache`] for the shared ones).
    pub fn new(config: SourcesConfig) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(config.user_agent.as_str())
            // No API we call redirects; following one could carry a key
            // header to another host, so a 3xx is reported instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ClientError)?;
        if !config.overpass_allowed() {
            tracing::warn!(
                setting = "SOURCES_CONTACT",
                "SOURCES_CONTACT is not set: the neighbourhood source is not_configured, because Overpass's operators require a contact (an e-mail address or URL) in the User-Agent"
            );
        }
        Ok(Self {
            config,
            client,
            shared: Arc::new(cached::Shared::local()),
        })
    }

    /// The same sources with the shared source cache in `cache` (unless
    /// `settings` turn it off) and the Overpass lease in `lease` (both the
    /// job store's, so every instance shares them), read with `clock`.
    pub fn with_cache(
        mut self,
        cache: Arc<dyn SourceCache>,
        lease: Arc<dyn UpstreamLease>,
        clock: Arc<dyn Clock>,
        settings: CacheConfig,
    ) -> Self {
        self.shared = Arc::new(cached::Shared::new(cache, lease, clock, settings));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &SourcesConfig {
        &self.config
    }

    /// The shared client (the geocoder reuses it for postcodes.io).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Asks `source` about `home`, through the source cache when it is on.
    /// Never panics: an adapter bug becomes a transient failure, logged at
    /// error level and counted ([`crate::metrics::source_adapter_panics`]).
    pub async fn fetch(&self, source: SourceType, home: &Home) -> SourceOutcome {
        self.fetch_with(source, home, None).await
    }

    /// [`Sources::fetch`], asking `gate` right before an upstream call
    /// starts, that is after the cache missed (a cache hit costs nothing):
    /// the engine's daily budget of paid calls.
    pub(crate) async fn fetch_with(
        &self,
        source: SourceType,
        home: &Home,
        gate: Option<&dyn UpstreamGate>,
    ) -> SourceOutcome {
        let work = self.fetch_cached(source, home, gate);
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

    /// The cache in front of [`Sources::fetch_upstream`]: whole answers for
    /// CQC, FSA and Firecrawl, the place id only for Google, the two halves
    /// apart for the neighbourhood (inside its adapter).
    async fn fetch_cached(
        &self,
        source: SourceType,
        home: &Home,
        gate: Option<&dyn UpstreamGate>,
    ) -> SourceOutcome {
        let settings = self.shared.settings();
        let c = &self.config;
        match source {
            SourceType::Cqc => {
                let ttl = settings.cqc;
                self.whole_answer_cached(home, gate, source, ttl, &c.cqc)
                    .await
            }
            SourceType::Fsa => {
                let ttl = settings.fsa;
                self.whole_answer_cached(home, gate, source, ttl, &c.fsa)
                    .await
            }
            SourceType::Firecrawl => {
                let ttl = settings.firecrawl;
                self.whole_answer_cached(home, gate, source, ttl, &c.firecrawl)
                    .await
            }
            // Never a request with a placeholder contact (see
            // `SourcesConfig::require_contact`).
            SourceType::Neighbourhood if !c.overpass_allowed() => SourceOutcome::NotConfigured,
            SourceType::Neighbourhood => self.fetch_upstream(source, home, None, gate).await,
            SourceType::GooglePlaces => self.google_through_place_id(home, gate).await,
            SourceType::CompaniesHouse => self.company_cached(home, gate).await,
        }
    }

    /// Companies House through the cache under the provider's company
    /// number, not the home: every home of one provider shares one fetch.
    /// Without a key or a number the adapter answers at once (no call, no
    /// cache).
    async fn company_cached(&self, home: &Home, gate: Option<&dyn UpstreamGate>) -> SourceOutcome {
        let source = SourceType::CompaniesHouse;
        let upstream = &self.config.companies_house;
        let number = home
            .provider_company_number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let fetch = self.fetch_upstream(source, home, None, gate);
        match number {
            Some(number) if upstream.key().is_some() => {
                let ttl = self.shared.settings().companies_house;
                self.shared
                    .through(source, number, ttl, fill_ttl(upstream), fetch)
                    .await
            }
            _ => fetch.await,
        }
    }

    /// A whole answer of `source` (configured as `upstream`) through the
    /// cache, kept for `ttl`.
    async fn whole_answer_cached(
        &self,
        home: &Home,
        gate: Option<&dyn UpstreamGate>,
        source: SourceType,
        ttl: Duration,
        upstream: &SourceConfig,
    ) -> SourceOutcome {
        let fetch = self.fetch_upstream(source, home, None, gate);
        self.shared
            .through(source, home.id.trim(), ttl, fill_ttl(upstream), fetch)
            .await
    }

    /// Google through the cache of its place id: only the place id is kept
    /// (Google's terms), so a hit turns the search into one details call,
    /// never into cached content.
    async fn google_through_place_id(
        &self,
        home: &Home,
        gate: Option<&dyn UpstreamGate>,
    ) -> SourceOutcome {
        let source = SourceType::GooglePlaces;
        let shared = &self.shared;
        let key = home.id.trim();
        match shared
            .lookup(source.as_str(), key, fill_ttl(&self.config.google_places))
            .await
        {
            cached::Lookup::Hit(v, _) => match v.get("placeId").and_then(|p| p.as_str()) {
                Some(id) => self.fetch_upstream(source, home, Some(id), gate).await,
                None => SourceOutcome::NotFound,
            },
            cached::Lookup::Miss(fill) => {
                let outcome = self.fetch_upstream(source, home, None, gate).await;
                let keep = match &outcome {
                    SourceOutcome::Loaded(d) => d
                        .get("placeId")
                        .and_then(|p| p.as_str())
                        .map(|id| serde_json::json!({"placeId": id})),
                    SourceOutcome::NotFound => Some(serde_json::json!({"placeId": null})),
                    _ => None,
                };
                shared
                    .finish(fill, keep.as_ref(), shared.settings().google_place_id)
                    .await;
                outcome
            }
        }
    }

    /// The one place a slot's upstream calls start (after the cache missed).
    /// `place_id`: Google's place id when the cache knows it.
    pub(crate) async fn fetch_upstream(
        &self,
        source: SourceType,
        home: &Home,
        place_id: Option<&str>,
        gate: Option<&dyn UpstreamGate>,
    ) -> SourceOutcome {
        if let Some(gate) = gate {
            if let Some(refused) = gate.before_call(source).await {
                return refused;
            }
        }
        let c = &self.config;
        let client = &self.client;
        match source {
            SourceType::Cqc => cqc::fetch(client, &c.cqc, home).await,
            SourceType::Fsa => fsa::fetch(client, &c.fsa, home).await,
            SourceType::GooglePlaces => {
                google_places::fetch(client, &c.google_places, home, place_id).await
            }
            SourceType::Neighbourhood => neighbourhood::fetch(client, c, &self.shared, home).await,
            SourceType::Firecrawl => firecrawl::fetch(client, &c.firecrawl, home).await,
            SourceType::CompaniesHouse => {
                companies_house::fetch(client, &c.companies_house, home).await
            }
        }
    }
}

/// How long a fill lock for one fetch from `upstream` may live: a few of
/// its timeouts, since an adapter may make more than one call.
fn fill_ttl(upstream: &SourceConfig) -> Duration {
    upstream.timeout * 3 + Duration::from_secs(5)
}
