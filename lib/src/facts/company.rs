//! The provider company as the Companies House adapter keeps it
//! (`sources/companies_house.rs`): its status, the filings it owes, its
//! insolvency cases and its charges.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{lenient, lenient_list, lenient_or_default};

/// The useful part of a company profile, with its insolvency and charges.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    /// The company number.
    #[serde(default, deserialize_with = "lenient")]
    pub company_number: Option<String>,
    /// The registered name.
    #[serde(default, deserialize_with = "lenient")]
    pub company_name: Option<String>,
    /// `active`, `liquidation`, `administration`, `dissolved`, …
    #[serde(default, deserialize_with = "lenient")]
    pub company_status: Option<String>,
    /// Companies House's detail of the status.
    #[serde(default, deserialize_with = "lenient")]
    pub company_status_detail: Option<String>,
    /// The kind of company.
    #[serde(default, deserialize_with = "lenient")]
    pub company_type: Option<String>,
    /// When it was incorporated (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub date_of_creation: Option<String>,
    /// When it ceased (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub date_of_cessation: Option<String>,
    /// Its accounts.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub accounts: Accounts,
    /// Its confirmation statement.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub confirmation_statement: Filing,
    /// Whether it has an insolvency history.
    #[serde(default, deserialize_with = "lenient")]
    pub has_insolvency_history: Option<bool>,
    /// Whether it has been liquidated.
    #[serde(default, deserialize_with = "lenient")]
    pub has_been_liquidated: Option<bool>,
    /// Its insolvency cases.
    #[serde(default, deserialize_with = "lenient_list")]
    pub insolvency_cases: Vec<InsolvencyCase>,
    /// Whether it has registered charges.
    #[serde(default, deserialize_with = "lenient")]
    pub has_charges: Option<bool>,
    /// The charges register's counts.
    #[serde(default, deserialize_with = "lenient")]
    pub charges: Option<Charges>,
    /// Its page on the register.
    #[serde(default, deserialize_with = "lenient")]
    pub register_url: Option<String>,
    /// When the shared source cache fetched it (RFC 3339).
    #[serde(default, deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_at: Option<String>,
}

/// The accounts: whether overdue, when next due, the last ones filed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accounts {
    /// Overdue.
    #[serde(default, deserialize_with = "lenient")]
    pub overdue: Option<bool>,
    /// Next due (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub next_due: Option<String>,
    /// The last accounts' period end (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub last_made_up_to: Option<String>,
    /// The last accounts' kind (`full`, `small`, `micro-entity`, …).
    #[serde(default, deserialize_with = "lenient")]
    pub last_accounts_type: Option<String>,
}

/// A periodic filing: whether overdue, when next due, the last one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filing {
    /// Overdue.
    #[serde(default, deserialize_with = "lenient")]
    pub overdue: Option<bool>,
    /// Next due (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub next_due: Option<String>,
    /// The last one's date (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub last_made_up_to: Option<String>,
}

/// One insolvency case: its type and its dates by kind
/// (`administration-started-on`, `wound-up-on`, …).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InsolvencyCase {
    /// The case's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its number as Companies House gives it.
    #[serde(default)]
    pub number: Option<serde_json::Value>,
    /// Its dates (`YYYY-MM-DD`) by kind.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub dates: BTreeMap<String, String>,
}

/// The charges register's counts; outstanding is neither satisfied nor
/// part-satisfied.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Charges {
    /// All charges.
    pub total: u64,
    /// Satisfied.
    pub satisfied: u64,
    /// Part-satisfied.
    pub part_satisfied: u64,
    /// Outstanding.
    pub outstanding: u64,
}
