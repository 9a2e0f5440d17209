//! The document's contents, built once from the typed report and printed
//! by both the HTML page and the PDF.
//!
//! Every sentence comes from the report the JSON answer carries (the
//! judgement's texts, the sources' facts); this module only picks, orders
//! and labels them, and writes figures (pounds, dates, ages) with the same
//! helpers the judgement uses, so the document never words a fact a second
//! way. Codes (source types, badge names, rule ids) are turned into words
//! here; rule ids, evidence and thresholds appear only in the evidence
//! appendix, where they are the point.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::judgement::{negotiation, prose, Trace};
use crate::model::{MissingSourceStatus, SourceType};
use crate::questionnaire::Questionnaire;
use crate::report::wire::{CareHome, ProfessionalReport};

/// The whole document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Document {
    /// `Care home report for Margaret`.
    pub title: String,
    /// The patient's first name as stored.
    pub client_name: String,
    /// `23 November 2026`.
    pub date: String,
    /// `2026-11-23`, for the file name.
    pub date_iso: String,
    /// `Within 15 km of Birmingham (B1 1AA)`.
    pub area: String,
    /// Why the search went wider or found fewer homes, as the report says.
    pub search_note: Option<String>,
    /// The budget in words (pounds a month and a week, who pays).
    pub budget: Option<String>,
    /// Whether every source answered.
    pub complete: bool,
    /// Completeness in percent.
    pub completeness: u8,
    /// What is still missing and when it is tried again.
    pub missing: Vec<MissingLine>,
    /// The executive summary's paragraphs, with headings.
    pub summary: Vec<Titled>,
    /// The five homes, best first.
    pub shortlist: Vec<ShortlistItem>,
    /// One section per home.
    pub homes: Vec<HomeSection>,
    /// The comparison table.
    pub comparison: Option<Table>,
    /// Risk overview.
    pub risk: Option<RiskSection>,
    /// Negotiation.
    pub negotiation: Option<NegotiationSection>,
    /// Funding guidance.
    pub funding: Option<FundingSection>,
    /// Next steps.
    pub next_steps: Vec<Step>,
    /// Terms explained.
    pub glossary: Vec<Titled>,
    /// Every traced statement: rule id, evidence, threshold.
    pub evidence: Vec<EvidenceRow>,
    /// Where the data comes from, with links.
    pub sources_note: String,
}

/// A heading and its text.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Titled {
    /// Heading.
    pub title: String,
    /// Text.
    pub text: String,
}

/// A link; every outbound link is printed with `rel="noreferrer noopener"`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Link {
    /// What the reader sees.
    pub text: String,
    /// Where it goes (http or https only).
    pub url: String,
}

/// One missing (home, source) pair in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MissingLine {
    /// The home.
    pub home: String,
    /// The source in words.
    pub source: String,
    /// When it is tried again, in words.
    pub when: String,
}

/// One line of the shortlist.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShortlistItem {
    /// 1 for the best match.
    pub rank: usize,
    /// Name.
    pub name: String,
    /// The anchor of its section (`home-1`).
    pub anchor: String,
    /// `90.7 out of 100`.
    pub score: String,
    /// Why it was chosen (`matchReason`).
    pub reason: Option<String>,
}

/// A fact about a home with where and when it comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fact {
    /// What it is.
    pub label: String,
    /// The value in words.
    pub value: String,
    /// Where it comes from (and when, when known).
    pub source: String,
    /// A link to the source's own page, when there is one.
    pub link: Option<Link>,
}

/// One Google review with the attribution Google requires.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewItem {
    /// Author's name.
    pub author: String,
    /// Author's Google Maps profile.
    pub author_url: Option<String>,
    /// `4 out of 5 stars`.
    pub rating: Option<String>,
    /// The text.
    pub text: Option<String>,
    /// When it was published, in words.
    pub when: Option<String>,
    /// The review on Google Maps.
    pub review_url: Option<String>,
}

/// A concern: a red flag or a warning.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Concern {
    /// `Red flag` or `Warning`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// What was found.
    pub description: String,
    /// Why it matters.
    pub impact: String,
    /// What to do.
    pub recommendation: String,
}

/// A group of questions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionGroup {
    /// The group's heading.
    pub title: String,
    /// The questions.
    pub questions: Vec<String>,
}

/// One home's section.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HomeSection {
    /// `home-1`.
    pub anchor: String,
    /// 1 for the best match.
    pub rank: usize,
    /// Name.
    pub name: String,
    /// Address in one line.
    pub address: String,
    /// `90.7 out of 100`.
    pub score: String,
    /// Why it was chosen.
    pub reason: Option<String>,
    /// The categories it wins (`Best Overall Match`).
    pub labels: Vec<String>,
    /// Facts with their sources.
    pub facts: Vec<Fact>,
    /// The five key questions' ratings, when known.
    pub key_questions: Vec<Titled>,
    /// Google reviews.
    pub reviews: Vec<ReviewItem>,
    /// The home's own links (website, CQC, Google Maps).
    pub links: Vec<Link>,
    /// Strengths.
    pub strengths: Vec<String>,
    /// Concerns.
    pub concerns: Vec<Concern>,
    /// The risk summary for this home.
    pub risk_summary: Option<String>,
    /// What the service could not check for this home.
    pub not_checked: Vec<String>,
    /// Questions to ask its manager.
    pub questions: Vec<QuestionGroup>,
}

