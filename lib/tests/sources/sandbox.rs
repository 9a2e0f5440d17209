//! The real source adapters against the sandbox's fake servers: every
//! outcome of every source, and one test per fault kind.

use std::time::Duration;

use care_report::directory::{CareFlags, CqcRating, CqcRatings, Fees, Home};
use care_report::model::SourceType;
use care_report::sandbox::{self, FaultPlan, FaultSpec, Sandbox};
use care_report::sources::{FailureKind, SourceFailure, SourceOutcome, Sources};
use serde_json::Value;

fn home(id: &str, name: &str, postcode: Option<&str>, website: Option<&str>) -> Home {
    Home {
        id: id.to_owned(),
        name: name.to_owned(),
        address: Some("12 Orchard Road".to_owned()),
        city: "Leeds".to_owned(),
        postcode: postcode.map(str::to_owned),
        local_authority: Some("Leeds".to_owned()),
        latitude: Some(53.8008),
        longitude: Some(-1.5491),
        care: CareFlags {
            residential: true,
            nursing: false,
            dementia: true,
            respite: None,
        },
        beds: Some(42),
        ratings: CqcRatings {
            overall: Some(CqcRating::Good),
            safe: Some(CqcRating::RequiresImprovement),
            effective: Some(CqcRating::Good),
            caring: Some(CqcRating::Outstanding),
            responsive: Some(CqcRating::Good),
            well_led: Some(CqcRating::Good),
        },
        last_inspection: chrono::NaiveDate::from_ymd_opt(2024, 3, 14),
        fees: Fees {
            residential_from: Some(1150.0),
            ..Fees::default()
        },
        accepts_local_authority: Some(true),
        accepts_self_funding: Some(true),
        website: website.map(str::to_owned),
        provider: Some("Orchard Care Ltd".to_owned()),
        provider_company_number: Some("01234561".to_owned()),
        ..Home::default()
    }
}

fn oak() -> Home {
    home(
        "1-101",
        "Oak Lodge Care Home",
        Some("LS6 2AB"),
        Some("www.oaklodge-care.co.uk"),
    )
}

fn elm() -> Home {
    let mut h = home("1-202", "Elm Court", None, None);
    h.latitude = Some(53.7);
    h.longitude = Some(-1.6);
    h
}

fn stranger() -> Home {
    let mut h = home(
        "1-999",
        "Nowhere House",
        Some("ZZ1 1ZZ"),
        Some("https://nowhere.example.org"),
    );
    h.latitude = None;
    h.longitude = None;
    h.provider_company_number = Some("09999999".to_owned());
    h
}

async fn start(faults: FaultPlan) -> (Sandbox, Sources) {
    let sandbox = Sandbox::start(vec![oak(), elm()], faults).await.unwrap();
    let sources = Sources::new(sandbox.sources_config()).unwrap();
    (sandbox, sources)
}

fn loaded(outcome: SourceOutcome) -> Value {
    match outcome {
        SourceOutcome::Loaded(v) => v,
        other => panic!("expected loaded, got {other:?}"),
    }
}

fn failed(outcome: SourceOutcome) -> SourceFailure {
    match outcome {
        SourceOutcome::Failed(f) => f,
        other => panic!("expected failed, got {other:?}"),
    }
}

#[tokio::test]
async fn every_source_loads_a_known_home() {
    let (sandbox, sources) = start(FaultPlan::none()).await;
    let h = oak();

    let cqc = loaded(sources.fetch(SourceType::Cqc, &h).await);
    assert_eq!(cqc["locationId"], "1-101");
    assert_eq!(cqc["overallRating"], "Good");
    assert_eq!(cqc["keyQuestionRatings"]["safe"], "Requires improvement");
    assert_eq!(cqc["keyQuestionRatings"]["caring"], "Outstanding");
    assert_eq!(cqc["lastInspectionDate"], "2024-03-14");
    assert!(cqc["latestReport"]["linkId"].is_string());

    let fsa = loaded(sources.fetch(SourceType::Fsa, &h).await);
    assert!(fsa["rating"].as_u64().is_some_and(|r| (3..=5).contains(&r)));
    assert!(fsa["scores"]["hygiene"].is_u64());

    let google = loaded(sources.fetch(SourceType::GooglePlaces, &h).await);
    assert_eq!(google["name"], "Oak Lodge Care Home");
    assert!(google["rating"]
        .as_f64()
        .is_some_and(|r| (3.5..=5.0).contains(&r)));
    assert_eq!(google["reviews"].as_array().unwrap().len(), 3);
    assert!(google["reviews"][0]["text"].is_string());

    let hood = loaded(sources.fetch(SourceType::Neighbourhood, &h).await);
    assert_eq!(hood["area"]["postcode"], "LS6 2AB");
    assert!(hood["area"]["adminWard"].is_string());
    assert!(hood["amenities"]["busStop"]["count"].is_u64());

    let site = loaded(sources.fetch(SourceType::Firecrawl, &h).await);
    assert_eq!(site["url"], "https://www.oaklodge-care.co.uk/");
    let specialisms = site["mentions"]["specialisms"].as_array().unwrap();
    assert!(specialisms.iter().any(|s| s == "dementia"));
    assert!(!site["mentions"]["visiting"].as_array().unwrap().is_empty());
    assert_eq!(site["fees"][0], "£1150");
    assert_eq!(site["contact"]["emails"][0], "info@oaklodge-care.co.uk");

    let company = loaded(sources.fetch(SourceType::CompaniesHouse, &h).await);
    assert_eq!(company["companyNumber"], "01234561");
    assert_eq!(company["companyStatus"], "active");

    for source in SourceType::ALL {
        // Companies House counts its fetches per company number.
        let key = match source {
            SourceType::CompaniesHouse => "01234561",
            _ => "1-101",
        };
        assert_eq!(sandbox.requests_for(source, key), 1, "{source}");
        assert_eq!(sandbox.requests(source), 1, "{source}");
    }
}

