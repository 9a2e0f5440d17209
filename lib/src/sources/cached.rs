//! The shared source cache in front of the adapters, and the upstream lease
//! the Overpass adapter takes.
//!
//! One answer is kept per (source, home) in the store's [`SourceCache`]
//! (Redis on Vercel, so every instance shares it; memory on the dev-server)
//! for a per-source TTL ([`CacheConfig`]): CQC 24 h, FSA 7 d, Firecrawl
//! 7 d, Companies House 24 h (keyed by company number, so a provider's
//! homes share one answer); for the neighbourhood source its two halves are kept apart,
//! postcodes.io per postcode (30 d) and Overpass per point rounded to three
//! decimals (7 d), so neighbours share one Overpass answer. Google Places'
//! content is never kept (its terms forbid caching it; place ids are exempt:
//! https://developers.google.com/maps/documentation/places/web-service/policies),
//! only the place id (30 d), which turns the next fetch into one details
//! call instead of a search.
//!
//! `not_found` is cached like a loaded answer; failures never are. Fetches
//! are single-flight: the first caller for a key takes a fill lock in the
//! store, concurrent callers (other jobs, other instances) wait for its
//! answer instead of calling the upstream too. A slot answered from the
//! cache carries `cachedAt` (RFC 3339, when the answer was fetched) at the
//! top of its loaded data. A store error never fails a fetch: the upstream
//! is asked directly and the error logged.
//!
//! `SOURCE_CACHE=off` turns the cache off (every fetch goes upstream); the
//! Overpass lease stays on either way.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::SourceOutcome;
use crate::clock::Clock;
use crate::model::SourceType;
use crate::store::source_cache::{FillGate, LeaseGate, SourceCache, UpstreamLease};

/// How often a waiter asks the store again for a key another caller is
/// filling, or for a busy upstream lease.
const POLL: Duration = Duration::from_millis(25);

/// Whether the cache is on and how long each source's answers live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// `SOURCE_CACHE` (`on` by default, `off` to turn it off).
    pub enabled: bool,
    /// CQC location records (`SOURCE_CACHE_TTL_CQC_SECS`, default 24 h:
    /// CQC publishes changes daily).
    pub cqc: Duration,
    /// FSA matches (`SOURCE_CACHE_TTL_FSA_SECS`, default 7 d).
    pub fsa: Duration,
    /// Google place ids only (`SOURCE_CACHE_TTL_GOOGLE_PLACE_ID_SECS`,
    /// default 30 d; Google asks for ids older than 12 months to be
    /// refreshed).
    pub google_place_id: Duration,
    /// postcodes.io lookups (`SOURCE_CACHE_TTL_POSTCODES_SECS`, default 30 d).
    pub postcodes: Duration,
    /// Overpass amenities per rounded point (`SOURCE_CACHE_TTL_OVERPASS_SECS`,
    /// default 7 d, as the original system kept them).
    pub overpass: Duration,
    /// Firecrawl page insights (`SOURCE_CACHE_TTL_FIRECRAWL_SECS`, default 7 d).
    pub firecrawl: Duration,
    /// Companies House company records, per company number
    /// (`SOURCE_CACHE_TTL_COMPANIES_HOUSE_SECS`, default 24 h: a status
    /// change or an overdue filing shows the next day).
    pub companies_house: Duration,
}

const DAY: u64 = 24 * 3600;

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            cqc: Duration::from_secs(DAY),
            fsa: Duration::from_secs(7 * DAY),
            google_place_id: Duration::from_secs(30 * DAY),
            postcodes: Duration::from_secs(30 * DAY),
            overpass: Duration::from_secs(7 * DAY),
            firecrawl: Duration::from_secs(7 * DAY),
            companies_house: Duration::from_secs(DAY),
        }
    }
}

impl CacheConfig {
    /// The longest TTL (what the retention text quotes).
    pub fn longest(&self) -> Duration {
        [
            self.cqc,
            self.fsa,
            self.google_place_id,
            self.postcodes,
            self.overpass,
            self.firecrawl,
            self.companies_house,
        ]
        .into_iter()
        .max()
        .unwrap_or_default()
    }
}

