//! The shared source cache and the upstream lease: the store contract on
//! both stores, then whole jobs through the engine. 20 concurrent jobs for
//! one city make one upstream call per (source, home); a second report
//! within the TTL makes none (Google aside: only its place id is kept); an
//! expired entry is fetched again (manual clock); on Redis the cache
//! survives a restart (a new store on the same prefix).

use std::sync::Arc;
use std::time::Duration;

use care_report::directory::Directory;
use care_report::engine::{Engine, ManualClock};
use care_report::model::{JobId, JobStatus, SlotStatus, SourceType};
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::sources::{CacheConfig, Sources};
use care_report::store::source_cache::{
    FillGate, LeaseGate, MemorySourceCache, SourceCache, UpstreamLease,
};
use care_report::store::{JobStore, MemoryStore, Retention};
use care_report_testing::rig::EngineRig;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---- The store contract ------------------------------------------------

async fn contract(cache: Arc<dyn SourceCache>, lease: Arc<dyn UpstreamLease>) {
    let now = t0();
    let v = json!({"loaded": {"x": 1}});
    // Miss: the first caller fills, a second waits, the holder may ask again.
    assert_eq!(
        cache.begin("cqc", "h1", "a", now, secs(10)).await.unwrap(),
        FillGate::Fill
    );
    assert!(matches!(
        cache.begin("cqc", "h1", "b", now, secs(10)).await.unwrap(),
        FillGate::Wait(d) if d <= secs(10) && d > Duration::ZERO
    ));
    assert_eq!(
        cache.begin("cqc", "h1", "a", now, secs(10)).await.unwrap(),
        FillGate::Fill
    );
    // Another key and another source are independent.
    assert_eq!(
        cache.begin("fsa", "h1", "b", now, secs(10)).await.unwrap(),
        FillGate::Fill
    );
    // Complete: everyone hits, with the fetch instant.
    cache
        .complete("cqc", "h1", "a", &v, now, secs(60))
        .await
        .unwrap();
    match cache
        .begin(
            "cqc",
            "h1",
            "b",
            now + chrono::Duration::seconds(59),
            secs(10),
        )
        .await
        .unwrap()
    {
        FillGate::Hit(e) => {
            assert_eq!(e.value, v);
            assert_eq!(e.fetched_at, now);
        }
        other => panic!("{other:?}"),
    }
    // Expired by `now`: a miss again.
    assert_eq!(
        cache
            .begin(
                "cqc",
                "h1",
                "b",
                now + chrono::Duration::seconds(60),
                secs(10)
            )
            .await
            .unwrap(),
        FillGate::Fill
    );
    // Abandon gives the lock back; someone else's abandon does not.
    assert_eq!(
        cache.begin("cqc", "h2", "a", now, secs(10)).await.unwrap(),
        FillGate::Fill
    );
    cache.abandon("cqc", "h2", "b").await.unwrap();
    assert!(matches!(
        cache.begin("cqc", "h2", "b", now, secs(10)).await.unwrap(),
        FillGate::Wait(_)
    ));
    cache.abandon("cqc", "h2", "a").await.unwrap();
    assert_eq!(
        cache.begin("cqc", "h2", "b", now, secs(10)).await.unwrap(),
        FillGate::Fill
    );
    // A fill lock expires by `now`.
    assert_eq!(
        cache.begin("cqc", "h3", "a", now, secs(10)).await.unwrap(),
        FillGate::Fill
    );
    assert_eq!(
        cache
            .begin(
                "cqc",
                "h3",
                "b",
                now + chrono::Duration::seconds(10),
                secs(10)
            )
            .await
            .unwrap(),
        FillGate::Fill
    );

    // The lease: one holder; release; cool-down; expiry.
    assert_eq!(
        lease.acquire("overpass", "a", now, secs(30)).await.unwrap(),
        LeaseGate::Granted
    );
    assert!(matches!(
        lease.acquire("overpass", "b", now, secs(30)).await.unwrap(),
        LeaseGate::Busy(_)
    ));
    assert_eq!(
        lease.acquire("mirror", "b", now, secs(30)).await.unwrap(),
        LeaseGate::Granted
    );
    lease
        .release("overpass", "b", now, Duration::ZERO)
        .await
        .unwrap();
    assert!(matches!(
        lease.acquire("overpass", "b", now, secs(30)).await.unwrap(),
        LeaseGate::Busy(_)
    ));
    lease.release("overpass", "a", now, secs(30)).await.unwrap();
    assert_eq!(
        lease
            .acquire(
                "overpass",
                "b",
                now + chrono::Duration::seconds(29),
                secs(30)
            )
            .await
            .unwrap(),
        LeaseGate::CoolingDown(secs(1))
    );
    assert_eq!(
        lease
            .acquire(
                "overpass",
                "b",
                now + chrono::Duration::seconds(30),
                secs(30)
            )
            .await
            .unwrap(),
        LeaseGate::Granted
    );
    // A holder that never releases loses the lease at its TTL.
    assert_eq!(
        lease
            .acquire(
                "overpass",
                "c",
                now + chrono::Duration::seconds(60),
                secs(30)
            )
            .await
            .unwrap(),
        LeaseGate::Granted
    );
}