/// A table with header cells.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    /// Column headers (the first is the row header's).
    pub columns: Vec<String>,
    /// Rows, each with a header and one cell per column after the first.
    pub rows: Vec<TableRow>,
}

/// A table row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableRow {
    /// Group the row belongs to (`CQC Ratings`).
    pub group: String,
    /// The row's header.
    pub label: String,
    /// One cell per home.
    pub cells: Vec<String>,
}

/// Risk overview.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskSection {
    /// The overall assessment.
    pub overall: String,
    /// How old the inspections are.
    pub data_age: String,
    /// Per home: name, level in words, red flags and warnings counted.
    pub homes: Vec<Vec<String>>,
    /// What the risk section could not read.
    pub missing: Vec<String>,
}

/// Negotiation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NegotiationSection {
    /// The market in sentences.
    pub market: Vec<String>,
    /// Per home: name, fee, position, reasoning, approach.
    pub positions: Vec<Vec<String>>,
    /// How to open.
    pub opening: Vec<String>,
    /// Talking points.
    pub talking_points: Vec<String>,
    /// Timing and approach.
    pub timing: Vec<String>,
    /// What to expect.
    pub expectation: Vec<String>,
    /// Contract terms to check: term, what to check, red flags.
    pub checklist: Vec<Vec<String>>,
    /// Terms to ask for.
    pub additions: Vec<String>,
    /// Where the checklist comes from.
    pub checklist_source: String,
    /// Letters to send.
    pub templates: Vec<Template>,
    /// Questions at a visit.
    pub visit_questions: Vec<QuestionGroup>,
}

/// A letter template.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Template {
    /// Title.
    pub title: String,
    /// When to use it.
    pub when: String,
    /// The letter.
    pub text: String,
    /// How to adapt it.
    pub notes: String,
}

/// Funding guidance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FundingSection {
    /// `England`.
    pub jurisdiction: String,
    /// The routes.
    pub routes: Vec<FundingRoute>,
    /// What the service cannot know.
    pub cannot_know: Vec<String>,
    /// Questions for the council.
    pub questions_for_council: Vec<String>,
    /// Figures that may be out of date.
    pub out_of_date: Vec<String>,
}

/// One funding route.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FundingRoute {
    /// Title.
    pub title: String,
    /// What it means.
    pub summary: String,
    /// What to ask.
    pub ask: Vec<String>,
    /// Figures: label, amount, year, source.
    pub figures: Vec<Vec<String>>,
    /// Where the guidance comes from.
    pub source: Link,
}

/// One next step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// When.
    pub when: String,
    /// What.
    pub action: String,
    /// `High`, `Medium`, `Low`.
    pub priority: String,
}

/// One traced statement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvidenceRow {
    /// Where it appears.
    pub section: String,
    /// The rule's id.
    pub rule_id: String,
    /// The facts read, `field = value; …`.
    pub evidence: String,
    /// The threshold crossed.
    pub threshold: String,
}

/// Builds the document of `report`. `questionnaire` gives the budget band;
/// `now` dates a report whose retries are due.
pub fn build(
    report: &ProfessionalReport,
    questionnaire: Option<&Questionnaire>,
    now: DateTime<Utc>,
) -> Document {
    let date = report.generated_at.date_naive();
    let homes: Vec<HomeSection> = report
        .care_homes
        .iter()
        .map(|h| home_section(report, h))
        .collect();
    let mut evidence = Vec::new();
    collect_evidence(report, &mut evidence);
    Document {
        title: format!("Care home report for {}", report.client_name),
        client_name: report.client_name.clone(),
        date: prose::date_words(date),
        date_iso: date.format("%Y-%m-%d").to_string(),
        area: area(report),
        search_note: report.search.note.clone(),
        budget: questionnaire.map(|q| prose::budget_words(q.location.budget.as_str())),
        complete: !report.is_partial,
        completeness: report.completeness,
        missing: missing_lines(report, now),
        summary: summary(report),
        shortlist: report
            .care_homes
            .iter()
            .map(|h| ShortlistItem {
                rank: h.rank,
                name: h.name.clone(),
                anchor: anchor(h),
                score: score(h.match_score),
                reason: h.match_reason.clone(),
            })
            .collect(),
        homes,
        comparison: comparison(report),
        risk: risk(report),
        negotiation: negotiation(report),
        funding: funding(report),
        next_steps: next_steps(report),
        glossary: glossary(),
        evidence,
        sources_note: format!(
            "Homes from the directory: {}. Ratings from the Care Quality Commission and the \
             Food Standards Agency, reviews from Google, places from OpenStreetMap \
             (© OpenStreetMap contributors) and postcodes.io. Each fact shows its source.",
            report.directory
        ),
    }
}