/// What the sources share: the cache (when on), the upstream lease and the
/// clock both are read with.
pub(crate) struct Shared {
    cache: Option<Arc<dyn SourceCache>>,
    lease: Arc<dyn UpstreamLease>,
    clock: Arc<dyn Clock>,
    settings: CacheConfig,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cache", &self.cache.is_some())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A fill lock held by this caller.
#[derive(Debug)]
pub(crate) struct Fill {
    source: &'static str,
    key: String,
    token: String,
}

/// What the cache said about a key.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A live answer and when it was fetched.
    Hit(Value, DateTime<Utc>),
    /// Fetch it; store the answer with the fill (when there is one).
    Miss(Option<Fill>),
}

impl Shared {
    /// No cache; an in-process lease; the system clock.
    pub(crate) fn local() -> Self {
        Self {
            cache: None,
            lease: Arc::new(crate::store::source_cache::MemorySourceCache::new()),
            clock: Arc::new(crate::clock::SystemClock),
            settings: CacheConfig {
                enabled: false,
                ..CacheConfig::default()
            },
        }
    }

    /// The cache in `cache` (unless `settings` turn it off) and the lease in
    /// `lease`, read with `clock`.
    pub(crate) fn new(
        cache: Arc<dyn SourceCache>,
        lease: Arc<dyn UpstreamLease>,
        clock: Arc<dyn Clock>,
        settings: CacheConfig,
    ) -> Self {
        Self {
            cache: settings.enabled.then_some(cache),
            lease,
            clock,
            settings,
        }
    }

    /// The settings.
    pub(crate) fn settings(&self) -> &CacheConfig {
        &self.settings
    }

    /// The current time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Looks `key` up for `source`; waits (polling) while another caller
    /// fills it, at most `fill_ttl`.
    pub(crate) async fn lookup(
        &self,
        source: &'static str,
        key: &str,
        fill_ttl: Duration,
    ) -> Lookup {
        let Some(cache) = &self.cache else {
            return Lookup::Miss(None);
        };
        let token = uuid::Uuid::new_v4().simple().to_string();
        let max_polls = (fill_ttl.as_millis() / POLL.as_millis()).max(1) + 1;
        for _ in 0..max_polls {
            match cache.begin(source, key, &token, self.now(), fill_ttl).await {
                Ok(FillGate::Hit(entry)) => return Lookup::Hit(entry.value, entry.fetched_at),
                Ok(FillGate::Fill) => {
                    return Lookup::Miss(Some(Fill {
                        source,
                        key: key.to_owned(),
                        token,
                    }))
                }
                Ok(FillGate::Wait(_)) => tokio::time::sleep(POLL).await,
                Err(e) => {
                    tracing::warn!(source, error = %e, "source cache unavailable; fetching directly");
                    return Lookup::Miss(None);
                }
            }
        }
        // The filler outlived its lock's bound on our side: fetch directly.
        Lookup::Miss(None)
    }

    /// Ends a fill: stores `value` for `ttl`, or (`None`: the fetch failed)
    /// gives the lock back so a waiter may fetch.
    pub(crate) async fn finish(&self, fill: Option<Fill>, value: Option<&Value>, ttl: Duration) {
        let (Some(cache), Some(fill)) = (&self.cache, fill) else {
            return;
        };
        let result = match value {
            Some(v) => {
                cache
                    .complete(fill.source, &fill.key, &fill.token, v, self.now(), ttl)
                    .await
            }
            None => cache.abandon(fill.source, &fill.key, &fill.token).await,
        };
        if let Err(e) = result {
            tracing::warn!(source = fill.source, error = %e, "source cache write failed");
        }
    }

