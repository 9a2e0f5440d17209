//! Where each source lives, how long we wait for it and which key it needs.
//!
//! Every source is configured the same way so the sandbox (and tests) can
//! point the real adapters at local servers by base URL alone:
//! `<PREFIX>_BASE_URL`, `<PREFIX>_TIMEOUT_MS` and, for the keyed sources,
//! `<PREFIX>_API_KEY`. The neighbourhood source talks to two services
//! (postcodes.io and Overpass), so it has two prefixes. Defaults are the real
//! public endpoints; the variables are read once, by
//! [`crate::settings::Settings`]. Keys never show in `Debug` output.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::settings::{env_str, ConfigError};

/// One upstream service: base URL, key and timeout.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceSettings {
    /// Base URL; endpoint paths are appended to it (a trailing `/` is implied).
    pub base_url: Url,
    /// API key; `None` when the service needs none or none is configured.
    pub api_key: Option<String>,
    /// Timeout of each request to this service (connect to end of body).
    pub timeout: Duration,
    /// Most bytes one answer may have (`<PREFIX>_MAX_BYTES`); the body is
    /// read in chunks and one byte more fails the fetch as transient.
    pub max_body_bytes: usize,
}

impl SourceSettings {
    /// Settings with no key.
    pub fn new(base_url: Url, timeout: Duration) -> Self {
        Self {
            base_url,
            api_key: None,
            timeout,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The same settings with another body cap.
    pub(crate) fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// The same settings with a key.
    pub(crate) fn with_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into()).filter(|k: &String| !k.trim().is_empty());
        self
    }

    /// The key, if one is configured and not blank.
    pub fn key(&self) -> Option<&str> {
        self.api_key.as_deref().filter(|k| !k.trim().is_empty())
    }
}

impl fmt::Debug for SourceSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceSettings")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &self.key().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// The configuration of all six sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcesConfig {
    /// CQC public API (`CQC_*`); needs a subscription key.
    pub cqc: SourceSettings,
    /// FSA food hygiene ratings API (`FSA_*`); no key.
    pub fsa: SourceSettings,
    /// Google Places API (New) (`GOOGLE_PLACES_*`); needs a key.
    pub google_places: SourceSettings,
    /// postcodes.io, first half of the neighbourhood source (`POSTCODES_*`); no key.
    pub postcodes: SourceSettings,
    /// OpenStreetMap Overpass, second half of the neighbourhood source (`OVERPASS_*`); no key.
    pub overpass: SourceSettings,
    /// Firecrawl scrape API (`FIRECRAWL_*`); needs a key.
    pub firecrawl: SourceSettings,
    /// Companies House Public Data API (`COMPANIES_HOUSE_*`); needs a key
    /// (free, sent as the HTTP Basic user name).
    pub companies_house: SourceSettings,
    /// Further Overpass instances tried in order after `overpass.base_url`
    /// when it fails (429, 5xx, 406, timeouts, runtime errors). Set with
    /// `OVERPASS_BASE_URLS` (comma-separated; its first URL replaces
    /// `OVERPASS_BASE_URL`). Empty by default: the public instances share
    /// one operator's rules, and spreading load over them to dodge a limit
    /// is exactly what those rules forbid ([OVP-791],
    /// https://github.com/drolbr/Overpass-API/issues/791).
    pub overpass_mirrors: Vec<Url>,
    /// The `User-Agent` of every upstream request, the same for all of them
    /// (CQC, Companies House and Overpass see one identifying agent):
    /// `SOURCES_USER_AGENT` when set, else the product and version with
    /// `SOURCES_CONTACT`. Overpass answers 406 without one and asks
    /// scripts to send one "which identifies them well" ([OVP-791]).
    pub user_agent: String,
    /// The operator's contact, an e-mail address or an http(s) URL
    /// (`SOURCES_CONTACT`), carried in [`SourcesConfig::user_agent`].
    pub contact: Option<String>,
    /// Whether the neighbourhood source may only call Overpass with a
    /// contact in the agent: set in live mode (the public instances'
    /// operator asks for one, [OVP-791]); without a contact the source is
    /// `not_configured` rather than sending a placeholder. The sandbox
    /// needs none.
    pub require_contact: bool,
}

