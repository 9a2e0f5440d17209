//! Fair shares and clean endings, on the memory store and on Redis:
//! - one client's share of the daily budget of paid calls is bounded, so a
//!   second client is still served (`CLIENT_SHARE_PERCENT`);
//! - a replayed `Idempotency-Key` finds its job before any limit or budget;
//! - a paid call deferred to the budget's reset says whether the job's
//!   retry window is still open then;
//! - erasing a job stops its round at once: no upstream call after the
//!   erasure (counted by the sandbox), and the synchronous route answers
//!   at once instead of waiting out its wait;
//! - a status poller gets an ETag, 304s and a `Retry-After` hint, can wait
//!   for a change (`?wait=N`), never sees a fresh job as 404 nor progress
//!   going back (a read replica behind).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use care_report::http::limits::{LimitsConfig, PeerAddr, Rate};
use care_report::http::App;
use care_report::model::{JobId, SlotStatus, SourceType};
use care_report::retry::RetryPolicy;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::store::limits::budget_day;
use care_report::store::{JobStore, MemoryStore, Retention};
use care_report_testing::app::{Dropped, Spawned, TestApp};
use care_report_testing::redis as test_redis;
use care_report_testing::rig::EngineRig;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

const QUESTIONNAIRE: &str = include_str!("fixtures/questionnaire.json");
const START: &str = "/api/professional-report/start";
const SYNC: &str = "/api/professional-report";
const A: &str = "198.51.100.7:40000";
const B: &str = "203.0.113.9:40000";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

async fn stores() -> Vec<(&'static str, Arc<dyn JobStore>)> {
    vec![
        ("memory", Arc::new(MemoryStore::new(Retention::default()))),
        (
            "redis",
            Arc::new(test_redis::store(Retention::default()).await),
        ),
    ]
}

struct Rig {
    app: App,
    sandbox: Arc<Sandbox>,
}

/// An app whose engine spends the budget `limits` names (and each
/// client's share of it), starting at `start`.
async fn rig(store: Arc<dyn JobStore>, limits: LimitsConfig, start: DateTime<Utc>) -> Rig {
    rig_with(store, limits, start, FaultPlan::default()).await
}

async fn rig_with(
    store: Arc<dyn JobStore>,
    limits: LimitsConfig,
    start: DateTime<Utc>,
    faults: FaultPlan,
) -> Rig {
    let Spawned { api, sandbox, .. } =
        TestApp::builder(EngineRig::new(store).start_at(start).faults(faults).policy(
            RetryPolicy {
                jitter: 0.0,
                ..RetryPolicy::default()
            },
        ))
        .limits(limits)
        .client_budget()
        .build()
        .await;
    Rig {
        app: api.app().clone(),
        sandbox,
    }
}

fn request(uri: &str, peer: &str, key: Option<&str>) -> ::http::Request<Bytes> {
    let mut b = ::http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    let mut r = b.body(Bytes::from(QUESTIONNAIRE.to_owned())).unwrap();
    r.extensions_mut()
        .insert(PeerAddr(peer.parse::<SocketAddr>().unwrap()));
    r
}

