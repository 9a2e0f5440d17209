//! Public-safety behaviour (issue 14), on the memory store and on Redis:
//! rate limits, the daily budget of paid calls, per-client idempotency
//! keys, erasure with fencing, stale idempotency keys, Redis health, and
//! the hyper host's header timeout.
//!
//! Redis tests use the private test Redis (`TEST_REDIS_URL`, or one this
//! suite starts) under a fresh key prefix; the eviction and out-of-memory
//! tests start their own redis-server, because they reconfigure it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use care_report::directory::Directory;
use care_report::http::limits::{LimitsConfig, PeerAddr, Rate};
use care_report::http::{self, App};
use care_report::model::{JobId, Slot, SlotStatus, SourceType};
use care_report::retry::RetryPolicy;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::store::health::{judge, EvictionPolicy, Verdict};
use care_report::store::limits::budget_day;
use care_report::store::{
    Claim, Created, Finish, Idempotency, JobStore, MemoryStore, NewJob, Record, RedisConfig,
    RedisStore, Retention, SavePlan, StoreError,
};
use care_report_testing::app::{Dropped, Spawned, TestApp};
use care_report_testing::child::ChildGuard;
use care_report_testing::redis as test_redis;
use care_report_testing::rig::{EngineRig, Rig as Built};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const QUESTIONNAIRE: &str = include_str!("fixtures/questionnaire.json");
const START: &str = "/api/professional-report/start";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

async fn stores() -> Vec<(&'static str, Arc<dyn JobStore>)> {
    stores_with_prefix()
        .await
        .into_iter()
        .map(|(n, s, _)| (n, s))
        .collect()
}

/// Both stores, with the Redis store's key prefix.
async fn stores_with_prefix() -> Vec<(&'static str, Arc<dyn JobStore>, Option<String>)> {
    let redis = test_redis::store(Retention::default()).await;
    let prefix = redis.prefix().to_owned();
    vec![
        (
            "memory",
            Arc::new(MemoryStore::new(Retention::default())),
            None,
        ),
        ("redis", Arc::new(redis), Some(prefix)),
    ]
}

struct Rig {
    app: App,
    sandbox: Arc<Sandbox>,
}

async fn rig(store: Arc<dyn JobStore>, limits: LimitsConfig, sandbox: Option<Arc<Sandbox>>) -> Rig {
    let mut engine = EngineRig::new(store).start_at(t0()).policy(RetryPolicy {
        jitter: 0.0,
        ..RetryPolicy::default()
    });
    if let Some(sandbox) = sandbox {
        engine = engine.sandbox(sandbox);
    }
    let Spawned { api, sandbox, .. } = TestApp::builder(engine).limits(limits).build().await;
    Rig {
        app: api.app().clone(),
        sandbox,
    }
}

struct Reply {
    status: u16,
    headers: ::http::HeaderMap,
    body: Value,
}

fn request(
    method: &str,
    uri: &str,
    peer: &str,
    body: &str,
    key: Option<&str>,
) -> ::http::Request<Bytes> {
    let mut b = ::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    let mut r = b.body(Bytes::from(body.to_owned())).unwrap();
    r.extensions_mut()
        .insert(PeerAddr(peer.parse::<SocketAddr>().unwrap()));
    r
}

async fn send(app: &App, req: ::http::Request<Bytes>) -> Reply {
    let r = TestApp::new(app.clone())
        .background(Dropped)
        .send(req)
        .await;
    Reply {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: serde_json::from_slice(r.body()).unwrap_or(Value::Null),
    }
}

fn start_body() -> String {
    QUESTIONNAIRE.to_owned()
}