fn anchor(h: &CareHome) -> String {
    format!("home-{}", h.rank)
}

fn score(s: f64) -> String {
    format!("{s:.1} out of 100")
}

fn km(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{x:.0} km")
    } else {
        format!("{x:.1} km")
    }
}

fn area(r: &ProfessionalReport) -> String {
    let mut s = format!("Within {} of {}", km(r.search.radius_km), r.search.origin);
    if let Some(pc) = &r.postcode {
        if !r.search.origin.contains(pc.as_str()) {
            s.push_str(&format!(" ({pc})"));
        }
    }
    if let Some(asked) = r.search.requested_radius_km {
        if r.search.radius_km > asked + f64::EPSILON {
            s.push_str(&format!(", widened from the {} you asked for", km(asked)));
        }
    }
    s
}

/// A source in words, for a family.
pub(crate) fn source_words(s: SourceType) -> &'static str {
    match s {
        SourceType::Cqc => "the CQC inspection record",
        SourceType::Fsa => "the food hygiene rating",
        SourceType::GooglePlaces => "Google reviews",
        SourceType::Neighbourhood => "the neighbourhood (shops, GPs, parks, buses)",
        SourceType::Firecrawl => "the home's own website",
        SourceType::CompaniesHouse => "the provider company's Companies House record",
    }
}

fn when_words(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if t <= now {
        return "due now: look again in a few minutes".to_owned();
    }
    let day = prose::date_words(t.date_naive());
    format!(
        "tried again automatically at {} UTC on {day}",
        t.format("%H:%M")
    )
}

fn missing_lines(r: &ProfessionalReport, now: DateTime<Utc>) -> Vec<MissingLine> {
    r.missing_data_sources
        .iter()
        .map(|m| MissingLine {
            home: m.home_name.clone(),
            source: prose::capitalised(source_words(m.source_type)),
            when: match (m.status, m.next_attempt_at) {
                (MissingSourceStatus::Pending, _) => "not fetched yet: look again shortly".into(),
                (_, Some(t)) => when_words(t, now),
                (_, None) => "no more automatic attempts: it could not be fetched".into(),
            },
        })
        .collect()
}

fn summary(r: &ProfessionalReport) -> Vec<Titled> {
    let Some(s) = &r.executive_summary else {
        return Vec::new();
    };
    [
        ("What we matched on", &s.personalized_matching),
        ("How the homes were chosen", &s.precision_matching),
        ("What was checked", &s.deep_analysis),
        ("Our reading", &s.expert_insights),
    ]
    .into_iter()
    .map(|(t, text)| Titled {
        title: t.to_owned(),
        text: text.clone(),
    })
    .collect()
}

fn iso_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

fn date_text(s: &str) -> String {
    iso_date(s).map_or_else(|| s.to_owned(), prose::date_words)
}

/// Only web links are printed as links.
fn web(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

fn link(text: impl Into<String>, url: &str) -> Option<Link> {
    Some(Link {
        text: text.into(),
        url: web(url)?,
    })
}

/// Where a source's facts come from and when they were fetched.
fn fetched(r: &ProfessionalReport, h: &CareHome, source: SourceType, name: &str) -> String {
    match h.cached_at.get(source.as_str()).and_then(|t| iso_date(t)) {
        Some(d) => format!("{name}, fetched {}", prose::date_words(d)),
        None => format!(
            "{name}, fetched {}",
            prose::date_words(r.generated_at.date_naive())
        ),
    }
}

fn status_words(status: &str) -> &'static str {
    match status {
        "loaded" => "received",
        "not_found" => "no record found",
        "not_configured" => "not used by this service",
        "pending" => "not fetched yet",
        _ => "missing: it will be tried again",
    }
}

fn home_section(r: &ProfessionalReport, h: &CareHome) -> HomeSection {
    // Which directory (file name, counts) is said once, in the sources
    // note; beside each fact it is only the kind of source.
    let directory = "the care-home directory".to_owned();
    let cqc = cqc_fact(r, h, &directory);
    let google = google_fact(r, h);
    let links = home_links(h, &cqc, google.as_ref());
    let mut facts = vec![
        fee_fact(h, &directory),
        distance_fact(r, h),
        registration_fact(h, &directory),
        cqc,
    ];
    facts.extend(fsa_fact(r, h));
    facts.extend(google);
    facts.extend(neighbourhood_fact(r, h));
    facts.extend(company_fact(r, h));
    facts.extend(telephone_fact(h, &directory));
    let risk = r
        .risk_assessment
        .as_ref()
        .and_then(|ra| ra.homes_assessment.iter().find(|a| a.home_id == h.id));
    HomeSection {
        anchor: anchor(h),
        rank: h.rank,
        name: h.name.clone(),
        address: address(h),
        score: score(h.match_score),
        reason: h.match_reason.clone(),
        labels: h.category_labels.clone(),
        facts,
        key_questions: key_questions(h),
        reviews: reviews(h),
        links,
        strengths: strengths(r, h),
        concerns: concerns(risk),
        risk_summary: risk.map(|a| a.summary.clone()),
        not_checked: not_checked(h),
        questions: manager_questions(r, h),
    }
}

