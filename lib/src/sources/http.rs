//! What every adapter does with HTTP the same way: build endpoint URLs,
//! send with the source's timeout, and turn statuses and transport errors
//! into [`SourceOutcome`]s.
//!
//! The status mapping is deliberate and lives in one pure function
//! ([`classify_status`]) so the retry behaviour of the whole service can be
//! read (and tested) in one place: 404 means "no record here" (not retried),
//! 408/429/5xx, timeouts, connection errors and unreadable bodies may heal
//! (transient), and the remaining 4xx (401/403 above all) need a change on
//! our side (permanent). Messages are short and never carry a key or a URL:
//! `reqwest` errors print their URL, so only their kind is reported.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;
use url::Url;

use super::{FailureKind, SourceFailure, SourceOutcome};

/// `base` with `segments` appended as path segments (each percent-encoded),
/// so ids and postcodes cannot escape their segment and `places:searchText`
/// is not read as a URL scheme.
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for s in segments {
            path.push(s);
        }
    }
    url
}

/// A successful answer, or the source saying it has no such record.
#[derive(Debug)]
pub(crate) enum Body {
    /// 2xx with a JSON body.
    Json(Value),
    /// 404.
    NotFound,
}

/// A transient failure with a message.
pub(crate) fn transient(message: impl Into<String>) -> SourceFailure {
    SourceFailure {
        kind: FailureKind::Transient,
        retry_after: None,
        message: message.into(),
    }
}

/// A permanent failure with a message.
pub(crate) fn permanent(message: impl Into<String>) -> SourceFailure {
    SourceFailure {
        kind: FailureKind::Permanent,
        retry_after: None,
        message: message.into(),
    }
}

/// How one upstream is called: its name in messages, the timeout, the most
/// bytes its answer may have, and whether it takes a key (a 403 from a
/// keyless service is a block page or a refused query, never a key problem).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Call<'a> {
    /// Names the upstream in messages ("CQC", "postcodes.io").
    pub service: &'a str,
    /// Connect to end of body.
    pub timeout: Duration,
    /// The answer is read in chunks up to this many bytes; one byte more
    /// fails the fetch (transient), so an upstream that never stops sending
    /// costs at most this much memory.
    pub max_bytes: usize,
    /// Whether the service authenticates us with a key.
    pub keyed: bool,
}

impl<'a> Call<'a> {
    /// The call for one configured service.
    pub(crate) fn new(service: &'a str, settings: &super::SourceConfig, keyed: bool) -> Self {
        Self {
            service,
            timeout: settings.timeout,
            max_bytes: settings.max_body_bytes,
            keyed,
        }
    }
}

