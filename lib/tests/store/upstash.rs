//! The Redis store against Upstash's differences from `redis-server`,
//! through the RESP proxy of `care_report_testing::upstash` (which cites
//! the Upstash docs for each): `EVALSHA` always answers `NOSCRIPT`,
//! `CONFIG GET` answers an empty list, and a full database answers
//! `ERR DB capacity quota exceeded`; and the largest request and reply
//! the store makes, measured there, against Upstash's 10 MB limit.

use std::sync::Arc;

use bytes::Bytes;
use care_report::http::limits::LimitsConfig;
use care_report::model::JobStatus;
use care_report::model::{JobId, Slot, SlotStatus, SourceType};
use care_report::store::health::{judge, EvictionPolicy, Verdict};
use care_report::store::{
    Idempotency, JobStore, NewJob, Record, RedisConfig, RedisStore, SavePlan, MAX_SLOT_DATA_BYTES,
};
use care_report_testing::app::{Dropped, Spawned, TestApp};
use care_report_testing::redis as test_redis;
use care_report_testing::rig::EngineRig;
use care_report_testing::upstash::UpstashProxy;
use serde_json::{json, Value};

const QUESTIONNAIRE: &str = include_str!("../fixtures/questionnaire.json");

/// Every key under `prefix`, sorted (SCAN on a direct connection).
async fn keys(prefix: &str) -> Vec<String> {
    let mut conn = ::redis::Client::open(test_redis::url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut cursor: u64 = 0;
    let mut out = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        out.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_complete_through_an_upstash_like_proxy_and_a_full_store_writes_nothing() {
    let proxy = UpstashProxy::start(&test_redis::url()).await;
    let prefix = test_redis::unique_prefix();
    let config = RedisConfig {
        prefix: prefix.clone(),
        ..RedisConfig::default()
    };
    let store = RedisStore::connect(proxy.url(), config).await.unwrap();
    // Upstash answers CONFIG GET maxmemory-policy with nothing: unknown,
    // and the warning says where to look.
    let policy = store.eviction_policy().await.unwrap();
    assert_eq!(policy, EvictionPolicy::Unknown);
    assert!(matches!(judge(&policy, true), Verdict::Warn(m) if m.contains("Upstash Console")));

    // A whole report, every script through EVAL after NOSCRIPT.
    let store: Arc<dyn JobStore> = Arc::new(store);
    // The sandbox answers the sources while it lives: keep it to the end.
    let Spawned { api, sandbox, .. } = TestApp::builder(EngineRig::new(store.clone()))
        .limits(LimitsConfig::unlimited())
        .build()
        .await;
    let engine = &api.app().engine;
    let q: Value = serde_json::from_str(QUESTIONNAIRE).unwrap();
    let id = engine.submit(q, None).await.unwrap().job().id;
    engine.process(id).await.unwrap();
    let job = store.get(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(job.completeness, 100);
    assert!(proxy.count("EVALSHA") > 0, "redis-rs tries EVALSHA first");
    assert!(proxy.count("EVAL") > 0, "the fallback sends EVAL");

    // Full: a start is 503 store_full with Retry-After, and no key changed.
    let before = keys(&prefix).await;
    proxy.fill();
    let req = ::http::Request::builder()
        .method("POST")
        .uri("/api/professional-report/start")
        .header("content-type", "application/json")
        .body(Bytes::from(QUESTIONNAIRE.to_owned()))
        .unwrap();
    let r = api.background(Dropped).send(req).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(body["error"]["code"], "store_full", "{body}");
    assert_eq!(
        keys(&prefix).await,
        before,
        "a refused write left something"
    );
    drop(sandbox);
}

/// Upstash refuses a request or an answer over 10 MB
/// (`redis/overall/billing.mdx`, "large reads count too"). The largest the
/// store makes is a job's read with every slot's data: here 30 slots each
/// at [`MAX_SLOT_DATA_BYTES`], a questionnaire at its stored cap (64 KiB)
/// and a plan of 256 KiB (a real plan is a few KiB), measured on the wire
/// by the proxy, with every script sent as EVAL (its text included).
#[tokio::test(flavor = "multi_thread")]
async fn the_largest_read_and_write_stay_under_upstashs_10_mb_limit() {
    const UPSTASH_MAX: usize = 10_000_000;
    let proxy = UpstashProxy::start(&test_redis::url()).await;
    let config = RedisConfig {
        prefix: test_redis::unique_prefix(),
        ..RedisConfig::default()
    };
    let store = RedisStore::connect(proxy.url(), config).await.unwrap();
    let pad = |n: usize| Value::String("x".repeat(n));
    let now = chrono::Utc::now();
    let new = NewJob {
        client: Some("c".repeat(24)),
        id: JobId::new(),
        questionnaire: json!({ "pad": pad(64 * 1024) }),
        idempotency: Some(Idempotency {
            key: "k".repeat(64),
            fingerprint: "f".repeat(64),
        }),
        now,
        deadline_at: now + chrono::Duration::hours(3),
        message: "queued".to_owned(),
    };
    let id = new.id;
    store
        .create(new, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let lease = store
        .claim(id, "worker", now, std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .lease()
        .expect("a lease");
    let slots: Vec<Slot> = (0..5)
        .flat_map(|h| {
            SourceType::ALL
                .into_iter()
                .map(move |t| Slot::pending(format!("HOME-{h}"), "A Care Home".repeat(10), t))
        })
        .collect();
    let plan = SavePlan {
        plan: json!({ "pad": pad(256 * 1024) }),
        slots: slots.clone(),
        progress: 20,
        message: "planned".to_owned(),
    };
    store.save_plan(&lease, plan, now).await.unwrap();
    for slot in slots {
        let mut loaded = slot;
        loaded.status = SlotStatus::Loaded;
        loaded.attempts = 1;
        loaded.attempt_started_at = Some(now);
        loaded.last_attempt = Some(now);
        let record = Record {
            outcome: None,
            slot: loaded,
            // A JSON string of exactly the cap, quotes included.
            data: Some(pad(MAX_SLOT_DATA_BYTES - 2)),
            progress: 50,
            message: "fetched".to_owned(),
        };
        store.record(&lease, record, now).await.unwrap();
    }
    assert_eq!(store.source_data(id).await.unwrap().len(), 30);
    assert!(store.get(id).await.unwrap().is_some());
    let (request, reply) = (proxy.largest_request(), proxy.largest_reply());
    assert!(
        reply > 30 * MAX_SLOT_DATA_BYTES,
        "the full read was measured: {reply}"
    );
    assert!(reply < UPSTASH_MAX, "largest reply {reply} bytes");
    assert!(request < UPSTASH_MAX, "largest request {request} bytes");
}
