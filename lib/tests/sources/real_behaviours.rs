//! One test per real misbehaviour of the five services, adapter against
//! sandbox: the outcome (loaded with the right rating, not_found,
//! transient, permanent) and the number of upstream calls (the adapters
//! never retry by themselves; a not_found or permanent outcome is never
//! retried by the engine, `retry::RetryPolicy`).

use std::time::Duration;

use care_report::directory::{Directory, Home};
use care_report::model::SourceType;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::sources::{FailureKind, SourceFailure, SourceOutcome, Sources};
use serde_json::Value;

fn demo(id: &str) -> Home {
    Directory::demo()
        .homes()
        .iter()
        .find(|h| h.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("demo home {id}"))
}

async fn start(plan: &str) -> (Sandbox, Sources) {
    let sandbox = Sandbox::start(
        Directory::demo().homes().to_vec(),
        FaultPlan::parse(plan).unwrap(),
    )
    .await
    .unwrap();
    let sources = Sources::new(sandbox.sources_config()).unwrap();
    (sandbox, sources)
}

fn loaded(o: SourceOutcome) -> Value {
    match o {
        SourceOutcome::Loaded(v) => v,
        other => panic!("expected loaded, got {other:?}"),
    }
}

fn failed(o: SourceOutcome) -> SourceFailure {
    match o {
        SourceOutcome::Failed(f) => f,
        other => panic!("expected failed, got {other:?}"),
    }
}

#[tokio::test]
async fn cqc_saf_only_record_loads_its_assessment_rating() {
    let (sandbox, sources) = start("").await;
    let v = loaded(sources.fetch(SourceType::Cqc, &demo("DEMO-0055")).await);
    assert_eq!(v["overallRating"], "Good");
    assert_eq!(v["ratingSource"], "assessment");
    assert_eq!(v["ratingDate"], "2025-03-10");
    assert_eq!(v["keyQuestionRatings"]["wellLed"], "Good");
    assert_eq!(sandbox.requests_for(SourceType::Cqc, "DEMO-0055"), 1);
    // The same through the fault plan, for a home rated "Requires
    // improvement" (spelt "Requires Improvement" under the SAF).
    let (_s, sources) = start("cqc:saf_only").await;
    let ri = Directory::demo()
        .homes()
        .iter()
        .find(|h| h.ratings.overall == Some(care_report::directory::CqcRating::RequiresImprovement))
        .cloned()
        .unwrap();
    assert_eq!(
        loaded(sources.fetch(SourceType::Cqc, &ri).await)["overallRating"],
        "Requires improvement"
    );
}

#[tokio::test]
async fn cqc_newer_saf_rating_beats_an_older_inspection() {
    let (_s, sources) = start("").await;
    let v = loaded(sources.fetch(SourceType::Cqc, &demo("DEMO-0059")).await);
    // The directory (and currentRatings) say Good; the newer assessment not.
    assert_eq!(v["overallRating"], "Requires improvement");
    assert_eq!(v["ratingSource"], "assessment");
    assert_eq!(v["keyQuestionRatings"]["safe"], "Requires improvement");
}

#[tokio::test]
async fn cqc_deregistered_home_is_loaded_with_historical_ratings_only() {
    let (sandbox, sources) = start("").await;
    let v = loaded(sources.fetch(SourceType::Cqc, &demo("DEMO-0056")).await);
    assert_eq!(v["registrationStatus"], "Deregistered");
    assert_eq!(v["deregistered"], true);
    assert_eq!(v["deregistrationDate"], "2024-11-30");
    assert!(v["overallRating"].is_null());
    assert!(v["keyQuestionRatings"].as_object().unwrap().is_empty());
    assert_eq!(v["historicalRatings"]["overallRating"], "Good");
    assert_eq!(sandbox.requests_for(SourceType::Cqc, "DEMO-0056"), 1);
}

#[tokio::test]
async fn overpass_runtime_error_remark_is_transient_not_zero_amenities() {
    let (sandbox, sources) = start("neighbourhood:remark").await;
    let home = demo("DEMO-0001");
    let f = failed(sources.fetch(SourceType::Neighbourhood, &home).await);
    assert_eq!(f.kind, FailureKind::Transient);
    assert!(f.message.contains("runtime error"), "{}", f.message);
    assert_eq!(sandbox.requests_for(SourceType::Neighbourhood, &home.id), 1);
}