/// An upstream's answer, whatever its status: read within the byte cap.
#[derive(Debug)]
pub(crate) struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Parsed `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
    /// Whether the body is (or claims to be) HTML: block pages and the
    /// Overpass/FSA error pages are.
    pub html: bool,
}

/// Sends `request` and reads the whole answer within `call.max_bytes`,
/// whatever the status. Only transport errors, timeouts and oversized
/// bodies are `Err`.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    call: &Call<'_>,
) -> Result<Answer, SourceFailure> {
    let mut response = request
        .timeout(call.timeout)
        .send()
        .await
        .map_err(|e| transport_failure(&e, call.timeout, call.service))?;
    let status = response.status().as_u16();
    let now = Utc::now();
    let retry_after = parse_retry_after(response.headers(), now).or_else(|| {
        // Companies House sends no `Retry-After` on its 429, only the
        // window's reset time (see `parse_ratelimit_reset`).
        (status == 429)
            .then(|| parse_ratelimit_reset(response.headers(), now))
            .flatten()
    });
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bytes = read_capped(&mut response, call).await?;
    let json = serde_json::from_slice::<Value>(&bytes).ok();
    let html = content_type.contains("html") || starts_like_html(&bytes);
    Ok(Answer {
        status,
        retry_after,
        json,
        html,
    })
}

/// The whole body of `response`, or a transient failure as soon as it is
/// known to exceed `call.max_bytes` (an upstream that never stops sending
/// costs at most that much memory).
async fn read_capped(
    response: &mut reqwest::Response,
    call: &Call<'_>,
) -> Result<Vec<u8>, SourceFailure> {
    let too_big = || {
        transient(format!(
            "{} sent more than {} bytes",
            call.service, call.max_bytes
        ))
    };
    // A declared length over the cap is refused before reading a byte.
    if response
        .content_length()
        .is_some_and(|n| n > call.max_bytes as u64)
    {
        return Err(too_big());
    }
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > call.max_bytes {
                    return Err(too_big());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(transport_failure(&e, call.timeout, call.service)),
        }
    }
    Ok(bytes)
}

/// Whether a body opens like an HTML page, whatever its content type says.
fn starts_like_html(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let head = String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// Sends `request` and reads a JSON body, mapping statuses with
/// [`classify_status`] (403 from a keyless service as transient).
pub(crate) async fn send_json(
    request: reqwest::RequestBuilder,
    call: &Call<'_>,
) -> Result<Body, SourceFailure> {
    let answer = send(request, call).await?;
    json_body(answer, call)
}

/// The default reading of an [`Answer`]: 2xx JSON, 404 no record, the rest
/// failures as [`classify_status`] says.
pub(crate) fn json_body(answer: Answer, call: &Call<'_>) -> Result<Body, SourceFailure> {
    let status = answer.status;
    let service = call.service;
    if let Some(outcome) = classify(status, answer.retry_after, call.keyed) {
        return match outcome {
            SourceOutcome::NotFound => Ok(Body::NotFound),
            SourceOutcome::Failed(mut f) => {
                let page = if answer.html { " (an HTML page)" } else { "" };
                f.message = format!("{service} answered HTTP {status}{page}: {}", f.message);
                Err(f)
            }
            // classify only returns the two above.
            SourceOutcome::Loaded(_) | SourceOutcome::NotConfigured => {
                Err(transient(format!("{service} answered HTTP {status}")))
            }
        };
    }
    answer
        .json
        .map(Body::Json)
        .ok_or_else(|| transient(format!("{service} sent a malformed response body")))
}

/// [`classify_status`] for a service with or without a key: a keyless
/// service cannot be refusing a key, so its 403 is a block page or a
/// refused heavy query (FSA's "CPU intensive query" page: [SEED]
/// `FSA_API_ERRORS_ANALYSIS.md` §1, https://apify.com/loudtzu/uk-food-hygiene-ratings)
/// and may pass later: transient, with a neutral message.
pub(crate) fn classify(
    status: u16,
    retry_after: Option<Duration>,
    keyed: bool,
) -> Option<SourceOutcome> {
    if status == 403 && !keyed {
        return Some(SourceOutcome::Failed(SourceFailure {
            kind: FailureKind::Transient,
            retry_after,
            message: "forbidden (blocked or refused query; the service takes no key)".to_owned(),
        }));
    }
    classify_status(status, retry_after)
}

/// What a non-2xx status means; `None` for 2xx (read the body).
pub(crate) fn classify_status(status: u16, retry_after: Option<Duration>) -> Option<SourceOutcome> {
    let failure = |kind, reason: &str| {
        Some(SourceOutcome::Failed(SourceFailure {
            kind,
            retry_after,
            message: reason.to_owned(),
        }))
    };
    match status {
        200..=299 => None,
        404 => Some(SourceOutcome::NotFound),
        401 => failure(FailureKind::Permanent, "unauthorized (check the API key)"),
        403 => failure(FailureKind::Permanent, "forbidden (check the API key)"),
        // A server-side timeout is a timeout: it may well pass.
        408 => failure(FailureKind::Transient, "request timeout"),
        429 => failure(FailureKind::Transient, "rate limited"),
        500..=599 => failure(FailureKind::Transient, "server error"),
        400..=499 => failure(FailureKind::Permanent, "request rejected"),
        // 1xx/3xx: we follow no redirects and expect none; odd, may pass.
        _ => failure(FailureKind::Transient, "unexpected status"),
    }
}

/// `Retry-After` as a delay: whole seconds, or an HTTP-date relative to `now`
/// (a date in the past means "now": zero).
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// `X-Ratelimit-Reset` as a delay from `now`: Companies House sends the
/// window's end as Unix seconds (`X-Ratelimit-Reset: 1582155701` beside
/// `X-Ratelimit-Limit: 600`, `X-Ratelimit-Remain: 599` and
/// `X-Ratelimit-Window: 5m`, captured from the live API in
/// https://forum.aws.chdev.org/t/view-your-request-count-for-rate-limiting/2880),
/// and its 429 carries no `Retry-After`
/// (https://registrum.co.uk/companies-house-api-rate-limit). A small value
/// (under 10^9) is read as seconds from now, the other convention in use.
/// A reset in the past means "now": zero.
pub(crate) fn parse_ratelimit_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value: u64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if value < 1_000_000_000 {
        return Some(Duration::from_secs(value));
    }
    let at = DateTime::<Utc>::from_timestamp(i64::try_from(value).ok()?, 0)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// A transport error as a transient failure, without its URL.
fn transport_failure(error: &reqwest::Error, timeout: Duration, service: &str) -> SourceFailure {
    let what = if error.is_timeout() {
        format!("{service} timed out after {} ms", timeout.as_millis())
    } else if error.is_connect() {
        format!("cannot connect to {service}")
    } else if error.is_body() || error.is_decode() {
        format!("{service} response could not be read")
    } else {
        format!("request to {service} failed")
    };
    transient(what)
}

/// Lower-case alphanumeric form of a postcode (`sw1a 1aa` → `SW1A1AA`),
/// so spacing and case never decide a match.
pub(crate) fn normalise_postcode(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The outward code (`SW1A` of `SW1A 1AA`) of a normalised postcode.
pub(crate) fn outward_code(normalised: &str) -> &str {
    // The inward code is always digit + two letters.
    let n = normalised.len();
    if n > 3 {
        &normalised[..n - 3]
    } else {
        normalised
    }
}

/// Words that say nothing about which home a name means.
const GENERIC_WORDS: &[&str] = &[
    "the",
    "and",
    "care",
    "home",
    "homes",
    "nursing",
    "residential",
    "ltd",
    "limited",
    "centre",
    "center",
    "house",
    "of",
    "at",
    "for",
    "plc",
    "llp",
    "co",
];

/// The significant lower-case words of a name.
fn name_tokens(s: &str) -> Vec<String> {
    let all: Vec<String> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let significant: Vec<String> = all
        .iter()
        .filter(|w| !GENERIC_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    if significant.is_empty() {
        all
    } else {
        significant
    }
}

/// Whether every significant word of `inner` is a word of `outer` (a
/// branded "Barchester - Westgate House Care Home" contains "Westgate
/// House"). Needs at least one significant word.
pub(crate) fn name_contains(outer: &str, inner: &str) -> bool {
    let outer = name_tokens(outer);
    let inner = name_tokens(inner);
    !inner.is_empty() && inner.iter().all(|w| outer.contains(w))
}

/// Word-set similarity of two names in 0..=1 (Jaccard over significant
/// words, so "Oak Lodge Care Home" and "OAK LODGE" are 1.0).
pub(crate) fn name_similarity(a: &str, b: &str) -> f64 {
    let a = name_tokens(a);
    let b = name_tokens(b);
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.iter().filter(|w| b.contains(w)).count();
    let union = a.len() + b.iter().filter(|w| !a.contains(w)).count();
    common as f64 / union as f64
}

/// Most characters kept of any upstream string a report keeps (names,
/// addresses, ids, dates, URLs, ratings): a 40 MB "name" once became a
/// 210 MB report. Longer strings are cut at a character boundary.
pub(crate) const MAX_FIELD_CHARS: usize = 300;
/// Most characters kept of an upstream free text (a review's text, a page
/// description).
pub(crate) const MAX_TEXT_CHARS: usize = 2_000;

/// `s` cut to at most `max` characters.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The string at `pointer` (JSON pointer) of `v`, if it is a non-empty
/// string, cut to [`MAX_FIELD_CHARS`].
pub(crate) fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    text_at(v, pointer, MAX_FIELD_CHARS)
}

/// The string at `pointer` of `v`, if non-empty, cut to `max` characters.
pub(crate) fn text_at<'a>(v: &'a Value, pointer: &str, max: usize) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| cut(s, max))
}

/// Great-circle distance in metres.
pub(crate) fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6_371_000.0_f64;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().atan2((1.0 - a).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn kind(status: u16) -> Option<FailureKind> {
        match classify_status(status, None) {
            Some(SourceOutcome::Failed(f)) => Some(f.kind),
            _ => None,
        }
    }

    #[test]
    fn status_mapping_is_deliberate() {
        assert!(classify_status(200, None).is_none());
        assert!(classify_status(204, None).is_none());
        assert_eq!(classify_status(404, None), Some(SourceOutcome::NotFound));
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(kind(s), Some(FailureKind::Transient), "{s}");
        }
        for s in [400, 401, 402, 403, 405, 422] {
            assert_eq!(kind(s), Some(FailureKind::Permanent), "{s}");
        }
        match classify_status(429, Some(Duration::from_secs(7))) {
            Some(SourceOutcome::Failed(f)) => {
                assert_eq!(f.retry_after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(60)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:00:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h, now), None);
    }

    #[test]
    fn ratelimit_reset_as_unix_time_or_seconds() {
        let now = DateTime::parse_from_rfc3339("2020-02-19T23:36:41Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        assert_eq!(parse_ratelimit_reset(&h, now), None);
        // The live answer quoted beside the parser: reset 1582155701.
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1582155701"));
        assert_eq!(
            parse_ratelimit_reset(&h, now),
            Some(Duration::from_secs(1582155701 - now.timestamp() as u64))
        );
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1500000000"));
        assert_eq!(parse_ratelimit_reset(&h, now), Some(Duration::ZERO));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("42"));
        assert_eq!(
            parse_ratelimit_reset(&h, now),
            Some(Duration::from_secs(42))
        );
        h.insert("x-ratelimit-reset", HeaderValue::from_static("soon"));
        assert_eq!(parse_ratelimit_reset(&h, now), None);
    }

    #[test]
    fn endpoints_encode_segments() {
        let base = Url::parse("https://places.googleapis.com/v1/").unwrap();
        assert_eq!(
            endpoint(&base, &["places:searchText"]).as_str(),
            "https://places.googleapis.com/v1/places:searchText"
        );
        let base = Url::parse("https://api.postcodes.io/").unwrap();
        assert_eq!(
            endpoint(&base, &["postcodes", "SW1A 1AA/../x"]).as_str(),
            "https://api.postcodes.io/postcodes/SW1A%201AA%2F..%2Fx"
        );
    }

    #[test]
    fn names_and_postcodes_compare_loosely() {
        assert_eq!(normalise_postcode(" sw1a 1aa "), "SW1A1AA");
        assert_eq!(outward_code("SW1A1AA"), "SW1A");
        assert_eq!(outward_code("M11AE"), "M1");
        assert!((name_similarity("Oak Lodge Care Home", "OAK LODGE") - 1.0).abs() < 1e-9);
        assert!(name_similarity("Oak Lodge", "Elm Court") < 0.01);
        assert!(name_similarity("Oak Lodge", "Oak Lodge Cafe") > 0.5);
    }
}