/// The address in one line.
fn address(h: &CareHome) -> String {
    [
        h.address.clone(),
        Some(h.location.clone()),
        h.postcode.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// The home's own links: its website, then CQC's and Google's pages.
fn home_links(h: &CareHome, cqc: &Fact, google: Option<&Fact>) -> Vec<Link> {
    h.website
        .as_deref()
        .and_then(|u| link("The home's website", u))
        .into_iter()
        .chain(cqc.link.clone())
        .chain(google.and_then(|g| g.link.clone()))
        .collect()
}

/// The fee and the budget.
fn fee_fact(h: &CareHome, directory: &str) -> Fact {
    let value = match h.weekly_price {
        Some(fee) => format!(
            "{} a week (about {} a month){}",
            crate::judgement::pounds(fee),
            crate::judgement::pounds((fee * 52.0 / 12.0).round()),
            match h.over_budget {
                Some(true) => ", above your budget",
                Some(false) => ", within your budget",
                None => "",
            }
        ),
        None => "Not known: ask the home for its weekly fee in writing".into(),
    };
    Fact {
        label: "Fee".into(),
        value,
        source: directory.to_owned(),
        link: None,
    }
}

fn distance_fact(r: &ProfessionalReport, h: &CareHome) -> Fact {
    Fact {
        label: "Distance".into(),
        value: format!("{} from {}", km(h.distance_km), r.search.origin),
        source: "measured from the directory's address".into(),
        link: None,
    }
}

/// The care types it is registered for, its beds and its provider.
fn registration_fact(h: &CareHome, directory: &str) -> Fact {
    let mc = &h.medical_care;
    let mut care = Vec::new();
    if mc.care_residential {
        care.push("residential care");
    }
    if mc.care_nursing {
        care.push("nursing care");
    }
    if mc.care_dementia {
        care.push("dementia care");
    }
    if mc.care_respite == Some(true) {
        care.push("respite stays");
    }
    let mut reg = if care.is_empty() {
        "Registered care types not listed".to_owned()
    } else {
        format!("Registered for {}", care.join(", "))
    };
    if let Some(b) = h.beds_total {
        reg.push_str(&format!("; {b} beds"));
    }
    if let Some(p) = &h.provider {
        reg.push_str(&format!("; run by {p}"));
    }
    Fact {
        label: "Registration".into(),
        value: reg,
        source: directory.to_owned(),
        link: None,
    }
}

/// The CQC rating, with a link to CQC's page for the home.
fn cqc_fact(r: &ProfessionalReport, h: &CareHome, directory: &str) -> Fact {
    let cqc = h.cqc_deep_dive.as_ref();
    Fact {
        label: "CQC rating".into(),
        value: cqc_value(r, h),
        source: if cqc.is_some() {
            fetched(r, h, SourceType::Cqc, "Care Quality Commission")
        } else {
            format!("Care Quality Commission, as listed in {directory}")
        },
        link: cqc
            .and_then(|c| c.profile_url.as_deref())
            .or(h.cqc_report_url.as_deref())
            .and_then(|u| link("CQC's page for this home", u)),
    }
}

/// The rating, the last inspection and its age, an ended registration and
/// an earlier rating.
fn cqc_value(r: &ProfessionalReport, h: &CareHome) -> String {
    let today = r.generated_at.date_naive();
    let cqc = h.cqc_deep_dive.as_ref();
    let overall = cqc
        .and_then(|c| c.overall_rating.clone())
        .or_else(|| h.cqc_rating.clone());
    let last = cqc
        .and_then(|c| c.last_inspection_date.clone())
        .or_else(|| h.last_audited.clone());
    let mut cqc_value = match &overall {
        Some(o) => format!("Rated {o}"),
        None => "No current rating".to_owned(),
    };
    if let Some(d) = last.as_deref().and_then(iso_date) {
        cqc_value.push_str(&format!(
            ", last inspected {} ({} before this report)",
            prose::date_words(d),
            prose::age_words(d, today)
        ));
    }
    if let Some(c) = cqc {
        if c.registration_status.as_deref() == Some("Deregistered") {
            cqc_value.push_str("; this registration has ended");
            if let Some(d) = &c.deregistration_date {
                cqc_value.push_str(&format!(" ({})", date_text(d)));
            }
        }
        if let Some(hist) = &c.historical_overall_rating {
            cqc_value.push_str(&format!("; earlier rating {hist} (history, not current)"));
        }
        cqc_value.push_str(&cqc_depth_words(c));
    }
    cqc_value
}

/// The rating's trend, the registered manager and the latest report, in
/// words, each only when CQC's record gives it.
fn cqc_depth_words(c: &crate::report::wire::CqcDeepDive) -> String {
    let mut out = String::new();
    if let (Some(dir), Some(change)) = (
        c.rating_trend.as_deref(),
        c.rating_changes.as_ref().and_then(|l| l.first()),
    ) {
        let from = change.from_rating.as_deref().unwrap_or_default();
        let verb = if dir == "improved" { "up" } else { "down" };
        out.push_str(&format!("; {verb} from {from}"));
        if let Some(since) = &change.date {
            out.push_str(&format!(" since {}", date_text(since)));
        }
    } else if c.rating_trend.as_deref() == Some("unchanged") {
        out.push_str("; the same as the rating before");
    }
    if let Some(m) = &c.registered_manager {
        match m.in_post {
            Some(true) => out.push_str("; a registered manager is in post"),
            Some(false) => {
                out.push_str("; no registered manager");
                if let Some(d) = &m.absent_since {
                    out.push_str(&format!(" since {}", date_text(d)));
                }
            }
            None => {}
        }
    }
    if let Some(d) = c
        .latest_report
        .as_ref()
        .and_then(|r| r.report_date.as_ref())
    {
        out.push_str(&format!("; latest report published {}", date_text(d)));
    }
    out
}

/// CQC's five key questions' ratings, when known.
fn key_questions(h: &CareHome) -> Vec<Titled> {
    let Some(d) = h
        .cqc_deep_dive
        .as_ref()
        .and_then(|c| c.detailed_ratings.as_ref())
    else {
        return Vec::new();
    };
    [
        ("Safe", &d.safe),
        ("Effective", &d.effective),
        ("Caring", &d.caring),
        ("Responsive", &d.responsive),
        ("Well-led", &d.well_led),
    ]
    .into_iter()
    .filter_map(|(q, k)| {
        k.as_ref().map(|k| Titled {
            title: q.into(),
            text: k.rating.clone(),
        })
    })
    .collect()
}

/// The food hygiene rating, when the FSA answered.
fn fsa_fact(r: &ProfessionalReport, h: &CareHome) -> Option<Fact> {
    let f = h.fsa_detailed.as_ref()?;
    let mut v = match (&f.rating, &f.rating_value) {
        (Some(n), _) => format!("{n} out of 5"),
        (None, Some(v)) => fsa_words(v),
        (None, None) => "No rating given".into(),
    };
    if let Some(d) = &f.rating_date {
        v.push_str(&format!(", rated {}", date_text(d)));
    }
    if let Some(b) = &f.business_name {
        if b != &h.name {
            v.push_str(&format!(" (registered as {b})"));
        }
    }
    let l = f.fhrs_id.as_deref().and_then(|id| {
        link(
            "FSA rating",
            &format!("https://ratings.food.gov.uk/business/{id}"),
        )
    });
    Some(Fact {
        label: "Food hygiene".into(),
        value: v,
        source: fetched(r, h, SourceType::Fsa, "Food Standards Agency"),
        link: l,
    })
}

/// The provider company as Companies House lists it: its status and its
/// filings, with a link to the register, and what the register cannot show.
fn company_fact(r: &ProfessionalReport, h: &CareHome) -> Option<Fact> {
    let c = h.provider_company.as_ref()?;
    let date = |d: &Option<String>| d.as_deref().and_then(iso_date).map(prose::date_words);
    let mut v = format!(
        "{} (company {}), {}",
        c.company_name.as_deref().unwrap_or("The provider"),
        c.company_number.as_deref()?,
        crate::judgement::financial::status_words(c.company_status.as_deref()?)
    );
    match (
        c.accounts.overdue,
        date(&c.accounts.next_due),
        date(&c.accounts.last_made_up_to),
    ) {
        (Some(true), Some(due), _) => v.push_str(&format!("; accounts overdue since {due}")),
        (_, _, Some(last)) => v.push_str(&format!("; last accounts made up to {last}")),
        _ => {}
    }
    if c.confirmation_statement.overdue == Some(true) {
        v.push_str("; confirmation statement overdue");
    }
    v.push_str(". ");
    v.push_str(crate::judgement::financial::CANNOT_SEE);
    Some(Fact {
        label: "Provider company".into(),
        value: v,
        source: fetched(r, h, SourceType::CompaniesHouse, "Companies House"),
        link: (c.register_url.as_deref()).and_then(|u| link("Companies House register", u)),
    })
}

/// Google's rating, with a link to the home on Google Maps.
fn google_fact(r: &ProfessionalReport, h: &CareHome) -> Option<Fact> {
    let g = h.google_places.as_ref()?;
    let v = match (g.rating, g.user_ratings_total) {
        (Some(a), Some(n)) => format!("{a:.1} out of 5 stars from {n} ratings"),
        (Some(a), None) => format!("{a:.1} out of 5 stars"),
        _ => "No rating".into(),
    };
    Some(Fact {
        label: "Google reviews".into(),
        value: v,
        source: fetched(r, h, SourceType::GooglePlaces, "Google"),
        link: g
            .google_maps_uri
            .as_deref()
            .and_then(|u| link("The home on Google Maps", u)),
    })
}

/// Google's reviews with their attribution.
fn reviews(h: &CareHome) -> Vec<ReviewItem> {
    let Some(g) = &h.google_places else {
        return Vec::new();
    };
    g.reviews
        .iter()
        .map(|rv| ReviewItem {
            author: rv
                .author_name
                .clone()
                .unwrap_or_else(|| "A Google user".into()),
            author_url: rv.author_url.as_deref().and_then(web),
            rating: rv.rating.map(|s| format!("{s:.0} out of 5 stars")),
            text: rv.text.clone(),
            when: rv.time.as_deref().map(date_text),
            review_url: rv.review_url.as_deref().and_then(web),
        })
        .collect()
}

/// What is near the home, when the neighbourhood was read.
fn neighbourhood_fact(r: &ProfessionalReport, h: &CareHome) -> Option<Fact> {
    let n = h.neighbourhood.as_ref()?;
    let a = &n.walkability.amenities_nearby;
    let near = |c: &crate::report::wire::AmenityCount, what: &str| match c.nearest_m {
        Some(m) if c.count > 0 => format!("{} {what} (nearest {} m)", c.count, m),
        _ => format!("{} {what}", c.count),
    };
    let mut v = format!(
        "Within {} m: {}, {}, {}, {}, {}",
        n.radius_meters,
        near(&a.healthcare, "GPs, pharmacies or hospitals"),
        near(&a.shops, "shops"),
        near(&a.restaurants, "cafés or pubs"),
        near(&a.parks, "parks"),
        near(&a.transport, "bus stops"),
    );
    if let Some(la) = &n.local_authority {
        v.push_str(&format!("; council area {la}"));
    }
    Some(Fact {
        label: "Neighbourhood".into(),
        value: v,
        source: fetched(
            r,
            h,
            SourceType::Neighbourhood,
            "OpenStreetMap contributors and postcodes.io",
        ),
        link: None,
    })
}

fn telephone_fact(h: &CareHome, directory: &str) -> Option<Fact> {
    h.contact.phone.as_ref().map(|p| Fact {
        label: "Telephone".into(),
        value: p.clone(),
        source: directory.to_owned(),
        link: None,
    })
}

/// What could not be checked for this home.
fn not_checked(h: &CareHome) -> Vec<String> {
    h.data_sources
        .iter()
        .filter(|(_, s)| **s != "loaded")
        .filter_map(|(k, s)| {
            Some(format!(
                "{}: {}",
                prose::capitalised(source_words(SourceType::parse(k)?)),
                status_words(s)
            ))
        })
        .collect()
}

/// What sets the home apart, from the comparison.
fn strengths(r: &ProfessionalReport, h: &CareHome) -> Vec<String> {
    let Some(c) = &r.comparative_analysis else {
        return Vec::new();
    };
    c.key_differentiators
        .iter()
        .filter(|d| d.home_name == h.name)
        .map(|d| d.description.clone())
        .collect()
}

/// The home's red flags, then its warnings.
fn concerns(risk: Option<&crate::judgement::risk::HomeRiskAssessment>) -> Vec<Concern> {
    let Some(a) = risk else {
        return Vec::new();
    };
    let mut concerns = Vec::new();
    for (kind, flags) in [("Red flag", &a.red_flags), ("Warning", &a.warnings)] {
        for f in flags {
            concerns.push(Concern {
                kind: kind.into(),
                title: f.title.into(),
                description: f.description.clone(),
                impact: f.impact.into(),
                recommendation: f.recommendation.into(),
            });
        }
    }
    concerns
}

fn fsa_words(v: &str) -> String {
    match v {
        "Exempt" => "Exempt from rating".into(),
        "AwaitingInspection" => "Awaiting inspection".into(),
        "AwaitingPublication" => "Rated, awaiting publication".into(),
        other => other.to_owned(),
    }
}

/// The questions for this home's manager: those naming it and those naming
/// no chosen home.
fn manager_questions(r: &ProfessionalReport, h: &CareHome) -> Vec<QuestionGroup> {
    let Some(n) = &r.next_steps else {
        return Vec::new();
    };
    let q = &n.questions_for_home_manager;
    let names: Vec<&str> = r.care_homes.iter().map(|c| c.name.as_str()).collect();
    let mine = |list: &Vec<String>| -> Vec<String> {
        list.iter()
            .filter(|text| {
                text.contains(h.name.as_str()) || !names.iter().any(|other| text.contains(other))
            })
            .cloned()
            .collect()
    };
    [
        ("Care and health", &q.medical_care),
        ("Staff", &q.staff_qualifications),
        ("CQC inspection", &q.cqc_feedback),
        ("Ownership and finances", &q.financial_stability),
        ("Trial period", &q.trial_period),
        ("Ending the contract", &q.cancellation_terms),
    ]
    .into_iter()
    .map(|(t, list)| QuestionGroup {
        title: t.into(),
        questions: mine(list),
    })
    .filter(|g| !g.questions.is_empty())
    .collect()
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        }
        Value::Bool(true) => "Yes".into(),
        Value::Bool(false) => "No".into(),
        Value::Array(items) => items.iter().map(cell_text).collect::<Vec<_>>().join(", "),
        _ => "Not known".into(),
    }
}