#[tokio::test]
async fn overpass_html_429_pauses_at_least_30_s_and_sends_nothing_meanwhile() {
    let (sandbox, sources) = start("neighbourhood:html_429").await;
    // A home without a postcode: its fetch's counted call is Overpass' own.
    let mut home = demo("DEMO-0001");
    home.postcode = None;
    home.id = "no-postcode".into();
    let f = failed(sources.fetch(SourceType::Neighbourhood, &home).await);
    assert_eq!(f.kind, FailureKind::Transient);
    assert!(
        f.retry_after.is_some_and(|d| d >= Duration::from_secs(30)),
        "{f:?}"
    );
    assert!(f.message.contains("HTML"), "{}", f.message);
    let before = sandbox.requests(SourceType::Neighbourhood);
    // Within the cool-down no request is sent at all.
    let f = failed(sources.fetch(SourceType::Neighbourhood, &home).await);
    assert!(
        f.retry_after.is_some_and(|d| d > Duration::from_secs(25)),
        "{f:?}"
    );
    assert_eq!(sandbox.requests(SourceType::Neighbourhood), before);
}

#[tokio::test]
async fn overpass_without_a_user_agent_is_406_permanent() {
    let sandbox = Sandbox::start(Directory::demo().homes().to_vec(), FaultPlan::none())
        .await
        .unwrap();
    let mut config = sandbox.sources_config();
    config.user_agent = String::new();
    let sources = Sources::new(config).unwrap();
    let f = failed(
        sources
            .fetch(SourceType::Neighbourhood, &demo("DEMO-0001"))
            .await,
    );
    assert_eq!(f.kind, FailureKind::Permanent);
    assert!(f.message.contains("SOURCES_CONTACT"), "{}", f.message);
}

#[tokio::test]
async fn overpass_mirrors_are_tried_in_order() {
    // The first "instance" is the sandbox's postcodes server (no
    // interpreter there: a 404 route), the mirror the real fake Overpass.
    let (sandbox, _) = start("").await;
    let mut config = sandbox.sources_config();
    let good = config.overpass.base_url.clone();
    config.overpass.base_url = config.postcodes.base_url.clone();
    config.overpass_mirrors = vec![good];
    let sources = Sources::new(config).unwrap();
    let v = loaded(
        sources
            .fetch(SourceType::Neighbourhood, &demo("DEMO-0001"))
            .await,
    );
    assert!(v["amenities"]["busStop"]["count"].is_u64());
}

#[tokio::test]
async fn firecrawl_dead_sites_are_no_record_and_not_retried() {
    for code in [
        "SCRAPE_DNS_RESOLUTION_ERROR",
        "SCRAPE_SSL_ERROR",
        "SCRAPE_SITE_ERROR",
    ] {
        let (sandbox, sources) = start(&format!("firecrawl:scrape_error={code}")).await;
        let home = demo("DEMO-0001");
        assert_eq!(
            sources.fetch(SourceType::Firecrawl, &home).await,
            SourceOutcome::NotFound,
            "{code}"
        );
        assert_eq!(sandbox.requests_for(SourceType::Firecrawl, &home.id), 1);
    }
    // Other codes may pass: transient.
    let (_s, sources) = start("firecrawl:scrape_error=SCRAPE_ALL_ENGINES_FAILED").await;
    let f = failed(
        sources
            .fetch(SourceType::Firecrawl, &demo("DEMO-0001"))
            .await,
    );
    assert_eq!(f.kind, FailureKind::Transient);
    assert!(f.message.contains("SCRAPE_ALL_ENGINES_FAILED"));
    // The demo home whose domain is dead.
    let (_s, sources) = start("").await;
    assert_eq!(
        sources
            .fetch(SourceType::Firecrawl, &demo("DEMO-0058"))
            .await,
        SourceOutcome::NotFound
    );
}

