//! Companies House, the sixth source: the sandbox speaks the real API's
//! shapes and errors, the adapter turns each into the right outcome, one
//! fetch serves every home of a provider (cache and single flight), the
//! source spends no paid budget, and a fixture in the export's format whose
//! providers trip each financial rule.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use care_report::directory::{Directory, Home};
use care_report::facts::HomeSources;
use care_report::judgement::{judge, FamilyNeeds, HomeFacts, JudgementInput, Selection};
use care_report::matching::CareNeed;
use care_report::model::{JobStatus, Slot, SlotKey, SlotStatus, SourceType};
use care_report::questionnaire::Questionnaire;
use care_report::sandbox::{FaultPlan, FaultSpec, Sandbox, COMPANIES_HOUSE_KEY};
use care_report::sources::{CacheConfig, FailureKind, SourceOutcome, Sources};
use care_report::store::limits::budget_day;
use care_report::store::source_cache::MemorySourceCache;
use care_report::store::{JobStore, MemoryStore, Retention};
use care_report_testing::rig::{t0, EngineRig};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

const CH: SourceType = SourceType::CompaniesHouse;

fn fixture() -> Directory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/provider_finances.csv");
    Directory::from_csv_path(&path).expect("fixture loads").0
}

fn home(dir: &Directory, id: &str) -> Home {
    dir.find(id).expect("fixture home").clone()
}

async fn start(dir: &Directory, faults: FaultPlan) -> (Sandbox, Sources) {
    let sandbox = Sandbox::start(dir.homes().to_vec(), faults).await.unwrap();
    let sources = Sources::new(sandbox.sources_config()).unwrap();
    (sandbox, sources)
}

fn loaded(outcome: SourceOutcome) -> Value {
    match outcome {
        SourceOutcome::Loaded(v) => v,
        other => panic!("expected loaded, got {other:?}"),
    }
}

/// The raw API, as any HTTP client sees it.
async fn raw(sandbox: &Sandbox, path: &str, user: Option<&str>) -> reqwest::Response {
    let base = sandbox.sources_config().companies_house.base_url;
    let mut req = reqwest::Client::new().get(base.join(path).unwrap());
    if let Some(user) = user {
        req = req.basic_auth(user, Some(""));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_sandbox_speaks_the_real_shapes_and_errors() {
    let dir = fixture();
    let (sandbox, _) = start(&dir, FaultPlan::none()).await;

    // 401 without a key, and with a wrong one: the service's own body.
    for user in [None, Some("not-the-key")] {
        let r = raw(&sandbox, "company/01234561", user).await;
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": "Invalid Authorization", "type": "ch:service"})
        );
    }
    // 404 for a number nobody holds.
    let r = raw(&sandbox, "company/09999999", Some(COMPANIES_HOUSE_KEY)).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["error"], "company-profile-not-found");
    assert_eq!(body["errors"][0]["type"], "ch:service");
    // 200 with the rate-limit headers the live API sends.
    let r = raw(&sandbox, "company/01234563", Some(COMPANIES_HOUSE_KEY)).await;
    assert_eq!(r.status(), 200);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remain",
        "x-ratelimit-reset",
        "x-ratelimit-window",
    ] {
        assert!(r.headers().contains_key(h), "{h}");
    }
    assert_eq!(r.headers()["x-ratelimit-limit"], "600");
    let profile: Value = r.json().await.unwrap();
    assert_eq!(profile["company_status"], "administration");
    assert_eq!(profile["has_insolvency_history"], true);
    let r = raw(
        &sandbox,
        "company/01234563/insolvency",
        Some(COMPANIES_HOUSE_KEY),
    )
    .await;
    let insolvency: Value = r.json().await.unwrap();
    assert_eq!(insolvency["cases"][0]["type"], "in-administration");
    assert_eq!(
        insolvency["cases"][0]["dates"][0]["type"],
        "administration-started-on"
    );
    let r = raw(
        &sandbox,
        "company/01234565/charges",
        Some(COMPANIES_HOUSE_KEY),
    )
    .await;
    let charges: Value = r.json().await.unwrap();
    assert_eq!(charges["total_count"], 3);
    assert_eq!(charges["satisfied_count"], 1);

    // 429 as the live API answers it: no Retry-After, the window's reset.
    sandbox.set_faults(FaultPlan::none().with(
        CH,
        FaultSpec::always().retry_after(Duration::from_secs(120)),
    ));
    let r = raw(&sandbox, "company/01234561", Some(COMPANIES_HOUSE_KEY)).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
    assert_eq!(r.headers()["x-ratelimit-remain"], "0");
    let reset: i64 = r.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let ahead = reset - Utc::now().timestamp();
    assert!((110..=121).contains(&ahead), "{ahead}");
    // 5xx in the service's error shape.
    sandbox.set_faults(FaultPlan::none().with(CH, FaultSpec::always().status(502)));
    let r = raw(&sandbox, "company/01234561", Some(COMPANIES_HOUSE_KEY)).await;
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "ch:service");
}

