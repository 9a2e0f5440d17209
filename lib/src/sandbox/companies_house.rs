//! The fake Companies House Public Data API: `GET /company/{number}`,
//! `/company/{number}/insolvency` and `/company/{number}/charges` for the
//! provider company numbers of the sandbox's homes.
//!
//! What it copies from the real service, with the evidence:
//! - **Auth**: HTTP Basic, the key as user name and an empty password;
//!   anything else is 401 `{"error":"Invalid Authorization","type":
//!   "ch:service"}` (the live body quoted in
//!   https://forum.aws.chdev.org/t/invalid-authorization-error-in-api/3599;
//!   the encoding in https://forum.aws.chdev.org/t/getting-invalid-authorization/41/22).
//! - **Unknown company**: 404 `{"errors":[{"error":"company-profile-not-found",
//!   "type":"ch:service"}]}` (the literal live body a client compares
//!   against in public code: search stored code for "company-profile-not-found").
//! - **Rate limit**: every answer carries `X-Ratelimit-Limit: 600`,
//!   `X-Ratelimit-Remain`, `X-Ratelimit-Reset` (Unix seconds) and
//!   `X-Ratelimit-Window: 5m` (headers of a live answer in
//!   https://forum.aws.chdev.org/t/view-your-request-count-for-rate-limiting/2880;
//!   600 per 5 minutes per key in
//!   https://forum.aws.chdev.org/t/temporarily-rate-limit-increase/8166). Its
//!   429 has no `Retry-After` and a plain body
//!   (https://registrum.co.uk/companies-house-api-rate-limit), so the
//!   fault `retry_after=N` answers 429 with the reset N seconds ahead.
//! - **5xx**: bursts of 502 are reported by users
//!   (https://forum.aws.chdev.org/t/various-errors-502-403-occurring-with-no-pattern/2274);
//!   the body of a 5xx is unverified, so it is the service's `ch:service`
//!   error shape.
//! - **Shapes**: field names of the companyProfile, insolvency and
//!   chargeList resources
//!   (https://developer-specs.company-information.service.gov.uk/companies-house-public-data-api/resources/companyprofile),
//!   and the enumerations of `company_status`, `company_status_detail`,
//!   `insolvency_case_type` and `insolvency_case_date_type` in
//!   `companieshouse/api-enumerations` `constants.yml`.
//!
//! **Which company is in which state** is decided by the number's last
//! digit, so any fixture can pick a story: 2 accounts overdue,
//! 3 in administration, 4 in liquidation, 5 confirmation statement overdue
//! with outstanding charges, 6 dissolved, 7 a proposal to strike off,
//! 8 healthy with one outstanding charge, 9 active after a voluntary
//! arrangement that ended years ago, anything else healthy. The
//! dates are fixed (December 2026 is "now" for them), so answers repeat.

use serde_json::{json, Value};

use super::{counted, reply, uncounted, Api, Reply, Req, Routed, State};
use crate::directory::Home;
use crate::model::SourceType;

/// The body of a 401.
fn unauthorised() -> Reply {
    reply(
        401,
        &json!({"error": "Invalid Authorization", "type": "ch:service"}),
    )
}

/// The body of a 404 for an unknown company.
fn not_found() -> Reply {
    reply(
        404,
        &json!({"errors": [{"error": "company-profile-not-found", "type": "ch:service"}]}),
    )
}

/// Standard base64 (RFC 4648, with padding) of `bytes`: what an HTTP
/// client sends after `Basic ` (RFC 7617).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether the request carries `Basic base64(key + ":")`.
fn authorised(state: &State, req: &Req) -> bool {
    let expected = format!(
        "Basic {}",
        base64(format!("{}:", state.keys.companies_house).as_bytes())
    );
    req.header("authorization")
        .is_some_and(|v| v.trim() == expected)
}

