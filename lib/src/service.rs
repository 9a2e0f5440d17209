//! Builds the whole service from its [`Settings`]: store, directory,
//! sources (live or sandbox), retry policy, engine, HTTP settings.
//!
//! Both hosts use this: the Vercel functions (Redis mandatory, live sources
//! by default) and the dev-server (memory unless a Redis URL is set, sandbox
//! sources by default). A Redis URL that is set but unreachable is an error,
//! never a silent fall-back to memory: that would lose jobs across instances.

use std::sync::Arc;

use crate::directory::{Directory, DirectoryError};
use crate::engine::{Engine, EngineParts, SystemClock};
use crate::http::App;
use crate::sandbox::Sandbox;
use crate::settings::{ConfigError, Settings, SourcesMode};
use crate::sources::{ClientError, Sources};
use crate::store::health::Verdict;
use crate::store::redis::RedisStore;
use crate::store::source_cache::{MemorySourceCache, SourceCache, UpstreamLease};
use crate::store::{JobStore, MemoryStore, StoreError};

/// Why the service could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No Redis URL where one is mandatory.
    #[error("no Redis URL: set KV_REDIS_URL, KV_URL or REDIS_URL (the Upstash/Vercel KV integration sets them)")]
    RedisRequired,
    /// The store could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The directory could not be loaded.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The councils' rates could not be loaded (`COUNCIL_RATES_CSV`).
    #[error(transparent)]
    CouncilRates(#[from] crate::directory::CouncilRatesError),
    /// The sandbox could not start.
    #[error("sandbox: {0}")]
    Sandbox(#[from] std::io::Error),
    /// The sources' HTTP client could not be built.
    #[error(transparent)]
    Sources(#[from] ClientError),
    /// Redis may evict keys (see `store::health`); refused on Vercel.
    #[error("{0}")]
    Eviction(String),
}

/// The built service.
#[derive(Debug)]
pub struct Service {
    /// The HTTP state (holds the engine).
    pub app: App,
    /// The sandbox, when sources run against it (kept alive with the service).
    pub sandbox: Option<Arc<Sandbox>>,
    /// The sources mode.
    pub sources_mode: SourcesMode,
}

/// The job store, and the source cache and Overpass lease beside it.
struct Stores {
    jobs: Arc<dyn JobStore>,
    cache: Arc<dyn SourceCache>,
    lease: Arc<dyn UpstreamLease>,
}

impl Service {
    /// Builds the service the settings describe.
    pub async fn build(settings: Settings) -> Result<Self, ServiceError> {
        let stores = open_stores(&settings).await?;
        let rates = match settings.council_rates_csv.as_deref() {
            Some(path) => {
                let rates = crate::directory::CouncilRates::from_path(path)?;
                tracing::info!(rates = rates.len(), "council rates loaded");
                Some(rates)
            }
            None => None,
        };
        let directory =
            Arc::new(Directory::load(settings.directory_csv.as_deref())?.with_council_rates(rates));
        let (sources_config, sandbox) = match settings.sources_mode {
            SourcesMode::Live => {
                // Overpass's operators require a contact in the agent; the
                // sources refuse to call it without one (and say so).
                let mut live = settings.sources;
                live.require_contact = true;
                (live, None)
            }
            SourcesMode::Sandbox => {
                let sandbox = Sandbox::start(directory.homes().to_vec(), settings.faults).await?;
                (sandbox.sources_config(), Some(Arc::new(sandbox)))
            }
        };
        let sources = Arc::new(Sources::new(sources_config)?.with_cache(
            stores.cache,
            stores.lease,
            Arc::new(SystemClock),
            settings.cache,
        ));
        let engine = Engine::new(EngineParts {
            store: stores.jobs,
            sources,
            directory,
            policy: settings.retry,
            config: settings.engine,
            clock: Arc::new(SystemClock),
        })
        .with_budget(settings.http.limits.daily_paid_calls)
        .with_client_budget(settings.http.limits.client_budget());
        let app = App {
            engine: Arc::new(engine),
            config: settings.http,
            sources_mode: settings.sources_mode.as_str(),
            documents: None,
        };
        tracing::info!(
            store = app.engine.store().kind(),
            sources = settings.sources_mode.as_str(),
            directory = app.engine.directory().label(),
            "service ready"
        );
        Ok(Self {
            app,
            sandbox,
            sources_mode: settings.sources_mode,
        })
    }
}

/// The stores in the Redis the settings name (shared by every instance),
/// or in memory where the host allows it. A Redis URL that is set but
/// unreachable is an error, never a fall-back to memory. Where memory is not
/// allowed (Vercel) an evicting Redis is refused; the dev-server warns.
async fn open_stores(settings: &Settings) -> Result<Stores, ServiceError> {
    let Some(url) = &settings.redis_url else {
        if !settings.profile.allow_memory {
            return Err(ServiceError::RedisRequired);
        }
        let jobs = MemoryStore::new(settings.redis.retention.clone());
        let cache = Arc::new(MemorySourceCache::new().with_ops(jobs.ops_counters()));
        return Ok(Stores {
            jobs: Arc::new(jobs),
            cache: cache.clone(),
            lease: cache,
        });
    };
    let redis = RedisStore::connect(url.expose(), settings.redis.clone())
        .await
        .inspect_err(|e| {
            if matches!(e, StoreError::Tls(_)) {
                tracing::error!(
                    "the Redis server's TLS certificate was refused or the TLS settings do not fit the URL: for a server whose certificate a private CA signed, set REDIS_CA_FILE to that CA's PEM file (and use rediss://)"
                );
            }
        })?;
    let policy = redis.eviction_policy().await?;
    match crate::store::health::judge(&policy, !settings.profile.allow_memory) {
        Verdict::Ok => {}
        Verdict::Warn(msg) => tracing::warn!("{msg}"),
        Verdict::Refuse(msg) => return Err(ServiceError::Eviction(msg)),
    }
    Ok(Stores {
        jobs: Arc::new(redis.clone()),
        cache: Arc::new(redis.clone()),
        lease: Arc::new(redis),
    })
}
