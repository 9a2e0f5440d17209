//! The document as one HTML page: server-rendered with `maud`, whose
//! templates are checked at compile time and escape every value, so
//! directory text (a home's name, a review) always prints as text.
//!
//! Accessible by construction: `lang="en-GB"`, one `h1`, headings in order
//! (h2 sections, h3 homes' parts), tables with `th` header cells and
//! captions, links that say where they go, colours at WCAG AA contrast,
//! readable without the style sheet, no script. Print: A4, each home on its
//! own page. Outbound links carry `rel="noreferrer noopener"`: the page's
//! address (which holds the job id) never leaks to the sites it links to.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::model::{
    Document, FundingRoute, FundingSection, HomeSection, Link, NegotiationSection, QuestionGroup,
    ReviewItem, RiskSection, Table,
};

/// The style sheet: body text #1a1a1a on white (17:1), links #0b4f8a
/// (8:1), muted text #4a4a4a (9:1), warnings on #fff4e5 with #1a1a1a.
const CSS: &str = include_str!("report.css");

/// Outbound links never send a referrer nor give the target a handle on
/// this page.
const REL: &str = "noreferrer noopener";

fn out(l: &Link) -> Markup {
    html! { a href=(l.url) rel=(REL) { (l.text) } }
}

fn out_url(text: &str, url: &str) -> Markup {
    html! { a href=(url) rel=(REL) { (text) } }
}

fn list(items: &[String]) -> Markup {
    html! { @if !items.is_empty() { ul { @for i in items { li { (i) } } } } }
}

fn groups(gs: &[QuestionGroup], level4: bool) -> Markup {
    html! {
        @for g in gs {
            @if level4 { h4 { (g.title) } } @else { h3 { (g.title) } }
            (list(&g.questions))
        }
    }
}

fn table(t: &Table, caption: &str) -> Markup {
    html! {
        div.table-wrap {
            table {
                caption { (caption) }
                thead { tr { @for (i, c) in t.columns.iter().enumerate() {
                    @if i == 0 { th scope="col" { span.visually-hidden { "Measure" } } }
                    @else { th scope="col" { (c) } }
                } } }
                tbody {
                    @for (i, r) in t.rows.iter().enumerate() {
                        @if i == 0 || t.rows[i - 1].group != r.group {
                            tr.group { th scope="colgroup" colspan=(t.columns.len()) { (r.group) } }
                        }
                        tr { th scope="row" { (r.label) } @for c in &r.cells { td { (c) } } }
                    }
                }
            }
        }
    }
}

fn rows_table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> Markup {
    html! {
        div.table-wrap {
            table {
                caption { (caption) }
                thead { tr { @for h in headers { th scope="col" { (h) } } } }
                tbody { @for r in rows { tr {
                    @for (i, c) in r.iter().enumerate() {
                        @if i == 0 { th scope="row" { (c) } } @else { td { (c) } }
                    }
                } } }
            }
        }
    }
}

/// The whole page.
pub fn page(d: &Document) -> String {
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            (head(d))
            body {
                a.skip href="#summary" { "Skip to the summary" }
                (cover(d))
                main {
                    (summary(d))
                    div #homes {
                    @for h in &d.homes {
                        (home(h))
                    }
                    }
                    @if let Some(t) = &d.comparison {
                        section #comparison.wide aria-labelledby="comparison-h" {
                            h2 #comparison-h { "Comparison" }
                            (table(t, "The five homes side by side"))
                        }
                    }
                    @if let Some(r) = &d.risk { (risk(r)) }
                    @if let Some(n) = &d.negotiation { (negotiation(n)) }
                    @if let Some(f) = &d.funding { (funding(f)) }
                    (closing(d))
                }
                footer.page-foot {
                    p { (d.sources_note) }
                    p { "Built " (d.date) ". This page is private: share it only with people you trust." }
                }
            }
        }
    }
    .into_string()
}

fn head(d: &Document) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex, nofollow";
            meta name="referrer" content="no-referrer";
            title { (d.title) " – " (d.date) }
            style { (PreEscaped(CSS)) }
        }
    }
}

/// The cover: who and what the report is for, what is still missing, the
/// contents.
fn cover(d: &Document) -> Markup {
    html! {
        header.cover {
            p.kicker { "Care home report" }
            h1 { (d.title) }
            dl.cover-facts {
                dt { "For" } dd { (d.client_name) }
                dt { "Date" } dd { (d.date) }
                dt { "Area searched" } dd { (d.area) }
                @if let Some(b) = &d.budget { dt { "Budget" } dd { (b) } }
                dt { "Report" }
                dd {
                    @if d.complete { "Complete: every source answered." }
                    @else { "Partial (" (d.completeness) "% of the data): some sources have not answered yet." }
                }
            }
            @if let Some(n) = &d.search_note { p { (n) } }
            @if !d.missing.is_empty() {
                section.notice aria-labelledby="missing-h" {
                    h2 #missing-h { "Still missing" }
                    p { "This report is rebuilt each time you open it. These facts had not arrived when it was built:" }
                    ul { @for m in &d.missing { li { strong { (m.home) } ": " (m.source) " – " (m.when) } } }
                }
            }
            (contents(d))
        }
    }
}

