//! Upstream calls per report, source cache off, cold and warm.
//!
//! Method: in process, an `Engine` over the sandbox sources (the demo
//! directory), the memory store and a `MemorySourceCache`, a manual clock.
//! 100 jobs of the sample questionnaire (one city, the same five homes) are
//! processed 10 at a time, three times: with `SOURCE_CACHE=off`, then with
//! the cache on and empty (cold), then 100 more on the warm cache. The
//! sandbox counts every HTTP request each fake API receives
//! (`Sandbox::upstream_calls`). Paid calls are Google Places (billed per
//! request) and Firecrawl (credits per scrape); CQC, FSA, postcodes.io and
//! Overpass are free.

use std::sync::Arc;

use care_report::directory::Directory;
use care_report::engine::{Engine, ManualClock};
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::sources::CacheConfig;
use care_report::store::source_cache::MemorySourceCache;
use care_report::store::MemoryStore;
use care_report_testing::rig::EngineRig;
use futures::StreamExt;

const APIS: [&str; 6] = [
    "cqc",
    "fsa",
    "google_places",
    "postcodes",
    "overpass",
    "firecrawl",
];
const PAID: [&str; 2] = ["google_places", "firecrawl"];
const REPORTS: usize = 100;

async fn batch(engine: &Arc<Engine>, n: usize) -> anyhow::Result<()> {
    let q = super::questionnaire();
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(engine.submit(q.clone(), None).await?.job().id);
    }
    let results: Vec<_> = futures::stream::iter(ids)
        .map(|id| {
            let engine = engine.clone();
            async move { engine.process(id).await }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(())
}

fn snapshot(sandbox: &Sandbox) -> Vec<u64> {
    APIS.iter().map(|a| sandbox.upstream_calls(a)).collect()
}

/// Runs the scenario and prints its table.
pub async fn run() -> anyhow::Result<()> {
    let directory = Directory::demo();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut rows: Vec<(&str, Vec<u64>)> = Vec::new();
    for (label, enabled) in [("off", false), ("on", true)] {
        let sandbox =
            Arc::new(Sandbox::start(directory.homes().to_vec(), FaultPlan::none()).await?);
        let cache = Arc::new(MemorySourceCache::new());
        let settings = CacheConfig {
            enabled,
            ..CacheConfig::default()
        };
        let rig = EngineRig::new(Arc::new(MemoryStore::default()))
            .sandbox(sandbox.clone())
            .cache(cache.clone(), cache, settings)
            .clock(clock.clone())
            .build()
            .await;
        let engine = Arc::new(rig.engine);
        eprintln!("cache {label}: {REPORTS} reports");
        batch(&engine, REPORTS).await?;
        let cold = snapshot(&sandbox);
        if enabled {
            rows.push(("cache on, cold (100 reports from empty)", cold.clone()));
            eprintln!("cache on: {REPORTS} more reports (warm)");
            batch(&engine, REPORTS).await?;
            let warm: Vec<u64> = snapshot(&sandbox)
                .iter()
                .zip(&cold)
                .map(|(a, b)| a - b)
                .collect();
            rows.push(("cache on, warm (100 more reports)", warm));
        } else {
            rows.push(("SOURCE_CACHE=off", cold));
        }
    }
    println!("\n### Upstream calls per report (100 reports, one city)\n");
    println!(
        "| run | {} | all | paid (Google + Firecrawl) | paid calls saved vs off |",
        APIS.join(" | ")
    );
    println!("|---|{}---|---|---|", "---|".repeat(APIS.len()));
    let paid = |v: &[u64]| -> u64 {
        APIS.iter()
            .zip(v)
            .filter(|(a, _)| PAID.contains(a))
            .map(|(_, n)| n)
            .sum()
    };
    let off_paid = paid(&rows[0].1);
    for (label, v) in &rows {
        let per: Vec<String> = v
            .iter()
            .map(|n| format!("{:.2}", *n as f64 / REPORTS as f64))
            .collect();
        let all: u64 = v.iter().sum();
        let p = paid(v);
        println!(
            "| {label} | {} | {:.2} | {:.2} | {} of {off_paid} ({:.0}%) |",
            per.join(" | "),
            all as f64 / REPORTS as f64,
            p as f64 / REPORTS as f64,
            off_paid.saturating_sub(p),
            100.0 * off_paid.saturating_sub(p) as f64 / off_paid.max(1) as f64
        );
    }
    Ok(())
}
