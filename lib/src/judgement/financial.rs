//! The financial category of the risk assessment: what Companies House's
//! register says about the company running each home.
//!
//! Only what the company files is read (status, overdue filings,
//! insolvency cases, charges), never how it trades: the register cannot
//! show profitability, bed occupancy or whether fees cover costs, and the
//! category's note says so every time. Each flag is a rule of
//! [`super::rules::RULES`] with the register's own values as evidence.

use super::prose;
use super::risk::Flag;
use super::{CompanyFacts, CompanyLookup, Evidence, HomeFacts};

/// What the register cannot show, said with every financial assessment.
pub(crate) const CANNOT_SEE: &str = "The register cannot show profitability, bed occupancy or whether the fees cover the cost of care.";

/// Insolvency statuses (`company_status` in Companies House's
/// `api-enumerations` `constants.yml`).
const INSOLVENT: &[&str] = &[
    "administration",
    "liquidation",
    "receivership",
    "insolvency-proceedings",
    "voluntary-arrangement",
];
/// Statuses of a company that no longer trades.
const CLOSED: &[&str] = &["dissolved", "converted-closed", "closed", "removed"];

/// A `company_status` in words.
pub(crate) fn status_words(status: &str) -> String {
    match status {
        "active" => "active".into(),
        "administration" => "in administration".into(),
        "liquidation" => "in liquidation".into(),
        "receivership" => "in receivership".into(),
        "insolvency-proceedings" => "in insolvency proceedings".into(),
        "voluntary-arrangement" => "under a voluntary arrangement with its creditors".into(),
        "converted-closed" => "converted or closed".into(),
        other => other.replace('-', " "),
    }
}

/// An insolvency case type in words.
fn case_words(kind: &str) -> String {
    match kind {
        "in-administration" | "administration-order" => "administration".into(),
        "creditors-voluntary-liquidation" => "a creditors' voluntary liquidation".into(),
        "members-voluntary-liquidation" => "a members' voluntary liquidation".into(),
        "compulsory-liquidation" => "a compulsory liquidation".into(),
        "corporate-voluntary-arrangement" => "a voluntary arrangement with creditors".into(),
        "administrative-receiver" | "receiver-manager" | "scottish-administrative-receiver" => {
            "receivership".into()
        }
        other => other.replace('-', " "),
    }
}

/// The words in a case type that go with an insolvency status.
fn case_matches(status: &str, kind: &str) -> bool {
    match status {
        "administration" => kind.contains("administration"),
        "liquidation" => kind.contains("liquidation"),
        "receivership" => kind.contains("receiver"),
        "voluntary-arrangement" => kind.contains("voluntary-arrangement"),
        _ => true,
    }
}

fn company_evidence(h: &HomeFacts, c: &CompanyFacts) -> Vec<Evidence> {
    vec![
        Evidence::new("home", h.name.clone()),
        Evidence::new(
            "company",
            c.name
                .clone()
                .unwrap_or_else(|| format!("company {}", c.number)),
        ),
        Evidence::new("company_number", c.number.clone()),
    ]
}

/// `since 2 June 2026`, or what the register lacks.
fn since(date: Option<chrono::NaiveDate>) -> [Evidence; 2] {
    [
        Evidence::new("since", date.map(|d| d.to_string())),
        Evidence::new(
            "since_words",
            date.map_or("(the register gives no start date)".to_owned(), |d| {
                format!("since {}", prose::date_words(d))
            }),
        ),
    ]
}

/// The company's status flag: insolvent, closed, or facing strike-off.
fn status_flag(h: &HomeFacts, c: &CompanyFacts) -> Option<Flag> {
    let status = c.status.as_str();
    let status_evidence = [
        Evidence::new("company_status", status),
        Evidence::new("status_words", status_words(status)),
    ];
    if INSOLVENT.contains(&status) {
        let started = c
            .insolvency_cases
            .iter()
            .filter(|case| case.ended.is_none() && case_matches(status, &case.kind))
            .filter_map(|case| case.started)
            .max();
        let evidence = company_evidence(h, c)
            .into_iter()
            .chain(status_evidence)
            .chain(since(started))
            .collect();
        return Some(Flag::from_rule("financial.company_insolvent", evidence));
    }
    if CLOSED.contains(&status) {
        let evidence = company_evidence(h, c)
            .into_iter()
            .chain(status_evidence)
            .chain(since(c.ceased_on))
            .collect();
        return Some(Flag::from_rule("financial.company_dissolved", evidence));
    }
    let detail = c.status_detail.as_deref()?;
    (detail == "active-proposal-to-strike-off").then(|| {
        let mut evidence = company_evidence(h, c);
        evidence.push(Evidence::new("company_status_detail", detail));
        Flag::from_rule("financial.strike_off_proposed", evidence)
    })
}

