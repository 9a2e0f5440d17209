//! The report as a document (HTML and PDF), in-process: every section for
//! contrasting questionnaires on the demo directory and on the real-export
//! traps, hostile directory text printed as text, the privacy headers and
//! link attributes of the result route, the page a report not ready yet
//! gets, and the PDF read back with `lopdf` (pages, names, pounds, no
//! answer codes).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use care_report::directory::Directory;
use care_report::document::{self, Document};
use care_report::engine::SystemClock;
use care_report::geo::city_location;
use care_report::http::App;
use care_report::judgement::FamilyNeeds;
use care_report::model::{Slot, SlotStatus, SourceType};
use care_report::questionnaire::Questionnaire;
use care_report::report::{judged, Plan};
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::store::MemoryStore;
use care_report_testing::app::{Dropped, TestApp};
use care_report_testing::rig::EngineRig;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap()
}

fn base() -> Value {
    serde_json::from_str(include_str!("../../lib/tests/fixtures/questionnaire.json")).unwrap()
}

/// Contrasting families: the fixture (dementia), urgent nursing care,
/// council-funded residential care, respite at any distance.
fn questionnaires() -> Vec<(&'static str, Value)> {
    let mut nursing = base();
    nursing["section_3_medical_needs"]["q8_care_types"] = json!(["medical_nursing"]);
    nursing["section_3_medical_needs"]["q9_medical_conditions"] =
        json!(["diabetes", "heart_conditions"]);
    nursing["section_5_timeline"]["q17_placement_timeline"] = json!("urgent_2_weeks");
    nursing["section_2_location_budget"]["q7_budget"] = json!("over_7000_self");

    let mut residential = base();
    residential["section_3_medical_needs"]["q8_care_types"] = json!(["general_residential"]);
    residential["section_3_medical_needs"]["q9_medical_conditions"] = json!(["no_serious_medical"]);
    residential["section_2_location_budget"]["q7_budget"] = json!("under_3000_local");

    let mut respite = base();
    respite["section_3_medical_needs"]["q8_care_types"] = json!(["temporary_respite"]);
    respite["section_2_location_budget"]["q6_max_distance"] = json!("distance_not_important");
    respite["section_2_location_budget"]["q7_budget"] = json!("need_budget_guidance");
    vec![
        ("dementia", base()),
        ("nursing", nursing),
        ("residential", residential),
        ("respite", respite),
    ]
}

async fn app(faults: &str) -> (App, Arc<Sandbox>) {
    let spawned = TestApp::builder(
        EngineRig::new(Arc::new(MemoryStore::default()))
            .faults(FaultPlan::parse(faults).unwrap())
            .clock(Arc::new(SystemClock)),
    )
    .documents(Arc::new(care_report_pdf::Renderer))
    .build()
    .await;
    (spawned.api.app().clone(), spawned.sandbox)
}

/// A report through the synchronous route; its job id.
async fn report_id(app: &App, q: &Value) -> String {
    let req = ::http::Request::post("/api/professional-report")
        .header("content-type", "application/json")
        .body(Bytes::from(serde_json::to_vec(q).unwrap()))
        .unwrap();
    let resp = TestApp::new(app.clone()).send(req).await;
    assert_eq!(resp.status(), 200);
    let v: Value = serde_json::from_slice(resp.body()).unwrap();
    v["report"]["jobId"].as_str().unwrap().to_owned()
}

async fn get(app: &App, uri: &str, accept: Option<&str>) -> ::http::Response<Bytes> {
    let mut b = ::http::Request::get(uri);
    if let Some(a) = accept {
        b = b.header("accept", a);
    }
    TestApp::new(app.clone())
        .send(b.body(Bytes::new()).unwrap())
        .await
}

fn header<'a>(r: &'a ::http::Response<Bytes>, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

#[track_caller]
fn assert_private(r: &::http::Response<Bytes>) {
    assert_eq!(header(r, "referrer-policy"), "no-referrer");
    assert_eq!(header(r, "x-robots-tag"), "noindex");
    assert_eq!(header(r, "cache-control"), "private, no-store");
}

