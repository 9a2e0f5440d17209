//! Companies House Public Data API: the provider company's standing (status,
//! overdue filings, insolvency, charges), one fetch per company number.
//!
//! `GET {base}company/{number}` (the company profile), then, only when the
//! profile says there is something to read, `company/{number}/insolvency`
//! (`has_insolvency_history`) and `company/{number}/charges`
//! (`has_charges`). The key is the HTTP Basic user name with an empty
//! password; reqwest marks the header sensitive and it is never logged.
//! The number comes from the directory (`Home::provider_company_number`);
//! a home without one is `not_found`, never searched for by name. The
//! answer is cached per company number (`sources::cached`), so every home
//! of one provider, in every job, shares one fetch. The API is free: no
//! paid budget is spent (`engine::budget::is_paid`).
//!
//! What the real API does (sources in `COMPANIES_HOUSE_API.md` beside this
//! file): 401 `{"error":"Invalid Authorization","type":"ch:service"}`
//! without a valid key (permanent); 404 `{"errors":[{"error":
//! "company-profile-not-found","type":"ch:service"}]}` for an unknown
//! number (`not_found`); 429 once 600 requests in 5 minutes are spent, with
//! no `Retry-After` but `X-Ratelimit-Reset` (Unix seconds), which becomes
//! the retry delay (`http::parse_ratelimit_reset`); 5xx and 502 bursts are
//! transient.

use std::collections::BTreeMap;

use serde_json::Value;

use super::config::SourceConfig;
use super::http::{endpoint, send_json, str_at, transient, Body, Call};
use super::{SourceFailure, SourceOutcome};
use crate::directory::Home;
use crate::facts::company::{Accounts, Charges, Company, Filing, InsolvencyCase};
use crate::facts::to_stored;

/// The public register page of a company (what the report links to).
const REGISTER_PAGE: &str = "https://find-and-update.company-information.service.gov.uk/company/";

pub(crate) async fn fetch(
    client: &reqwest::Client,
    settings: &SourceConfig,
    home: &Home,
) -> SourceOutcome {
    let Some(key) = settings.key() else {
        return SourceOutcome::NotConfigured;
    };
    let number = home.provider_company_number.as_deref().map(str::trim);
    let Some(number) = number.filter(|n| !n.is_empty()) else {
        return SourceOutcome::NotFound;
    };
    let call = Call::new("Companies House", settings, true);
    let get = |segments: &[&str]| {
        client
            .get(endpoint(&settings.base_url, segments))
            .basic_auth(key, Some(""))
            .header(reqwest::header::ACCEPT, "application/json")
    };
    let profile = match send_json(get(&["company", number]), &call).await {
        Ok(Body::Json(v)) => v,
        Ok(Body::NotFound) => return SourceOutcome::NotFound,
        Err(f) => return SourceOutcome::Failed(f),
    };
    let flag = |name: &str| profile.get(name).and_then(Value::as_bool) == Some(true);
    let insolvency = if flag("has_insolvency_history") {
        match part(send_json(get(&["company", number, "insolvency"]), &call).await) {
            Ok(v) => v,
            Err(f) => return SourceOutcome::Failed(f),
        }
    } else {
        None
    };
    let charges = if flag("has_charges") {
        match part(send_json(get(&["company", number, "charges"]), &call).await) {
            Ok(v) => v,
            Err(f) => return SourceOutcome::Failed(f),
        }
    } else {
        None
    };
    match summarise(&profile, insolvency.as_ref(), charges.as_ref()) {
        Some(company) => SourceOutcome::Loaded(to_stored(&company)),
        None => SourceOutcome::Failed(transient(
            "Companies House sent an unexpected company profile",
        )),
    }
}

/// A follow-up resource: its body, or `None` when Companies House has none
/// (404: the flag and the resource can disagree for a moment after a
/// filing). A failure fails the whole fetch, so it is retried rather than
/// loaded with a hole.
fn part(answer: Result<Body, SourceFailure>) -> Result<Option<Value>, SourceFailure> {
    match answer? {
        Body::Json(v) => Ok(Some(v)),
        Body::NotFound => Ok(None),
    }
}

/// A date field cut to `YYYY-MM-DD`.
fn date(v: &Value, pointer: &str) -> Option<String> {
    str_at(v, pointer).map(|d| d.get(..10).unwrap_or(d).to_owned())
}

/// The insolvency cases: each with its type and its dates by kind
/// (`administration-started-on`, `wound-up-on`, …).
fn insolvency_cases(insolvency: Option<&Value>) -> Vec<InsolvencyCase> {
    let cases = insolvency
        .and_then(|v| v.get("cases"))
        .and_then(Value::as_array);
    cases
        .into_iter()
        .flatten()
        .filter_map(|case| {
            let kind = str_at(case, "/type")?;
            let mut dates = BTreeMap::new();
            for d in case
                .get("dates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(t), Some(on)) = (str_at(d, "/type"), date(d, "/date")) {
                    dates.insert(t.to_owned(), on);
                }
            }
            Some(InsolvencyCase {
                kind: kind.to_owned(),
                number: case.get("number").cloned(),
                dates,
            })
        })
        .collect()
}

