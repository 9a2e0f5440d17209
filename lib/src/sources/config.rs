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

/// One upstream service: base URL, key and timeout.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceConfig {
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

impl SourceConfig {
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

impl fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceConfig")
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
    pub cqc: SourceConfig,
    /// FSA food hygiene ratings API (`FSA_*`); no key.
    pub fsa: SourceConfig,
    /// Google Places API (New) (`GOOGLE_PLACES_*`); needs a key.
    pub google_places: SourceConfig,
    /// postcodes.io, first half of the neighbourhood source (`POSTCODES_*`); no key.
    pub postcodes: SourceConfig,
    /// OpenStreetMap Overpass, second half of the neighbourhood source (`OVERPASS_*`); no key.
    pub overpass: SourceConfig,
    /// Firecrawl scrape API (`FIRECRAWL_*`); needs a key.
    pub firecrawl: SourceConfig,
    /// Companies House Public Data API (`COMPANIES_HOUSE_*`); needs a key
    /// (free, sent as the HTTP Basic user name).
    pub companies_house: SourceConfig,
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

/// One service's defaults (the settings module reads the variables that
/// override them).
pub(crate) struct Defaults {
    /// Base URL of the public service.
    pub(crate) base_url: &'static str,
    /// Timeout of one request, milliseconds.
    pub(crate) timeout_ms: u64,
    /// Whether the service takes a key.
    pub(crate) keyed: bool,
    /// Most bytes one answer may have.
    pub(crate) max_bytes: usize,
}

/// Cqc's defaults.
pub(crate) const CQC: Defaults = Defaults {
    base_url: "https://api.service.cqc.org.uk/public/v1/",
    timeout_ms: 10_000,
    keyed: true,
    // A location record with years of reports is tens of KiB.
    max_bytes: 2 * 1024 * 1024,
};
/// Fsa's defaults.
pub(crate) const FSA: Defaults = Defaults {
    base_url: "https://api.ratings.food.gov.uk/",
    timeout_ms: 10_000,
    keyed: false,
    // 20 establishments per page, about 2 KiB each.
    max_bytes: 1024 * 1024,
};
/// Google Places's defaults.
pub(crate) const GOOGLE_PLACES: Defaults = Defaults {
    base_url: "https://places.googleapis.com/v1/",
    timeout_ms: 10_000,
    keyed: true,
    // Five places with five reviews each.
    max_bytes: 1024 * 1024,
};
/// Postcodes's defaults.
pub(crate) const POSTCODES: Defaults = Defaults {
    base_url: "https://api.postcodes.io/",
    timeout_ms: 5_000,
    keyed: false,
    // One postcode record is about 2 KiB.
    max_bytes: 256 * 1024,
};
/// Overpass's defaults.
pub(crate) const OVERPASS: Defaults = Defaults {
    base_url: "https://overpass-api.de/api/",
    // Above the query's own `[timeout:20]` (see `neighbourhood::overpass_query`):
    // the server may run that long and queue first, and a client that gives
    // up at the server's own budget turns slow successes into timeouts.
    timeout_ms: 30_000,
    keyed: false,
    // Nine amenity kinds within 1 km of a city centre, tags and centres only.
    max_bytes: 8 * 1024 * 1024,
};
/// Firecrawl's defaults.
pub(crate) const FIRECRAWL: Defaults = Defaults {
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

/// Companies House's defaults.
pub(crate) const COMPANIES_HOUSE: Defaults = Defaults {
    // https://developer-specs.company-information.service.gov.uk/companies-house-public-data-api/reference
    base_url: "https://api.company-information.service.gov.uk/",
    timeout_ms: 10_000,
    keyed: true,
    // A company profile is about 2 KiB; a charges page of 25 items tens of KiB.
    max_bytes: 512 * 1024,
};

impl SourcesConfig {
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

    #[test]
    fn debug_redacts_keys() {
        let s = SourceConfig::new(Url::parse("https://x/").unwrap(), Duration::from_secs(1))
            .with_key("super-secret");
        let shown = format!("{s:?}");
        assert!(!shown.contains("super-secret"));
        assert!(shown.contains("redacted"));
    }
}
