//! The console's pages: `maud` templates (checked at compile time, every
//! value escaped) over the view models of [`super::view`]. No script; every
//! action is a `POST` form carrying the CSRF token, answered by a redirect.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use super::view::{JobDetail, JobList, Overview, PartialJob, SourceHealth};
use crate::model::{JobId, JobStatus, SourceType};

/// The pages' one style sheet (inline, allowed by its CSP hash).
pub const CSS: &str = "body{font:15px/1.45 system-ui,sans-serif;color:#1a1a1a;margin:0}\
main{padding:1rem 1.5rem;max-width:75rem}\
.banner{padding:.4rem 1.5rem;font-weight:600;color:#fff;background:#2d5a27}\
.banner.production{background:#8a1c1c}.banner.preview{background:#7a4d00}\
nav a{margin-right:1rem}a{color:#0b4f8a}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem}\
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}\
.notice{background:#fff4e5;border:1px solid #c77700;padding:.5rem;margin:.5rem 0}\
.muted{color:#4a4a4a}pre{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}\
form.inline{display:inline}button{font:inherit}";

/// What every page needs besides its view.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    /// The banner's environment name.
    pub environment: &'a str,
    /// Whether actions are shown (full token).
    pub can_act: bool,
    /// The forms' CSRF token.
    pub csrf: &'a str,
    /// A fixed notice to show (after an action's redirect).
    pub notice: Option<String>,
}

fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn opt_time(t: Option<&DateTime<Utc>>) -> String {
    t.map_or_else(|| "none".to_owned(), time)
}

fn attempts(n: u32) -> String {
    if n == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{n} attempts")
    }
}

fn job_link(id: JobId) -> Markup {
    html! { a href={ "/api/ops/jobs/" (id) } { code { (id) } } }
}

fn page(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title { (title) " · operators' console" }
                style { (maud::PreEscaped(CSS)) }
            }
            body {
                div class={ "banner " (frame.environment) } role="banner" {
                    "Care report operators' console · environment: " (frame.environment)
                    @if !frame.can_act { " · read-only" }
                }
                main {
                    nav { a href="/api/ops" { "Overview" } a href="/api/ops/jobs" { "Jobs" } }
                    h1 { (title) }
                    @if let Some(n) = &frame.notice { p.notice role="status" { (n) } }
                    (body)
                }
            }
        }
    }
}

fn hidden_csrf(frame: &Frame<'_>) -> Markup {
    html! { input type="hidden" name="csrf" value=(frame.csrf); }
}

fn counts_table(counts: &[(JobStatus, u64)]) -> Markup {
    html! {
        table { caption { "Live jobs by status" }
            thead { tr { th scope="col" { "Status" } th scope="col" { "Jobs" } } }
            tbody { @for (st, n) in counts { tr {
                th scope="row" { a href={ "/api/ops/jobs?status=" (st) } { (st) } } td { (n) }
            } } }
        }
    }
}

fn partial_table(partial: &[PartialJob]) -> Markup {
    html! {
        @if partial.is_empty() { p { "No partial job." } } @else {
        table { caption { "Partial jobs (newest first) and why" }
            thead { tr { th scope="col" { "Job" } th scope="col" { "Missing" }
                th scope="col" { "Next retry" } th scope="col" { "Window left" } } }
            tbody { @for p in partial { tr {
                td { (job_link(p.id)) br; span.muted { "created " (time(&p.created_at)) } }
                td { ul { @for m in &p.missing { li {
                    (m.source) " for " (m.home_name) ": " (m.error.as_deref().unwrap_or("no error recorded"))
                    " (" (attempts(m.attempts)) ")"
                } } } }
                td { @if p.will_auto_retry { (opt_time(p.next_retry_at.as_ref())) } @else { "final: no automatic retry" } }
                td { (p.window_left_secs / 60) " min" }
            } } }
        } }
    }
}

fn rate(p: Option<u64>) -> String {
    p.map_or_else(|| "no data".to_owned(), |p| format!("{p}%"))
}