/// Every section heading the page must carry.
const SECTIONS: &[&str] = &[
    "<h1>",
    "id=\"summary\"",
    "The five homes",
    "Facts and where they come from",
    "Strengths",
    "Concerns",
    "id=\"comparison\"",
    "id=\"risk\"",
    "id=\"negotiation\"",
    "Contract checklist",
    "Letters you can send",
    "id=\"funding\"",
    "id=\"next-steps\"",
    "id=\"glossary\"",
    "id=\"evidence\"",
];

/// What a family must never read.
fn assert_no_raw_codes(text: &str, what: &str) {
    let before_appendix = text.split("Evidence appendix").next().unwrap_or(text);
    for bad in [
        "\"percentile\": 0",
        "0 seconds",
        "undefined",
        "NaN",
        "google_places",
        "not_configured",
        "not_found",
        "need_budget_guidance",
        "under_3000_local",
        "over_7000_self",
        "urgent_2_weeks",
        "medical_nursing",
        "general_residential",
        "DEMO-0",
    ] {
        assert!(
            !before_appendix.contains(bad),
            "{what}: {bad:?} in the document"
        );
    }
}

#[track_caller]
fn assert_html_sections(html: &str, d: &Document, what: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{what}");
    assert!(html.contains("<html lang=\"en-GB\">"), "{what}");
    assert_eq!(html.matches("<h1").count(), 1, "{what}: one h1");
    assert!(!html.contains("<script"), "{what}: no script");
    for s in SECTIONS {
        assert!(html.contains(s), "{what}: section {s} missing");
    }
    // Headings never skip a level.
    let mut last = 1;
    for (i, _) in html.match_indices("<h") {
        let Some(level) = html[i + 2..].chars().next().and_then(|c| c.to_digit(10)) else {
            continue;
        };
        assert!(level <= last + 1, "{what}: h{level} after h{last}");
        last = level;
    }
    // Each home: its own section, its name in the comparison's header.
    for h in &d.homes {
        assert!(html.contains(&format!("id=\"{}\"", h.anchor)), "{what}");
        assert!(
            html.contains(&format!("<th scope=\"col\">{}</th>", escape(&h.name))),
            "{what}: {} not a column header",
            h.name
        );
    }
    // Every outbound link: no referrer, no opener.
    for (i, _) in html.match_indices("<a href=\"http") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        assert!(tag.contains("rel=\"noreferrer noopener\""), "{what}: {tag}");
    }
    assert_no_raw_codes(html, what);
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The PDF's pages and text, read back.
fn pdf_text(pdf: &[u8]) -> (usize, String) {
    let doc = lopdf::Document::load_mem(pdf).expect("a PDF lopdf can read");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text");
    (pages.len(), text)
}

/// Text extraction breaks lines and may split words; compare on words.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[track_caller]
fn assert_pdf(pdf: &[u8], d: &Document, what: &str) {
    assert!(pdf.starts_with(b"%PDF-"), "{what}");
    let (pages, text) = pdf_text(pdf);
    let text = squash(&text);
    // Cover and contents, one page per home at least, the sections after.
    assert!(pages >= d.homes.len() + 3, "{what}: {pages} pages");
    for h in &d.homes {
        assert!(
            text.contains(&squash(&h.name)),
            "{what}: {} not in the PDF",
            h.name
        );
    }
    assert!(text.contains("Page 1 of"), "{what}: page numbers");
    assert!(text.contains('£'), "{what}: pound figures");
    for needle in ["Summary", "Comparison", "Glossary", "Evidence appendix"] {
        assert!(text.contains(needle), "{what}: {needle}");
    }
    assert_no_raw_codes(&text, what);
}