/// The charges register's counts; outstanding is what is neither satisfied
/// nor part-satisfied, as Companies House's own register page counts it.
fn charges_summary(charges: Option<&Value>) -> Option<Charges> {
    let c = charges?;
    let count = |name: &str| c.get(name).and_then(Value::as_u64);
    let total = count("unfiltered_count").or(count("total_count"))?;
    let satisfied = count("satisfied_count").unwrap_or(0);
    let part = count("part_satisfied_count").unwrap_or(0);
    Some(Charges {
        total,
        satisfied,
        part_satisfied: part,
        outstanding: total.saturating_sub(satisfied + part),
    })
}

/// The useful part of a company profile (and its insolvency and charges
/// resources); `None` when the body is not a company profile.
pub(crate) fn summarise(
    profile: &Value,
    insolvency: Option<&Value>,
    charges: Option<&Value>,
) -> Option<Company> {
    let number = str_at(profile, "/company_number")?;
    let status = str_at(profile, "/company_status")?;
    let text = |p: &str| str_at(profile, p).map(str::to_owned);
    let flag = |name: &str| profile.get(name).and_then(Value::as_bool);
    let overdue = |p: &str| profile.pointer(p).and_then(Value::as_bool);
    Some(Company {
        company_number: Some(number.to_owned()),
        company_name: text("/company_name"),
        company_status: Some(status.to_owned()),
        company_status_detail: text("/company_status_detail"),
        company_type: text("/type"),
        date_of_creation: date(profile, "/date_of_creation"),
        date_of_cessation: date(profile, "/date_of_cessation"),
        accounts: Accounts {
            overdue: overdue("/accounts/overdue"),
            next_due: date(profile, "/accounts/next_due"),
            last_made_up_to: date(profile, "/accounts/last_accounts/made_up_to"),
            last_accounts_type: text("/accounts/last_accounts/type"),
        },
        confirmation_statement: Filing {
            overdue: overdue("/confirmation_statement/overdue"),
            next_due: date(profile, "/confirmation_statement/next_due"),
            last_made_up_to: date(profile, "/confirmation_statement/last_made_up_to"),
        },
        has_insolvency_history: flag("has_insolvency_history"),
        has_been_liquidated: flag("has_been_liquidated"),
        insolvency_cases: insolvency_cases(insolvency),
        has_charges: flag("has_charges"),
        charges: charges_summary(charges),
        register_url: Some(format!("{REGISTER_PAGE}{number}")),
        cached_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A profile in the API's shape (fields as the companyProfile resource
    /// names them).
    fn profile() -> Value {
        json!({
            "company_number": "03885446",
            "company_name": "EXAMPLE CARE LIMITED",
            "company_status": "administration",
            "type": "ltd",
            "date_of_creation": "1999-11-30",
            "has_insolvency_history": true,
            "has_charges": true,
            "accounts": {
                "overdue": true,
                "next_due": "2025-09-30",
                "last_accounts": {"made_up_to": "2023-12-31", "type": "full"}
            },
            "confirmation_statement": {
                "overdue": false, "next_due": "2026-03-01", "last_made_up_to": "2025-02-15"
            }
        })
    }

    #[test]
    fn summarises_profile_insolvency_and_charges() {
        let insolvency = json!({"cases": [{
            "type": "in-administration", "number": "1",
            "dates": [{"type": "administration-started-on", "date": "2025-06-02"}]
        }], "status": ["in-administration"]});
        let charges = json!({"total_count": 5, "unfiltered_count": 5,
            "satisfied_count": 2, "part_satisfied_count": 1, "items": []});
        let s = summarise(&profile(), Some(&insolvency), Some(&charges)).unwrap();
        assert_eq!(s.company_status.as_deref(), Some("administration"));
        assert_eq!(s.accounts.overdue, Some(true));
        assert_eq!(s.accounts.next_due.as_deref(), Some("2025-09-30"));
        assert_eq!(s.accounts.last_accounts_type.as_deref(), Some("full"));
        assert_eq!(s.confirmation_statement.overdue, Some(false));
        assert_eq!(
            s.insolvency_cases[0].dates["administration-started-on"],
            "2025-06-02"
        );
        assert_eq!(s.charges.map(|c| c.outstanding), Some(2));
        assert_eq!(
            s.register_url.as_deref(),
            Some("https://find-and-update.company-information.service.gov.uk/company/03885446")
        );
    }

    #[test]
    fn absent_parts_stay_absent() {
        let p = json!({"company_number": "SC123456", "company_status": "active"});
        let s = summarise(&p, None, None).unwrap();
        assert_eq!(s.accounts.overdue, None);
        assert_eq!(s.charges, None);
        assert!(s.insolvency_cases.is_empty());
        assert_eq!(s.has_charges, None);
    }

    #[test]
    fn odd_bodies_are_not_profiles() {
        assert!(summarise(&json!([]), None, None).is_none());
        assert!(summarise(&json!({"company_number": "1"}), None, None).is_none());
        assert!(summarise(&json!({"company_status": "active"}), None, None).is_none());
    }
}
