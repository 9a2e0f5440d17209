//! Polite to the public services: in live mode the neighbourhood source
//! calls Overpass only with the operator's contact in the User-Agent
//! (`SOURCES_CONTACT`); without it the source is `not_configured`, a log
//! line names the setting, and no request leaves. CQC and Companies House
//! see the same identifying agent.

use care_report::directory::Directory;
use care_report::model::SourceType;
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::sources::{SourceOutcome, Sources, SourcesConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The live settings, pointed at `sandbox`, as the service builds them in
/// live mode (`require_contact`), with `contact` as `SOURCES_CONTACT`.
fn live(sandbox: &Sandbox, contact: Option<&str>) -> SourcesConfig {
    let from_env = care_report::settings::sources_config(|name| match name {
        "SOURCES_CONTACT" => contact.map(str::to_owned),
        _ => None,
    })
    .unwrap();
    let mut config = sandbox.sources_config();
    config.user_agent = from_env.user_agent;
    config.contact = from_env.contact;
    config.require_contact = true;
    config
}

#[tokio::test]
async fn without_a_contact_the_neighbourhood_is_not_configured_and_says_why() {
    let logs = care_report_testing::logs::captured();
    let home = Directory::demo().homes()[0].clone();
    let sandbox = Sandbox::start(vec![home.clone()], FaultPlan::none())
        .await
        .unwrap();
    let sources = Sources::new(live(&sandbox, None)).unwrap();
    assert_eq!(
        sources.fetch(SourceType::Neighbourhood, &home).await,
        SourceOutcome::NotConfigured
    );
    assert_eq!(sandbox.upstream_calls("postcodes"), 0);
    assert_eq!(sandbox.upstream_calls("overpass"), 0);
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("SOURCES_CONTACT")),
        "{text}"
    );

    // With a contact the same live settings call Overpass.
    let sources = Sources::new(live(&sandbox, Some("ops@care.example"))).unwrap();
    assert!(matches!(
        sources.fetch(SourceType::Neighbourhood, &home).await,
        SourceOutcome::Loaded(_)
    ));
    assert_eq!(sandbox.upstream_calls("overpass"), 1);
}

/// Reads one request's head from a raw socket and answers 404.
async fn user_agent_of_next_request(listener: tokio::net::TcpListener) -> String {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    socket
        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{}")
        .await
        .unwrap();
    String::from_utf8_lossy(&head)
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("user-agent: ")
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn cqc_and_companies_house_see_the_same_identifying_agent() {
    let home = Directory::demo().homes()[0].clone();
    let sandbox = Sandbox::start(vec![home.clone()], FaultPlan::none())
        .await
        .unwrap();
    let mut config = live(&sandbox, Some("https://care.example/contact"));
    let mut agents = Vec::new();
    for source in [SourceType::Cqc, SourceType::CompaniesHouse] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        match source {
            SourceType::Cqc => config.cqc.base_url = base,
            _ => config.companies_house.base_url = base,
        }
        let sources = Sources::new(config.clone()).unwrap();
        let (agent, outcome) = tokio::join!(
            user_agent_of_next_request(listener),
            sources.fetch(source, &home)
        );
        assert_eq!(outcome, SourceOutcome::NotFound, "{source}");
        agents.push(agent);
    }
    assert!(
        agents[0].contains("https://care.example/contact"),
        "{agents:?}"
    );
    assert_eq!(agents[0], agents[1]);
}