/// The default body cap of a service without its own (1 MiB).
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The default `User-Agent`: the product and version, and where an
/// operator is told to add a contact.
pub(crate) const DEFAULT_USER_AGENT: &str = concat!(
    "care-report/",
    env!("CARGO_PKG_VERSION"),
    " (UK care-home report service; operator contact: set SOURCES_CONTACT)"
);

/// One service's defaults.
struct Defaults {
    prefix: &'static str,
    base_url: &'static str,
    timeout_ms: u64,
    keyed: bool,
    max_bytes: usize,
}

const CQC: Defaults = Defaults {
    prefix: "CQC",
    base_url: "https://api.service.cqc.org.uk/public/v1/",
    timeout_ms: 10_000,
    keyed: true,
    // A location record with years of reports is tens of KiB.
    max_bytes: 2 * 1024 * 1024,
};
const FSA: Defaults = Defaults {
    prefix: "FSA",
    base_url: "https://api.ratings.food.gov.uk/",
    timeout_ms: 10_000,
    keyed: false,
    // 20 establishments per page, about 2 KiB each.
    max_bytes: 1024 * 1024,
};
const GOOGLE_PLACES: Defaults = Defaults {
    prefix: "GOOGLE_PLACES",
    base_url: "https://places.googleapis.com/v1/",
    timeout_ms: 10_000,
    keyed: true,
    // Five places with five reviews each.
    max_bytes: 1024 * 1024,
};
const POSTCODES: Defaults = Defaults {
    prefix: "POSTCODES",
    base_url: "https://api.postcodes.io/",
    timeout_ms: 5_000,
    keyed: false,
    // One postcode record is about 2 KiB.
    max_bytes: 256 * 1024,
};
const OVERPASS: Defaults = Defaults {
    prefix: "OVERPASS",
    base_url: "https://overpass-api.de/api/",
    // Above the query's own `[timeout:20]` (see `neighbourhood::overpass_query`):
    // the server may run that long and queue first, and a client that gives
    // up at the server's own budget turns slow successes into timeouts.
    timeout_ms: 30_000,
    keyed: false,
    // Nine amenity kinds within 1 km of a city centre, tags and centres only.
    max_bytes: 8 * 1024 * 1024,
};
const FIRECRAWL: Defaults = Defaults {
    prefix: "FIRECRAWL",
    // v2 is the current API, v1 legacy (https://docs.firecrawl.dev/migrate-to-v2;
    // [FC] `routes/v2.ts:44`); the markdown request and answer are the same.
    base_url: "https://api.firecrawl.dev/v2/",
    // A scrape renders a whole web page. Above the `timeout` the adapter
    // sends (20 s; v1's default is 30 000 ms, [FC] `v1/types.ts:638`), so
    // Firecrawl's own 408 arrives before our client gives up.
    timeout_ms: 30_000,
    keyed: true,
    // The markdown of one page; only the first 200 KB is searched.
    max_bytes: 4 * 1024 * 1024,
};

const COMPANIES_HOUSE: Defaults = Defaults {
    prefix: "COMPANIES_HOUSE",
    // https://developer-specs.company-information.service.gov.uk/companies-house-public-data-api/reference
    base_url: "https://api.company-information.service.gov.uk/",
    timeout_ms: 10_000,
    keyed: true,
    // A company profile is about 2 KiB; a charges page of 25 items tens of KiB.
    max_bytes: 512 * 1024,
};