struct Reply {
    status: u16,
    headers: ::http::HeaderMap,
    body: Value,
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

fn job_id(r: &Reply) -> JobId {
    JobId::parse(r.body["job_id"].as_str().expect("job_id")).unwrap()
}

fn paid(sandbox: &Sandbox) -> u64 {
    sandbox.requests(SourceType::GooglePlaces) + sandbox.requests(SourceType::Firecrawl)
}

fn upstream(sandbox: &Sandbox) -> u64 {
    SourceType::ALL
        .into_iter()
        .map(|s| sandbox.requests(s))
        .sum()
}

/// A report of the sample makes 10 paid calls. With a budget of 20 and a
/// share of 50 %, client A's two reports get 10 paid calls between them,
/// its third start is refused (503, scope `client`), and client B, arriving
/// after A, still gets every paid source.
#[tokio::test(flavor = "multi_thread")]
async fn two_clients_against_a_small_budget_the_second_is_still_served() {
    for (name, store) in stores().await {
        let limits = LimitsConfig {
            daily_paid_calls: Some(20),
            client_share: Some(50),
            ..LimitsConfig::unlimited()
        };
        let rig = rig(store.clone(), limits, t0()).await;
        let mut a_jobs = Vec::new();
        for _ in 0..2 {
            let r = send(&rig.app, request(START, A, None)).await;
            assert_eq!(r.status, 202, "{name}: {}", r.body);
            a_jobs.push(job_id(&r));
        }
        for id in &a_jobs {
            rig.app.engine.process(*id).await.unwrap();
        }
        assert_eq!(paid(&rig.sandbox), 10, "{name}: A's share");
        let second = store.get(a_jobs[1]).await.unwrap().unwrap();
        let waiting: Vec<_> = second
            .slots
            .iter()
            .filter(|s| s.status == SlotStatus::Missing)
            .collect();
        assert_eq!(waiting.len(), 10, "{name}");
        for s in waiting {
            let error = s.error.as_deref().unwrap_or_default();
            assert!(error.contains("this client's share"), "{name}: {error}");
        }
        let refused = send(&rig.app, request(START, A, None)).await;
        assert_eq!(refused.status, 503, "{name}: {}", refused.body);
        assert_eq!(refused.body["error"]["code"], "budget_exhausted");
        assert_eq!(refused.body["error"]["details"]["scope"], "client");
        assert!(refused.headers.contains_key("retry-after"));

        let r = send(&rig.app, request(START, B, None)).await;
        assert_eq!(r.status, 202, "{name}: B is served: {}", r.body);
        let b = job_id(&r);
        rig.app.engine.process(b).await.unwrap();
        let job = store.get(b).await.unwrap().unwrap();
        assert_eq!(job.completeness, 100, "{name}: {job:?}");
        assert_eq!(paid(&rig.sandbox), 20, "{name}");
        let spent = store.limits().unwrap().spent(&budget_day(t0())).await;
        assert_eq!(spent.unwrap(), 20, "{name}");
    }
}

/// A start that timed out is retried with its key after the budget and
/// the client's window are spent: it gets its original job, not 503/429.
#[tokio::test(flavor = "multi_thread")]
async fn a_replay_under_an_exhausted_budget_gets_its_original_job() {
    for (name, store) in stores().await {
        let limits = LimitsConfig {
            daily_paid_calls: Some(10),
            start_per_client: Some(Rate::per_secs(1, 3600)),
            ..LimitsConfig::unlimited()
        };
        let rig = rig(store, limits, t0()).await;
        let first = send(&rig.app, request(START, A, Some("family-1"))).await;
        assert_eq!(first.status, 202, "{name}: {}", first.body);
        let id = job_id(&first);
        rig.app.engine.process(id).await.unwrap();
        assert_eq!(paid(&rig.sandbox), 10, "{name}: the budget is spent");
        let again = send(&rig.app, request(START, A, Some("family-1"))).await;
        assert_eq!(again.status, 202, "{name}: {}", again.body);
        assert_eq!(job_id(&again), id, "{name}");
        assert_eq!(again.headers["idempotent-replayed"], "true");
        // Without the key it is a new start: the window refuses it first.
        let fresh = send(&rig.app, request(START, A, None)).await;
        assert_eq!(fresh.status, 429, "{name}: {}", fresh.body);
        // Another client's start is refused by the budget.
        let other = send(&rig.app, request(START, B, Some("family-1"))).await;
        assert_eq!(other.status, 503, "{name}: {}", other.body);
        assert_eq!(other.body["error"]["code"], "budget_exhausted");
    }
}

/// With the budget spent at 10:00 UTC, the reset (00:00) comes after the
/// job's 3-hour window closes: the deferred slots say they stay missing
/// and are not scheduled. At 22:30 the reset is inside the window: they
/// are scheduled after it.
#[tokio::test(flavor = "multi_thread")]
async fn a_deferred_paid_slot_never_promises_a_retry_after_its_window() {
    let late = Utc.with_ymd_and_hms(2026, 3, 2, 22, 30, 0).unwrap();
    for (start, stays) in [(t0(), true), (late, false)] {
        let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new(Retention::default()));
        let limits = LimitsConfig {
            daily_paid_calls: Some(0),
            ..LimitsConfig::unlimited()
        };
        let rig = rig(store.clone(), limits, start).await;
        let engine = &rig.app.engine;
        let q: Value = serde_json::from_str(QUESTIONNAIRE).unwrap();
        let id = engine.submit(q, None).await.unwrap().job().id;
        engine.process(id).await.unwrap();
        let job = store.get(id).await.unwrap().unwrap();
        let deferred: Vec<_> = job
            .slots
            .iter()
            .filter(|s| s.status == SlotStatus::Missing)
            .collect();
        assert_eq!(deferred.len(), 10, "{start}");
        let midnight = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap();
        for s in deferred {
            let error = s.error.as_deref().unwrap_or_default();
            if stays {
                assert!(error.contains("stays missing"), "{error}");
                assert!(!error.contains("retried after"), "{error}");
                assert_eq!(s.next_attempt_at, None, "{s:?}");
            } else {
                assert!(error.contains("retried after it resets"), "{error}");
                assert!(s.next_attempt_at.is_some_and(|t| t >= midnight), "{s:?}");
            }
        }
        assert_eq!(job.will_auto_retry, !stays, "{start}");
    }
}

