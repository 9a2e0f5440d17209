//! The home's own website, scraped through Firecrawl, reduced to a few
//! facts a family cares about: activities, visiting, specialisms,
//! facilities, fees mentioned and how to get in touch.
//!
//! `POST {base}/scrape` with `Authorization: Bearer <key>` and
//! `{"url": …, "formats": ["markdown"]}`. Insights come from keyword search
//! over the markdown: crude, but deterministic and explainable ("the site
//! mentions dementia care"), which is what a report may honestly claim. A
//! home without a website, or whose site answers 404/410, has no record.
//!
//! How real Firecrawl fails (`firecrawl/firecrawl` @ `61e38dc`,
//! `apps/api/src/controllers/v1/scrape.ts`, `scraper/scrapeURL/error.ts`,
//! `routes/shared.ts`, `controllers/auth.ts`):
//! - a dead or broken site is **HTTP 500** `{success:false, code, error}`
//!   with `code` `SCRAPE_DNS_RESOLUTION_ERROR`, `SCRAPE_SSL_ERROR` or
//!   `SCRAPE_SITE_ERROR`: the home has no scrapeable site, so no record
//!   (not retried for hours); `SCRAPE_ALL_ENGINES_FAILED` and other codes
//!   stay transient;
//! - `SCRAPE_TIMEOUT` is **408**: transient;
//! - a **blocklisted target URL** (often a social-media "website") is
//!   **403** `BLOCKLISTED_URL_MESSAGE`: no record, never "check the API
//!   key" (a bad key is 401);
//! - a page behind a bot wall comes back `success:true` with
//!   `metadata.statusCode` 401/403/429: that page is not the home's, so no
//!   record rather than insights from a block page;
//! - 402 (credits) is permanent; 429 carries no `Retry-After` (transient).
//!
//! The request sends `timeout` ([`SCRAPE_TIMEOUT_MS`]), below our client
//! timeout, so Firecrawl's own 408 arrives first.

use serde_json::{json, Value};

use super::config::SourceConfig;
use super::http::{
    cut, endpoint, json_body, permanent, send, str_at, text_at, transient, Body, Call,
    MAX_FIELD_CHARS, MAX_TEXT_CHARS,
};
use super::SourceOutcome;
use crate::directory::Home;
use crate::facts::to_stored;
use crate::facts::website::{SiteContact, Website};

/// Markdown beyond this many bytes is not searched (a runaway page).
const MAX_MARKDOWN: usize = 200_000;
/// The scrape's own time budget we ask Firecrawl for (ms), below the
/// client timeout (`FIRECRAWL_TIMEOUT_MS`, 30 s by default).
pub(crate) const SCRAPE_TIMEOUT_MS: u64 = 20_000;
/// Firecrawl error codes that mean the home's site itself is dead or broken.
const DEAD_SITE_CODES: [&str; 3] = [
    "SCRAPE_DNS_RESOLUTION_ERROR",
    "SCRAPE_SSL_ERROR",
    "SCRAPE_SITE_ERROR",
];

/// Insight group and the phrases that signal it (lower case).
const KEYWORDS: &[(&str, &[&str])] = &[
    (
        "activities",
        &[
            "activities",
            "activity coordinator",
            "outings",
            "day trips",
            "music",
            "arts and crafts",
            "gardening",
            "exercise",
            "bingo",
            "baking",
            "pet therapy",
            "quizzes",
            "entertainment",
        ],
    ),
    (
        "visiting",
        &[
            "visiting hours",
            "open visiting",
            "visitors are welcome",
            "visitors welcome",
            "visit us",
            "book a visit",
            "arrange a visit",
            "protected mealtimes",
        ],
    ),
    (
        "specialisms",
        &[
            "dementia",
            "alzheimer",
            "nursing care",
            "residential care",
            "respite",
            "palliative",
            "end of life",
            "parkinson",
            "stroke",
            "learning disabilit",
            "physical disabilit",
            "mental health",
        ],
    ),
    (
        "facilities",
        &[
            "en-suite",
            "ensuite",
            "garden",
            "hair salon",
            "salon",
            "cinema",
            "cafe",
            "café",
            "lift",
            "wifi",
            "wi-fi",
            "chapel",
            "library",
            "minibus",
            "physiotherapy",
        ],
    ),
];

