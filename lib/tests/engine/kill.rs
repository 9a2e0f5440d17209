//! A worker process killed (SIGKILL) in the middle of a job: the next sweep,
//! in another process, completes the job from the saved checkpoints and
//! fetches none of the sources the dead worker had already loaded.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use care_report::engine::{Engine, EngineConfig, ManualClock, SystemClock};
use care_report::model::{JobId, JobStatus, SlotStatus, SourceType};
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::store::{JobStore, Retention};
use care_report_testing::redis as test_redis;
use care_report_testing::rig::EngineRig;

const CHILD_ENV: &str = "CARE_REPORT_TEST_KILLED_WORKER";

async fn engine(
    store: Arc<dyn JobStore>,
    faults: FaultPlan,
    clock: Arc<dyn care_report::engine::Clock>,
) -> (Engine, Arc<Sandbox>) {
    let rig = EngineRig::new(store)
        .faults(faults)
        .config(EngineConfig {
            lease_ttl: Duration::from_secs(30),
            // One fetch at a time, so the kill lands with some slots saved
            // and others not yet started.
            fetch_concurrency: 1,
            ..EngineConfig::default()
        })
        .dyn_clock(clock)
        .build()
        .await;
    (rig.engine, rig.sandbox)
}

/// The worker half of the test below, run in a child process (the test
/// binary itself, started with `CHILD_ENV` set to `prefix job_id`):
/// processes the job slowly until it is killed.
async fn killed_worker(spec: &str) {
    let (prefix, id) = spec.split_once(' ').expect("prefix and id");
    let id = JobId::parse(id).expect("job id");
    let store = Arc::new(test_redis::store_with_prefix(prefix, Retention::default()).await);
    // 25 fetches of 200 ms one at a time: the parent kills at 5 saved, and
    // has 4 s to do it however loaded the machine is.
    let faults = FaultPlan::parse("cqc:delay_ms=200;fsa:delay_ms=200;google_places:delay_ms=200;neighbourhood:delay_ms=200;firecrawl:delay_ms=200").unwrap();
    let (engine, _sandbox) = engine(store, faults, Arc::new(SystemClock)).await;
    engine.process(id).await.unwrap();
    // Reaching this line means the parent did not kill us in time.
    std::process::exit(3);
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One test, two processes: run normally it is the parent, and it starts
/// itself (`--exact` this test) with `CHILD_ENV` set as the worker it then
/// kills. So no test passes by doing nothing when a variable is unset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_is_resumed_without_refetching() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return killed_worker(&spec).await;
    }
    let url = test_redis::url();
    let prefix = test_redis::unique_prefix();
    let store: Arc<dyn JobStore> =
        Arc::new(test_redis::store_with_prefix(&prefix, Retention::default()).await);

    let questionnaire: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/questionnaire.json")).unwrap();
    let created = store.clone();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (parent, sandbox) = engine(created, FaultPlan::none(), clock.clone()).await;
    let id = parent.submit(questionnaire, None).await.unwrap().job().id;

    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "kill::killed_worker_is_resumed_without_refetching",
                "--exact",
                "--test-threads",
                "1",
            ])
            .env(test_redis::ENV_TEST_REDIS_URL, &url)
            .env(CHILD_ENV, format!("{prefix} {id}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Kill it once some slots are saved and others are not.
    let started = Instant::now();
    loop {
        let job = store.get(id).await.unwrap().unwrap();
        let loaded = job
            .slots
            .iter()
            .filter(|s| s.status == SlotStatus::Loaded)
            .count();
        if loaded >= 5 {
            break;
        }
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the worker exited before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker made no progress"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    let snapshot = store.get(id).await.unwrap().unwrap();
    assert_eq!(snapshot.status, JobStatus::Processing);
    assert!(
        snapshot.lease.is_some(),
        "the dead worker's lease is still there"
    );
    let loaded: Vec<_> = snapshot
        .slots
        .iter()
        .filter(|s| s.status == SlotStatus::Loaded)
        .map(|s| s.key())
        .collect();
    assert!(loaded.len() < 30, "the kill came too late to mean anything");

    // Before the lease lapses the job is not taken over...
    assert_eq!(parent.sweep().await.unwrap().resumed, 0);
    // ...after it, the sweep resumes it.
    clock.advance(Duration::from_secs(45));
    let report = parent.sweep().await.unwrap();
    assert_eq!(report.resumed, 1, "{report:?}");
    let done = store.get(id).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Completed, "{}", done.message);
    assert_eq!(done.completeness, 100);
    for key in &loaded {
        assert_eq!(
            sandbox.requests_for(key.source_type, &key.home_id),
            0,
            "{} was loaded by the dead worker and fetched again",
            key.field()
        );
    }
    // Companies House fetches are counted per company number, shared by a
    // provider's homes (its own suite checks them): the per-home count
    // covers the five other sources.
    let per_home = |s: &&care_report::model::Slot| s.source_type != SourceType::CompaniesHouse;
    let fetched_again: u64 = done
        .slots
        .iter()
        .filter(per_home)
        .map(|s| sandbox.requests_for(s.source_type, &s.home_id))
        .sum();
    let loaded_per_home = loaded
        .iter()
        .filter(|k| k.source_type != SourceType::CompaniesHouse)
        .count();
    assert_eq!(fetched_again as usize, 25 - loaded_per_home);
}