#[tokio::test]
async fn the_adapter_reads_each_story_and_maps_each_error() {
    let dir = fixture();
    let (sandbox, sources) = start(&dir, FaultPlan::none()).await;
    let v = loaded(sources.fetch(CH, &home(&dir, "FIN-0003")).await);
    assert_eq!(v["companyNumber"], "01234563");
    assert_eq!(v["companyName"], "TROUBLED CARE LTD (FICTIONAL)");
    assert_eq!(v["companyStatus"], "administration");
    assert_eq!(
        v["insolvencyCases"][0]["dates"]["administration-started-on"],
        "2026-06-02"
    );
    let v = loaded(sources.fetch(CH, &home(&dir, "FIN-0005")).await);
    assert_eq!(v["confirmationStatement"]["overdue"], true);
    assert_eq!(v["charges"]["outstanding"], 2);
    let v = loaded(sources.fetch(CH, &home(&dir, "FIN-0001")).await);
    assert_eq!(v["accounts"]["overdue"], false);
    assert_eq!(v["accounts"]["lastAccountsType"], "full");
    assert!(v["charges"].is_null() && v["insolvencyCases"] == json!([]));

    // No number in the directory: not found, and no request made.
    let before = sandbox.upstream_calls("companies_house");
    assert_eq!(
        sources.fetch(CH, &home(&dir, "FIN-0010")).await,
        SourceOutcome::NotFound
    );
    assert_eq!(sandbox.upstream_calls("companies_house"), before);
    // A number Companies House does not know: not found.
    let mut stranger = home(&dir, "FIN-0001");
    stranger.provider_company_number = Some("09999999".into());
    assert_eq!(sources.fetch(CH, &stranger).await, SourceOutcome::NotFound);

    // No key: not configured, whatever the number.
    let mut config = sandbox.sources_config();
    config.companies_house.api_key = None;
    let keyless = Sources::new(config.clone()).unwrap();
    assert_eq!(
        keyless.fetch(CH, &home(&dir, "FIN-0001")).await,
        SourceOutcome::NotConfigured
    );
    // A wrong key: permanent, and the key is in no message.
    config.companies_house.api_key = Some("ch-wrong-key-51c2".into());
    let wrong = Sources::new(config).unwrap();
    match wrong.fetch(CH, &home(&dir, "FIN-0001")).await {
        SourceOutcome::Failed(f) => {
            assert_eq!(f.kind, FailureKind::Permanent);
            assert!(f.message.contains("401") && !f.message.contains("ch-wrong-key"));
        }
        other => panic!("{other:?}"),
    }
    // 429: transient, retried when the window resets.
    sandbox.set_faults(FaultPlan::none().with(
        CH,
        FaultSpec::always().retry_after(Duration::from_secs(200)),
    ));
    match sources.fetch(CH, &home(&dir, "FIN-0002")).await {
        SourceOutcome::Failed(f) => {
            assert_eq!(f.kind, FailureKind::Transient);
            let after = f.retry_after.expect("the reset header becomes the delay");
            assert!(after <= Duration::from_secs(200) && after >= Duration::from_secs(190));
        }
        other => panic!("{other:?}"),
    }
    // 5xx: transient; a failing follow-up call fails the whole fetch.
    sandbox.set_faults(FaultPlan::none().with(CH, FaultSpec::always().status(503)));
    match sources.fetch(CH, &home(&dir, "FIN-0002")).await {
        SourceOutcome::Failed(f) => assert_eq!(f.kind, FailureKind::Transient),
        other => panic!("{other:?}"),
    }
}