#[tokio::test]
async fn the_result_route_answers_json_html_and_pdf_with_every_section() {
    let (app, _sandbox) = app("").await;
    for (name, q) in questionnaires() {
        let id = report_id(&app, &q).await;
        let uri = format!("/api/professional-report/result/{id}");

        let json = get(&app, &uri, None).await;
        assert_eq!(json.status(), 200);
        assert!(header(&json, "content-type").starts_with("application/json"));
        let view: Value = serde_json::from_slice(json.body()).unwrap();
        assert_eq!(view["job_id"], id.as_str());

        let html = get(&app, &uri, Some("text/html,*/*;q=0.8")).await;
        assert_eq!(html.status(), 200, "{name}");
        assert_eq!(header(&html, "content-type"), "text/html; charset=utf-8");
        assert_private(&html);
        assert!(header(&html, "vary").contains("Accept"));
        let body = std::str::from_utf8(html.body()).unwrap();
        let names: Vec<&str> = view["report"]["careHomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 5, "{name}");
        for n in &names {
            assert!(body.contains(&escape(n)), "{name}: {n}");
        }
        assert!(body.contains(view["report"]["clientName"].as_str().unwrap()));
        assert!(body.contains("Complete: every source answered."), "{name}");

        let pdf = get(&app, &format!("{uri}?format=pdf"), None).await;
        assert_eq!(pdf.status(), 200, "{name}");
        assert_eq!(header(&pdf, "content-type"), "application/pdf");
        assert_private(&pdf);
        let disposition = header(&pdf, "content-disposition");
        assert!(
            disposition.starts_with("inline; filename=\"care-home-report-20")
                && disposition.ends_with(".pdf\""),
            "{disposition}"
        );
        let (pages, text) = pdf_text(pdf.body());
        assert!(pages >= 8, "{name}: {pages} pages");
        let text = squash(&text);
        for n in &names {
            assert!(text.contains(&squash(n)), "{name}: {n} not in the PDF");
        }
        assert_no_raw_codes(&text, name);
        assert_no_raw_codes(body, name);
    }
}

#[tokio::test]
async fn a_partial_report_says_what_is_missing_and_when_it_is_retried() {
    let (app, _sandbox) = app("google_places:status=503").await;
    let id = report_id(&app, &base()).await;
    let uri = format!("/api/professional-report/result/{id}?format=html");
    let html = get(&app, &uri, None).await;
    assert_eq!(html.status(), 200);
    let body = std::str::from_utf8(html.body()).unwrap();
    assert!(body.contains("Still missing"), "{body}");
    assert!(body.contains("Partial ("));
    assert!(body.contains("Google reviews"));
    assert!(body.contains("tried again automatically at"));
    assert_no_raw_codes(body, "partial");
}

#[tokio::test]
async fn a_report_not_ready_gets_a_short_page_that_says_when_to_look_again() {
    let (app, _sandbox) = app("").await;
    let req = ::http::Request::post("/api/professional-report/start")
        .header("content-type", "application/json")
        .body(Bytes::from(serde_json::to_vec(&base()).unwrap()))
        .unwrap();
    // Background work that never runs: the job stays pending.
    let resp = TestApp::new(app.clone())
        .background(Dropped)
        .send(req)
        .await;
    assert_eq!(resp.status(), 202);
    let v: Value = serde_json::from_slice(resp.body()).unwrap();
    let id = v["job_id"].as_str().unwrap();
    let uri = format!("/api/professional-report/result/{id}");

    let page = get(&app, &uri, Some("text/html")).await;
    assert_eq!(page.status(), 202);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "retry-after"), "15");
    assert_private(&page);
    let body = std::str::from_utf8(page.body()).unwrap();
    assert!(body.contains("being prepared"));
    assert!(body.contains("look again in about 15 seconds"));
    assert!(!body.contains("error"));

    // JSON (and PDF) clients keep the API's answer.
    let json = get(&app, &uri, None).await;
    assert_eq!(json.status(), 409);
    let pdf = get(&app, &format!("{uri}?format=pdf"), None).await;
    assert_eq!(pdf.status(), 409);
}

