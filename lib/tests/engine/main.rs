//! The durable engine against both stores, the sandbox and a manual clock:
//! concurrent sweeps and retries, cancellation and process death, retry
//! timing over simulated hours, and sweeps that touch only due jobs; and,
//! in [`kill`] (the same binary, one link), a worker process killed in the
//! middle of a job.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use care_report::engine::{will_auto_retry, Engine, EngineConfig, EngineError, ManualClock};
use care_report::model::{Job, JobId, JobStatus, SlotStatus, SourceType};
use care_report::retry::RetryPolicy;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::store::{JobStore, MemoryStore, NewJob};
use care_report_testing::rig::EngineRig;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

mod kill;
#[path = "../support/mod.rs"]
mod support;

fn questionnaire() -> Value {
    serde_json::from_str(include_str!("../fixtures/questionnaire.json")).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// A policy without jitter, so retry times are exact.
fn exact_policy() -> RetryPolicy {
    RetryPolicy {
        jitter: 0.0,
        ..RetryPolicy::default()
    }
}

struct Rig {
    engine: Arc<Engine>,
    sandbox: Arc<Sandbox>,
    clock: Arc<ManualClock>,
    store: Arc<dyn JobStore>,
}

async fn rig_with(store: Arc<dyn JobStore>, faults: FaultPlan, policy: RetryPolicy) -> Rig {
    let config = EngineConfig {
        lease_ttl: Duration::from_secs(30),
        ..EngineConfig::default()
    };
    rig_full(store, faults, policy, config).await
}

async fn rig_full(
    store: Arc<dyn JobStore>,
    faults: FaultPlan,
    policy: RetryPolicy,
    config: EngineConfig,
) -> Rig {
    rig_timed(store, faults, policy, config, None).await
}

/// Like [`rig_full`]; `timeout`, when given, replaces every source's
/// request timeout (for sandbox delays longer than the default 2 s).
async fn rig_timed(
    store: Arc<dyn JobStore>,
    faults: FaultPlan,
    policy: RetryPolicy,
    config: EngineConfig,
    timeout: Option<Duration>,
) -> Rig {
    let mut rig = EngineRig::new(store.clone())
        .start_at(t0())
        .faults(faults)
        .policy(policy)
        .config(config);
    if let Some(timeout) = timeout {
        rig = rig.timeout(timeout);
    }
    let built = rig.build().await;
    Rig {
        engine: Arc::new(built.engine),
        sandbox: built.sandbox,
        clock: built.clock,
        store,
    }
}

async fn rig(store: Arc<dyn JobStore>, faults: FaultPlan) -> Rig {
    rig_with(store, faults, exact_policy()).await
}

fn faults(spec: &str) -> FaultPlan {
    FaultPlan::parse(spec).unwrap()
}

async fn submit(rig: &Rig) -> JobId {
    rig.engine
        .submit(questionnaire(), None)
        .await
        .unwrap()
        .job()
        .id
}

async fn job(rig: &Rig, id: JobId) -> Job {
    rig.store.get(id).await.unwrap().unwrap()
}

/// Requests the sandbox saw per slot of `job`.
/// Fetches per slot of the five per-home sources. Companies House fetches
/// are counted per company number, shared by a provider's homes, and are
/// checked in their own suite (`companies_house.rs`).
fn requests(rig: &Rig, job: &Job) -> HashMap<String, u64> {
    job.slots
        .iter()
        .filter(|s| s.source_type != SourceType::CompaniesHouse)
        .map(|s| {
            (
                s.key().field(),
                rig.sandbox.requests_for(s.source_type, &s.home_id),
            )
        })
        .collect()
}

/// Runs `$body` (an async fn taking `Arc<dyn JobStore>`) against memory and
/// a private Redis.
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(std::sync::Arc::new(care_report::store::MemoryStore::default())).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::support::redis_store().await).await;
                }
            )*
        }
    };
}