fn sources_table(frame: &Frame<'_>, sources: &[SourceHealth]) -> Markup {
    html! {
        table { caption { "Sources, last 24 hours" }
            thead { tr { th scope="col" { "Source" } th scope="col" { "Loaded" } th scope="col" { "Not found" }
                th scope="col" { "Transient" } th scope="col" { "Permanent" } th scope="col" { "Failure rate" }
                th scope="col" { "Cache hits / misses" } th scope="col" { "Cache hit rate" }
                @if frame.can_act { th scope="col" { "Action" } } } }
            tbody { @for s in sources { @if let Some(src) = s.source { tr {
                th scope="row" { (src) } td { (s.loaded) } td { (s.not_found) } td { (s.transient) }
                td { (s.permanent) } td { (rate(s.failure_rate_percent)) }
                td { (s.cache_hits) " / " (s.cache_misses) } td { (rate(s.cache_hit_rate_percent)) }
                @if frame.can_act { td {
                    form.inline method="post" action={ "/api/ops/sources/" (src) "/retry" } {
                        (hidden_csrf(frame))
                        button type="submit" { "Retry every partial job's " (src) }
                    }
                } }
            } } } }
        }
    }
}

/// `GET /api/ops`.
pub fn overview(frame: &Frame<'_>, v: &Overview) -> Markup {
    let body = html! {
        p.muted { "Read at " (time(&v.now)) }
        (counts_table(&v.counts))
        h2 { "Partial jobs" }
        (partial_table(&v.partial))
        h2 { "Sources" }
        (sources_table(frame, &v.sources))
        h2 { "Budget" }
        p { "Paid calls on " (v.budget.day) ": "
            @match v.budget.used { Some(u) => { (u) }, None => { "not kept by this store" } }
            " of " @match v.budget.limit { Some(l) => { (l) }, None => { "no limit (unmetered)" } } }
        h2 { "Last sweeps that found work" }
        @if v.sweeps.is_empty() { p { "No sweep has found work yet." } } @else {
            table { caption { "Sweeps that found work, newest first" }
                thead { tr { th scope="col" { "Finished" } th scope="col" { "Report" } } }
                tbody { @for s in &v.sweeps { tr { td { (time(&s.at)) } td { code { (s.report) } } } } } } }
        h2 { "Store" }
        ul {
            li { "Kind: " (v.store.kind) }
            li { "Eviction policy: " (v.store.eviction_policy.as_deref().unwrap_or("unknown")) }
            @if let Some(w) = &v.store.eviction_warning { li.notice { (w) } }
            li { "Memory used: " (v.store.used_memory.as_deref().unwrap_or("not reported")) }
            li { "Memory limit: " (v.store.max_memory.as_deref().unwrap_or("not reported")) }
        }
    };
    page(frame, "Overview", body)
}

fn status_options(selected: Option<JobStatus>) -> Markup {
    html! {
        select name="status" id="status" {
            option value="" selected[selected.is_none()] { "any" }
            @for st in super::view::statuses() {
                option value=(st) selected[selected == Some(st)] { (st) }
            }
        }
    }
}

fn list_href(v: &JobList, page: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(st) = v.status {
        q.append_pair("status", st.as_str());
    }
    if let Some(s) = &v.q {
        q.append_pair("q", s);
    }
    q.append_pair("page", &page.to_string());
    format!("/api/ops/jobs?{}", q.finish())
}

/// `GET /api/ops/jobs`.
pub fn job_list(frame: &Frame<'_>, v: &JobList) -> Markup {
    let body = html! {
        form method="get" action="/api/ops/jobs" {
            label for="status" { "Status " } (status_options(v.status)) " "
            label for="q" { "Job id or its first characters " }
            input type="search" name="q" id="q" value=(v.q.as_deref().unwrap_or("")) maxlength="64";
            " " button type="submit" { "Find" }
        }
        p { (v.total) " jobs · page " (v.page) " of " (v.pages) }
        table { caption { "Jobs, newest first" }
            thead { tr { th scope="col" { "Job" } th scope="col" { "Status" } th scope="col" { "Progress" }
                th scope="col" { "Complete" } th scope="col" { "Created" } th scope="col" { "Updated" } } }
            tbody { @for r in &v.rows { tr {
                td { (job_link(r.id)) } td { (r.status) } td { (r.progress) "%" } td { (r.completeness) "%" }
                td { (time(&r.created_at)) } td { (time(&r.updated_at)) }
            } } }
        }
        nav aria-label="pages" {
            @if v.page > 1 { a href=(list_href(v, v.page - 1)) { "Newer" } }
            @if v.page < v.pages { a href=(list_href(v, v.page + 1)) { "Older" } }
        }
    };
    page(frame, "Jobs", body)
}