#[tokio::test]
async fn without_a_renderer_the_route_answers_json() {
    let (mut app, _sandbox) = app("").await;
    app.documents = None;
    let id = report_id(&app, &base()).await;
    let r = get(
        &app,
        &format!("/api/professional-report/result/{id}"),
        Some("text/html"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("application/json"));
}

// ---------------------------------------------------------------------------
// The real export's traps, and hostile directory text

fn trap_fixture() -> PathBuf {
    care_report_testing::export::trap_export()
}

fn trap_questionnaire(edit: impl FnOnce(&mut Value)) -> Questionnaire {
    care_report_testing::export::older_person(edit)
}

/// The document of `q` over `directory`, every source not configured.
fn offline_document(q: &Questionnaire, directory: &Directory) -> Document {
    let origin = city_location(&q.location.preferred_city).unwrap();
    let plan = Plan::from_origin(q, directory, origin, now()).expect("a plan");
    let slots: Vec<Slot> = plan
        .homes
        .iter()
        .flat_map(|h| {
            SourceType::ALL.iter().map(|s| Slot {
                status: SlotStatus::NotConfigured,
                ..Slot::pending(&h.home.id, &h.home.name, *s)
            })
        })
        .collect();
    let needs = FamilyNeeds::from_questionnaire(q);
    let report = judged(needs, &plan, "job-1", &slots, &[], directory, now());
    document::document(&report, Some(q), now())
}

#[test]
fn the_real_export_traps_print_every_section() {
    let (directory, _) = Directory::from_csv_path(&trap_fixture()).unwrap();
    let cases = [
        ("residential", trap_questionnaire(|_| {})),
        (
            "nursing dementia",
            trap_questionnaire(|v| {
                v["section_3_medical_needs"]["q8_care_types"] = json!(["medical_nursing"]);
                v["section_3_medical_needs"]["q9_medical_conditions"] =
                    json!(["dementia_alzheimers"]);
                v["section_2_location_budget"]["q7_budget"] = json!("need_budget_guidance");
            }),
        ),
    ];
    for (what, q) in cases {
        let d = offline_document(&q, &directory);
        assert!(!d.homes.is_empty(), "{what}");
        let html = document::to_html(&d);
        assert_html_sections(&html, &d, what);
        assert!(html.contains("Not checked for this home"), "{what}");
        let pdf = care_report_pdf::render(&d).unwrap();
        assert_pdf(&pdf, &d, what);
    }
}

/// The fixture with every home renamed to hostile text: HTML and typst
/// markup, a script, a link.
fn hostile_directory() -> Directory {
    let text = std::fs::read_to_string(trap_fixture()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let name = header.iter().position(|h| h == "name").unwrap();
    let path = std::env::temp_dir().join(format!("trap-export-hostile-{}.csv", std::process::id()));
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&header).unwrap();
    let hostile = [
        "<img src=x onerror=alert(1)>",
        "</td><script>alert(2)</script>",
        "#eval(\"1+1\") *bold* $x$ ] [ @ref <lab>",
        "Rose & Crown \"House\"",
        "=== Heading // comment",
    ];
    for (i, record) in reader.records().enumerate() {
        let mut row: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        row[name] = format!("{} {i}", hostile[i % hostile.len()]);
        writer.write_record(&row).unwrap();
    }
    writer.flush().unwrap();
    let (d, _) = Directory::from_csv_path(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    d
}

#[test]
fn hostile_directory_text_prints_as_text() {
    let directory = hostile_directory();
    let q = trap_questionnaire(|_| {});
    let d = offline_document(&q, &directory);
    let html = document::to_html(&d);
    assert!(!html.contains("<img"), "an image tag got through");
    assert!(!html.contains("<script"), "a script got through");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    for h in &d.homes {
        assert!(html.contains(&escape(&h.name)), "{}", h.name);
    }
    let pdf = care_report_pdf::render(&d).expect("hostile text never breaks typesetting");
    let (_, text) = pdf_text(&pdf);
    let text = squash(&text);
    for h in &d.homes {
        assert!(
            text.contains(&squash(&h.name)),
            "{} not printed as is",
            h.name
        );
    }
}