impl SourcesConfig {
    /// Reads `<PREFIX>_BASE_URL`, `<PREFIX>_TIMEOUT_MS` and (for CQC, Google
    /// Places, Firecrawl and Companies House) `<PREFIX>_API_KEY` for the prefixes `CQC`, `FSA`,
    /// `GOOGLE_PLACES`, `POSTCODES`, `OVERPASS` and `FIRECRAWL`. Unset or
    /// blank variables take the defaults; a blank key counts as unset. Also
    /// `OVERPASS_BASE_URLS` and `SOURCES_USER_AGENT`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |d: &Defaults| settings_from(d, &lookup);
        let mut overpass = read(&OVERPASS)?;
        let mut overpass_mirrors = Vec::new();
        if let Some(list) = env_str(&lookup, "OVERPASS_BASE_URLS") {
            let mut urls = Vec::new();
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                urls.push(
                    parse_base_url(part)
                        .ok_or_else(|| ConfigError::invalid("OVERPASS_BASE_URLS", BAD_BASE_URL))?,
                );
            }
            let mut urls = urls.into_iter();
            if let Some(first) = urls.next() {
                overpass.base_url = first;
            }
            overpass_mirrors = urls.collect();
        }
        let contact = env_str(&lookup, "SOURCES_CONTACT")
            .map(|c| {
                parse_contact(&c).ok_or_else(|| {
                    ConfigError::invalid(
                        "SOURCES_CONTACT",
                        "must be an e-mail address or an http(s) URL (at most 200 characters)",
                    )
                })
            })
            .transpose()?;
        let user_agent = user_agent(env_str(&lookup, "SOURCES_USER_AGENT"), contact.as_deref())?;
        Ok(Self {
            cqc: read(&CQC)?,
            fsa: read(&FSA)?,
            google_places: read(&GOOGLE_PLACES)?,
            postcodes: read(&POSTCODES)?,
            overpass,
            firecrawl: read(&FIRECRAWL)?,
            companies_house: read(&COMPANIES_HOUSE)?,
            overpass_mirrors,
            user_agent,
            contact,
            require_contact: false,
        })
    }

    /// Whether the agent names a contact: `SOURCES_CONTACT` is set, or
    /// `SOURCES_USER_AGENT` carries an e-mail address or a URL. The
    /// default agent never does.
    pub fn names_a_contact(&self) -> bool {
        self.contact.is_some()
            || (!self.user_agent_is_default()
                && (self.user_agent.contains('@') || self.user_agent.contains("http")))
    }

    /// Whether the neighbourhood source may call Overpass: not when a
    /// contact is required and none is named.
    pub(crate) fn overpass_allowed(&self) -> bool {
        !self.require_contact || self.names_a_contact()
    }

    /// Whether `SOURCES_USER_AGENT` was left at its default (no contact).
    pub(crate) fn user_agent_is_default(&self) -> bool {
        self.user_agent == DEFAULT_USER_AGENT
    }

    /// postcodes.io's base URL (the geocoder of the matching step reuses it).
    pub(crate) fn postcodes_base(&self) -> &Url {
        &self.postcodes.base_url
    }
}

/// An e-mail address (`local@domain.tld`) or an http(s) URL, trimmed;
/// `None` for anything else (spaces, control characters, over 200 bytes).
fn parse_contact(raw: &str) -> Option<String> {
    let c = raw.trim();
    if c.is_empty() || c.len() > 200 || !c.chars().all(|ch| ch.is_ascii_graphic()) {
        return None;
    }
    let url_ok = url::Url::parse(c)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    let mail_ok = c.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
    }) && !c.contains('/');
    (url_ok || mail_ok).then(|| c.to_owned())
}

/// The agent: `SOURCES_USER_AGENT` as given (with the contact added when
/// it lacks it), else the product, version and contact, else the default
/// (which asks the operator to set one).
fn user_agent(custom: Option<String>, contact: Option<&str>) -> Result<String, ConfigError> {
    let ua = match (custom, contact) {
        (Some(ua), Some(c)) if !ua.contains(c) => format!("{ua} (+{c})"),
        (Some(ua), _) => ua,
        (None, Some(c)) => format!(
            "care-report/{} (UK care-home report service; +{c})",
            env!("CARGO_PKG_VERSION")
        ),
        (None, None) => return Ok(DEFAULT_USER_AGENT.to_owned()),
    };
    if ua.len() > 256 || reqwest::header::HeaderValue::from_str(&ua).is_err() {
        return Err(ConfigError::invalid(
            "SOURCES_USER_AGENT",
            "must be at most 256 visible ASCII characters",
        ));
    }
    Ok(ua)
}