fn slots_table(d: &JobDetail) -> Markup {
    html! {
        @for h in &d.homes {
            h3 { (h.home_name) " " span.muted { "(" (h.home_id) ")" } }
            table { caption { "Sources of " (h.home_name) }
                thead { tr { th scope="col" { "Source" } th scope="col" { "Status" } th scope="col" { "Attempts" }
                    th scope="col" { "Last attempt" } th scope="col" { "Next attempt" } th scope="col" { "Error" } } }
                tbody { @for s in &h.slots { tr {
                    th scope="row" { (s.source_type) } td { (s.status.as_str()) } td { (s.attempts) }
                    td { (opt_time(s.last_attempt.as_ref())) } td { (opt_time(s.next_attempt_at.as_ref())) }
                    td { (s.error.as_deref().unwrap_or("")) }
                } } }
            }
        }
    }
}

fn timeline(d: &JobDetail) -> Markup {
    html! {
        ol { @for e in &d.history { li {
            (time(&e.at)) ": " (serde_json::to_value(e.event).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
            @if let Some(t) = e.token { " · lease " (t) }
            @if let Some(st) = e.job_status { " · job " (st) }
            @if let Some(s) = &e.slot { " · " (s) }
            @if let Some(s) = &e.slot_status { " " (s.as_str()) }
            @if let Some(a) = e.attempts { " (attempt " (a) ")" }
            @if let Some(p) = e.progress { " · progress " (p) "%" }
        } } }
    }
}

fn job_actions(frame: &Frame<'_>, id: JobId) -> Markup {
    html! {
        @if frame.can_act {
            h2 { "Actions" }
            form.inline method="post" action={ "/api/ops/jobs/" (id) "/retry" } {
                (hidden_csrf(frame)) button type="submit" { "Retry its missing sources now" }
            }
            " "
            a href={ "/api/ops/jobs/" (id) "/erase" } { "Erase this job…" }
        }
    }
}

/// `GET /api/ops/jobs/{job_id}`.
pub fn job_detail(frame: &Frame<'_>, d: &JobDetail) -> Markup {
    let s = &d.summary;
    let body = html! {
        ul {
            li { "Status: " (s.status) " · progress " (s.progress) "% · complete " (s.completeness) "%" }
            li { "Message: " (s.message) }
            @if let Some(e) = &s.error { li { "Error: " (e) } }
            li { "Created " (time(&s.created_at)) " · updated " (time(&s.updated_at)) }
            li { "Retry deadline: " (time(&d.deadline_at)) }
            li { "Automatic retries: " @if d.will_auto_retry { "yes, next " (opt_time(d.next_retry_at.as_ref())) } @else { "none" } }
            li { "Last manual retry: " (opt_time(d.last_manual_retry_at.as_ref())) }
        }
        (job_actions(frame, s.id))
        h2 { "Homes and sources" }
        (slots_table(d))
        h2 { "History" }
        (timeline(d))
        h2 { "Questionnaire as stored" }
        pre { (serde_json::to_string_pretty(&d.questionnaire).unwrap_or_default()) }
    };
    page(frame, &format!("Job {}", s.id), body)
}

/// `GET /api/ops/jobs/{job_id}/erase`: the confirmation step.
pub fn erase_confirm(frame: &Frame<'_>, id: JobId) -> Markup {
    let body = html! {
        p { "Erasing removes the job, its questionnaire, its report data and its history from the store, at once and for good. Type the job id to confirm." }
        form method="post" action={ "/api/ops/jobs/" (id) "/erase" } {
            (hidden_csrf(frame))
            label for="confirm" { "Job id " }
            input type="text" name="confirm" id="confirm" autocomplete="off" required;
            " " button type="submit" { "Erase for good" }
        }
        p { a href={ "/api/ops/jobs/" (id) } { "Back to the job" } }
    };
    page(frame, &format!("Erase job {id}"), body)
}

/// An error page: a fixed title and message.
pub fn error(frame: &Frame<'_>, title: &str, message: &str) -> Markup {
    page(frame, title, html! { p { (message) } })
}

/// The name a source has in console paths (`SourceType::as_str`).
pub fn parse_source(s: &str) -> Option<SourceType> {
    SourceType::ALL.into_iter().find(|t| t.as_str() == s)
}
