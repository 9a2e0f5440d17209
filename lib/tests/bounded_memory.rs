//! Bounded reads, measured: every source at once against an upstream whose
//! body never ends. This binary holds this one test only, so the process's
//! peak resident memory (`VmHWM` in `/proc/self/status`) is this test's.
//!
//! The bound: the caps are 1–8 MiB per source (`sources::config`), a
//! `Vec` may double past what it holds, and 5 sources × 4 concurrent
//! fetches run at once: under 20 × 2 × 8 MiB = 320 MiB in the very worst
//! case, and the test allows 256 MiB of growth. Before the caps a 5 s
//! timeout let one endless body grow the dev-server to 6 GB; here the
//! timeout is 60 s, so the cap, not the clock, ends every read.

use std::time::Duration;

use care_report::directory::Directory;
use care_report::model::SourceType;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::sources::{FailureKind, SourceOutcome, Sources};

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_bodies_leave_peak_memory_bounded_and_the_slots_failed() {
    let plan = "cqc:endless;fsa:endless;google_places:endless;neighbourhood:endless;firecrawl:endless;companies_house:endless";
    let homes = Directory::demo().homes()[..4].to_vec();
    let sandbox = Sandbox::start(homes.clone(), FaultPlan::parse(plan).unwrap())
        .await
        .unwrap();
    let mut config = sandbox.sources_config();
    for s in [
        &mut config.cqc,
        &mut config.fsa,
        &mut config.google_places,
        &mut config.postcodes,
        &mut config.overpass,
        &mut config.firecrawl,
        &mut config.companies_house,
    ] {
        s.timeout = Duration::from_secs(60);
    }
    let sources = Sources::new(config).unwrap();
    let before = vm_hwm_kib();
    let fetches = homes
        .iter()
        .flat_map(|h| SourceType::ALL.map(|s| (s, h.clone())));
    let outcomes = futures::future::join_all(fetches.map(|(s, h)| {
        let sources = sources.clone();
        async move { (s, sources.fetch(s, &h).await) }
    }))
    .await;
    for (source, outcome) in &outcomes {
        match outcome {
            SourceOutcome::Failed(f) => {
                assert_eq!(f.kind, FailureKind::Transient, "{source}");
                assert!(f.message.contains("more than"), "{source}: {}", f.message);
            }
            other => panic!("{source}: {other:?}"),
        }
    }
    assert_eq!(outcomes.len(), 24);
    if let (Some(before), Some(after)) = (before, vm_hwm_kib()) {
        let grown_mib = after.saturating_sub(before) / 1024;
        eprintln!("VmHWM before {before} KiB, after {after} KiB, grown {grown_mib} MiB");
        assert!(grown_mib < 256, "peak memory grew by {grown_mib} MiB");
    }
}