fn settings_from(
    d: &Defaults,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<SourceSettings, ConfigError> {
    let var = |suffix: &str| {
        let name = format!("{}_{suffix}", d.prefix);
        let value = env_str(lookup, &name);
        (name, value)
    };

    let (name, value) = var("BASE_URL");
    let base_url = parse_base_url(value.as_deref().unwrap_or(d.base_url))
        .ok_or_else(|| ConfigError::invalid(&name, BAD_BASE_URL))?;

    let (name, value) = var("TIMEOUT_MS");
    let timeout = match value {
        None => Duration::from_millis(d.timeout_ms),
        Some(v) => match v.parse::<u64>() {
            Ok(ms) if ms > 0 => Duration::from_millis(ms),
            _ => {
                return Err(ConfigError::invalid(
                    &name,
                    "must be a positive number of milliseconds",
                ))
            }
        },
    };

    let (name, value) = var("MAX_BYTES");
    let max_bytes = match value {
        None => d.max_bytes,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(ConfigError::invalid(
                    &name,
                    "must be a positive number of bytes",
                ))
            }
        },
    };

    let mut settings = SourceSettings::new(base_url, timeout).with_max_body_bytes(max_bytes);
    if d.keyed {
        if let (_, Some(key)) = var("API_KEY") {
            settings = settings.with_key(key);
        }
    }
    Ok(settings)
}

/// Why a `*_BASE_URL` was refused.
const BAD_BASE_URL: &str = "is not a valid http(s) base URL";