fn comparison(r: &ProfessionalReport) -> Option<Table> {
    let c = r.comparative_analysis.as_ref()?;
    let mut columns = vec!["".to_owned()];
    columns.extend(r.care_homes.iter().map(|h| h.name.clone()));
    let rows = c
        .comparison_table
        .iter()
        .filter(|row| row.metric != "Name")
        .map(|row| TableRow {
            group: row.category.to_owned(),
            label: if row.metric == "Match Score" {
                "Match score (out of 100)".to_owned()
            } else {
                row.metric.to_owned()
            },
            cells: r
                .care_homes
                .iter()
                .map(|h| {
                    row.homes.get(&h.id).map_or_else(
                        || "Not known".to_owned(),
                        |cell| {
                            let t = cell_text(&cell.value);
                            if row.metric.contains("Price") {
                                cell.value.as_f64().map_or(t, crate::judgement::pounds)
                            } else {
                                t
                            }
                        },
                    )
                })
                .collect(),
        })
        .collect();
    Some(Table { columns, rows })
}

fn level_words(l: &str) -> &'static str {
    match l {
        "high" => "High",
        "medium" => "Medium",
        "low" => "Low",
        _ => "Not assessed",
    }
}

fn risk(r: &ProfessionalReport) -> Option<RiskSection> {
    let ra = r.risk_assessment.as_ref()?;
    Some(RiskSection {
        overall: ra.summary.overall_assessment.clone(),
        data_age: ra.summary.data_age.text.clone(),
        homes: ra
            .homes_assessment
            .iter()
            .map(|a| {
                vec![
                    a.home_name.clone(),
                    level_words(a.overall_risk_level).to_owned(),
                    a.red_flags.len().to_string(),
                    a.warnings.len().to_string(),
                ]
            })
            .collect(),
        missing: ra
            .missing_inputs
            .iter()
            .map(|m| missing_input_words(m))
            .collect(),
    })
}