#[tokio::test]
async fn firecrawl_bot_walls_and_blocklisted_urls_are_no_record() {
    let (_s, sources) = start("").await;
    assert_eq!(
        sources
            .fetch(SourceType::Firecrawl, &demo("DEMO-0059"))
            .await,
        SourceOutcome::NotFound
    );
    for plan in [
        "firecrawl:page_status=401",
        "firecrawl:page_status=429",
        "firecrawl:blocklisted",
    ] {
        let (sandbox, sources) = start(plan).await;
        let home = demo("DEMO-0001");
        assert_eq!(
            sources.fetch(SourceType::Firecrawl, &home).await,
            SourceOutcome::NotFound,
            "{plan}"
        );
        assert_eq!(sandbox.requests_for(SourceType::Firecrawl, &home.id), 1);
    }
}

#[tokio::test]
async fn fsa_html_403_is_transient_and_never_blames_a_key() {
    let (sandbox, sources) = start("fsa:html_403").await;
    let home = demo("DEMO-0001");
    let f = failed(sources.fetch(SourceType::Fsa, &home).await);
    assert_eq!(f.kind, FailureKind::Transient);
    assert!(!f.message.contains("API key"), "{}", f.message);
    assert!(f.message.contains("HTML"), "{}", f.message);
    assert_eq!(sandbox.requests_for(SourceType::Fsa, &home.id), 1);
}

#[tokio::test]
async fn fsa_falls_back_to_care_premises_nearby() {
    let (sandbox, sources) = start("").await;
    let v = loaded(sources.fetch(SourceType::Fsa, &demo("DEMO-0058")).await);
    assert_eq!(v["matchedBy"], "nearby");
    assert_eq!(v["businessName"], "Solway Court Residential Home Ltd");
    assert_eq!(sandbox.requests_for(SourceType::Fsa, "DEMO-0058"), 1);
    // An ordinary home is found by its name.
    assert_eq!(
        loaded(sources.fetch(SourceType::Fsa, &demo("DEMO-0001")).await)["matchedBy"],
        "name"
    );
}

#[tokio::test]
async fn google_branded_name_matches_with_attribution_in_one_call() {
    let (sandbox, sources) = start("").await;
    let v = loaded(
        sources
            .fetch(SourceType::GooglePlaces, &demo("DEMO-0057"))
            .await,
    );
    assert_eq!(
        v["name"],
        "Lakeland Care Group - Demo: Castle View Care Home"
    );
    let review = &v["reviews"][0];
    assert!(review["authorUri"]
        .as_str()
        .unwrap()
        .starts_with("https://www.google.com/maps/contrib/"));
    assert!(review["authorPhotoUri"].is_string());
    // One billed call: the search carried the details.
    assert_eq!(
        sandbox.requests_for(SourceType::GooglePlaces, "DEMO-0057"),
        1
    );
}

#[tokio::test]
async fn an_endless_body_fails_transient_at_the_cap() {
    for source in SourceType::ALL {
        let (_s, sources) = start(&format!("{}:endless", source.as_str())).await;
        let f = failed(sources.fetch(source, &demo("DEMO-0001")).await);
        assert_eq!(f.kind, FailureKind::Transient, "{source}");
        assert!(f.message.contains("more than"), "{source}: {}", f.message);
    }
}

#[tokio::test]
async fn huge_strings_are_cut() {
    let (_s, sources) = start(
        "cqc:huge_string;google_places:huge_string;firecrawl:huge_string;neighbourhood:huge_string",
    )
    .await;
    let home = demo("DEMO-0001");
    let cqc = loaded(sources.fetch(SourceType::Cqc, &home).await);
    assert_eq!(cqc["name"].as_str().unwrap().chars().count(), 300);
    let site = loaded(sources.fetch(SourceType::Firecrawl, &home).await);
    assert_eq!(site["title"].as_str().unwrap().chars().count(), 300);
    let hood = loaded(sources.fetch(SourceType::Neighbourhood, &home).await);
    assert_eq!(
        hood["area"]["adminWard"].as_str().unwrap().chars().count(),
        300
    );
    // Google: the huge name no longer looks like the home's: no record, or cut.
    match sources.fetch(SourceType::GooglePlaces, &home).await {
        SourceOutcome::Loaded(v) => assert!(v["name"].as_str().unwrap().chars().count() <= 300),
        other => assert_eq!(other, SourceOutcome::NotFound),
    }
    let all =
        serde_json::to_string(&cqc).unwrap().len() + serde_json::to_string(&site).unwrap().len();
    assert!(all < 20_000, "{all}");
}