/// Adds the rate-limit headers every answer carries: `remain` requests
/// left in a window that resets `reset_in_secs` from now.
pub(super) fn with_rate_headers(mut r: Reply, remain: u64, reset_in_secs: u64) -> Reply {
    let reset = chrono::Utc::now().timestamp().max(0) as u64 + reset_in_secs;
    let h = r.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", "600".to_owned()),
        ("x-ratelimit-remain", remain.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-window", "5m".to_owned()),
    ] {
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    r
}

/// The 429 of a spent window that resets in `reset_in_secs`: a plain
/// body, no `Retry-After`.
pub(super) fn rate_limited(reset_in_secs: u64) -> Reply {
    let mut r = reply(429, &Value::Null);
    *r.body_mut() = super::full(bytes::Bytes::from_static(b""));
    r.headers_mut().remove(http::header::CONTENT_TYPE);
    with_rate_headers(r, 0, reset_in_secs)
}

/// The error body for a fault status.
pub(super) fn error_body(status: u16, reason: &str) -> Value {
    if status == 404 {
        json!({"errors": [{"error": "company-profile-not-found", "type": "ch:service"}]})
    } else {
        json!({"error": reason, "type": "ch:service"})
    }
}

/// The route: counted under the company number (one fetch per company).
pub(super) fn route(state: &State, req: &Req) -> Routed {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let (number, part) = match segments.as_slice() {
        ["company", n] => (*n, None),
        ["company", n, p @ ("insolvency" | "charges")] => (*n, Some(*p)),
        _ => return uncounted(super::not_found_route(Api::CompaniesHouse)),
    };
    if req.method != http::Method::GET {
        return uncounted(super::not_found_route(Api::CompaniesHouse));
    }
    let number = number.trim().to_ascii_uppercase();
    let home = state
        .homes
        .iter()
        .find(|h| h.provider_company_number.as_deref() == Some(number.as_str()));
    let answer = if !authorised(state, req) {
        unauthorised()
    } else {
        match (home, part) {
            (None, _) => not_found(),
            (Some(h), None) => reply(200, &profile(h, &number)),
            (Some(_), Some("insolvency")) => match insolvency(&number) {
                Some(v) => reply(200, &v),
                None => not_found(),
            },
            (Some(_), Some(_)) => match charges(&number) {
                Some(v) => reply(200, &v),
                None => not_found(),
            },
        }
    };
    let remain = 600 - (state.attempts(SourceType::CompaniesHouse, &number) % 600);
    let answer = with_rate_headers(answer, remain.saturating_sub(1), 300);
    // Only the profile call starts a fetch; the follow-ups belong to it.
    if part.is_some() {
        uncounted(answer)
    } else {
        counted(SourceType::CompaniesHouse, number, answer)
    }
}

/// The story a number tells (its last digit).
fn story(number: &str) -> u32 {
    number
        .chars()
        .last()
        .and_then(|c| c.to_digit(10))
        .unwrap_or(0)
}

/// The company profile of `number`, the provider of `home`.
pub(crate) fn profile(home: &Home, number: &str) -> Value {
    let name = home
        .provider
        .as_deref()
        .unwrap_or("Unnamed Provider")
        .to_uppercase();
    let d = story(number);
    let status = match d {
        3 => "administration",
        4 => "liquidation",
        6 => "dissolved",
        _ => "active",
    };
    let accounts_overdue = d == 2 || d == 3 || d == 4;
    let mut v = json!({
        "company_number": number,
        "company_name": name,
        "company_status": status,
        "type": "ltd",
        "jurisdiction": "england-wales",
        "date_of_creation": "2004-03-15",
        "can_file": d != 6,
        "has_insolvency_history": d == 3 || d == 4 || d == 9,
        "has_been_liquidated": d == 4,
        "has_charges": d == 5 || d == 8,
        "registered_office_is_in_dispute": false,
        "undeliverable_registered_office_address": false,
        "sic_codes": ["87100", "87300"],
        "accounts": {
            "accounting_reference_date": {"day": "31", "month": "12"},
            "overdue": accounts_overdue,
            "next_due": if accounts_overdue { "2026-09-30" } else { "2027-09-30" },
            "next_made_up_to": if accounts_overdue { "2025-12-31" } else { "2026-12-31" },
            "last_accounts": {
                "made_up_to": if accounts_overdue { "2024-12-31" } else { "2025-12-31" },
                "type": "full"
            }
        },
        "confirmation_statement": {
            "overdue": d == 5,
            "next_due": if d == 5 { "2026-08-14" } else { "2027-03-14" },
            "next_made_up_to": if d == 5 { "2026-07-31" } else { "2027-02-28" },
            "last_made_up_to": if d == 5 { "2025-07-31" } else { "2026-02-28" }
        },
        "links": {"self": format!("/company/{number}")}
    });
    if d == 6 {
        v["date_of_cessation"] = json!("2025-11-18");
    }
    if d == 7 {
        v["company_status_detail"] = json!("active-proposal-to-strike-off");
    }
    v
}

/// The insolvency resource of `number`, when it has a history.
pub(crate) fn insolvency(number: &str) -> Option<Value> {
    let (kind, date_type, date, status) = match story(number) {
        3 => (
            "in-administration",
            "administration-started-on",
            "2026-06-02",
            "in-administration",
        ),
        4 => (
            "creditors-voluntary-liquidation",
            "wound-up-on",
            "2026-03-10",
            "liquidation",
        ),
        9 => {
            return Some(json!({
                "etag": format!("insolvency-{number}"),
                "cases": [{
                    "type": "corporate-voluntary-arrangement",
                    "number": "1",
                    "dates": [
                        {"type": "voluntary-arrangement-started-on", "date": "2012-01-05"},
                        {"type": "voluntary-arrangement-ended-on", "date": "2014-01-05"}
                    ],
                    "practitioners": []
                }],
                "status": []
            }))
        }
        _ => return None,
    };
    Some(json!({
        "etag": format!("insolvency-{number}"),
        "cases": [{
            "type": kind,
            "number": "1",
            "dates": [{"type": date_type, "date": date}],
            "practitioners": [{"name": "A Practitioner (fictional)", "role": "practitioner",
                               "appointed_on": date}]
        }],
        "status": [status]
    }))
}

/// The charges register of `number`, when it has charges.
pub(crate) fn charges(number: &str) -> Option<Value> {
    let (total, satisfied) = match story(number) {
        5 => (3, 1),
        8 => (2, 1),
        _ => return None,
    };
    let items: Vec<Value> = (0..total)
        .map(|i| {
            json!({
                "charge_number": i + 1,
                "status": if i < satisfied { "fully-satisfied" } else { "outstanding" },
                "classification": {"type": "charge-description", "description": "A registered charge"},
                "created_on": "2015-05-01",
                "persons_entitled": [{"name": "Example Bank PLC (fictional)"}]
            })
        })
        .collect();
    Some(json!({
        "etag": format!("charges-{number}"),
        "total_count": total,
        "unfiltered_count": total,
        "satisfied_count": satisfied,
        "part_satisfied_count": 0,
        "items": items
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn each_last_digit_tells_its_story() {
        let home = crate::directory::Directory::demo().homes()[0].clone();
        assert_eq!(profile(&home, "99000011")["company_status"], "active");
        assert_eq!(profile(&home, "99000012")["accounts"]["overdue"], true);
        assert_eq!(
            profile(&home, "99000013")["company_status"],
            "administration"
        );
        assert!(insolvency("99000013").is_some() && insolvency("99000011").is_none());
        assert_eq!(
            profile(&home, "99000016")["date_of_cessation"],
            "2025-11-18"
        );
        assert_eq!(
            profile(&home, "99000017")["company_status_detail"],
            "active-proposal-to-strike-off"
        );
        assert_eq!(charges("99000015").unwrap()["satisfied_count"], 1);
    }
}