const A: &str = "198.51.100.7:40000";
const B: &str = "203.0.113.9:40000";

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_from_one_client_gets_429_with_retry_after_while_another_is_served() {
    for (name, store) in stores().await {
        let limits = LimitsConfig {
            start_per_client: Some(Rate::per_secs(3, 60)),
            start_overall: Some(Rate::per_secs(100, 60)),
            ..LimitsConfig::default()
        };
        let rig = rig(store, limits, None).await;
        for i in 0..3 {
            let r = send(&rig.app, request("POST", START, A, &start_body(), None)).await;
            assert_eq!(r.status, 202, "{name} #{i}: {}", r.body);
            assert_eq!(r.headers["ratelimit-limit"], "3", "{name}");
            assert_eq!(
                r.headers["ratelimit-remaining"],
                (2 - i).to_string(),
                "{name}"
            );
        }
        // Another port of the same address is the same client.
        let flood = send(
            &rig.app,
            request("POST", START, "198.51.100.7:1", &start_body(), None),
        )
        .await;
        assert_eq!(flood.status, 429, "{name}: {}", flood.body);
        assert_eq!(flood.body["error"]["code"], "rate_limited");
        assert_eq!(flood.body["error"]["details"]["scope"], "client");
        let retry_after: u64 = flood.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        // Full now; the previous bucket weighs less each millisecond after the
        // next one starts, so room comes back just after 60 s.
        assert!((1..=61).contains(&retry_after), "{name}: {retry_after}");
        assert_eq!(flood.headers["ratelimit-remaining"], "0");
        assert_eq!(flood.headers["ratelimit-policy"], "3;w=60");
        // Another client is served meanwhile.
        let other = send(&rig.app, request("POST", START, B, &start_body(), None)).await;
        assert_eq!(other.status, 202, "{name}: {}", other.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_overall_limit_holds_every_client_together() {
    for (name, store) in stores().await {
        let limits = LimitsConfig {
            start_per_client: Some(Rate::per_secs(10, 60)),
            start_overall: Some(Rate::per_secs(4, 60)),
            ..LimitsConfig::default()
        };
        let rig = rig(store, limits, None).await;
        let mut codes = Vec::new();
        for i in 0..6 {
            let peer = format!("192.0.2.{i}:1000");
            codes.push(
                send(&rig.app, request("POST", START, &peer, &start_body(), None))
                    .await
                    .status,
            );
        }
        assert_eq!(codes, [202, 202, 202, 202, 429, 429], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_key_gets_a_409_that_names_no_job_and_keys_are_per_client() {
    for (name, store) in stores().await {
        let rig = rig(store, LimitsConfig::unlimited(), None).await;
        let first = send(
            &rig.app,
            request("POST", START, A, &start_body(), Some("family-key")),
        )
        .await;
        assert_eq!(first.status, 202, "{name}");
        let id = first.body["job_id"].as_str().unwrap().to_owned();
        // The same client, the same key, the same body: the same job.
        let again = send(
            &rig.app,
            request("POST", START, A, &start_body(), Some("family-key")),
        )
        .await;
        assert_eq!(again.body["job_id"], id.as_str(), "{name}");
        // Another body under the key: 409, and nothing of the first job.
        let mut other: Value = serde_json::from_str(QUESTIONNAIRE).unwrap();
        other["section_2_location_budget"]["q6_max_distance"] = json!("within_30km");
        let conflict = send(
            &rig.app,
            request("POST", START, A, &other.to_string(), Some("family-key")),
        )
        .await;
        assert_eq!(conflict.status, 409, "{name}: {}", conflict.body);
        assert_eq!(conflict.body["error"]["code"], "idempotency_key_reused");
        let text = conflict.body.to_string();
        assert!(!text.contains(&id), "{name}: 409 leaks the job id: {text}");
        assert!(conflict.body["error"].get("details").is_none(), "{name}");
        // Another client guessing the key gets its own job, not the first.
        let stranger = send(
            &rig.app,
            request("POST", START, B, &start_body(), Some("family-key")),
        )
        .await;
        assert_eq!(stranger.status, 202, "{name}");
        assert_ne!(stranger.body["job_id"], id.as_str(), "{name}");
    }
}

fn new_job(key: Option<&str>) -> NewJob {
    NewJob {
        client: None,
        id: JobId::new(),
        questionnaire: serde_json::from_str(QUESTIONNAIRE).unwrap(),
        idempotency: key.map(|k| Idempotency {
            key: k.to_owned(),
            fingerprint: "fp".to_owned(),
        }),
        now: t0(),
        deadline_at: t0() + chrono::Duration::hours(3),
        message: "queued".to_owned(),
    }
}

/// Every Redis key under `prefix` that belongs to `id` (by name or by
/// pointing at it).
async fn redis_traces(prefix: &str, id: JobId) -> Vec<String> {
    let mut conn = ::redis::Client::open(test_redis::url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut out = Vec::new();
    for key in test_redis::keys(prefix).await {
        if key.contains(&id.to_string()) {
            out.push(key);
            continue;
        }
        let kind: String = ::redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let holds = match kind.as_str() {
            "hash" => {
                let v: Vec<String> = ::redis::cmd("HVALS")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                v.iter().any(|s| s.contains(&id.to_string()))
            }
            "zset" => {
                let s: Option<f64> = ::redis::cmd("ZSCORE")
                    .arg(&key)
                    .arg(id.to_string())
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                s.is_some()
            }
            _ => false,
        };
        if holds {
            out.push(key);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn erasing_a_finished_job_leaves_nothing_and_every_endpoint_answers_404() {
    for (name, store, prefix) in stores_with_prefix().await {
        let rig = rig(store.clone(), LimitsConfig::unlimited(), None).await;
        let started = send(
            &rig.app,
            request("POST", START, A, &start_body(), Some("k")),
        )
        .await;
        let id = JobId::parse(started.body["job_id"].as_str().unwrap()).unwrap();
        rig.app.engine.process(id).await.unwrap();
        assert!(
            store.get(id).await.unwrap().unwrap().status.has_report(),
            "{name}"
        );
        let path = format!("/api/professional-report/{id}");
        let erased = send(&rig.app, request("DELETE", &path, A, "", None)).await;
        assert_eq!(erased.status, 200, "{name}: {}", erased.body);
        assert_eq!(
            erased.body,
            json!({"job_id": id.to_string(), "erased": true})
        );
        for (method, route) in [
            ("GET", "status"),
            ("GET", "result"),
            ("GET", "missing-sources"),
            ("GET", "retry-status"),
            ("POST", "retry"),
        ] {
            let uri = format!("/api/professional-report/{route}/{id}");
            let r = send(&rig.app, request(method, &uri, A, "", None)).await;
            assert_eq!(r.status, 404, "{name} {method} {route}: {}", r.body);
        }
        assert_eq!(
            send(&rig.app, request("DELETE", &path, A, "", None))
                .await
                .status,
            404
        );
        if let Some(prefix) = prefix {
            assert_eq!(
                redis_traces(&prefix, id).await,
                Vec::<String>::new(),
                "{name}"
            );
        }
        // The key is free again: the same request makes a new job.
        let again = send(
            &rig.app,
            request("POST", START, A, &start_body(), Some("k")),
        )
        .await;
        assert_eq!(again.status, 202, "{name}");
        assert_ne!(again.body["job_id"], id.to_string(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_holding_the_lease_of_an_erased_job_is_fenced_out_and_nothing_reappears() {
    let redis = test_redis::store(Retention::default()).await;
    let prefix = redis.prefix().to_owned();
    let cases: Vec<(&str, Arc<dyn JobStore>)> = vec![
        ("memory", Arc::new(MemoryStore::new(Retention::default()))),
        ("redis", Arc::new(redis)),
    ];
    for (name, store) in cases {
        let new = new_job(Some("mid-key"));
        let id = new.id;
        store.create(new, Duration::from_secs(120)).await.unwrap();
        let ttl = Duration::from_secs(60);
        let lease = store
            .claim(id, "w1", t0(), ttl)
            .await
            .unwrap()
            .lease()
            .unwrap();
        let slot = Slot::pending("h1", "Home", SourceType::Cqc);
        store
            .save_plan(
                &lease,
                SavePlan {
                    plan: json!({"homes": []}),
                    slots: vec![slot.clone()],
                    progress: 20,
                    message: "planned".into(),
                },
                t0(),
            )
            .await
            .unwrap();
        // Erased mid-processing.
        store.erasure().unwrap().erase(id).await.unwrap();
        // The worker carries on: every write is refused, nothing is made.
        let later = t0() + chrono::Duration::seconds(5);
        let loaded = Slot {
            status: SlotStatus::Loaded,
            attempts: 1,
            ..slot
        };
        let r = store
            .record(
                &lease,
                Record {
                    outcome: None,
                    slot: loaded,
                    data: Some(json!({"x": 1})),
                    progress: 50,
                    message: "m".into(),
                },
                later,
            )
            .await;
        assert!(matches!(r, Err(StoreError::LeaseLost)), "{name}: {r:?}");
        assert!(
            matches!(
                store.renew(&lease, later, ttl).await,
                Err(StoreError::LeaseLost)
            ),
            "{name}"
        );
        let finish = Finish::Completed {
            message: "done".into(),
        };
        assert!(
            matches!(
                store.finish(&lease, finish, later).await,
                Err(StoreError::LeaseLost)
            ),
            "{name}"
        );
        store.release(&lease, later).await.unwrap();
        assert!(matches!(
            store
                .gate_manual_retry(id, later, Duration::from_secs(1))
                .await,
            Err(StoreError::NotFound)
        ));
        // After the lease's end nobody finds it due or can claim it.
        let after = t0() + chrono::Duration::seconds(120);
        assert_eq!(
            store.claim(id, "w2", after, ttl).await.unwrap(),
            Claim::Gone,
            "{name}"
        );
        assert!(
            !store.due(after, 100).await.unwrap().contains(&id),
            "{name}"
        );
        assert!(store.get(id).await.unwrap().is_none(), "{name}");
        assert!(
            matches!(store.history(id).await, Err(StoreError::NotFound)),
            "{name}"
        );
        if name == "redis" {
            assert_eq!(redis_traces(&prefix, id).await, Vec::<String>::new());
        }
        // Its idempotency key is gone with it.
        let fresh = new_job(Some("mid-key"));
        let fresh_id = fresh.id;
        let created = store.create(fresh, Duration::from_secs(120)).await.unwrap();
        assert!(
            matches!(created, Created::New(j) if j.id == fresh_id),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_whose_job_was_evicted_is_treated_as_absent() {
    let store = test_redis::store(Retention::default()).await;
    let first = new_job(Some("evicted-key"));
    let first_id = first.id;
    store.create(first, Duration::from_secs(120)).await.unwrap();
    // What an evicting Redis does: the job's hash is gone, its key stays.
    let mut conn = ::redis::Client::open(test_redis::url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = ::redis::cmd("DEL")
        .arg(format!("{}job:{first_id}", store.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    let second = new_job(Some("evicted-key"));
    let second_id = second.id;
    let created = store
        .create(second, Duration::from_secs(120))
        .await
        .unwrap();
    assert!(matches!(created, Created::New(j) if j.id == second_id));
    // Memory: the key of an erased job is absent too.
    let memory = MemoryStore::new(Retention::default());
    let a = new_job(Some("k"));
    let a_id = a.id;
    memory.create(a, Duration::from_secs(1)).await.unwrap();
    memory.erasure().unwrap().erase(a_id).await.unwrap();
    assert!(matches!(
        memory
            .create(new_job(Some("k")), Duration::from_secs(1))
            .await
            .unwrap(),
        Created::New(_)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budget_stops_paid_calls_across_two_instances_sharing_one_store() {
    let directory = Directory::demo();
    let sandbox = Arc::new(
        Sandbox::start(directory.homes().to_vec(), FaultPlan::none())
            .await
            .unwrap(),
    );
    let prefix = test_redis::unique_prefix();
    let budget = 7u64;
    let limits = LimitsConfig {
        daily_paid_calls: Some(budget),
        ..LimitsConfig::unlimited()
    };
    // Two instances: two connections, one Redis, one key prefix.
    let mut rigs = Vec::new();
    for _ in 0..2 {
        let store = RedisStore::connect(
            &test_redis::url(),
            RedisConfig {
                prefix: prefix.clone(),
                ..RedisConfig::default()
            },
        )
        .await
        .unwrap();
        rigs.push(rig(Arc::new(store), limits.clone(), Some(sandbox.clone())).await);
    }
    let paid =
        || sandbox.requests(SourceType::GooglePlaces) + sandbox.requests(SourceType::Firecrawl);
    let before = paid();
    let mut ids = Vec::new();
    for rig in &rigs {
        for _ in 0..2 {
            let r = send(&rig.app, request("POST", START, A, &start_body(), None)).await;
            assert_eq!(r.status, 202, "{}", r.body);
            ids.push((
                rig,
                JobId::parse(r.body["job_id"].as_str().unwrap()).unwrap(),
            ));
        }
    }
    // Both instances process at once.
    let rounds = ids.iter().map(|(rig, id)| rig.app.engine.process(*id));
    for r in futures::future::join_all(rounds).await {
        r.unwrap();
    }
    assert_eq!(
        paid() - before,
        budget,
        "paid calls made across both instances"
    );
    let store = rigs[0].app.engine.store();
    assert_eq!(
        store
            .limits()
            .unwrap()
            .spent(&budget_day(t0()))
            .await
            .unwrap(),
        budget
    );
    // Deferred paid slots wait for the reset; the jobs did not fail.
    let mut deferred = 0;
    for (_, id) in &ids {
        let job = store.get(*id).await.unwrap().unwrap();
        assert!(job.status.has_report(), "{:?}", job.status);
        for s in job.slots.iter().filter(|s| s.status == SlotStatus::Missing) {
            assert!(s.error.as_deref().unwrap_or("").contains("budget"), "{s:?}");
            deferred += 1;
        }
    }
    assert!(deferred > 0);
    // New jobs get a clear 503 while the budget is spent.
    let refused = send(&rigs[1].app, request("POST", START, B, &start_body(), None)).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "budget_exhausted");
    assert!(refused.headers.contains_key("retry-after"));
    // The memory store keeps the same contract.
    let memory = rig(
        Arc::new(MemoryStore::new(Retention::default())),
        limits,
        Some(sandbox.clone()),
    )
    .await;
    let before = paid();
    let r = send(&memory.app, request("POST", START, A, &start_body(), None)).await;
    memory
        .app
        .engine
        .process(JobId::parse(r.body["job_id"].as_str().unwrap()).unwrap())
        .await
        .unwrap();
    assert_eq!(paid() - before, budget);
    assert_eq!(
        send(&memory.app, request("POST", START, A, &start_body(), None))
            .await
            .status,
        503
    );
}

/// A redis-server of our own, with `args`, for tests that reconfigure it.
async fn own_redis(args: &[&str]) -> (ChildGuard, String) {
    let port = care_report_testing::child::free_port();
    let mut cmd = std::process::Command::new("redis-server");
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ])
    .args(args);
    let guard = ChildGuard::spawn("redis-server", cmd);
    let url = format!("redis://127.0.0.1:{port}");
    let client = ::redis::Client::open(url.as_str()).unwrap();
    for _ in 0..200 {
        if let Ok(mut c) = client.get_multiplexed_async_connection().await {
            if ::redis::cmd("PING")
                .query_async::<String>(&mut c)
                .await
                .is_ok()
            {
                return (guard, url);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server on {port} did not start");
}

#[tokio::test(flavor = "multi_thread")]
async fn allkeys_lru_is_refused_in_vercel_mode_and_a_full_redis_is_store_full() {
    let (_guard, url) = own_redis(&["--maxmemory-policy", "allkeys-lru"]).await;
    let store = RedisStore::connect(&url, RedisConfig::default())
        .await
        .unwrap();
    let policy = store.eviction_policy().await.unwrap();
    assert_eq!(policy, EvictionPolicy::Evicts("allkeys-lru".into()));
    assert!(matches!(judge(&policy, true), Verdict::Refuse(m) if m.contains("allkeys-lru")));
    assert!(matches!(judge(&policy, false), Verdict::Warn(_)));

    // noeviction and a memory limit below what is used: every write is
    // refused with OOM, which is 503 store_full, not "unreachable".
    let mut conn = ::redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = ::redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("noeviction")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.eviction_policy().await.unwrap(), EvictionPolicy::Off);
    let _: () = ::redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query_async(&mut conn)
        .await
        .unwrap();
    let err = store
        .create(new_job(None), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Full(_)), "{err:?}");
    let rig = rig(Arc::new(store), LimitsConfig::unlimited(), None).await;
    let r = send(&rig.app, request("POST", START, A, &start_body(), None)).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "store_full");
    let _: () = ::redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query_async(&mut conn)
        .await
        .unwrap();
    drop(rig.sandbox);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_connections_are_closed_by_the_header_timeout() {
    use care_report::host::hyper::serve;
    use care_report::http::ServerLimits;
    let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new(Retention::default()));
    let rig = rig(store, LimitsConfig::unlimited(), None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        http::api(rig.app, None),
        Arc::new(Dropped),
        limits,
        shutdown.clone(),
    ));
    // A slowloris: half a request head, then nothing.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A generous bound, only so a broken timeout fails instead of hanging.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut buf)).await;
    let closed = matches!(read, Ok(Ok(_)) | Ok(Err(_)));
    assert!(closed, "the server kept the slow connection open");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    // A whole request is served as before, with the peer address known.
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = r.bytes().await;
    shutdown.cancel();
    let connections = server.await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(30), connections.wait()).await;
}

/// The daily budget is spent on upstream calls only: a paid source
/// answered from the shared source cache costs nothing. One report spends
/// the whole budget (5 Google Places searches, 5 Firecrawl scrapes); the
/// second report for the same homes still gets every Firecrawl answer,
/// from the cache, while Google (whose content may not be cached) waits.
#[tokio::test]
async fn a_paid_source_answered_from_the_cache_spends_no_budget() {
    let cache = Arc::new(care_report::store::source_cache::MemorySourceCache::new());
    let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new(Retention::default()));
    let Built {
        engine, sandbox, ..
    } = EngineRig::new(store.clone())
        .start_at(t0())
        .cache(
            cache.clone(),
            cache,
            care_report::sources::CacheConfig::default(),
        )
        .budget(Some(10))
        .build()
        .await;
    let q: Value = serde_json::from_str(&start_body()).unwrap();
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let id = engine.submit(q.clone(), None).await.unwrap().job().id;
        engine.process(id).await.unwrap();
        jobs.push(store.get(id).await.unwrap().unwrap());
    }
    let spent = store
        .limits()
        .unwrap()
        .spent(&budget_day(t0()))
        .await
        .unwrap();
    assert_eq!(spent, 10, "only the first report's upstream calls");
    assert_eq!(sandbox.requests(SourceType::Firecrawl), 5);
    let status = |job: &care_report::model::Job, source| {
        job.slots
            .iter()
            .filter(|s| s.source_type == source)
            .map(|s| s.status.clone())
            .collect::<Vec<_>>()
    };
    assert!(status(&jobs[1], SourceType::Firecrawl)
        .iter()
        .all(|s| *s == SlotStatus::Loaded));
    assert!(status(&jobs[1], SourceType::GooglePlaces)
        .iter()
        .all(|s| *s == SlotStatus::Missing));
    assert!(jobs[1]
        .slots
        .iter()
        .filter(|s| s.source_type == SourceType::GooglePlaces)
        .all(|s| s.error.as_deref().unwrap_or_default().contains("budget")));
}