/// Two homes of one provider, fetched at once by two callers: one upstream
/// fetch; a later fetch within the TTL is answered from the cache.
#[tokio::test]
async fn one_fetch_per_provider_shared_across_homes_and_jobs() {
    let dir = fixture();
    let (sandbox, _) = start(&dir, FaultPlan::none()).await;
    let cache = Arc::new(MemorySourceCache::new());
    let clock = Arc::new(care_report::engine::ManualClock::new(t0()));
    let sources = Sources::new(sandbox.sources_config()).unwrap().with_cache(
        cache.clone(),
        cache,
        clock.clone(),
        CacheConfig::default(),
    );
    let (a, b) = (home(&dir, "FIN-0002"), home(&dir, "FIN-0011"));
    assert_eq!(a.provider_company_number, b.provider_company_number);
    let (x, y) = tokio::join!(sources.fetch(CH, &a), sources.fetch(CH, &b));
    assert_eq!(loaded(x)["companyNumber"], "01234562");
    assert_eq!(loaded(y)["companyNumber"], "01234562");
    assert_eq!(sandbox.requests_for(CH, "01234562"), 1);
    let again = loaded(sources.fetch(CH, &a).await);
    assert!(again["cachedAt"].is_string(), "{again}");
    assert_eq!(sandbox.requests_for(CH, "01234562"), 1);
    // Past the TTL (24 h) it is fetched again.
    clock.advance(Duration::from_secs(24 * 3600 + 1));
    loaded(sources.fetch(CH, &a).await);
    assert_eq!(sandbox.requests_for(CH, "01234562"), 2);
}