both_stores!(
    two_sweeps_and_a_manual_retry_fetch_each_due_source_once,
    cancelled_processing_resumes_without_refetching,
    retries_follow_the_policy_until_the_source_heals,
    a_source_that_never_heals_is_given_up_at_the_deadline,
    retries_stop_at_the_cap_when_the_deadline_is_far,
    sweep_touches_only_due_jobs,
    pending_job_never_started_is_resumed_by_the_sweep,
    manual_retry_rules,
    a_sweep_out_of_budget_gives_its_job_back,
    a_retry_queued_past_the_deadline_is_not_made,
    a_stored_questionnaire_that_does_not_decode_fails_only_its_own_job,
);

async fn two_sweeps_and_a_manual_retry_fetch_each_due_source_once(store: Arc<dyn JobStore>) {
    let rig = rig(
        store,
        faults("google_places:status=503,heal_after=1;fsa:status=500,heal_after=1"),
    )
    .await;
    let id = submit(&rig).await;
    rig.engine.process(id).await.unwrap().unwrap();
    let partial = job(&rig, id).await;
    assert_eq!(partial.status, JobStatus::Partial);
    let missing: Vec<_> = partial.missing().map(|s| s.key()).collect();
    assert_eq!(missing.len(), 10, "5 homes x 2 failing sources");
    let before = requests(&rig, &partial);

    // Everything is due; three workers race for it.
    rig.clock.advance(Duration::from_secs(301));
    let (a, b, c) = tokio::join!(
        rig.engine.sweep(),
        rig.engine.sweep(),
        rig.engine.manual_retry(id)
    );
    match c {
        Ok(_) | Err(EngineError::Busy) => {}
        Err(e) => panic!("manual retry: {e}"),
    }
    let done = job(&rig, id).await;
    assert_eq!(done.status, JobStatus::Completed, "{:?}", done.message);
    assert_eq!(done.completeness, 100);
    let after = requests(&rig, &done);
    for slot in &done.slots {
        let field = slot.key().field();
        if slot.source_type == SourceType::CompaniesHouse {
            assert_eq!(slot.status, SlotStatus::Loaded, "{field}");
            continue;
        }
        let expected = before[&field] + u64::from(missing.contains(&slot.key()));
        assert_eq!(
            after[&field], expected,
            "slot {field} fetched a wrong number of times"
        );
        assert_eq!(slot.status, SlotStatus::Loaded, "{field}");
    }
    assert_eq!(a.unwrap().errors + b.unwrap().errors, 0);
    // Nothing is due any more.
    assert_eq!(rig.engine.sweep().await.unwrap().checked, 0);
}