#[tokio::test]
async fn contract_memory() {
    let c = Arc::new(MemorySourceCache::new());
    contract(c.clone(), c).await;
}

#[tokio::test]
async fn contract_redis() {
    let prefix = care_report_testing::redis::unique_prefix();
    let s = Arc::new(
        care_report_testing::redis::store_with_prefix(&prefix, Retention::default()).await,
    );
    contract(s.clone(), s).await;
    // Every key the cache wrote has a TTL.
    let without = care_report_testing::redis::keys_without_ttl(&prefix).await;
    assert!(without.is_empty(), "{without:?}");
}

// ---- Whole jobs --------------------------------------------------------

struct Stores {
    store: Arc<dyn JobStore>,
    cache: Arc<dyn SourceCache>,
    lease: Arc<dyn UpstreamLease>,
}

async fn engine(stores: &Stores, sandbox: &Arc<Sandbox>, clock: Arc<ManualClock>) -> Arc<Engine> {
    let rig = EngineRig::new(stores.store.clone())
        .sandbox(sandbox.clone())
        .cache(
            stores.cache.clone(),
            stores.lease.clone(),
            CacheConfig::default(),
        )
        .clock(clock)
        .build()
        .await;
    Arc::new(rig.engine)
}

fn questionnaire() -> Value {
    serde_json::from_str(include_str!("../fixtures/questionnaire.json")).unwrap()
}

async fn run_jobs(engine: &Arc<Engine>, n: usize) -> Vec<JobId> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(engine.submit(questionnaire(), None).await.unwrap().job().id);
    }
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            let engine = engine.clone();
            let id = *id;
            tokio::spawn(async move { engine.process(id).await.unwrap() })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    ids
}

/// Requests per (source, home) of the homes the jobs chose; Companies
/// House's per (source, company number), since it is asked once per
/// provider, not per home.
async fn counts(stores: &Stores, sandbox: &Sandbox, id: JobId) -> Vec<(SourceType, String, u64)> {
    let job = stores.store.get(id).await.unwrap().unwrap();
    let directory = Directory::demo();
    job.slots
        .iter()
        .map(|s| {
            let key = match s.source_type {
                SourceType::CompaniesHouse => directory
                    .find(&s.home_id)
                    .and_then(|h| h.provider_company_number.clone())
                    .expect("demo homes name their provider's number"),
                _ => s.home_id.clone(),
            };
            let n = sandbox.requests_for(s.source_type, &key);
            (s.source_type, key, n)
        })
        .collect()
}

