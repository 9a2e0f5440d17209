//! Stored jobs of the shape written before the source records were typed
//! (`care_report::facts`) still read and render, byte for byte.
//!
//! `fixtures/stored_job_v1.json` was serialized from the code at commit
//! 7abfb4c (before the typed facts): two completed jobs of the sample
//! questionnaire on the sandbox, the second answered from the source cache
//! (its records carry `cachedAt`), each with its stored job record (plan,
//! slots, questionnaire), its saved source data and the result view the
//! code of that day rendered from them.

use care_report::directory::Directory;
use care_report::engine::JobReport;
use care_report::facts::{Area, Company, Cqc, Fsa, Place, Website};
use care_report::http::answers::ResultView;
use care_report::model::{Job, SlotKey, SourceType};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/stored_job_v1.json");

/// One stored job of the fixture: the job record, its saved data, and the
/// result as rendered then.
fn stored(name: &str) -> (Job, Vec<(SlotKey, Value)>, Value) {
    let all: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
    let case = &all[name];
    let job: Job = serde_json::from_value(case["job"].clone()).expect("a stored job record");
    let data: Vec<(SlotKey, Value)> =
        serde_json::from_value(case["source_data"].clone()).expect("stored source data");
    (job, data, case["result"].clone())
}

/// `v` as the text an answer carries, read back: two values are the same
/// answer when these are equal (floats compared as printed).
fn printed<T: Serialize>(v: &T) -> Value {
    let text = serde_json::to_string(v).expect("serializes");
    serde_json::from_str(&text).expect("reads back")
}

#[test]
fn a_stored_job_of_the_previous_shape_renders_as_it_did() {
    for name in ["first_fetch", "from_cache"] {
        let (job, data, then) = stored(name);
        assert!(
            job.plan.as_ref().is_some_and(|p| p.get("needs").is_none()),
            "{name}: a plan of the previous shape carries no needs"
        );
        let view =
            ResultView::of(JobReport::of_stored(job, &data, &Directory::demo()).expect("renders"));
        let now = printed(&view);
        assert_eq!(
            serde_json::to_string(&now).unwrap(),
            serde_json::to_string(&printed(&then)).unwrap(),
            "{name}: the stored job renders as it did"
        );
        assert_eq!(now["report"]["careHomes"].as_array().map(Vec::len), Some(5));
    }
}

/// Each stored record reads as its source's type and writes back the very
/// same JSON: the adapters now write these types, so a job stored before
/// and one stored after hold the same shape.
#[test]
fn every_stored_record_reads_as_its_type_and_writes_back_unchanged() {
    fn same<T: Serialize + DeserializeOwned>(v: &Value) -> bool {
        let typed: T = serde_json::from_value(v.clone()).expect("reads as its type");
        printed(&typed) == printed(v)
    }
    let mut cached = 0;
    for name in ["first_fetch", "from_cache"] {
        let (_, data, _) = stored(name);
        assert_eq!(data.len(), 30, "{name}");
        for (key, v) in &data {
            cached += usize::from(v.get("cachedAt").is_some());
            let unchanged = match key.source_type {
                SourceType::Cqc => same::<Cqc>(v),
                SourceType::Fsa => same::<Fsa>(v),
                SourceType::GooglePlaces => same::<Place>(v),
                SourceType::Neighbourhood => same::<Area>(v),
                SourceType::Firecrawl => same::<Website>(v),
                SourceType::CompaniesHouse => same::<Company>(v),
            };
            assert!(unchanged, "{name}: {key:?} writes back another shape: {v}");
        }
    }
    assert!(cached >= 25, "the cached answers are in the fixture");
}

/// The same two jobs made today, on the same sandbox and clock: the
/// adapters write the very records stored before, and the result (which
/// now reads the needs from the plan instead of parsing the questionnaire)
/// is the one rendered before, but for the new job's and report's ids.
#[tokio::test]
async fn jobs_stored_today_hold_the_same_records_and_render_the_same() {
    use std::sync::Arc;

    use care_report::sources::CacheConfig;
    use care_report::store::source_cache::MemorySourceCache;
    use care_report::store::{JobStore, MemoryStore};
    use care_report_testing::rig::EngineRig;

    let store: Arc<dyn JobStore> = Arc::new(MemoryStore::default());
    let cache = Arc::new(MemorySourceCache::new());
    let rig = EngineRig::new(store.clone())
        .cache(cache.clone(), cache, CacheConfig::default())
        .build()
        .await;
    let q: Value = serde_json::from_str(include_str!("fixtures/questionnaire.json")).unwrap();
    for name in ["first_fetch", "from_cache"] {
        let (_, then_data, mut then) = stored(name);
        let id = rig.engine.submit(q.clone(), None).await.unwrap().job().id;
        rig.engine.process(id).await.unwrap();
        rig.clock.advance(std::time::Duration::from_secs(90));
        let job = store.get(id).await.unwrap().unwrap();
        assert!(job.plan.as_ref().is_some_and(|p| p.get("needs").is_some()));
        let data = store.source_data(id).await.unwrap();
        assert_eq!(printed(&data), printed(&then_data), "{name}: the records");
        let mut now = printed(&ResultView::of(rig.engine.report(id).await.unwrap()));
        for v in [&mut now, &mut then] {
            let report_id = v["report_id"].take();
            assert_eq!(v["report"]["reportId"].take(), report_id);
            let job_id = v["job_id"].take();
            assert_eq!(v["report"]["jobId"].take(), job_id);
        }
        assert_eq!(
            serde_json::to_string(&now).unwrap(),
            serde_json::to_string(&then).unwrap(),
            "{name}: the result"
        );
    }
}