/// Overdue accounts and confirmation statement, by Companies House's own
/// flags (never recomputed from the dates).
fn overdue_flags(h: &HomeFacts, c: &CompanyFacts) -> Vec<Flag> {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
    let words = |d: Option<chrono::NaiveDate>| {
        d.map_or(
            "a date the register does not give".to_owned(),
            prose::date_words,
        )
    };
    let mut flags = Vec::new();
    if c.accounts_overdue == Some(true) {
        let mut e = company_evidence(h, c);
        e.push(Evidence::new(
            "accounts_next_due",
            date(c.accounts_next_due),
        ));
        e.push(Evidence::new("due", words(c.accounts_next_due)));
        e.push(Evidence::new(
            "last_made_up_to",
            words(c.accounts_last_made_up_to),
        ));
        flags.push(Flag::from_rule("financial.accounts_overdue", e));
    }
    if c.confirmation_overdue == Some(true) {
        let mut e = company_evidence(h, c);
        e.push(Evidence::new(
            "confirmation_next_due",
            date(c.confirmation_next_due),
        ));
        e.push(Evidence::new("due", words(c.confirmation_next_due)));
        flags.push(Flag::from_rule("financial.confirmation_overdue", e));
    }
    flags
}

/// Past insolvency of an active company, and outstanding charges.
fn history_flags(h: &HomeFacts, c: &CompanyFacts) -> Vec<Flag> {
    let mut flags = Vec::new();
    if c.status == "active" && !c.insolvency_cases.is_empty() {
        let cases: Vec<String> = c
            .insolvency_cases
            .iter()
            .map(|case| match case.started {
                Some(d) => format!("{} from {}", case_words(&case.kind), prose::date_words(d)),
                None => case_words(&case.kind),
            })
            .collect();
        let mut e = company_evidence(h, c);
        e.push(Evidence::new("case_count", c.insolvency_cases.len()));
        e.push(Evidence::new("cases", cases.join("; ")));
        flags.push(Flag::from_rule("financial.insolvency_history", e));
    }
    if let Some(n) = c.outstanding_charges.filter(|n| *n > 0) {
        let mut e = company_evidence(h, c);
        e.push(Evidence::new("outstanding", n));
        flags.push(Flag::from_rule("financial.outstanding_charges", e));
    }
    flags
}

/// The financial flags of one home, in rule order.
pub(crate) fn flags(h: &HomeFacts) -> Vec<Flag> {
    let Some(c) = &h.company else {
        return Vec::new();
    };
    status_flag(h, c)
        .into_iter()
        .chain(overdue_flags(h, c))
        .chain(history_flags(h, c))
        .collect()
}

