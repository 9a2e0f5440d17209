//! One way for tests to build an [`Engine`]: against the sandbox's fake
//! sources, on the demo directory, with a clock the test controls.
//!
//! Test suites used to assemble `Engine::new(EngineParts { … })` by hand,
//! each with its own copy of the sandbox start, the sources and the clock;
//! a new part of the engine then meant editing every copy. The rig holds
//! the defaults once and each test names only what it changes:
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use care_report::sandbox::FaultPlan;
//! use care_report::store::{JobStore, MemoryStore};
//! use care_report_testing::rig::EngineRig;
//! let store: Arc<dyn JobStore> = Arc::new(MemoryStore::default());
//! let rig = EngineRig::new(store)
//!     .faults(FaultPlan::parse("cqc:status=503").unwrap())
//!     .build()
//!     .await;
//! rig.clock.advance(std::time::Duration::from_secs(60));
//! # let _ = rig.engine;
//! # }
//! ```
//!
//! Defaults: no faults, a fresh sandbox, [`RetryPolicy::default`],
//! [`EngineConfig::default`], no source cache, no daily budget, and a
//! [`ManualClock`] standing at [`t0`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use care_report::directory::Directory;
use care_report::engine::{Clock, Engine, EngineConfig, EngineParts, ManualClock};
use care_report::retry::RetryPolicy;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::sources::{CacheConfig, Sources};
use care_report::store::source_cache::{SourceCache, UpstreamLease};
use care_report::store::JobStore;

/// Where a rig's [`ManualClock`] stands unless told otherwise:
/// 2025-01-06 09:00 UTC, a Monday morning.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 6, 9, 0, 0)
        .single()
        .expect("a valid instant")
}

/// The source cache a rig's sources read through (see [`EngineRig::cache`]).
struct Cache {
    cache: Arc<dyn SourceCache>,
    lease: Arc<dyn UpstreamLease>,
    settings: CacheConfig,
}

/// A builder of an engine for tests; `C` is the type of the clock the test
/// keeps (a [`ManualClock`] unless [`EngineRig::clock`] replaced it).
#[must_use = "an EngineRig does nothing until `build` is awaited"]
pub struct EngineRig<C: ?Sized = ManualClock> {
    store: Arc<dyn JobStore>,
    faults: FaultPlan,
    sandbox: Option<Arc<Sandbox>>,
    policy: RetryPolicy,
    config: EngineConfig,
    timeout: Option<Duration>,
    cache: Option<Cache>,
    budget: Option<u64>,
    // Kept twice because an `Arc<C>` of an unsized `C` (`dyn Clock`) cannot
    // be turned into the engine's `Arc<dyn Clock>` generically.
    clock: Arc<C>,
    engine_clock: Arc<dyn Clock>,
}

/// What [`EngineRig::build`] gives back.
pub struct Rig<C: ?Sized = ManualClock> {
    /// The engine.
    pub engine: Engine,
    /// The fake sources the engine talks to (shared, so a second engine
    /// can be built against the same servers and counters).
    pub sandbox: Arc<Sandbox>,
    /// The engine's clock.
    pub clock: Arc<C>,
}

impl EngineRig<ManualClock> {
    /// A rig for an engine over `store`, with the defaults listed in the
    /// module documentation.
    pub fn new(store: Arc<dyn JobStore>) -> Self {
        let clock = Arc::new(ManualClock::new(t0()));
        Self {
            store,
            faults: FaultPlan::none(),
            sandbox: None,
            policy: RetryPolicy::default(),
            config: EngineConfig::default(),
            timeout: None,
            cache: None,
            budget: None,
            engine_clock: clock.clone(),
            clock,
        }
    }

    /// The manual clock stands at `start` instead of [`t0`].
    pub fn start_at(self, start: DateTime<Utc>) -> Self {
        self.clock(Arc::new(ManualClock::new(start)))
    }
}

impl<C: ?Sized> EngineRig<C> {
    /// The sandbox answers with these faults (ignored when
    /// [`EngineRig::sandbox`] gives a running one).
    pub fn faults(mut self, faults: FaultPlan) -> Self {
        self.faults = faults;
        self
    }

    /// The engine talks to this running sandbox instead of a fresh one.
    pub fn sandbox(mut self, sandbox: Arc<Sandbox>) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    /// The retry policy.
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The scheduling tunables.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Every source's request timeout (for sandbox delays longer than the
    /// sources' default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The sources read through this cache and upstream lease (on the rig's
    /// clock).
    pub fn cache(
        mut self,
        cache: Arc<dyn SourceCache>,
        lease: Arc<dyn UpstreamLease>,
        settings: CacheConfig,
    ) -> Self {
        self.cache = Some(Cache {
            cache,
            lease,
            settings,
        });
        self
    }

    /// The engine's daily budget of paid calls (`None`: unlimited).
    pub fn budget(mut self, daily_paid_calls: Option<u64>) -> Self {
        self.budget = daily_paid_calls;
        self
    }

    /// The engine reads this clock; the test keeps it as an `Arc<C2>`.
    pub fn clock<C2: Clock>(self, clock: Arc<C2>) -> EngineRig<C2> {
        let engine_clock: Arc<dyn Clock> = clock.clone();
        self.with_clock(clock, engine_clock)
    }