/// DELETE while a round waits on slow paid sources: the round stops at
/// once, the sandbox sees no upstream call after the erasure, and the
/// round ends as "erased" (not "another worker continues").
#[tokio::test(flavor = "multi_thread")]
async fn erasing_a_job_mid_round_stops_every_further_upstream_call() {
    for (name, store) in stores().await {
        let faults =
            FaultPlan::parse("google_places:delay_ms=1500;firecrawl:delay_ms=1500").unwrap();
        let rig = rig_with(store.clone(), LimitsConfig::unlimited(), t0(), faults).await;
        let engine = rig.app.engine.clone();
        let q: Value = serde_json::from_str(QUESTIONNAIRE).unwrap();
        let id = engine.submit(q, None).await.unwrap().job().id;
        let round = tokio::spawn({
            let engine = engine.clone();
            async move { engine.process(id).await }
        });
        // Let the free sources answer and the paid ones queue up.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(paid(&rig.sandbox) > 0, "{name}: paid calls in flight");
        engine.erase(id).await.unwrap();
        let calls_at_erasure = upstream(&rig.sandbox);
        let ended = tokio::time::timeout(Duration::from_secs(10), round)
            .await
            .expect("the round ends")
            .unwrap();
        assert!(matches!(ended, Ok(None)), "{name}: {ended:?}");
        assert_eq!(
            upstream(&rig.sandbox),
            calls_at_erasure,
            "{name}: an upstream call after the erasure"
        );
        // Ten slots of five homes are paid; not all of them were sent.
        assert!(paid(&rig.sandbox) < 10, "{name}: {}", paid(&rig.sandbox));
        assert!(store.get(id).await.unwrap().is_none(), "{name}");
        // A sweep finds nothing, and nothing busy.
        let sweep = engine.sweep().await.unwrap();
        assert_eq!(sweep.busy, 0, "{name}: {sweep:?}");
        // A manual retry of it now says it is gone.
        let retry = engine.manual_retry(id).await.unwrap_err();
        assert!(
            matches!(retry, care_report::engine::EngineError::NotFound),
            "{name}: {retry:?}"
        );
    }
}