fn contents(d: &Document) -> Markup {
    html! {
        nav aria-labelledby="toc-h" {
            h2 #toc-h { "Contents" }
            ol {
                li { a href="#summary" { "Summary" } }
                li { a href="#homes" { "The homes" }
                    ol { @for s in &d.shortlist { li { a href={ "#" (s.anchor) } { (s.name) } } } }
                }
                @if d.comparison.is_some() { li { a href="#comparison" { "Comparison" } } }
                @if d.risk.is_some() { li { a href="#risk" { "Risk" } } }
                @if d.negotiation.is_some() { li { a href="#negotiation" { "Negotiation" } } }
                @if d.funding.is_some() { li { a href="#funding" { "Funding" } } }
                @if !d.next_steps.is_empty() { li { a href="#next-steps" { "Next steps" } } }
                li { a href="#glossary" { "Glossary" } }
                li { a href="#evidence" { "Evidence appendix" } }
            }
        }
    }
}

fn summary(d: &Document) -> Markup {
    html! {
        section #summary aria-labelledby="summary-h" {
            h2 #summary-h { "Summary" }
            @for s in &d.summary { h3 { (s.title) } p { (s.text) } }
            h3 { "The five homes" }
            ol.shortlist { @for s in &d.shortlist { li {
                a href={ "#" (s.anchor) } { strong { (s.name) } } " – " (s.score)
                @if let Some(r) = &s.reason { br; span { (r) } }
            } } }
        }
    }
}

/// One home's section.
fn home(h: &HomeSection) -> Markup {
    html! {
        section.home id=(h.anchor) aria-labelledby={ (h.anchor) "-h" } {
            h2 id={ (h.anchor) "-h" } { (h.rank) ". " (h.name) }
            p.address { (h.address) }
            p { strong { "Match: " } (h.score) }
            @if let Some(r) = &h.reason { p { (r) } }
            @if !h.labels.is_empty() { p { @for (i, l) in h.labels.iter().enumerate() { @if i > 0 { ", " } span.label { (l) } } } }
            (facts(h))
            @if !h.key_questions.is_empty() {
                h3 { "CQC's five key questions" }
                dl.kq { @for k in &h.key_questions { dt { (k.title) } dd { (k.text) } } }
            }
            @if !h.not_checked.is_empty() {
                h3 { "Not checked for this home" }
                (list(&h.not_checked))
            }
            @if !h.reviews.is_empty() { (reviews(&h.reviews)) }
            h3 { "Strengths" }
            @if h.strengths.is_empty() { p { "None stands out from the other four homes on the data held." } }
            @else { (list(&h.strengths)) }
            (concerns(h))
            @if !h.questions.is_empty() {
                h3 { "Questions to ask the manager" }
                (groups(&h.questions, true))
            }
            @if !h.links.is_empty() {
                h3 { "Links" }
                ul { @for l in &h.links { li { (out(l)) } } }
            }
        }
    }
}

/// A home's facts with where they come from.
fn facts(h: &HomeSection) -> Markup {
    html! {
        h3 { "Facts and where they come from" }
        div.table-wrap { table {
            caption { "Facts about " (h.name) }
            thead { tr { th scope="col" { "Fact" } th scope="col" { "What we hold" } th scope="col" { "Source" } } }
            tbody { @for f in &h.facts { tr {
                th scope="row" { (f.label) }
                td { (f.value) }
                td { (f.source) @if let Some(l) = &f.link { " (" (out(l)) ")" } }
            } } }
        } }
    }
}

/// Google reviews with their attribution.
fn reviews(reviews: &[ReviewItem]) -> Markup {
    html! {
        h3 { "Reviews from Google" }
        @for r in reviews {
            blockquote.review {
                @if let Some(t) = &r.text { p { (t) } }
                footer {
                    @if let Some(u) = &r.author_url { (out_url(&r.author, u)) } @else { (r.author) }
                    @if let Some(s) = &r.rating { ", " (s) }
                    @if let Some(w) = &r.when { ", " (w) }
                    @if let Some(u) = &r.review_url { " (" (out_url("review on Google Maps", u)) ")" }
                }
            }
        }
        p.muted { "Reviews and ratings from Google." }
    }
}

/// A home's risk summary, red flags and warnings.
fn concerns(h: &HomeSection) -> Markup {
    html! {
        h3 { "Concerns" }
        @if let Some(s) = &h.risk_summary { p { (s) } }
        @if h.concerns.is_empty() { p { "No red flags or warnings on the data held." } }
        @for c in &h.concerns {
            div.concern {
                h4 { (c.kind) ": " (c.title) }
                p { (c.description) }
                p { strong { "Why it matters: " } (c.impact) }
                p { strong { "What to do: " } (c.recommendation) }
            }
        }
    }
}