/// `Home: google_places (missing)` in words.
fn missing_input_words(m: &str) -> String {
    let mut out = m.to_owned();
    for s in SourceType::ALL {
        out = out.replace(
            &format!(": {} (", s.as_str()),
            &format!(": {} (", source_words(s)),
        );
    }
    out.replace("(missing)", "(missing, retried automatically)")
        .replace("(pending)", "(not fetched yet)")
}

fn priority_words(p: &str) -> String {
    match p {
        "high" => "High".into(),
        "medium" => "Medium".into(),
        "low" => "Low".into(),
        other => prose::capitalised(other),
    }
}

fn negotiation(r: &ProfessionalReport) -> Option<NegotiationSection> {
    let n = r.negotiation_strategy.as_ref()?;
    let m = &n.market_rate_analysis;
    let d = &n.discount_negotiation_points;
    Some(NegotiationSection {
        market: m.market_insights.clone(),
        positions: price_positions(m),
        opening: d.negotiation_strategy.opening_strategy.clone(),
        talking_points: d.negotiation_strategy.key_talking_points.clone(),
        timing: vec![
            d.negotiation_strategy.timing.clone(),
            d.negotiation_strategy.approach.clone(),
        ],
        expectation: vec![
            d.total_potential_discount.conservative_range.clone(),
            d.total_potential_discount.optimistic_range.clone(),
            d.total_potential_discount.realistic_expectation.clone(),
            d.total_potential_discount.note.clone(),
        ],
        checklist: contract_terms(&n.contract_review_checklist),
        additions: n
            .contract_review_checklist
            .recommended_additions
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        checklist_source: n.contract_review_checklist.source.to_owned(),
        templates: templates(&n.email_templates),
        visit_questions: n
            .questions_to_ask_at_visit
            .questions_by_category
            .iter()
            .map(|(k, v)| QuestionGroup {
                title: prose::capitalised(&k.replace('_', " ")),
                questions: v.clone(),
            })
            .collect(),
    })
}

