//! Builds the whole service from the environment: store, directory,
//! sources (live or sandbox), retry policy, engine, HTTP settings.
//!
//! Both hosts use this: the Vercel functions (Redis mandatory, live sources
//! by default) and the dev-server (memory unless a Redis URL is set, sandbox
//! sources by default). A Redis URL that is set but unreachable is an error,
//! never a silent fall-back to memory: that would lose jobs across instances.

use std::sync::Arc;

use crate::config::{env_str, ConfigError};
use crate::directory::{Directory, DirectoryError};
use crate::engine::{Engine, EngineConfig, EngineParts, SystemClock};
use crate::http::{App, HttpConfig};
use crate::retry::RetryPolicy;
use crate::sandbox::{FaultPlan, Sandbox};
use crate::sources::{CacheSettings, Sources, SourcesConfig};
use crate::store::health::Verdict;
use crate::store::redis::{redis_url_from_env, RedisConfig, RedisStore};
use crate::store::source_cache::{MemorySourceCache, SourceCache, UpstreamLease};
use crate::store::{JobStore, MemoryStore, Retention, StoreError};

/// Where the sources' requests go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourcesMode {
    /// In-process fake servers (no keys, no network).
    Sandbox,
    /// The real public APIs.
    Live,
}

impl SourcesMode {
    /// `"sandbox"` or `"live"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Live => "live",
        }
    }
}

/// What differs between hosts.
#[derive(Clone, Copy, Debug)]
pub struct HostProfile {
    /// Whether memory may be used when no Redis URL is set (dev-server yes,
    /// Vercel no).
    pub allow_memory: bool,
    /// Sources mode when `SOURCES_MODE` is unset.
    pub default_sources: SourcesMode,
}

impl HostProfile {
    /// The dev-server: memory allowed, sandbox by default.
    pub const DEV_SERVER: Self = Self {
        allow_memory: true,
        default_sources: SourcesMode::Sandbox,
    };
    /// A Vercel function: Redis mandatory, live sources by default.
    pub const VERCEL: Self = Self {
        allow_memory: false,
        default_sources: SourcesMode::Live,
    };
}

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
    /// The sandbox could not start.
    #[error("sandbox: {0}")]
    Sandbox(#[from] std::io::Error),
    /// The sources could not be set up.
    #[error("sources: {0}")]
    Sources(String),
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

impl Service {
    /// Builds the service from the process environment.
    pub async fn from_env(profile: HostProfile) -> Result<Self, ServiceError> {
        let lookup = |k: &str| std::env::var(k).ok();
        // The source cache and the Overpass lease live in the job store's
        // Redis (shared by every instance), or in memory beside a memory store.
        let (store, cache, lease): (
            Arc<dyn JobStore>,
            Arc<dyn SourceCache>,
            Arc<dyn UpstreamLease>,
        ) = match redis_url_from_env() {
            Some(url) => {
                let redis = RedisStore::connect(&url, RedisConfig::from_env()?).await?;
                // Where memory is not allowed (Vercel) an evicting Redis is
                // refused; the dev-server warns.
                let policy = redis.eviction_policy().await?;
                match crate::store::health::judge(&policy, !profile.allow_memory) {
                    Verdict::Ok => {}
                    Verdict::Warn(msg) => tracing::warn!("{msg}"),
                    Verdict::Refuse(msg) => return Err(ServiceError::Eviction(msg)),
                }
                (
                    Arc::new(redis.clone()),
                    Arc::new(redis.clone()),
                    Arc::new(redis),
                )
            }
            None if profile.allow_memory => {
                let cache = Arc::new(MemorySourceCache::new());
                (
                    Arc::new(MemoryStore::new(Retention::from_env()?)),
                    cache.clone(),
                    cache,
                )
            }
            None => return Err(ServiceError::RedisRequired),
        };
        let directory = Arc::new(Directory::from_env()?);
        let sources_mode = match env_str(&lookup, "SOURCES_MODE").as_deref() {
            None => profile.default_sources,
            Some("sandbox") => SourcesMode::Sandbox,
            Some("live") => SourcesMode::Live,
            Some(_) => {
                return Err(ConfigError::invalid("SOURCES_MODE", "expected sandbox or live").into())
            }
        };
        let (sources_config, sandbox) = match sources_mode {
            SourcesMode::Live => (
                SourcesConfig::live_from_env().map_err(|e| ServiceError::Sources(e.to_string()))?,
                None,
            ),
            SourcesMode::Sandbox => {
                let faults =
                    FaultPlan::from_env().map_err(|e| ServiceError::Sources(e.to_string()))?;
                let sandbox = Sandbox::start(directory.homes().to_vec(), faults).await?;
                (sandbox.sources_config(), Some(Arc::new(sandbox)))
            }
        };
        if sources_mode == SourcesMode::Live && sources_config.user_agent_is_default() {
            tracing::warn!("SOURCES_USER_AGENT is not set: upstreams see no operator contact");
        }
        let sources = Arc::new(
            Sources::new(sources_config)
                .map_err(|e| ServiceError::Sources(e.to_string()))?
                .with_cache(
                    cache,
                    lease,
                    Arc::new(SystemClock),
                    CacheSettings::from_env()?,
                ),
        );
        let http = HttpConfig::from_env()?;
        let engine = Engine::new(EngineParts {
            store,
            sources,
            directory,
            policy: RetryPolicy::from_env()?,
            config: EngineConfig::from_env()?,
            clock: Arc::new(SystemClock),
        })
        .with_budget(http.limits.daily_paid_calls);
        let app = App {
            engine: Arc::new(engine),
            config: http,
            sources_mode: sources_mode.as_str(),
        };
        tracing::info!(
            store = app.engine.store().kind(),
            sources = sources_mode.as_str(),
            directory = app.engine.directory().label(),
            "service ready"
        );
        Ok(Self {
            app,
            sandbox,
            sources_mode,
        })
    }
}