async fn cancelled_processing_resumes_without_refetching(store: Arc<dyn JobStore>) {
    // Slow sources, so a round takes a while; each cut is made when the
    // store shows a given number of saved answers (waited for, not timed),
    // from "before anything" to "almost done", so cancellation lands where
    // it is meant to whatever the machine's speed.
    let rig = rig(
        store,
        faults("firecrawl:delay_ms=1000;cqc:delay_ms=120;neighbourhood:delay_ms=60"),
    )
    .await;
    let mut mid_round = 0;
    for cut_after in [None, Some(0usize), Some(1), Some(5), Some(12), Some(20)] {
        let id = submit(&rig).await;
        let snapshot = match cut_after {
            // Dropped at its first await: before the claim, or just after.
            None => {
                let round = tokio::time::timeout(Duration::ZERO, rig.engine.process(id)).await;
                assert!(round.is_err(), "a whole round in its first poll");
                job(&rig, id).await
            }
            Some(n) => {
                let engine = rig.engine.clone();
                let round = tokio::spawn(async move { engine.process(id).await });
                let waited = std::time::Instant::now();
                loop {
                    let j = job(&rig, id).await;
                    let saved = j.slots.iter().filter(|s| s.status.is_done()).count();
                    if saved >= n && j.lease.is_some() {
                        break;
                    }
                    assert!(!round.is_finished(), "the round ended before {n} answers");
                    assert!(
                        waited.elapsed() < Duration::from_secs(30),
                        "no {n} answers within 30 s"
                    );
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                round.abort();
                let cut = round.await;
                assert!(
                    cut.as_ref().is_err_and(|e| e.is_cancelled()),
                    "cut after {n}: the round was not cancelled: {cut:?}"
                );
                job(&rig, id).await
            }
        };
        let loaded: Vec<_> = snapshot
            .slots
            .iter()
            .filter(|s| s.status == SlotStatus::Loaded)
            .map(|s| s.key())
            .collect();
        if let Some(n) = cut_after {
            // Cut mid-round: under its lease, with n answers or more saved
            // and the slowest source (1 s a fetch) not all done.
            assert_eq!(snapshot.status, JobStatus::Processing, "cut after {n}");
            assert!(snapshot.lease.is_some(), "cut after {n}: no lease");
            assert!(
                loaded.len() >= n && loaded.len() < 30,
                "cut after {n}: {} loaded",
                loaded.len()
            );
            mid_round += 1;
        }
        let counts = requests(&rig, &snapshot);

        // The lease lapses (or, cut before the claim, the pending grace
        // passes); the next sweep resumes the job.
        rig.clock
            .advance(EngineConfig::default().pending_grace + Duration::from_secs(1));
        let report = rig.engine.sweep().await.unwrap();
        assert!(report.resumed >= 1, "cut after {cut_after:?}: {report:?}");
        let done = job(&rig, id).await;
        assert_eq!(done.status, JobStatus::Completed, "cut after {cut_after:?}");
        for key in loaded
            .iter()
            .filter(|k| k.source_type != SourceType::CompaniesHouse)
        {
            let now = rig.sandbox.requests_for(key.source_type, &key.home_id);
            assert_eq!(
                now,
                counts[&key.field()],
                "{} fetched again after it loaded",
                key.field()
            );
        }
        assert_eq!(done.slots.len(), 30);
    }
    assert_eq!(mid_round, 5, "every cut but the first landed mid-round");
}

async fn retries_follow_the_policy_until_the_source_heals(store: Arc<dyn JobStore>) {
    let rig = rig(store, faults("google_places:status=503,heal_after=3")).await;
    let id = submit(&rig).await;
    rig.engine.process(id).await.unwrap();
    let policy = exact_policy();
    let mut expected_at = t0();
    // Attempt 1 failed at t0; retries 1 and 2 fail; retry 3 succeeds.
    for retries_made in 0..3u32 {
        let j = job(&rig, id).await;
        assert_eq!(
            j.status,
            JobStatus::Partial,
            "before retry {}",
            retries_made + 1
        );
        expected_at += chrono::Duration::from_std(policy.delay(retries_made, "")).unwrap();
        for slot in j.missing() {
            assert_eq!(slot.source_type, SourceType::GooglePlaces);
            assert_eq!(
                slot.next_attempt_at,
                Some(expected_at),
                "retry {}",
                retries_made + 1
            );
        }
        // One second early: nothing is due.
        rig.clock.set(expected_at - chrono::Duration::seconds(1));
        assert_eq!(rig.engine.sweep().await.unwrap().retried, 0);
        rig.clock.set(expected_at);
        let report = rig.engine.sweep().await.unwrap();
        assert_eq!(report.retried, 5, "{report:?}");
    }
    let j = job(&rig, id).await;
    assert_eq!(j.status, JobStatus::Completed);
    for slot in j
        .slots
        .iter()
        .filter(|s| s.source_type == SourceType::GooglePlaces)
    {
        assert_eq!(slot.attempts, 4);
        assert_eq!(
            rig.sandbox
                .requests_for(SourceType::GooglePlaces, &slot.home_id),
            4
        );
    }
}

/// Sweeps at each due time until the job is final; returns the sweeps run.
async fn sweep_until_final(rig: &Rig, id: JobId) -> usize {
    let mut sweeps = 0;
    loop {
        let j = job(rig, id).await;
        if j.status == JobStatus::Completed
            || (j.status == JobStatus::Partial && !j.will_auto_retry)
        {
            return sweeps;
        }
        let next = j
            .missing()
            .filter_map(|s| s.next_attempt_at)
            .min()
            .unwrap_or(j.deadline_at)
            .min(j.deadline_at);
        rig.clock.set(next);
        rig.engine.sweep().await.unwrap();
        sweeps += 1;
        assert!(sweeps < 100, "the job never became final");
    }
}

async fn a_source_that_never_heals_is_given_up_at_the_deadline(store: Arc<dyn JobStore>) {
    let rig = rig(store, faults("firecrawl:status=503")).await;
    let id = submit(&rig).await;
    rig.engine.process(id).await.unwrap();
    sweep_until_final(&rig, id).await;
    let j = job(&rig, id).await;
    assert_eq!(j.status, JobStatus::Partial);
    assert!(!j.will_auto_retry);
    let now = rig.engine.now();
    assert!(!will_auto_retry(&j, rig.engine.policy(), now));
    for slot in j.missing() {
        assert!(slot.retry_count() <= 10);
        assert!(
            slot.last_attempt.unwrap() <= j.deadline_at,
            "attempt after the deadline"
        );
        assert_eq!(slot.next_attempt_at, None);
        assert_eq!(
            rig.sandbox
                .requests_for(SourceType::Firecrawl, &slot.home_id),
            u64::from(slot.attempts)
        );
    }
    // Hours later nothing more is attempted.
    let total = rig.sandbox.requests(SourceType::Firecrawl);
    rig.clock.advance(Duration::from_secs(6 * 3600));
    let report = rig.engine.sweep().await.unwrap();
    assert_eq!(report.retried, 0);
    assert_eq!(rig.sandbox.requests(SourceType::Firecrawl), total);
}

async fn retries_stop_at_the_cap_when_the_deadline_is_far(store: Arc<dyn JobStore>) {
    let policy = RetryPolicy {
        jitter: 0.0,
        deadline: Duration::from_secs(1000 * 3600),
        ..RetryPolicy::default()
    };
    let rig = rig_with(store, faults("fsa:status=500"), policy).await;
    let id = submit(&rig).await;
    rig.engine.process(id).await.unwrap();
    sweep_until_final(&rig, id).await;
    let j = job(&rig, id).await;
    assert!(!j.will_auto_retry);
    for slot in j.missing() {
        assert_eq!(slot.retry_count(), 10, "exactly the cap");
        assert_eq!(rig.sandbox.requests_for(SourceType::Fsa, &slot.home_id), 11);
    }
}

async fn sweep_touches_only_due_jobs(store: Arc<dyn JobStore>) {
    let rig = rig(store, FaultPlan::none()).await;
    let mut finished = Vec::new();
    for _ in 0..30 {
        let id = submit(&rig).await;
        rig.engine.process(id).await.unwrap();
        finished.push(id);
    }
    // Three partial jobs whose retries are due later.
    rig.sandbox.set_faults(faults("cqc:status=503"));
    let mut partial = Vec::new();
    for _ in 0..3 {
        let id = submit(&rig).await;
        rig.engine.process(id).await.unwrap();
        partial.push(id);
    }
    let cqc_before = rig.sandbox.requests(SourceType::Cqc);
    let all_before = SourceType::ALL.map(|t| rig.sandbox.requests(t));
    assert_eq!(
        rig.engine.sweep().await.unwrap().checked,
        0,
        "nothing is due yet"
    );
    rig.sandbox.set_faults(FaultPlan::none());
    rig.clock.advance(Duration::from_secs(301));
    let report = rig.engine.sweep().await.unwrap();
    assert_eq!(report.checked, 3, "{report:?}");
    assert_eq!(report.completed, 3);
    assert_eq!(rig.sandbox.requests(SourceType::Cqc), cqc_before + 15);
    for (i, t) in SourceType::ALL.into_iter().enumerate() {
        if t != SourceType::Cqc {
            assert_eq!(
                rig.sandbox.requests(t),
                all_before[i],
                "{t} fetched by the sweep"
            );
        }
    }
    for id in finished {
        assert_eq!(job(&rig, id).await.status, JobStatus::Completed);
    }
}

async fn pending_job_never_started_is_resumed_by_the_sweep(store: Arc<dyn JobStore>) {
    let rig = rig(store, FaultPlan::none()).await;
    let id = submit(&rig).await; // the host died before processing
    assert_eq!(
        rig.engine.sweep().await.unwrap().checked,
        0,
        "not due during the grace period"
    );
    rig.clock
        .advance(EngineConfig::default().pending_grace + Duration::from_secs(1));
    let report = rig.engine.sweep().await.unwrap();
    assert_eq!(report.resumed, 1, "{report:?}");
    assert_eq!(job(&rig, id).await.status, JobStatus::Completed);
}

async fn manual_retry_rules(store: Arc<dyn JobStore>) {
    let rig = rig(store, faults("neighbourhood:status=503,heal_after=1")).await;
    let id = submit(&rig).await;
    // Not ready yet: refused.
    assert!(matches!(
        rig.engine.manual_retry(id).await,
        Err(EngineError::RetryNotAllowed(JobStatus::Pending))
    ));
    rig.engine.process(id).await.unwrap();
    let (j, report) = rig.engine.manual_retry(id).await.unwrap();
    assert_eq!(report.retried_sources.len(), 5);
    assert_eq!(report.success_count, 5);
    assert_eq!(report.still_missing, 0);
    assert_eq!(j.status, JobStatus::Completed);
    // A second retry moments later is refused with a retry-after... unless
    // the job is complete, which needs no retry at all.
    let (_, again) = rig.engine.manual_retry(id).await.unwrap();
    assert!(again.retried_sources.is_empty());

    // Throttle on a partial job.
    rig.sandbox.set_faults(faults("neighbourhood:status=503"));
    let id = submit(&rig).await;
    rig.engine.process(id).await.unwrap();
    rig.engine.manual_retry(id).await.unwrap();
    match rig.engine.manual_retry(id).await {
        Err(EngineError::RetryTooSoon { retry_after }) => {
            assert!(retry_after <= Duration::from_secs(30))
        }
        other => panic!("expected RetryTooSoon, got {other:?}"),
    }
    rig.clock.advance(Duration::from_secs(31));
    rig.engine.manual_retry(id).await.unwrap();
    // Past the deadline: the window is closed.
    rig.clock.advance(Duration::from_secs(4 * 3600));
    assert!(matches!(
        rig.engine.manual_retry(id).await,
        Err(EngineError::RetryWindowClosed)
    ));
    // Unknown job.
    assert!(matches!(
        rig.engine.manual_retry(JobId::new()).await,
        Err(EngineError::NotFound)
    ));
}

/// A job whose stored questionnaire does not decode (a record the service
/// did not write: corruption, a version skew) fails at planning with the
/// reason, as before the stored form was typed, and nothing else does: its
/// status reads before and after, its result is the failure, the sweep
/// runs, and the next job is built.
async fn a_stored_questionnaire_that_does_not_decode_fails_only_its_own_job(
    store: Arc<dyn JobStore>,
) {
    let rig = rig(store, FaultPlan::none()).await;
    let now = rig.engine.now();
    let id = JobId::at(now);
    let mut bad = questionnaire();
    bad["section_2_location_budget"]["q7_budget"] = Value::from("a lot");
    let new = NewJob {
        id,
        questionnaire: bad,
        idempotency: None,
        now,
        deadline_at: now + chrono::Duration::hours(3),
        message: "queued".to_owned(),
        client: None,
    };
    rig.store
        .create(new, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        rig.engine.summary(id).await.unwrap().status,
        JobStatus::Pending
    );
    rig.engine.process(id).await.unwrap();
    let failed = job(&rig, id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    let error = failed.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("stored questionnaire is invalid: ") && error.contains("'a lot'"),
        "{error}"
    );
    let status = rig.engine.summary(id).await.unwrap();
    assert_eq!(status.status, JobStatus::Failed);
    assert_eq!(status.error.as_deref(), Some(error.as_str()));
    assert!(matches!(
        rig.engine.report(id).await,
        Err(EngineError::JobFailed(_))
    ));
    rig.clock.advance(Duration::from_secs(301));
    rig.engine.sweep().await.unwrap();
    let next = submit(&rig).await;
    rig.engine.process(next).await.unwrap();
    assert_eq!(job(&rig, next).await.status, JobStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processed_job_has_a_report_with_five_homes() {
    let store: Arc<dyn JobStore> = Arc::new(MemoryStore::default());
    let rig = rig(store, FaultPlan::none()).await;
    let id = submit(&rig).await;
    rig.engine.process(id).await.unwrap();
    let settled = rig.engine.report(id).await.unwrap();
    assert_eq!(settled.report.care_homes.len(), 5, "{:?}", settled.report);
    assert_eq!(settled.report.job_id, id.to_string());
}

async fn a_sweep_out_of_budget_gives_its_job_back(store: Arc<dyn JobStore>) {
    // One fetch at a time, each (but the neighbourhood's) longer than the
    // whole budget: the budget ends while a slow fetch is in flight, so the
    // sweep saves that answer, starts no other, and gives the job back. No
    // clock is read to check it: the fetch count proves the round stopped,
    // and a slower machine changes only how long the test takes (the claim
    // and plan, a few store calls, must fit in the 1.5 s budget).
    let config = EngineConfig {
        lease_ttl: Duration::from_secs(30),
        sweep_budget: Duration::from_millis(1500),
        fetch_concurrency: 1,
        ..EngineConfig::default()
    };
    let slow =
        "cqc:delay_ms=2500;fsa:delay_ms=2500;google_places:delay_ms=2500;firecrawl:delay_ms=2500";
    let rig = rig_timed(
        store,
        faults(slow),
        exact_policy(),
        config,
        Some(Duration::from_secs(30)),
    )
    .await;
    let id = submit(&rig).await; // never started: the sweep takes it over
    rig.clock
        .advance(EngineConfig::default().pending_grace + Duration::from_secs(1));
    let report = rig.engine.sweep().await.unwrap();
    // It stopped for the budget: a whole round is 20 slow fetches (50 s).
    assert!(report.budget_exhausted, "{report:?}");
    assert_eq!(report.resumed, 1, "{report:?}");
    let paused = job(&rig, id).await;
    assert_eq!(paused.status, JobStatus::Processing);
    assert!(paused.lease.is_none(), "the lease was given back");
    let pending = paused
        .slots
        .iter()
        .filter(|s| s.status == SlotStatus::Pending && s.source_type != SourceType::CompaniesHouse)
        .count();
    assert!(
        pending > 0 && pending < 25,
        "{pending} per-home slots pending"
    );
    // Every fetch the sweep started was saved (the one in flight too), and
    // no slow one after the budget ended: at most the one in flight then.
    let sent: u64 = requests(&rig, &paused).values().sum();
    assert_eq!(sent, 25 - pending as u64, "fetches sent vs answers saved");
    let slow_sent: u64 = paused
        .slots
        .iter()
        .filter(|s| {
            !matches!(
                s.source_type,
                SourceType::Neighbourhood | SourceType::CompaniesHouse
            )
        })
        .map(|s| rig.sandbox.requests_for(s.source_type, &s.home_id))
        .sum();
    assert!((1..=2).contains(&slow_sent), "{slow_sent} slow fetches");
    // Due at once: the next sweep continues where this one stopped.
    rig.sandbox.set_faults(FaultPlan::none());
    let loaded_before = requests(&rig, &paused);
    rig.engine.sweep().await.unwrap();
    rig.engine.sweep().await.unwrap();
    let mut done = job(&rig, id).await;
    for _ in 0..20 {
        if done.status == JobStatus::Completed {
            break;
        }
        rig.engine.sweep().await.unwrap();
        done = job(&rig, id).await;
    }
    assert_eq!(done.status, JobStatus::Completed);
    for slot in paused
        .slots
        .iter()
        .filter(|s| s.status == SlotStatus::Loaded && s.source_type != SourceType::CompaniesHouse)
    {
        let field = slot.key().field();
        assert_eq!(
            rig.sandbox.requests_for(slot.source_type, &slot.home_id),
            loaded_before[&field],
            "{field} fetched again"
        );
    }
}

/// Retries selected just before the deadline wait for the per-source limit;
/// those still waiting when the deadline passes are not sent at all.
async fn a_retry_queued_past_the_deadline_is_not_made(store: Arc<dyn JobStore>) {
    let config = EngineConfig {
        lease_ttl: Duration::from_secs(30),
        per_source_concurrency: 1,
        ..EngineConfig::default()
    };
    let rig = rig_timed(
        store,
        faults("google_places:status=503"),
        exact_policy(),
        config,
        Some(Duration::from_secs(30)),
    )
    .await;
    let id = submit(&rig).await;
    rig.engine.process(id).await.unwrap();
    let j = job(&rig, id).await;
    assert_eq!(j.missing().count(), 5);
    let before = rig.sandbox.requests(SourceType::GooglePlaces);
    assert_eq!(before, 5);

    // At the deadline itself retries are still allowed: all five are
    // selected, and queue behind one slow fetch at a time. The fetch takes
    // 3 s, so the test moves the clock while it is in flight even on a
    // stalled machine (it polls every 5 ms).
    rig.clock.set(j.deadline_at);
    rig.sandbox
        .set_faults(faults("google_places:status=503,delay_ms=3000"));
    let engine = rig.engine.clone();
    let sweep = tokio::spawn(async move { engine.sweep().await });
    let waited = std::time::Instant::now();
    while rig.sandbox.requests(SourceType::GooglePlaces) == before {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "no retry was sent"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The first retry is in flight; the deadline passes.
    rig.clock.advance(Duration::from_secs(1));
    sweep.await.unwrap().unwrap();

    assert_eq!(
        rig.sandbox.requests(SourceType::GooglePlaces),
        before + 1,
        "retries were sent after the deadline"
    );
    let j = job(&rig, id).await;
    assert_eq!(j.status, JobStatus::Partial);
    assert!(!j.will_auto_retry, "the job is final after its deadline");
    let report = care_report_testing::invariants::check_store(
        rig.store.as_ref(),
        &[id],
        &exact_policy(),
        true,
    )
    .await;
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

/// A store that, once armed, runs a sweep of another engine right before
/// the next claim: the moment between a manual retry's first read of the
/// job and its round's lease, where a sweep can change the job.
struct SweepBeforeClaim {
    inner: Arc<dyn JobStore>,
    armed: std::sync::atomic::AtomicBool,
    sweeper: std::sync::OnceLock<Arc<Engine>>,
}

mod delegate {
    use super::SweepBeforeClaim;
    use care_report::model::{HistoryEntry, Job, JobId, JobSummary, Lease, SlotKey};
    use care_report::store::{
        BoxFuture, Claim, Created, Finish, JobStore, ManualRetryGate, NewJob, Record, Result,
        SavePlan,
    };
    use chrono::{DateTime, Utc};
    use serde_json::Value;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    impl JobStore for SweepBeforeClaim {
        fn kind(&self) -> &'static str {
            self.inner.kind()
        }
        fn ping(&self) -> BoxFuture<'_, Result<()>> {
            self.inner.ping()
        }
        fn create(&self, new: NewJob, grace: Duration) -> BoxFuture<'_, Result<Created>> {
            self.inner.create(new, grace)
        }
        fn get(&self, id: JobId) -> BoxFuture<'_, Result<Option<Job>>> {
            self.inner.get(id)
        }
        fn summary(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobSummary>>> {
            self.inner.summary(id)
        }
        fn source_data(&self, id: JobId) -> BoxFuture<'_, Result<Vec<(SlotKey, Value)>>> {
            self.inner.source_data(id)
        }
        fn claim(
            &self,
            id: JobId,
            owner: &str,
            now: DateTime<Utc>,
            ttl: Duration,
        ) -> BoxFuture<'_, Result<Claim>> {
            let owner = owner.to_owned();
            Box::pin(async move {
                if self.armed.swap(false, Ordering::SeqCst) {
                    let sweeper = self.sweeper.get().expect("sweeper set").clone();
                    sweeper.sweep().await.expect("the interleaved sweep runs");
                }
                self.inner.claim(id, &owner, now, ttl).await
            })
        }
        fn renew(
            &self,
            lease: &Lease,
            now: DateTime<Utc>,
            ttl: Duration,
        ) -> BoxFuture<'_, Result<Lease>> {
            self.inner.renew(lease, now, ttl)
        }
        fn release(&self, lease: &Lease, now: DateTime<Utc>) -> BoxFuture<'_, Result<()>> {
            self.inner.release(lease, now)
        }
        fn save_plan(
            &self,
            lease: &Lease,
            plan: SavePlan,
            now: DateTime<Utc>,
        ) -> BoxFuture<'_, Result<Job>> {
            self.inner.save_plan(lease, plan, now)
        }
        fn record(
            &self,
            lease: &Lease,
            record: Record,
            now: DateTime<Utc>,
        ) -> BoxFuture<'_, Result<JobSummary>> {
            self.inner.record(lease, record, now)
        }
        fn finish(
            &self,
            lease: &Lease,
            finish: Finish,
            now: DateTime<Utc>,
        ) -> BoxFuture<'_, Result<Job>> {
            self.inner.finish(lease, finish, now)
        }
        fn gate_manual_retry(
            &self,
            id: JobId,
            now: DateTime<Utc>,
            min_interval: Duration,
        ) -> BoxFuture<'_, Result<ManualRetryGate>> {
            self.inner.gate_manual_retry(id, now, min_interval)
        }
        fn due(&self, now: DateTime<Utc>, limit: usize) -> BoxFuture<'_, Result<Vec<JobId>>> {
            self.inner.due(now, limit)
        }
        fn history(&self, id: JobId) -> BoxFuture<'_, Result<Vec<HistoryEntry>>> {
            self.inner.history(id)
        }
    }
}