#[tokio::test]
async fn fsa_picks_the_best_match_not_the_first() {
    let (_sandbox, sources) = start(FaultPlan::none()).await;
    let fsa = loaded(sources.fetch(SourceType::Fsa, &oak()).await);
    // The sandbox lists a namesake elsewhere and a neighbour at the same
    // postcode before the home itself.
    assert_eq!(fsa["businessName"], "Oak Lodge Care Home");
    assert_eq!(fsa["postcode"], "LS6 2AB");
}

#[tokio::test]
async fn neighbourhood_without_postcode_uses_coordinates_and_counts_once() {
    let (sandbox, sources) = start(FaultPlan::none()).await;
    let hood = loaded(sources.fetch(SourceType::Neighbourhood, &elm()).await);
    assert_eq!(hood["latitude"], 53.7);
    assert!(hood["area"].is_null());
    assert_eq!(sandbox.requests_for(SourceType::Neighbourhood, "1-202"), 1);
}

#[tokio::test]
async fn unknown_homes_are_not_found() {
    let (sandbox, sources) = start(FaultPlan::none()).await;
    let h = stranger();
    for source in SourceType::ALL {
        assert_eq!(
            sources.fetch(source, &h).await,
            SourceOutcome::NotFound,
            "{source}"
        );
    }
    // A home without a website is not found without asking anyone.
    assert_eq!(
        sources.fetch(SourceType::Firecrawl, &elm()).await,
        SourceOutcome::NotFound
    );
    assert_eq!(sandbox.requests_for(SourceType::Firecrawl, "1-202"), 0);
    assert_eq!(sandbox.requests_for(SourceType::Cqc, "1-999"), 1);
}

#[tokio::test]
async fn keyless_sources_are_not_configured() {
    let sandbox = Sandbox::start(vec![oak()], FaultPlan::none())
        .await
        .unwrap();
    let mut config = sandbox.sources_config();
    config.cqc.api_key = None;
    config.google_places.api_key = Some("   ".to_owned());
    config.firecrawl.api_key = None;
    config.companies_house.api_key = None;
    let sources = Sources::new(config).unwrap();
    let h = oak();
    for source in [
        SourceType::Cqc,
        SourceType::GooglePlaces,
        SourceType::Firecrawl,
        SourceType::CompaniesHouse,
    ] {
        assert_eq!(
            sources.fetch(source, &h).await,
            SourceOutcome::NotConfigured
        );
        assert_eq!(sandbox.requests(source), 0);
    }
    // FSA and neighbourhood need no key.
    loaded(sources.fetch(SourceType::Fsa, &h).await);
    loaded(sources.fetch(SourceType::Neighbourhood, &h).await);
}

#[tokio::test]
async fn wrong_keys_are_permanent_failures() {
    let sandbox = Sandbox::start(vec![oak()], FaultPlan::none())
        .await
        .unwrap();
    let mut config = sandbox.sources_config();
    config.cqc.api_key = Some("wrong-cqc".into());
    config.google_places.api_key = Some("wrong-google".into());
    config.firecrawl.api_key = Some("wrong-firecrawl".into());
    config.companies_house.api_key = Some("wrong-companies-house".into());
    let sources = Sources::new(config).unwrap();
    for source in [
        SourceType::Cqc,
        SourceType::GooglePlaces,
        SourceType::Firecrawl,
        SourceType::CompaniesHouse,
    ] {
        let f = failed(sources.fetch(source, &oak()).await);
        assert_eq!(f.kind, FailureKind::Permanent, "{source}: {}", f.message);
        assert!(!f.message.contains("wrong-"), "{}", f.message);
    }
}