/// Parses a base URL and gives its path a trailing `/`, so appending
/// endpoint segments never drops the last segment of the base.
pub(crate) fn parse_base_url(s: &str) -> Option<Url> {
    let mut url = Url::parse(s).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return None;
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_are_the_public_endpoints_without_keys() {
        let c = SourcesConfig::from_lookup(|_| None).unwrap();
        assert_eq!(
            c.cqc.base_url.as_str(),
            "https://api.service.cqc.org.uk/public/v1/"
        );
        assert_eq!(c.fsa.base_url.as_str(), "https://api.ratings.food.gov.uk/");
        assert_eq!(
            c.google_places.base_url.as_str(),
            "https://places.googleapis.com/v1/"
        );
        assert_eq!(c.postcodes_base().as_str(), "https://api.postcodes.io/");
        assert_eq!(c.overpass.base_url.as_str(), "https://overpass-api.de/api/");
        assert_eq!(
            c.firecrawl.base_url.as_str(),
            "https://api.firecrawl.dev/v2/"
        );
        assert!(c.overpass_mirrors.is_empty());
        assert!(c.user_agent_is_default());
        // Every client timeout is above the server's own budget.
        assert!(c.overpass.timeout > Duration::from_secs(20));
        assert!(c.firecrawl.timeout > Duration::from_secs(20));
        assert!(c.cqc.key().is_none() && c.google_places.key().is_none());
        assert_eq!(
            c.companies_house.base_url.as_str(),
            "https://api.company-information.service.gov.uk/"
        );
        assert!(c.companies_house.key().is_none());
    }

    #[test]
    fn env_overrides_and_blank_keys_count_as_unset() {
        let c = SourcesConfig::from_lookup(lookup(&[
            ("CQC_API_KEY", "  "),
            ("GOOGLE_PLACES_API_KEY", "g-secret"),
            ("FSA_BASE_URL", "http://127.0.0.1:9000/fsa"),
            ("OVERPASS_TIMEOUT_MS", "1500"),
            // Keys are ignored for keyless services.
            ("FSA_API_KEY", "nope"),
        ]))
        .unwrap();
        assert_eq!(c.cqc.key(), None);
        assert_eq!(c.google_places.key(), Some("g-secret"));
        assert_eq!(c.fsa.base_url.as_str(), "http://127.0.0.1:9000/fsa/");
        assert_eq!(c.fsa.api_key, None);
        assert_eq!(c.overpass.timeout, Duration::from_millis(1500));
    }

    #[test]
    fn overpass_mirrors_user_agent_and_caps() {
        let c = SourcesConfig::from_lookup(lookup(&[
            (
                "OVERPASS_BASE_URLS",
                "https://overpass.example.org/api, https://backup.example.org/api/",
            ),
            (
                "SOURCES_USER_AGENT",
                "care-report/1 (+https://x.example; ops@x.example)",
            ),
            ("FIRECRAWL_MAX_BYTES", "1000"),
        ]))
        .unwrap();
        assert_eq!(
            c.overpass.base_url.as_str(),
            "https://overpass.example.org/api/"
        );
        assert_eq!(c.overpass_mirrors.len(), 1);
        assert_eq!(
            c.overpass_mirrors[0].as_str(),
            "https://backup.example.org/api/"
        );
        assert!(!c.user_agent_is_default());
        assert_eq!(c.firecrawl.max_body_bytes, 1000);
        assert!(SourcesConfig::from_lookup(lookup(&[("SOURCES_USER_AGENT", "bad\nua")])).is_err());
        assert!(SourcesConfig::from_lookup(lookup(&[("OVERPASS_BASE_URLS", "ftp://x")])).is_err());
        assert!(SourcesConfig::from_lookup(lookup(&[("CQC_MAX_BYTES", "0")])).is_err());
    }

    #[test]
    fn the_contact_goes_into_the_one_agent_and_is_required_in_live_mode() {
        let c = SourcesConfig::from_lookup(lookup(&[("SOURCES_CONTACT", " ops@care.example ")]))
            .unwrap();
        assert_eq!(c.contact.as_deref(), Some("ops@care.example"));
        assert!(c
            .user_agent
            .ends_with("(UK care-home report service; +ops@care.example)"));
        assert!(c.names_a_contact());
        let url = SourcesConfig::from_lookup(lookup(&[
            ("SOURCES_CONTACT", "https://care.example/contact"),
            ("SOURCES_USER_AGENT", "acme-care/2"),
        ]))
        .unwrap();
        assert_eq!(
            url.user_agent,
            "acme-care/2 (+https://care.example/contact)"
        );
        for bad in [
            "not a contact",
            "ops@",
            "@care.example",
            "ftp://care.example",
            "ops@care",
        ] {
            let err = SourcesConfig::from_lookup(lookup(&[("SOURCES_CONTACT", bad)])).unwrap_err();
            assert_eq!(err.name, "SOURCES_CONTACT", "{bad}");
        }
        // The default agent names no contact: live mode refuses Overpass.
        let mut none = SourcesConfig::from_lookup(|_| None).unwrap();
        assert!(!none.names_a_contact());
        assert!(none.overpass_allowed());
        none.require_contact = true;
        assert!(!none.overpass_allowed());
        // A custom agent with a contact in it counts.
        let mut custom = SourcesConfig::from_lookup(lookup(&[(
            "SOURCES_USER_AGENT",
            "care-report/1 (+https://x.example; ops@x.example)",
        )]))
        .unwrap();
        custom.require_contact = true;
        assert!(custom.overpass_allowed());
    }

    #[test]
    fn bad_values_are_named() {
        let err = SourcesConfig::from_lookup(lookup(&[("CQC_BASE_URL", "ftp://x")])).unwrap_err();
        assert!(err.to_string().contains("CQC_BASE_URL"));
        let err = SourcesConfig::from_lookup(lookup(&[("FIRECRAWL_TIMEOUT_MS", "0")])).unwrap_err();
        assert!(err.to_string().contains("FIRECRAWL_TIMEOUT_MS"));
        let err = SourcesConfig::from_lookup(lookup(&[("FSA_TIMEOUT_MS", "abc")])).unwrap_err();
        assert_eq!(err.name, "FSA_TIMEOUT_MS");
    }

    #[test]
    fn debug_redacts_keys() {
        let s = SourceSettings::new(Url::parse("https://x/").unwrap(), Duration::from_secs(1))
            .with_key("super-secret");
        let shown = format!("{s:?}");
        assert!(!shown.contains("super-secret"));
        assert!(shown.contains("redacted"));
    }
}