    /// The engine reads this clock, given already as a trait object.
    pub fn dyn_clock(self, clock: Arc<dyn Clock>) -> EngineRig<dyn Clock> {
        self.with_clock(clock.clone(), clock)
    }

    fn with_clock<C2: ?Sized>(self, clock: Arc<C2>, engine_clock: Arc<dyn Clock>) -> EngineRig<C2> {
        EngineRig {
            store: self.store,
            faults: self.faults,
            sandbox: self.sandbox,
            policy: self.policy,
            config: self.config,
            timeout: self.timeout,
            cache: self.cache,
            budget: self.budget,
            clock,
            engine_clock,
        }
    }

    /// Starts the sandbox (unless one was given) and builds the engine on
    /// the demo directory. Panics when the sandbox or the sources cannot be
    /// set up: a test cannot go on without them.
    pub async fn build(self) -> Rig<C> {
        let directory = Directory::demo();
        let sandbox = match self.sandbox {
            Some(sandbox) => sandbox,
            None => Arc::new(
                Sandbox::start(directory.homes().to_vec(), self.faults)
                    .await
                    .expect("sandbox starts"),
            ),
        };
        let mut sources_config = sandbox.sources_config();
        if let Some(timeout) = self.timeout {
            for s in [
                &mut sources_config.cqc,
                &mut sources_config.fsa,
                &mut sources_config.google_places,
                &mut sources_config.postcodes,
                &mut sources_config.overpass,
                &mut sources_config.firecrawl,
                &mut sources_config.companies_house,
            ] {
                s.timeout = timeout;
            }
        }
        let mut sources = Sources::new(sources_config).expect("sandbox sources config");
        if let Some(c) = self.cache {
            sources = sources.with_cache(c.cache, c.lease, self.engine_clock.clone(), c.settings);
        }
        let engine = Engine::new(EngineParts {
            store: self.store,
            sources: Arc::new(sources),
            directory: Arc::new(directory),
            policy: self.policy,
            config: self.config,
            clock: self.engine_clock,
        })
        .with_budget(self.budget);
        Rig {
            engine,
            sandbox,
            clock: self.clock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use care_report::engine::SystemClock;
    use care_report::model::SourceType;
    use care_report::store::MemoryStore;

    fn store() -> Arc<dyn JobStore> {
        Arc::new(MemoryStore::default())
    }

    fn questionnaire() -> serde_json::Value {
        serde_json::from_str(include_str!("../../lib/tests/fixtures/questionnaire.json")).unwrap()
    }

    #[tokio::test]
    async fn the_engine_reads_the_manual_clock_the_test_holds() {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap();
        let rig = EngineRig::new(store()).start_at(start).build().await;
        rig.clock.advance(Duration::from_secs(90));
        let id = rig
            .engine
            .submit(questionnaire(), None)
            .await
            .unwrap()
            .job()
            .id;
        let job = rig.engine.store().get(id).await.unwrap().unwrap();
        assert_eq!(job.created_at, start + chrono::Duration::seconds(90));
    }

    #[tokio::test]
    async fn the_default_clock_stands_at_t0() {
        let rig = EngineRig::new(store()).build().await;
        let id = rig
            .engine
            .submit(questionnaire(), None)
            .await
            .unwrap()
            .job()
            .id;
        let job = rig.engine.store().get(id).await.unwrap().unwrap();
        assert_eq!(job.created_at, t0());
        assert_eq!(t0(), Utc.with_ymd_and_hms(2025, 1, 6, 9, 0, 0).unwrap());
    }

    #[tokio::test]
    async fn faults_reach_the_engines_sources() {
        let rig = EngineRig::new(store())
            .faults(FaultPlan::parse("cqc:status=503").unwrap())
            .policy(RetryPolicy {
                jitter: 0.0,
                ..RetryPolicy::default()
            })
            .build()
            .await;
        let id = rig
            .engine
            .submit(questionnaire(), None)
            .await
            .unwrap()
            .job()
            .id;
        rig.engine.process(id).await.unwrap();
        let job = rig.engine.store().get(id).await.unwrap().unwrap();
        let missing: Vec<SourceType> = job.missing().map(|s| s.source_type).collect();
        assert!(!missing.is_empty());
        assert!(missing.iter().all(|t| *t == SourceType::Cqc), "{missing:?}");
        assert!(rig.sandbox.requests(SourceType::Cqc) > 0);
    }

    #[tokio::test]
    async fn a_given_sandbox_is_shared_and_its_own_faults_win() {
        let sandbox = Arc::new(
            Sandbox::start(Directory::demo().homes().to_vec(), FaultPlan::none())
                .await
                .unwrap(),
        );
        let rig = EngineRig::new(store())
            .sandbox(sandbox.clone())
            // Ignored: the given sandbox was started without faults.
            .faults(FaultPlan::parse("cqc:status=503").unwrap())
            .clock(Arc::new(SystemClock))
            .build()
            .await;
        assert!(Arc::ptr_eq(&rig.sandbox, &sandbox));
        let id = rig
            .engine
            .submit(questionnaire(), None)
            .await
            .unwrap()
            .job()
            .id;
        rig.engine.process(id).await.unwrap();
        let job = rig.engine.store().get(id).await.unwrap().unwrap();
        assert_eq!(job.missing().count(), 0);
        assert!(sandbox.requests(SourceType::Cqc) > 0);
    }
}