#[tokio::test]
async fn fixed_status_faults_map_by_status() {
    let plan = FaultPlan::none()
        .with(SourceType::Cqc, FaultSpec::always().status(503))
        .with(SourceType::Fsa, FaultSpec::always().status(500))
        .with(SourceType::GooglePlaces, FaultSpec::always().status(403))
        .with(SourceType::Neighbourhood, FaultSpec::always().status(504))
        .with(SourceType::Firecrawl, FaultSpec::always().status(402));
    let (_sandbox, sources) = start(plan).await;
    let h = oak();
    let kind = |o| failed(o).kind;
    assert_eq!(
        kind(sources.fetch(SourceType::Cqc, &h).await),
        FailureKind::Transient
    );
    assert_eq!(
        kind(sources.fetch(SourceType::Fsa, &h).await),
        FailureKind::Transient
    );
    assert_eq!(
        kind(sources.fetch(SourceType::GooglePlaces, &h).await),
        FailureKind::Permanent
    );
    assert_eq!(
        kind(sources.fetch(SourceType::Neighbourhood, &h).await),
        FailureKind::Transient
    );
    assert_eq!(
        kind(sources.fetch(SourceType::Firecrawl, &h).await),
        FailureKind::Permanent
    );
}

#[tokio::test]
async fn a_bare_fault_fails_every_source_with_503() {
    let plan =
        FaultPlan::parse("cqc;fsa;google_places;neighbourhood;firecrawl;companies_house").unwrap();
    let (_sandbox, sources) = start(plan).await;
    for source in SourceType::ALL {
        let f = failed(sources.fetch(source, &oak()).await);
        assert_eq!(f.kind, FailureKind::Transient);
        assert!(f.message.contains("503"), "{}", f.message);
    }
}

#[tokio::test]
async fn rate_faults_are_seeded_and_deterministic() {
    let homes: Vec<Home> = (0..40)
        .map(|i| home(&format!("1-{i}"), &format!("Home {i}"), None, None))
        .collect();
    let plan = FaultPlan::parse("google_places:rate=0.5;seed=42").unwrap();
    let sandbox = Sandbox::start(homes.clone(), plan.clone()).await.unwrap();
    let sources = Sources::new(sandbox.sources_config()).unwrap();
    let mut failures = 0;
    for h in &homes {
        let outcome = sources.fetch(SourceType::GooglePlaces, h).await;
        let expected_fail = plan.decide(SourceType::GooglePlaces, &h.id, 1).is_some();
        assert_eq!(
            matches!(outcome, SourceOutcome::Failed(_)),
            expected_fail,
            "{}",
            h.id
        );
        failures += usize::from(expected_fail);
    }
    assert!((8..=32).contains(&failures), "{failures} of 40");
}

#[tokio::test]
async fn delay_beyond_the_timeout_is_a_transient_timeout() {
    let plan = FaultPlan::none().with(
        SourceType::Cqc,
        FaultSpec::always().delay(Duration::from_millis(1500)),
    );
    let sandbox = Sandbox::start(vec![oak()], plan).await.unwrap();
    let mut config = sandbox.sources_config();
    config.cqc.timeout = Duration::from_millis(200);
    let sources = Sources::new(config).unwrap();
    let f = failed(sources.fetch(SourceType::Cqc, &oak()).await);
    assert_eq!(f.kind, FailureKind::Transient);
    assert!(
        f.message.contains("timed out after 200 ms"),
        "{}",
        f.message
    );
}

#[tokio::test]
async fn rate_limits_carry_retry_after() {
    let (_sandbox, sources) = start(FaultPlan::parse("fsa:retry_after=120").unwrap()).await;
    let f = failed(sources.fetch(SourceType::Fsa, &oak()).await);
    assert_eq!(f.kind, FailureKind::Transient);
    assert_eq!(f.retry_after, Some(Duration::from_secs(120)));
    assert!(f.message.contains("429"));
}

#[tokio::test]
async fn malformed_bodies_are_transient() {
    let (_sandbox, sources) =
        start(FaultPlan::parse("neighbourhood:malformed;cqc:malformed").unwrap()).await;
    for source in [SourceType::Neighbourhood, SourceType::Cqc] {
        let f = failed(sources.fetch(source, &oak()).await);
        assert_eq!(f.kind, FailureKind::Transient);
        assert!(f.message.contains("malformed"), "{}", f.message);
    }
}

#[tokio::test]
async fn heal_after_fails_n_times_then_loads() {
    let (sandbox, sources) =
        start(FaultPlan::parse("firecrawl:status=503,heal_after=2").unwrap()).await;
    let h = oak();
    failed(sources.fetch(SourceType::Firecrawl, &h).await);
    failed(sources.fetch(SourceType::Firecrawl, &h).await);
    loaded(sources.fetch(SourceType::Firecrawl, &h).await);
    assert_eq!(sandbox.requests_for(SourceType::Firecrawl, "1-101"), 3);
}