/// Per home: name, fee, position, reasoning, approach.
fn price_positions(m: &negotiation::MarketRateAnalysis) -> Vec<Vec<String>> {
    m.price_comparison
        .iter()
        .map(|p| {
            vec![
                p.home_name.clone(),
                crate::judgement::pounds(p.weekly_price),
                p.positioning.to_owned(),
                p.negotiation_potential.reasoning.clone(),
                p.negotiation_potential.recommended_approach.clone(),
            ]
        })
        .collect()
}

/// Per contract term: the term, what to check, its red flags.
fn contract_terms(c: &negotiation::ContractChecklist) -> Vec<Vec<String>> {
    c.essential_terms
        .iter()
        .map(|c| {
            vec![
                c.term.to_owned(),
                c.what_to_check.to_owned(),
                c.red_flags.join("; "),
            ]
        })
        .collect()
}

/// The three letters, in the order they are sent.
fn templates(t: &negotiation::EmailTemplates) -> Vec<Template> {
    let template = |title: &str, e: &negotiation::EmailTemplate| Template {
        title: title.into(),
        when: e.when_to_use.into(),
        text: e.template.clone(),
        notes: e.customization_notes.into(),
    };
    vec![
        template("First enquiry", &t.initial_inquiry),
        template("After a visit", &t.negotiation_followup),
        template("Before signing", &t.contract_clarification),
    ]
}

