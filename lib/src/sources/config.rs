//! Where each source lives, how long we wait for it and which key it needs.
//!
//! Every source is configured the same way so the sandbox (and tests) can
//! point the real adapters at local servers by base URL alone:
//! `<PREFIX>_BASE_URL`, `<PREFIX>_TIMEOUT_MS` and, for the keyed sources,
//! `<PREFIX>_API_KEY`. The neighbourhood source talks to two services
//! (postcodes.io and Overpass), so it has two prefixes. Defaults are the real
//! public endpoints; the environment is read once, in
//! [`SourcesConfig::live_from_env`]. Keys never show in `Debug` output.

use std::fmt;
use std::time::Duration;

use url::Url;

/// Why the source configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A `*_BASE_URL` is not an absolute http(s) URL.
    #[error("{var} is not a valid http(s) base URL")]
    InvalidBaseUrl {
        /// The variable.
        var: String,
    },
    /// A `*_TIMEOUT_MS` is not a positive whole number of milliseconds.
    #[error("{var} must be a positive number of milliseconds")]
    InvalidTimeout {
        /// The variable.
        var: String,
    },
    /// The shared HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// One upstream service: base URL, key and timeout.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceSettings {
    /// Base URL; endpoint paths are appended to it (a trailing `/` is implied).
    pub base_url: Url,
    /// API key; `None` when the service needs none or none is configured.
    pub api_key: Option<String>,
    /// Timeout of each request to this service (connect to end of body).
    pub timeout: Duration,
}

impl SourceSettings {
    /// Settings with no key.
    pub fn new(base_url: Url, timeout: Duration) -> Self {
        Self {
            base_url,
            api_key: None,
            timeout,
        }
    }

    /// The same settings with a key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
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
            .finish()
    }
}

/// The configuration of all five sources.
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
}

/// One service's defaults.
struct Defaults {
    prefix: &'static str,
    base_url: &'static str,
    timeout_ms: u64,
    keyed: bool,
}

const CQC: Defaults = Defaults {
    prefix: "CQC",
    base_url: "https://api.service.cqc.org.uk/public/v1/",
    timeout_ms: 10_000,
    keyed: true,
};
const FSA: Defaults = Defaults {
    prefix: "FSA",
    base_url: "https://api.ratings.food.gov.uk/",
    timeout_ms: 10_000,
    keyed: false,
};
const GOOGLE_PLACES: Defaults = Defaults {
    prefix: "GOOGLE_PLACES",
    base_url: "https://places.googleapis.com/v1/",
    timeout_ms: 10_000,
    keyed: true,
};
const POSTCODES: Defaults = Defaults {
    prefix: "POSTCODES",
    base_url: "https://api.postcodes.io/",
    timeout_ms: 5_000,
    keyed: false,
};
const OVERPASS: Defaults = Defaults {
    prefix: "OVERPASS",
    base_url: "https://overpass-api.de/api/",
    // Overpass queues queries server-side; give it longer than the others.
    timeout_ms: 25_000,
    keyed: false,
};
const FIRECRAWL: Defaults = Defaults {
    prefix: "FIRECRAWL",
    base_url: "https://api.firecrawl.dev/v1/",
    // A scrape renders a whole web page.
    timeout_ms: 30_000,
    keyed: true,
};

impl SourcesConfig {
    /// Reads `<PREFIX>_BASE_URL`, `<PREFIX>_TIMEOUT_MS` and (for CQC, Google
    /// Places and Firecrawl) `<PREFIX>_API_KEY` for the prefixes `CQC`, `FSA`,
    /// `GOOGLE_PLACES`, `POSTCODES`, `OVERPASS` and `FIRECRAWL`. Unset or
    /// blank variables take the defaults; a blank key counts as unset.
    pub fn live_from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`SourcesConfig::live_from_env`] over any variable lookup (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |d: &Defaults| settings_from(d, &lookup);
        Ok(Self {
            cqc: read(&CQC)?,
            fsa: read(&FSA)?,
            google_places: read(&GOOGLE_PLACES)?,
            postcodes: read(&POSTCODES)?,
            overpass: read(&OVERPASS)?,
            firecrawl: read(&FIRECRAWL)?,
        })
    }

    /// postcodes.io's base URL (the geocoder of the matching step reuses it).
    pub fn postcodes_base(&self) -> &Url {
        &self.postcodes.base_url
    }
}

fn settings_from(
    d: &Defaults,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<SourceSettings, ConfigError> {
    let var = |suffix: &str| {
        let name = format!("{}_{suffix}", d.prefix);
        let value = lookup(&name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        (name, value)
    };

    let (name, value) = var("BASE_URL");
    let base_url = parse_base_url(value.as_deref().unwrap_or(d.base_url))
        .ok_or(ConfigError::InvalidBaseUrl { var: name })?;

    let (name, value) = var("TIMEOUT_MS");
    let timeout = match value {
        None => Duration::from_millis(d.timeout_ms),
        Some(v) => match v.parse::<u64>() {
            Ok(ms) if ms > 0 => Duration::from_millis(ms),
            _ => return Err(ConfigError::InvalidTimeout { var: name }),
        },
    };

    let mut settings = SourceSettings::new(base_url, timeout);
    if d.keyed {
        if let (_, Some(key)) = var("API_KEY") {
            settings = settings.with_key(key);
        }
    }
    Ok(settings)
}

/// Parses a base URL and gives its path a trailing `/`, so appending
/// endpoint segments never drops the last segment of the base.
pub fn parse_base_url(s: &str) -> Option<Url> {
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
            "https://api.firecrawl.dev/v1/"
        );
        assert!(c.cqc.key().is_none() && c.google_places.key().is_none());
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
    fn bad_values_are_named() {
        let err = SourcesConfig::from_lookup(lookup(&[("CQC_BASE_URL", "ftp://x")])).unwrap_err();
        assert!(err.to_string().contains("CQC_BASE_URL"));
        let err = SourcesConfig::from_lookup(lookup(&[("FIRECRAWL_TIMEOUT_MS", "0")])).unwrap_err();
        assert!(err.to_string().contains("FIRECRAWL_TIMEOUT_MS"));
        let err = SourcesConfig::from_lookup(lookup(&[("FSA_TIMEOUT_MS", "abc")])).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidTimeout { .. }));
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