/// A manual retry answers with the slots its round fetched, chosen under
/// its lease: a sweep that loads some missing slots between the retry's
/// first read and its claim must not have them listed as retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_retry_lists_only_what_its_round_fetched() {
    let inner: Arc<dyn JobStore> = Arc::new(MemoryStore::default());
    let wrapper = Arc::new(SweepBeforeClaim {
        inner: inner.clone(),
        armed: std::sync::atomic::AtomicBool::new(false),
        sweeper: std::sync::OnceLock::new(),
    });
    // Firecrawl fails once per home, then heals (retry due at +300 s);
    // Google Places always answers 429 asking for 1,000 s.
    let plan = faults("firecrawl:status=503,heal_after=1;google_places:retry_after=1000");
    let rig = rig(wrapper.clone(), plan).await;
    let sweeper = EngineRig::new(inner)
        .sandbox(rig.sandbox.clone())
        .policy(exact_policy())
        .clock(rig.clock.clone())
        .build()
        .await
        .engine;
    assert!(wrapper.sweeper.set(Arc::new(sweeper)).is_ok());

    let id = submit(&rig).await;
    rig.engine.process(id).await.unwrap();
    assert_eq!(job(&rig, id).await.missing().count(), 10);
    // The firecrawl retries are due; Google's are not.
    rig.clock.advance(Duration::from_secs(301));
    wrapper
        .armed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (after, report) = rig.engine.manual_retry(id).await.unwrap();

    let google: Vec<String> = after
        .slots
        .iter()
        .filter(|s| s.source_type == SourceType::GooglePlaces)
        .map(|s| s.key().field())
        .collect();
    let mut retried = report.retried_sources.clone();
    retried.sort();
    let mut want = google.clone();
    want.sort();
    assert_eq!(retried, want, "the sweep had loaded firecrawl already");
    assert_eq!(report.success_count, 0);
    assert_eq!(report.still_missing, 5);
    assert_eq!(
        report.message,
        "Retried 5 sources: 0 loaded, 5 still missing"
    );
    // Each firecrawl slot was fetched twice (first round, the sweep), never
    // by the manual retry.
    for s in after
        .slots
        .iter()
        .filter(|s| s.source_type == SourceType::Firecrawl)
    {
        assert_eq!(s.status, SlotStatus::Loaded);
        assert_eq!(
            rig.sandbox.requests_for(SourceType::Firecrawl, &s.home_id),
            2
        );
    }
}