pub(crate) async fn fetch(
    client: &reqwest::Client,
    settings: &SourceConfig,
    home: &Home,
) -> SourceOutcome {
    let Some(key) = settings.key() else {
        return SourceOutcome::NotConfigured;
    };
    let Some(site) = home.website.as_deref().and_then(website_url) else {
        return SourceOutcome::NotFound;
    };
    let request = client
        .post(endpoint(&settings.base_url, &["scrape"]))
        .bearer_auth(key)
        .json(
            &json!({"url": site, "formats": ["markdown"], "onlyMainContent": true,
                      "timeout": SCRAPE_TIMEOUT_MS}),
        );
    let call = Call::new("Firecrawl", settings, true);
    let answer = match send(request, &call).await {
        Ok(a) => a,
        Err(failure) => return SourceOutcome::Failed(failure),
    };
    let code = answer
        .json
        .as_ref()
        .and_then(|v| str_at(v, "/code"))
        .map(str::to_owned);
    match (answer.status, code.as_deref()) {
        (500, Some(c)) if DEAD_SITE_CODES.contains(&c) => return SourceOutcome::NotFound,
        (403, _) => return SourceOutcome::NotFound,
        (402, _) => {
            return SourceOutcome::Failed(permanent("Firecrawl answered HTTP 402: out of credits"))
        }
        _ => {}
    }
    match json_body(answer, &call) {
        Ok(Body::Json(v)) => interpret(&site, &v),
        Ok(Body::NotFound) => SourceOutcome::NotFound,
        Err(mut failure) => {
            if let Some(c) = code {
                failure.message = format!("{} ({})", failure.message, cut(&c, 60));
            }
            SourceOutcome::Failed(failure)
        }
    }
}

/// A directory website as an absolute http(s) URL (`www.x.co.uk` → `https://www.x.co.uk`).
pub(crate) fn website_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let candidate = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    let url = url::Url::parse(&candidate).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| h.contains('.')))
        .then(|| url.to_string())
}

fn interpret(site: &str, v: &Value) -> SourceOutcome {
    if v.get("success").and_then(Value::as_bool) != Some(true) {
        return SourceOutcome::Failed(transient("Firecrawl reported an unsuccessful scrape"));
    }
    let Some(data) = v.get("data").filter(|d| d.is_object()) else {
        return SourceOutcome::Failed(transient("Firecrawl sent an unexpected body"));
    };
    let page_status = data.pointer("/metadata/statusCode").and_then(Value::as_u64);
    // Gone, or a bot wall's page instead of the home's.
    if matches!(page_status, Some(401 | 403 | 404 | 410 | 429)) {
        return SourceOutcome::NotFound;
    }
    if page_status.is_some_and(|s| s >= 500) {
        return SourceOutcome::Failed(transient("the home's website answered with a server error"));
    }
    let markdown = data.get("markdown").and_then(Value::as_str).unwrap_or("");
    SourceOutcome::Loaded(to_stored(&insights(site, data.get("metadata"), markdown)))
}

/// The facts found on the page.
pub(crate) fn insights(site: &str, metadata: Option<&Value>, markdown: &str) -> Website {
    let mut end = markdown.len().min(MAX_MARKDOWN);
    while !markdown.is_char_boundary(end) {
        end -= 1;
    }
    let text = &markdown[..end];
    let lower = text.to_lowercase();
    let mentions = KEYWORDS
        .iter()
        .map(|(group, phrases)| {
            let hits = phrases
                .iter()
                .filter(|p| lower.contains(*p))
                .map(|p| (*p).to_owned())
                .collect();
            ((*group).to_owned(), hits)
        })
        .collect();
    let meta = |k: &str, max| {
        metadata
            .and_then(|m| text_at(m, &format!("/{k}"), max))
            .map(str::to_owned)
    };
    Website {
        url: Some(cut(site, MAX_FIELD_CHARS).to_owned()),
        title: meta("title", MAX_FIELD_CHARS),
        description: meta("description", MAX_TEXT_CHARS),
        mentions,
        fees: find_fees(text),
        // Weekly fees with the sentence each came from (see `fees`).
        fee_quotes: super::fees::extract(text),
        contact: SiteContact {
            phones: find_phones(text),
            emails: find_emails(text),
        },
        word_count: Some(text.split_whitespace().count() as u64),
        cached_at: None,
    }
}