/// A manual retry whose round is running when the job is erased answers
/// "erased" (404 `job_not_found` over HTTP) as soon as its fetches in
/// flight end, not 409 `job_busy`.
#[tokio::test(flavor = "multi_thread")]
async fn a_manual_retry_racing_an_erasure_says_erased() {
    for (name, store) in stores().await {
        let faults = FaultPlan::parse("cqc:status=503,delay_ms=1000").unwrap();
        let rig = rig_with(store, LimitsConfig::unlimited(), t0(), faults).await;
        let engine = rig.app.engine.clone();
        let q: Value = serde_json::from_str(QUESTIONNAIRE).unwrap();
        let id = engine.submit(q, None).await.unwrap().job().id;
        engine.process(id).await.unwrap();
        let before = rig.sandbox.requests(SourceType::Cqc);
        let retry = tokio::spawn({
            let engine = engine.clone();
            async move { engine.manual_retry(id).await }
        });
        // Wait until the retry's CQC calls are in flight, then erase.
        while rig.sandbox.requests(SourceType::Cqc) == before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        engine.erase(id).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(10), retry)
            .await
            .expect("the retry ends")
            .unwrap();
        match answer {
            Err(e @ care_report::engine::EngineError::Erased) => {
                assert!(e.to_string().contains("erased"), "{name}: {e}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// The synchronous route waits for its job; erasing the job answers it at
/// the next poll (404 `job_not_found`, "erased"), not after
/// `SYNC_REPORT_WAIT_SECS` (240 s by default).
#[tokio::test(flavor = "multi_thread")]
async fn the_synchronous_route_answers_as_soon_as_its_job_is_erased() {
    for (name, store) in stores().await {
        let rig = rig(store.clone(), LimitsConfig::unlimited(), t0()).await;
        let app = rig.app.clone();
        let started = tokio::time::Instant::now();
        let waiting = tokio::spawn(async move { send(&app, request(SYNC, A, None)).await });
        // Nothing processes the job (background work is dropped): find it
        // in the due index and erase it.
        let id = loop {
            let due = store
                .due(t0() + chrono::Duration::days(1), 10)
                .await
                .unwrap();
            if let Some(id) = due.first() {
                break *id;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        rig.app.engine.erase(id).await.unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("answered long before the wait runs out")
            .unwrap();
        assert_eq!(reply.status, 404, "{name}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], "job_not_found");
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("erased"), "{name}: {message}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

fn get(uri: &str, etag: Option<&str>) -> ::http::Request<Bytes> {
    let mut b = ::http::Request::builder().method("GET").uri(uri);
    if let Some(tag) = etag {
        b = b.header("if-none-match", tag);
    }
    b.body(Bytes::new()).unwrap()
}

/// A poller waits without hammering: the status carries an ETag and
/// `Cache-Control: no-cache`, is 304 while unchanged, and `Retry-After`
/// says 2 s while the job is pending, the time to its next retry while
/// partial, nothing once final.
#[tokio::test(flavor = "multi_thread")]
async fn status_answers_carry_an_etag_a_304_and_a_poll_hint() {
    for (name, store) in stores().await {
        let faults = FaultPlan::parse("cqc:status=503").unwrap();
        let rig = rig_with(store, LimitsConfig::unlimited(), t0(), faults).await;
        let started = send(&rig.app, request(START, A, None)).await;
        let id = job_id(&started);
        let path = format!("/api/professional-report/status/{id}");
        let pending = send(&rig.app, get(&path, None)).await;
        assert_eq!(pending.status, 200, "{name}");
        assert_eq!(pending.body["status"], "pending");
        assert_eq!(pending.headers["cache-control"], "no-cache");
        assert_eq!(pending.headers["retry-after"], "2");
        let tag = pending.headers["etag"].to_str().unwrap().to_owned();
        assert!(tag.starts_with("W/\""), "{tag}");
        let same = send(&rig.app, get(&path, Some(&tag))).await;
        assert_eq!(same.status, 304, "{name}");
        assert_eq!(same.body, Value::Null, "no body");
        assert_eq!(same.headers["etag"], tag.as_str());
        assert_eq!(same.headers["retry-after"], "2");

        rig.app.engine.process(id).await.unwrap();
        let partial = send(&rig.app, get(&path, Some(&tag))).await;
        assert_eq!(partial.status, 200, "{name}: changed since");
        assert_eq!(partial.body["status"], "partial");
        assert_ne!(partial.headers["etag"], tag.as_str());
        // The first retry is due RETRY_BASE_DELAY_SECS (300) from now.
        let wait: u64 = partial.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((250..=330).contains(&wait), "{name}: {wait}");
        // The original frontend's status reads are unchanged.
        assert_eq!(partial.body["job_id"], id.to_string());
    }
}

/// A started (pending) job, its status path and its status answer's ETag.
async fn started_job_tag(app: &App) -> (JobId, String, String) {
    let id = job_id(&send(app, request(START, A, None)).await);
    let path = format!("/api/professional-report/status/{id}");
    let pending = send(app, get(&path, None)).await;
    let tag = pending.headers["etag"].to_str().unwrap().to_owned();
    (id, path, tag)
}

/// `?wait=N` holds a status request until the job changes: it answers as
/// soon as a round moves the job on (well before N), and after N seconds
/// with 304 when nothing changed; a final job answers at once. Real time,
/// short waits: nothing here asserts a duration beyond "before N".
#[tokio::test(flavor = "multi_thread")]
async fn status_wait_returns_on_a_change_and_on_its_timeout() {
    for (name, store) in stores().await {
        let rig = rig(store, LimitsConfig::unlimited(), t0()).await;
        let (id, path, tag) = started_job_tag(&rig.app).await;

        // Nothing changes: 304 once the wait is over.
        let held = send(&rig.app, get(&format!("{path}?wait=1"), Some(&tag))).await;
        assert_eq!(held.status, 304, "{name}");

        // A round completes the job while the request waits (up to 20 s).
        let began = std::time::Instant::now();
        let (changed, processed) = tokio::join!(
            send(&rig.app, get(&format!("{path}?wait=20"), Some(&tag))),
            async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                rig.app.engine.process(id).await
            }
        );
        processed.unwrap();
        assert_eq!(changed.status, 200, "{name}");
        assert_eq!(changed.body["status"], "completed", "{name}");
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "{name}: waited it out"
        );

        // Without If-None-Match the reference is the job as found: final
        // now, so it answers at once.
        let began = std::time::Instant::now();
        let done = send(&rig.app, get(&format!("{path}?wait=20"), None)).await;
        assert_eq!(done.status, 200, "{name}");
        assert!(began.elapsed() < Duration::from_secs(5), "{name}");

        for bad in ["26", "-1", "soon", "1.5", ""] {
            let r = send(&rig.app, get(&format!("{path}?wait={bad}"), None)).await;
            assert_eq!(r.status, 400, "{name}: wait={bad}");
            assert_eq!(r.body["error"]["code"], "invalid_parameter", "{name}");
            assert_eq!(r.body["error"]["details"]["parameter"], "wait");
        }
    }
}

/// A job created moments ago that this server cannot see (a read replica
/// behind the primary) is answered "pending, not visible here yet", never
/// 404; the other job routes say 409 `not_ready`. After the visibility
/// window, or for an id made long ago, an unknown id is 404 as before.
#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_job_not_yet_visible_is_pending_and_never_404() {
    for (name, store) in stores().await {
        let rig = rig(store, LimitsConfig::unlimited(), t0()).await;
        let fresh = JobId::at(t0() - chrono::Duration::seconds(2));
        let status = format!("/api/professional-report/status/{fresh}");
        let r = send(&rig.app, get(&status, None)).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(r.body["status"], "pending");
        assert_eq!(r.body["progress"], 0);
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .contains("not visible here yet"));
        assert_eq!(r.body["created_at"], "2026-03-02T09:59:58Z", "{}", r.body);
        assert!(r.headers.contains_key("retry-after"));
        let result = send(
            &rig.app,
            get(&format!("/api/professional-report/result/{fresh}"), None),
        )
        .await;
        assert_eq!(result.status, 409, "{name}: {}", result.body);
        assert_eq!(result.body["error"]["code"], "not_ready");

        let old = JobId::at(t0() - chrono::Duration::seconds(11));
        let r = send(
            &rig.app,
            get(&format!("/api/professional-report/status/{old}"), None),
        )
        .await;
        assert_eq!(r.status, 404, "{name}");
        assert_eq!(r.body["error"]["code"], "job_not_found");
    }
}

/// Progress never goes back in what a client sees: the ETag carries the
/// job's last update, and a read older than the state the client already
/// holds (a replica behind) is 304, so the client keeps its newer copy; a
/// `?wait` goes on waiting rather than answer with the older state.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_older_than_the_clients_copy_is_304() {
    for (name, store) in stores().await {
        let rig = rig(store, LimitsConfig::unlimited(), t0()).await;
        let (_, path, tag) = started_job_tag(&rig.app).await;
        let updated_ms = t0().timestamp_millis();
        assert!(
            tag.starts_with(&format!("W/\"{updated_ms}-")),
            "{name}: {tag}"
        );
        // The client holds a later state of the job (seen on the primary
        // through another instance) than this server reads now.
        let newer = format!("W/\"{}-0123456789abcdef01234567\"", updated_ms + 500);
        let r = send(&rig.app, get(&path, Some(&newer))).await;
        assert_eq!(r.status, 304, "{name}");
        let r = send(&rig.app, get(&format!("{path}?wait=1"), Some(&newer))).await;
        assert_eq!(
            r.status, 304,
            "{name}: a wait does not answer with an older state"
        );
        // An older tag of the client's is news: 200.
        let older = format!("W/\"{}-0123456789abcdef01234567\"", updated_ms - 500);
        let r = send(&rig.app, get(&path, Some(&older))).await;
        assert_eq!(r.status, 200, "{name}");
    }
}