/// With the day's paid budget at zero the paid sources wait, and Companies
/// House (free) still loads for every home.
#[tokio::test]
async fn companies_house_spends_no_paid_budget() {
    let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new(Retention::default()));
    let rig = EngineRig::new(store.clone())
        .start_at(t0())
        .budget(Some(0))
        .build()
        .await;
    let q: Value = serde_json::from_str(include_str!("../fixtures/questionnaire.json")).unwrap();
    let id = rig.engine.submit(q, None).await.unwrap().job().id;
    rig.engine.process(id).await.unwrap();
    let job = store.get(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Partial);
    let of = |source| {
        job.slots
            .iter()
            .filter(|s| s.source_type == source)
            .map(|s| s.status.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(of(CH).len(), 5);
    assert!(
        of(CH).iter().all(|s| *s == SlotStatus::Loaded),
        "{:?}",
        of(CH)
    );
    assert!(of(SourceType::GooglePlaces)
        .iter()
        .all(|s| *s == SlotStatus::Missing));
    let spent = store
        .limits()
        .unwrap()
        .spent(&budget_day(t0()))
        .await
        .unwrap();
    assert_eq!(spent, 0);
    assert!(rig.sandbox.requests(CH) >= 1);
}

/// The fixture's providers, fetched through the sandbox and judged: each
/// financial rule fires for the provider built to trip it, with the
/// register's values as evidence, and every assessment says what the
/// register cannot see.
#[tokio::test]
async fn a_fixture_whose_providers_trip_each_financial_rule() {
    let dir = fixture();
    let (_sandbox, sources) = start(&dir, FaultPlan::none()).await;
    let mut data = Vec::new();
    let mut slots = Vec::new();
    for h in dir.homes() {
        let mut slot = Slot::pending(&h.id, &h.name, CH);
        match sources.fetch(CH, h).await {
            SourceOutcome::Loaded(v) => {
                slot.status = SlotStatus::Loaded;
                data.push((SlotKey::new(&h.id, CH), v));
            }
            SourceOutcome::NotFound => slot.status = SlotStatus::NotFound,
            other => panic!("{}: {other:?}", h.id),
        }
        slots.push(slot);
    }
    let care = CareNeed {
        residential: true,
        ..CareNeed::default()
    };
    let homes: Vec<HomeFacts> = dir
        .homes()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let sources = HomeSources::of(&data, &h.id);
            HomeFacts::from_home(i + 1, h, Some(60.0), Some(1.0), &care, &sources, &slots)
        })
        .collect();
    let q: Value = serde_json::from_str(include_str!("../fixtures/questionnaire.json")).unwrap();
    let mut input = JudgementInput {
        needs: FamilyNeeds::from_questionnaire(&Questionnaire::parse(&q).unwrap()),
        homes,
        market: None,
        selection: Selection::default(),
    };
    input.needs.care = care;
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
    let j = serde_json::to_value(judge(&input, now)).unwrap();
    let assessments = j["riskAssessment"]["homes_assessment"].as_array().unwrap();
    let financial = |id: &str| -> Value {
        assessments.iter().find(|h| h["home_id"] == id).unwrap()["financial_assessment"].clone()
    };
    let rules = |id: &str| -> Vec<String> {
        let f = financial(id);
        f["red_flags"]
            .as_array()
            .unwrap()
            .iter()
            .chain(f["warnings"].as_array().unwrap())
            .map(|x| x["ruleId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(rules("FIN-0001").is_empty());
    assert_eq!(rules("FIN-0002"), ["financial.accounts_overdue"]);
    assert_eq!(
        rules("FIN-0003"),
        ["financial.company_insolvent", "financial.accounts_overdue"]
    );
    assert_eq!(
        rules("FIN-0004"),
        ["financial.company_insolvent", "financial.accounts_overdue"]
    );
    assert_eq!(
        rules("FIN-0005"),
        [
            "financial.confirmation_overdue",
            "financial.outstanding_charges"
        ]
    );
    assert_eq!(rules("FIN-0006"), ["financial.company_dissolved"]);
    assert_eq!(rules("FIN-0007"), ["financial.strike_off_proposed"]);
    assert_eq!(rules("FIN-0008"), ["financial.outstanding_charges"]);
    assert_eq!(rules("FIN-0009"), ["financial.insolvency_history"]);
    assert!(rules("FIN-0010").is_empty());
    assert_eq!(rules("FIN-0011"), ["financial.accounts_overdue"]);

    // The evidence is the register's: dates as Companies House gives them.
    let desc = |id: &str| financial(id)["red_flags"][0]["description"].clone();
    assert!(desc("FIN-0002")
        .as_str()
        .unwrap()
        .contains("accounts overdue since 30 September 2026"));
    assert!(desc("FIN-0003")
        .as_str()
        .unwrap()
        .contains("in administration since 2 June 2026"));
    assert!(desc("FIN-0004")
        .as_str()
        .unwrap()
        .contains("in liquidation since 10 March 2026"));
    assert!(desc("FIN-0006")
        .as_str()
        .unwrap()
        .contains("dissolved since 18 November 2025"));
    let evidence = &financial("FIN-0003")["red_flags"][0]["evidence"];
    assert!(evidence
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["field"] == "since" && e["value"] == "2026-06-02"));
    for h in assessments {
        let f = &h["financial_assessment"];
        if f["status"] == "assessed" {
            let note = f["statusNote"].as_str().unwrap();
            assert!(note.contains("profitability") && note.contains("bed occupancy"));
        }
    }
    assert_eq!(financial("FIN-0010")["status"], "no_data");
    assert!(financial("FIN-0010")["statusNote"]
        .as_str()
        .unwrap()
        .contains("names no Companies House number"));
    let overall = j["riskAssessment"]["summary"]["overall_assessment"]
        .as_str()
        .unwrap();
    assert!(overall.contains("Companies House"), "{overall}");
    assert!(
        j["riskAssessment"]["summary"]["flags_by_category"]["financial"]
            .as_u64()
            .unwrap()
            >= 11
    );
}