/// Up to three `£` amounts as written (`£1,150`).
fn find_fees(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices('£') {
        let rest = &text[i + '£'.len_utf8()..];
        let amount: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
            .collect();
        let amount = amount.trim_end_matches(['.', ',']);
        if amount.chars().any(|c| c.is_ascii_digit()) {
            let fee = format!("£{}", cut(amount, 20));
            if !out.contains(&fee) {
                out.push(fee);
            }
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// UK phone numbers: runs of digits and spaces starting with 0 or +44,
/// 10–11 digits long (up to three).
fn find_phones(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() && out.len() < 3 {
        let starts = (chars[i] == '0' || chars[i] == '+')
            && (i == 0 || !chars[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut raw = String::new();
        while j < chars.len() && (chars[j].is_ascii_digit() || " +()-".contains(chars[j])) {
            raw.push(chars[j]);
            j += 1;
        }
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let national = digits
            .strip_prefix("44")
            .filter(|_| raw.starts_with('+'))
            .map(|d| format!("0{d}"))
            .unwrap_or(digits);
        if national.starts_with('0') && (10..=11).contains(&national.len()) {
            let shown = cut(raw.trim(), 40).to_owned();
            if !out.contains(&shown) {
                out.push(shown);
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// E-mail addresses (up to three).
fn find_emails(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "()<>[]\"',;:".contains(c)) {
        let word = word.trim_end_matches('.').trim_start_matches("mailto");
        let Some((local, domain)) = word.split_once('@') else {
            continue;
        };
        if !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "@._-+".contains(c))
        {
            let email = cut(word, 254).to_ascii_lowercase();
            if !out.contains(&email) {
                out.push(email);
            }
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_are_normalised() {
        assert_eq!(
            website_url("www.oak.co.uk").as_deref(),
            Some("https://www.oak.co.uk/")
        );
        assert_eq!(
            website_url("http://oak.co.uk/about").as_deref(),
            Some("http://oak.co.uk/about")
        );
        assert_eq!(website_url(""), None);
        assert_eq!(website_url("not a site"), None);
        assert_eq!(website_url("ftp://oak.co.uk"), None);
    }

    #[test]
    fn insights_from_markdown() {
        let md = "# Oak Lodge\nWe offer dementia care and respite. Daily activities include music \
                  and gardening. Open visiting, en-suite rooms. Fees from £1,150.50 per week.\n\
                  Call 0113 496 0000 or +44 20 7946 0018, email info@oaklodge.co.uk.";
        let v = to_stored(&insights(
            "https://oak/",
            Some(&json!({"title": "Oak"})),
            md,
        ));
        assert_eq!(v["title"], "Oak");
        let spec = v["mentions"]["specialisms"].as_array().unwrap();
        assert!(spec.contains(&json!("dementia")) && spec.contains(&json!("respite")));
        assert!(v["mentions"]["visiting"]
            .as_array()
            .unwrap()
            .contains(&json!("open visiting")));
        assert_eq!(v["fees"], json!(["£1,150.50"]));
        assert_eq!(
            v["feeQuotes"],
            json!([{"careType": null, "weeklyFrom": 1150.5, "weeklyTo": null,
                "startingPrice": true, "monthly": false,
                "sentence": "Fees from £1,150.50 per week."}])
        );
        assert_eq!(
            v["contact"]["phones"],
            json!(["0113 496 0000", "+44 20 7946 0018"])
        );
        assert_eq!(v["contact"]["emails"], json!(["info@oaklodge.co.uk"]));
    }

    #[test]
    fn odd_pages_do_not_panic() {
        let md = "£ £, 0 +44 @ a@ @b.c é£€ 0".repeat(50);
        let v = insights("https://x/", None, &md);
        assert!(v.fees.is_empty());
        assert!(matches!(
            interpret("x", &json!({"success": false})),
            SourceOutcome::Failed(_)
        ));
        assert_eq!(
            interpret(
                "x",
                &json!({"success": true, "data": {"metadata": {"statusCode": 404}}})
            ),
            SourceOutcome::NotFound
        );
        for wall in [401, 403, 429] {
            assert_eq!(
                interpret(
                    "x",
                    &json!({"success": true, "data": {"markdown": "Access denied", "metadata": {"statusCode": wall}}})
                ),
                SourceOutcome::NotFound,
                "{wall}"
            );
        }
    }
}