/// Splits `Publisher, title, https://…` into its words and its link.
fn source_link(s: &str) -> Link {
    match s.rfind("https://") {
        Some(i) => Link {
            text: s[..i].trim_end_matches([',', ' ']).to_owned(),
            url: web(s[i..].trim()).unwrap_or_default(),
        },
        None => Link {
            text: s.to_owned(),
            url: String::new(),
        },
    }
}

fn funding(r: &ProfessionalReport) -> Option<FundingSection> {
    let f = r.funding_guidance.as_ref()?;
    Some(FundingSection {
        jurisdiction: f.jurisdiction.to_owned(),
        routes: f
            .routes
            .iter()
            .map(|route| FundingRoute {
                title: route.title.to_owned(),
                summary: route.summary.clone(),
                ask: route.ask.iter().map(|s| (*s).to_owned()).collect(),
                figures: route
                    .figures
                    .iter()
                    .map(|fig| {
                        let src = source_link(fig.source);
                        vec![
                            prose::capitalised(fig.label),
                            crate::judgement::pounds(fig.amount),
                            fig.tax_year.to_owned(),
                            src.text,
                            src.url,
                        ]
                    })
                    .collect(),
                source: source_link(route.source),
            })
            .collect(),
        cannot_know: f.cannot_know.iter().map(|s| (*s).to_owned()).collect(),
        questions_for_council: f
            .questions_for_council
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        out_of_date: f.out_of_date.clone(),
    })
}

fn next_steps(r: &ProfessionalReport) -> Vec<Step> {
    let Some(n) = &r.next_steps else {
        return Vec::new();
    };
    n.recommended_actions
        .iter()
        .map(|a| Step {
            when: a.timeline.to_owned(),
            action: a.action.clone(),
            priority: priority_words(a.priority),
        })
        .collect()
}

fn glossary() -> Vec<Titled> {
    [
        ("CQC", "The Care Quality Commission, the independent regulator of health and adult social care in England. It inspects every care home and publishes a rating: Outstanding, Good, Requires improvement or Inadequate."),
        ("The five key questions", "CQC rates each home on five questions: is it safe, effective, caring, responsive to people's needs, and well-led? Each gets its own rating beside the overall one."),
        ("CHC", "NHS Continuing Healthcare: care arranged and paid for in full by the NHS for someone whose main need is a health need. It is assessed by the NHS, not means-tested."),
        ("FNC", "NHS-funded Nursing Care: a weekly amount the NHS pays directly to a nursing home towards the nursing part of a resident's care."),
        ("DPA", "A deferred payment agreement: the council pays the care home fees and recovers the money later, usually from the sale of the person's home, so it need not be sold in their lifetime."),
        ("The means test", "The council's financial assessment of the person's capital and income, which decides how much, if anything, the council pays towards care home fees."),
        ("Food hygiene rating", "The Food Standards Agency's rating of a kitchen, from 0 (urgent improvement necessary) to 5 (very good)."),
        ("Match score", "How well a home fits the answers you gave, out of 100, from the facts the service holds. It is a guide to the order, not a measure of quality on its own."),
    ]
    .into_iter()
    .map(|(t, d)| Titled {
        title: t.into(),
        text: d.into(),
    })
    .collect()
}

fn evidence_text(t: &Trace) -> String {
    t.evidence
        .iter()
        .map(|e| {
            let v = match &e.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{} = {v}", e.field)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn push(out: &mut Vec<EvidenceRow>, section: impl Into<String>, t: &Trace) {
    out.push(EvidenceRow {
        section: section.into(),
        rule_id: t.rule_id.to_owned(),
        evidence: evidence_text(t),
        threshold: t.threshold.to_owned(),
    });
}

fn collect_evidence(r: &ProfessionalReport, out: &mut Vec<EvidenceRow>) {
    if let Some(ra) = &r.risk_assessment {
        push(out, "Risk: inspection ages", &ra.summary.data_age.trace);
        for a in &ra.homes_assessment {
            for f in a.red_flags.iter().chain(&a.warnings) {
                push(out, format!("Risk: {}", a.home_name), &f.trace);
            }
        }
    }
    if let Some(c) = &r.comparative_analysis {
        for d in &c.key_differentiators {
            push(out, format!("Comparison: {}", d.home_name), &d.trace);
        }
        if let Some(b) = &c.price_comparison.best_value {
            push(out, "Comparison: best value", &b.trace);
        }
    }
    if let Some(n) = &r.negotiation_strategy {
        for p in &n.market_rate_analysis.price_comparison {
            push(out, format!("Negotiation: {}", p.home_name), &p.trace);
        }
    }
    if let Some(f) = &r.funding_guidance {
        for route in &f.routes {
            push(out, format!("Funding: {}", route.title), &route.trace);
        }
    }
    if let Some(n) = &r.next_steps {
        if let Some(t) = &n.compressed_because {
            push(out, "Next steps: timeline", t);
        }
        for a in &n.recommended_actions {
            if let Some(t) = &a.trace {
                push(out, format!("Next steps: {}", a.home_name), t);
            }
        }
    }
}