fn risk(r: &RiskSection) -> Markup {
    html! {
        section #risk aria-labelledby="risk-h" {
            h2 #risk-h { "Risk" }
            p { (r.overall) }
            p { (r.data_age) }
            (rows_table("Risk by home", &["Home", "Risk level", "Red flags", "Warnings"], &r.homes))
            @if !r.missing.is_empty() { p { "Not yet assessed: " } (list(&r.missing)) }
        }
    }
}

fn negotiation(n: &NegotiationSection) -> Markup {
    html! {
        section #negotiation aria-labelledby="negotiation-h" {
            h2 #negotiation-h { "Negotiation" }
            h3 { "The local market" }
            (list(&n.market))
            @if !n.positions.is_empty() {
                (rows_table("Each home's fee against the local market", &["Home", "Weekly fee", "Position", "Why", "Suggested approach"], &n.positions))
            }
            h3 { "How to approach it" }
            (list(&n.opening))
            (list(&n.talking_points))
            (list(&n.timing))
            h3 { "What to expect" }
            (list(&n.expectation))
            h3 { "Contract checklist" }
            (rows_table("Terms to check before signing", &["Term", "What to check", "Warning signs"], &n.checklist))
            @if !n.additions.is_empty() { p { "Ask for these to be added:" } (list(&n.additions)) }
            p.muted { "Source: " (n.checklist_source) }
            h3 { "Letters you can send" }
            @for t in &n.templates {
                h4 { (t.title) }
                p { strong { "When: " } (t.when) }
                pre.letter { (t.text) }
                p.muted { (t.notes) }
            }
            h3 { "Questions for a visit" }
            (groups(&n.visit_questions, true))
        }
    }
}

fn funding(f: &FundingSection) -> Markup {
    html! {
        section #funding aria-labelledby="funding-h" {
            h2 #funding-h { "Funding (" (f.jurisdiction) ")" }
            @for r in &f.routes {
                h3 { (r.title) }
                p { (r.summary) }
                (list(&r.ask))
                @if !r.figures.is_empty() { (figures(r)) }
                p.muted { "Source: " @if r.source.url.is_empty() { (r.source.text) } @else { (out(&r.source)) } }
            }
            @if !f.out_of_date.is_empty() { h3 { "Figures to check" } (list(&f.out_of_date)) }
            h3 { "What this report cannot know" }
            (list(&f.cannot_know))
            h3 { "Questions for the council" }
            (list(&f.questions_for_council))
        }
    }
}

/// A funding route's figures with their sources.
fn figures(r: &FundingRoute) -> Markup {
    html! {
        div.table-wrap { table {
            caption { "Figures: " (r.title) }
            thead { tr { th scope="col" { "Figure" } th scope="col" { "Amount" } th scope="col" { "Year" } th scope="col" { "Source" } } }
            tbody { @for fig in &r.figures { tr {
                th scope="row" { (fig[0]) } td { (fig[1]) } td { (fig[2]) }
                td { @if fig[4].is_empty() { (fig[3]) } @else { (out_url(&fig[3], &fig[4])) } }
            } } }
        } }
    }
}

/// Next steps, the glossary and the evidence appendix.
fn closing(d: &Document) -> Markup {
    html! {
        @if !d.next_steps.is_empty() {
            section #next-steps aria-labelledby="next-h" {
                h2 #next-h { "Next steps" }
                (rows_table("What to do and when", &["When", "What to do", "Priority"], &d.next_steps.iter().map(|s| vec![s.when.clone(), s.action.clone(), s.priority.clone()]).collect::<Vec<_>>()))
            }
        }
        section #glossary aria-labelledby="glossary-h" {
            h2 #glossary-h { "Glossary" }
            dl { @for g in &d.glossary { dt { (g.title) } dd { (g.text) } } }
        }
        section #evidence.wide aria-labelledby="evidence-h" {
            h2 #evidence-h { "Evidence appendix" }
            p { "Each statement in this report comes from a written rule applied to the data held. This table lists the rule, the facts it read and the threshold it crossed." }
            (rows_table("Statements and their evidence", &["Where", "Rule", "Evidence", "Threshold"], &d.evidence.iter().map(|e| vec![e.section.clone(), e.rule_id.clone(), e.evidence.clone(), e.threshold.clone()]).collect::<Vec<_>>()))
        }
    }
}

/// The short page for a report that is not ready yet.
pub fn waiting(progress: u8, retry_after_secs: u64, self_url: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                meta name="referrer" content="no-referrer";
                title { "Your care home report is being prepared" }
                style { (PreEscaped(CSS)) }
            }
            body {
                main {
                    h1 { "Your care home report is being prepared" }
                    p { "We are still gathering the facts about the homes (" (progress) "% done)." }
                    p { "Please look again in about " (retry_after_secs) " seconds: "
                        a href=(self_url) { "open the report again" } "." }
                }
            }
        }
    }
    .into_string()
}