/// The financial category's status and note: assessed from the register
/// (always saying what it cannot see), or why there is no record.
pub(crate) fn status_and_note(h: &HomeFacts) -> (&'static str, String) {
    if let Some(c) = &h.company {
        let name = c
            .name
            .clone()
            .unwrap_or_else(|| format!("company {}", c.number));
        let accounts = match (c.accounts_overdue, c.accounts_last_made_up_to) {
            (Some(true), _) => "accounts overdue".to_owned(),
            (_, Some(d)) => format!("last accounts made up to {}", prose::date_words(d)),
            _ => "no accounts filed yet".to_owned(),
        };
        return (
            "assessed",
            format!(
                "Companies House lists {name} (company {}) as {}, {accounts}. Only its filings are checked. {CANNOT_SEE}",
                c.number,
                status_words(&c.status)
            ),
        );
    }
    let why = match h.company_lookup {
        Some(CompanyLookup::NoNumber) | None => {
            "The directory names no Companies House number for this home's provider, so its company was not checked."
        }
        Some(CompanyLookup::Unknown) => {
            "Companies House has no company under the number the directory gives for this home's provider."
        }
        Some(CompanyLookup::NotConfigured) => {
            "The Companies House check is not set up on this service, so the provider company was not checked."
        }
        Some(CompanyLookup::NotYet) => {
            "The provider company's Companies House record has not arrived yet; it is added when it does."
        }
    };
    ("no_data", why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::home;
    use super::*;
    use chrono::NaiveDate;

    fn d(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    }

    fn company(f: impl FnOnce(&mut CompanyFacts)) -> HomeFacts {
        let mut c = CompanyFacts {
            number: "99000011".into(),
            name: Some("EXAMPLE CARE LIMITED".into()),
            status: "active".into(),
            accounts_overdue: Some(false),
            accounts_next_due: d("2027-09-30"),
            accounts_last_made_up_to: d("2025-12-31"),
            confirmation_overdue: Some(false),
            ..CompanyFacts::default()
        };
        f(&mut c);
        let mut h = home(1);
        h.company = Some(c);
        h.company_lookup = None;
        h
    }

    fn ids(h: &HomeFacts) -> Vec<&'static str> {
        flags(h).iter().map(|f| f.trace.rule_id).collect()
    }

    #[test]
    fn a_healthy_company_raises_nothing_and_says_what_it_cannot_see() {
        let h = company(|_| {});
        assert!(flags(&h).is_empty());
        let (status, note) = status_and_note(&h);
        assert_eq!(status, "assessed");
        assert!(note.contains("EXAMPLE CARE LIMITED") && note.contains("active"));
        assert!(note.contains("profitability") && note.contains("bed occupancy"));
    }

    #[test]
    fn administration_is_dated_from_its_case() {
        let h = company(|c| {
            c.status = "administration".into();
            c.insolvency_cases = vec![super::super::InsolvencyCase {
                kind: "in-administration".into(),
                started: d("2026-06-02"),
                ended: None,
            }];
        });
        let f = flags(&h);
        assert_eq!(f[0].trace.rule_id, "financial.company_insolvent");
        assert!(
            f[0].description
                .contains("in administration since 2 June 2026"),
            "{}",
            f[0].description
        );
        // Without a case the register gives no date, and the flag says so.
        let h = company(|c| c.status = "liquidation".into());
        assert!(flags(&h)[0].description.contains("gives no start date"));
    }

    #[test]
    fn each_financial_rule_fires_at_its_trigger_and_not_below() {
        let overdue = company(|c| c.accounts_overdue = Some(true));
        assert_eq!(ids(&overdue), ["financial.accounts_overdue"]);
        assert!(flags(&overdue)[0]
            .description
            .contains("overdue since 30 September 2027"));
        let cs = company(|c| c.confirmation_overdue = Some(true));
        assert_eq!(ids(&cs), ["financial.confirmation_overdue"]);
        let gone = company(|c| {
            c.status = "dissolved".into();
            c.ceased_on = d("2025-11-18");
        });
        assert_eq!(ids(&gone), ["financial.company_dissolved"]);
        assert!(flags(&gone)[0]
            .description
            .contains("since 18 November 2025"));
        let strike = company(|c| c.status_detail = Some("active-proposal-to-strike-off".into()));
        assert_eq!(ids(&strike), ["financial.strike_off_proposed"]);
        let past = company(|c| {
            c.insolvency_cases = vec![super::super::InsolvencyCase {
                kind: "corporate-voluntary-arrangement".into(),
                started: d("2012-01-05"),
                ended: d("2014-01-05"),
            }]
        });
        assert_eq!(ids(&past), ["financial.insolvency_history"]);
        let charged = company(|c| c.outstanding_charges = Some(2));
        assert_eq!(ids(&charged), ["financial.outstanding_charges"]);
        // Just below each trigger: nothing.
        let none = company(|c| {
            c.outstanding_charges = Some(0);
            c.status_detail = Some("active".into());
            c.accounts_overdue = None;
        });
        assert!(flags(&none).is_empty());
    }

    #[test]
    fn no_record_says_why() {
        let mut h = home(1);
        h.company_lookup = Some(CompanyLookup::Unknown);
        assert_eq!(status_and_note(&h).0, "no_data");
        assert!(status_and_note(&h)
            .1
            .contains("no company under the number"));
        h.company_lookup = Some(CompanyLookup::NoNumber);
        assert!(status_and_note(&h)
            .1
            .contains("names no Companies House number"));
    }
}