#[tokio::test]
async fn faults_can_be_switched_at_runtime() {
    let (sandbox, sources) = start(FaultPlan::parse("cqc:status=500").unwrap()).await;
    failed(sources.fetch(SourceType::Cqc, &oak()).await);
    sandbox.set_faults(FaultPlan::none());
    loaded(sources.fetch(SourceType::Cqc, &oak()).await);
    assert_eq!(sandbox.requests(SourceType::Cqc), 2);
}

#[tokio::test]
async fn the_google_key_never_leaves_the_adapter() {
    let (sandbox, sources) = start(FaultPlan::none()).await;
    let key = sandbox::GOOGLE_PLACES_KEY;
    let mut outcomes = vec![
        sources.fetch(SourceType::GooglePlaces, &oak()).await,
        sources.fetch(SourceType::GooglePlaces, &stranger()).await,
    ];
    for fault in [
        "google_places:status=400",
        "google_places:retry_after=5",
        "google_places:malformed",
    ] {
        sandbox.set_faults(FaultPlan::parse(fault).unwrap());
        outcomes.push(sources.fetch(SourceType::GooglePlaces, &oak()).await);
    }
    let mut config = sandbox.sources_config();
    config.google_places.timeout = Duration::from_millis(150);
    sandbox.set_faults(FaultPlan::parse("google_places:delay_ms=1000").unwrap());
    outcomes.push(
        Sources::new(config)
            .unwrap()
            .fetch(SourceType::GooglePlaces, &oak())
            .await,
    );
    assert!(matches!(outcomes[0], SourceOutcome::Loaded(_)));
    assert_eq!(outcomes[1], SourceOutcome::NotFound);
    assert!(outcomes[2..]
        .iter()
        .all(|o| matches!(o, SourceOutcome::Failed(_))));
    for o in &outcomes {
        let json = serde_json::to_string(o).unwrap();
        assert!(!json.contains(key), "{json}");
        assert!(!format!("{o:?}").contains(key));
    }
    assert!(!format!("{:?}", sources.config()).contains(key));
}

#[tokio::test]
async fn outcomes_serialize_with_a_status_tag() {
    let (_sandbox, sources) = start(FaultPlan::parse("fsa:retry_after=30").unwrap()).await;
    let v = serde_json::to_value(sources.fetch(SourceType::Fsa, &oak()).await).unwrap();
    assert_eq!(v["status"], "failed");
    assert_eq!(v["data"]["kind"], "transient");
    assert_eq!(v["data"]["retry_after_secs"], 30.0);
    let v = serde_json::to_value(SourceOutcome::NotFound).unwrap();
    assert_eq!(v, serde_json::json!({"status": "not_found"}));
}

/// CQC's depth, as the sandbox serves it from the real fields
/// (`historicRatings`, `registeredManagerAbsentDate`,
/// `regulatedActivities[].contacts[].personRoles`, `reports`): over the demo
/// directory every trend shows, some homes have no registered manager, and
/// no manager's name reaches the summary.
#[tokio::test]
async fn cqc_history_manager_and_latest_report_over_the_demo_directory() {
    let homes: Vec<Home> = care_report::directory::Directory::demo()
        .homes()
        .iter()
        .filter(|h| h.ratings.overall.is_some())
        .take(30)
        .cloned()
        .collect();
    let sandbox = Sandbox::start(homes.clone(), FaultPlan::none())
        .await
        .unwrap();
    let sources = Sources::new(sandbox.sources_config()).unwrap();
    let mut directions = std::collections::BTreeSet::new();
    let (mut in_post, mut absent) = (0, 0);
    for h in &homes {
        let v = loaded(sources.fetch(SourceType::Cqc, h).await);
        let trend = &v["ratingTrend"];
        directions.insert(trend["direction"].as_str().unwrap().to_owned());
        assert!(trend["previousDate"].as_str().unwrap() < trend["since"].as_str().unwrap());
        match v["registeredManager"]["inPost"].as_bool() {
            Some(true) => in_post += 1,
            Some(false) => {
                absent += 1;
                assert!(v["registeredManager"]["absentSince"].is_string());
            }
            None => panic!("the sandbox always says"),
        }
        assert!(!v.to_string().contains("Sam"), "no manager's name is kept");
        assert_eq!(v["latestReport"]["reportDate"], v["lastInspectionDate"]);
        assert!(v["latestReport"]["reportUri"].is_string());
    }
    assert_eq!(
        directions.into_iter().collect::<Vec<_>>(),
        ["declined", "improved", "unchanged"]
    );
    assert!(
        in_post > 0 && absent > 0,
        "{in_post} in post, {absent} absent"
    );
}