async fn cache_is_shared_across_jobs(stores: Stores, reopen: Option<Stores>) {
    let sandbox = Arc::new(
        Sandbox::start(Directory::demo().homes().to_vec(), FaultPlan::none())
            .await
            .unwrap(),
    );
    let clock = Arc::new(ManualClock::new(t0()));
    let e = engine(&stores, &sandbox, clock.clone()).await;

    // 20 concurrent jobs for the same city.
    let ids = run_jobs(&e, 20).await;
    for id in &ids {
        let job = stores.store.get(*id).await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Completed, "{:?}", job.message);
    }
    let first = counts(&stores, &sandbox, ids[0]).await;
    assert_eq!(first.len(), 30);
    for (source, home, n) in &first {
        // Google: one search, then one details call per other job with the
        // cached place id (its content is never cached).
        let want = if *source == SourceType::GooglePlaces {
            20
        } else {
            1
        };
        assert_eq!(*n, want, "{source} {home}");
    }
    // Answers from the cache say so.
    let job = stores.store.get(ids[19]).await.unwrap().unwrap();
    let data = stores.store.source_data(job.id).await.unwrap();
    assert!(data.iter().any(|(_, d)| d.get("cachedAt").is_some()));
    assert!(job.slots.iter().all(|s| s.status != SlotStatus::Missing));

    // A second report within the TTL: no new call but Google's.
    let again = run_jobs(&e, 1).await;
    for (source, home, n) in counts(&stores, &sandbox, again[0]).await {
        let want = if source == SourceType::GooglePlaces {
            21
        } else {
            1
        };
        assert_eq!(n, want, "{source} {home}");
    }
    let data = stores.store.source_data(again[0]).await.unwrap();
    for (key, d) in &data {
        if key.source_type == SourceType::GooglePlaces {
            assert!(d.get("cachedAt").is_none());
        } else {
            assert!(d["cachedAt"].is_string(), "{key:?}");
        }
    }

    // 25 hours on: CQC and Companies House (24 h) are fetched again, the
    // 7-day sources are not.
    clock.advance(Duration::from_secs(25 * 3600));
    let later = run_jobs(&e, 1).await;
    for (source, home, n) in counts(&stores, &sandbox, later[0]).await {
        let want = match source {
            SourceType::Cqc | SourceType::CompaniesHouse => 2,
            SourceType::GooglePlaces => 22,
            _ => 1,
        };
        assert_eq!(n, want, "{source} {home}");
    }

    // A restart: a new store on the same Redis prefix still has the cache.
    if let Some(reopened) = reopen {
        let e = engine(&reopened, &sandbox, clock.clone()).await;
        let after = run_jobs(&e, 1).await;
        for (source, home, n) in counts(&reopened, &sandbox, after[0]).await {
            let want = match source {
                SourceType::Cqc | SourceType::CompaniesHouse => 2,
                SourceType::GooglePlaces => 23,
                _ => 1,
            };
            assert_eq!(n, want, "after restart: {source} {home}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_jobs_one_city_memory() {
    let cache = Arc::new(MemorySourceCache::new());
    let stores = Stores {
        store: Arc::new(MemoryStore::default()),
        cache: cache.clone(),
        lease: cache,
    };
    cache_is_shared_across_jobs(stores, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_jobs_one_city_redis_and_a_restart() {
    let prefix = care_report_testing::redis::unique_prefix();
    let open = || async {
        let s = Arc::new(
            care_report_testing::redis::store_with_prefix(&prefix, Retention::default()).await,
        );
        Stores {
            store: s.clone(),
            cache: s.clone(),
            lease: s,
        }
    };
    let first = open().await;
    let second = open().await;
    cache_is_shared_across_jobs(first, Some(second)).await;
    let without = care_report_testing::redis::keys_without_ttl(&prefix).await;
    assert!(without.is_empty(), "{without:?}");
}

#[tokio::test]
async fn source_cache_off_fetches_every_time() {
    let sandbox = Sandbox::start(Directory::demo().homes().to_vec(), FaultPlan::none())
        .await
        .unwrap();
    let cache = Arc::new(MemorySourceCache::new());
    let off =
        care_report::settings::cache_settings(|k| (k == "SOURCE_CACHE").then(|| "off".into()))
            .unwrap();
    let sources = Sources::new(sandbox.sources_config()).unwrap().with_cache(
        cache.clone(),
        cache.clone(),
        Arc::new(ManualClock::new(t0())),
        off,
    );
    let home = Directory::demo().homes()[0].clone();
    for _ in 0..2 {
        sources.fetch(SourceType::Cqc, &home).await;
    }
    assert_eq!(sandbox.requests_for(SourceType::Cqc, &home.id), 2);
    assert!(cache.is_empty());
}

#[tokio::test]
async fn failures_are_not_cached_and_not_found_is() {
    let sandbox = Sandbox::start(
        Directory::demo().homes().to_vec(),
        FaultPlan::parse("cqc:status=503,heal_after=1").unwrap(),
    )
    .await
    .unwrap();
    let cache = Arc::new(MemorySourceCache::new());
    let sources = Sources::new(sandbox.sources_config()).unwrap().with_cache(
        cache.clone(),
        cache.clone(),
        Arc::new(ManualClock::new(t0())),
        CacheConfig::default(),
    );
    let home = Directory::demo().homes()[0].clone();
    assert!(matches!(
        sources.fetch(SourceType::Cqc, &home).await,
        care_report::sources::SourceOutcome::Failed(_)
    ));
    assert!(matches!(
        sources.fetch(SourceType::Cqc, &home).await,
        care_report::sources::SourceOutcome::Loaded(_)
    ));
    assert!(matches!(
        sources.fetch(SourceType::Cqc, &home).await,
        care_report::sources::SourceOutcome::Loaded(_)
    ));
    assert_eq!(sandbox.requests_for(SourceType::Cqc, &home.id), 2);
    // A home CQC does not know: its first attempt fails (the fault), the
    // second is not_found, and later ones are answered from the cache.
    let mut stranger = home.clone();
    stranger.id = "1-000000000".into();
    assert!(matches!(
        sources.fetch(SourceType::Cqc, &stranger).await,
        care_report::sources::SourceOutcome::Failed(_)
    ));
    for _ in 0..3 {
        assert_eq!(
            sources.fetch(SourceType::Cqc, &stranger).await,
            care_report::sources::SourceOutcome::NotFound
        );
    }
    assert_eq!(sandbox.requests_for(SourceType::Cqc, &stranger.id), 2);
}