    /// A whole-slot fetch through the cache: `loaded` and `not_found`
    /// answers are kept for `ttl`, failures are not. A hit's data gets
    /// `cachedAt`.
    pub(crate) async fn through<F>(
        &self,
        source: SourceType,
        key: &str,
        ttl: Duration,
        fill_ttl: Duration,
        fetch: F,
    ) -> SourceOutcome
    where
        F: std::future::Future<Output = SourceOutcome>,
    {
        match self.lookup(source.as_str(), key, fill_ttl).await {
            Lookup::Hit(value, at) => match decode(&value) {
                Some(outcome) => with_cached_at(outcome, at),
                // An entry we cannot read is a miss (never cached by us).
                None => fetch.await,
            },
            Lookup::Miss(fill) => {
                let outcome = fetch.await;
                let value = encode(&outcome);
                self.finish(fill, value.as_ref(), ttl).await;
                outcome
            }
        }
    }

    /// Takes the upstream lease `name`, waiting (polling) while it is busy
    /// for at most `max_wait`; `Err` with the time still to wait when that is
    /// longer. A store error lets the request go (and is logged).
    pub(crate) async fn acquire_lease(
        &self,
        name: &str,
        ttl: Duration,
        max_wait: Duration,
    ) -> Result<Option<String>, Duration> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let started = std::time::Instant::now();
        loop {
            let waited = started.elapsed();
            match self.lease.acquire(name, &token, self.now(), ttl).await {
                Ok(LeaseGate::Granted) => return Ok(Some(token)),
                // A cool-down's end is known: give up at once when it is
                // beyond what we may wait.
                Ok(LeaseGate::CoolingDown(left)) if waited + left > max_wait => return Err(left),
                Ok(LeaseGate::Busy(left)) if waited >= max_wait => return Err(left.min(ttl)),
                Ok(LeaseGate::CoolingDown(left)) => {
                    tokio::time::sleep(left.max(Duration::from_millis(1))).await
                }
                Ok(LeaseGate::Busy(_)) => tokio::time::sleep(POLL).await,
                Err(e) => {
                    tracing::warn!(upstream = name, error = %e, "upstream lease unavailable; sending anyway");
                    return Ok(None);
                }
            }
        }
    }

    /// Gives the lease back, with a cool-down when the upstream refused us.
    pub(crate) async fn release_lease(
        &self,
        name: &str,
        token: Option<String>,
        cooldown: Duration,
    ) {
        let Some(token) = token else { return };
        if let Err(e) = self.lease.release(name, &token, self.now(), cooldown).await {
            tracing::warn!(upstream = name, error = %e, "upstream lease release failed");
        }
    }
}

/// A cacheable outcome as stored: loaded data or not found.
pub(crate) fn encode(outcome: &SourceOutcome) -> Option<Value> {
    match outcome {
        SourceOutcome::Loaded(data) => Some(json!({"loaded": data})),
        SourceOutcome::NotFound => Some(json!({"not_found": true})),
        SourceOutcome::NotConfigured | SourceOutcome::Failed(_) => None,
    }
}

/// The stored form back.
pub(crate) fn decode(value: &Value) -> Option<SourceOutcome> {
    if let Some(data) = value.get("loaded") {
        return Some(SourceOutcome::Loaded(data.clone()));
    }
    (value.get("not_found") == Some(&Value::Bool(true))).then_some(SourceOutcome::NotFound)
}

/// `at` as the report shows it.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Marks a loaded answer as coming from the cache.
pub(crate) fn with_cached_at(outcome: SourceOutcome, at: DateTime<Utc>) -> SourceOutcome {
    match outcome {
        SourceOutcome::Loaded(mut data) => {
            if let Some(obj) = data.as_object_mut() {
                obj.insert("cachedAt".to_owned(), json!(stamp(at)));
            }
            SourceOutcome::Loaded(data)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_are_encoded() {
        assert_eq!(
            decode(&encode(&SourceOutcome::NotFound).unwrap()),
            Some(SourceOutcome::NotFound)
        );
        let loaded = SourceOutcome::Loaded(json!({"a": 1}));
        assert_eq!(decode(&encode(&loaded).unwrap()), Some(loaded));
        assert!(encode(&SourceOutcome::NotConfigured).is_none());
        assert!(encode(&SourceOutcome::Failed(super::super::http::transient("x"))).is_none());
    }
}
