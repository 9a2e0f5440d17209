//! The sources' variables (docs/SOURCES.md): for each
//! service `<PREFIX>_BASE_URL`, `<PREFIX>_TIMEOUT_MS`, `<PREFIX>_MAX_BYTES`
//! and, for the keyed ones, `<PREFIX>_API_KEY`, over the defaults the
//! sources layer holds; `OVERPASS_BASE_URLS`, `SOURCES_USER_AGENT` and
//! `SOURCES_CONTACT`.

use std::time::Duration;

use super::{env_parse, env_str, ConfigError};
use crate::sources::config::{
    parse_base_url, Defaults, COMPANIES_HOUSE, CQC, DEFAULT_USER_AGENT, FIRECRAWL, FSA,
    GOOGLE_PLACES, OVERPASS, POSTCODES,
};
use crate::sources::{CacheConfig, SourceConfig, SourcesConfig};

/// Reads `<PREFIX>_BASE_URL`, `<PREFIX>_TIMEOUT_MS` and (for CQC, Google
/// Places, Firecrawl and Companies House) `<PREFIX>_API_KEY` for the prefixes `CQC`, `FSA`,
/// `GOOGLE_PLACES`, `POSTCODES`, `OVERPASS` and `FIRECRAWL`. Unset or
/// blank variables take the defaults; a blank key counts as unset. Also
/// `OVERPASS_BASE_URLS` and `SOURCES_USER_AGENT`.
pub fn sources_config(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<SourcesConfig, ConfigError> {
    let read = |prefix: &str, d: &Defaults| settings_from(prefix, d, &lookup);
    let mut overpass = read("OVERPASS", &OVERPASS)?;
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
    Ok(SourcesConfig {
        cqc: read("CQC", &CQC)?,
        fsa: read("FSA", &FSA)?,
        google_places: read("GOOGLE_PLACES", &GOOGLE_PLACES)?,
        postcodes: read("POSTCODES", &POSTCODES)?,
        overpass,
        firecrawl: read("FIRECRAWL", &FIRECRAWL)?,
        companies_house: read("COMPANIES_HOUSE", &COMPANIES_HOUSE)?,
        overpass_mirrors,
        user_agent,
        contact,
        require_contact: false,
    })
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
    prefix: &str,
    d: &Defaults,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<SourceConfig, ConfigError> {
    let var = |suffix: &str| {
        let name = format!("{prefix}_{suffix}");
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

    let mut settings = SourceConfig::new(base_url, timeout).with_max_body_bytes(max_bytes);
    if d.keyed {
        if let (_, Some(key)) = var("API_KEY") {
            settings = settings.with_key(key);
        }
    }
    Ok(settings)
}

/// Why a `*_BASE_URL` was refused.
const BAD_BASE_URL: &str = "is not a valid http(s) base URL";

/// Reads `SOURCE_CACHE` and the `SOURCE_CACHE_TTL_*_SECS` variables
/// through `lookup`.
pub fn cache_settings(lookup: impl Fn(&str) -> Option<String>) -> Result<CacheConfig, ConfigError> {
    let d = CacheConfig::default();
    let enabled = match env_str(&lookup, "SOURCE_CACHE").as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(_) => return Err(ConfigError::invalid("SOURCE_CACHE", "expected on or off")),
    };
    let ttl = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
        match env_parse::<u64>(&lookup, name)? {
            Some(0) => Err(ConfigError::invalid(name, "must be at least 1")),
            Some(s) => Ok(Duration::from_secs(s)),
            None => Ok(default),
        }
    };
    Ok(CacheConfig {
        enabled,
        cqc: ttl("SOURCE_CACHE_TTL_CQC_SECS", d.cqc)?,
        fsa: ttl("SOURCE_CACHE_TTL_FSA_SECS", d.fsa)?,
        google_place_id: ttl("SOURCE_CACHE_TTL_GOOGLE_PLACE_ID_SECS", d.google_place_id)?,
        postcodes: ttl("SOURCE_CACHE_TTL_POSTCODES_SECS", d.postcodes)?,
        overpass: ttl("SOURCE_CACHE_TTL_OVERPASS_SECS", d.overpass)?,
        firecrawl: ttl("SOURCE_CACHE_TTL_FIRECRAWL_SECS", d.firecrawl)?,
        companies_house: ttl("SOURCE_CACHE_TTL_COMPANIES_HOUSE_SECS", d.companies_house)?,
    })
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
        let c = sources_config(|_| None).unwrap();
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
        let c = sources_config(lookup(&[
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
        let c = sources_config(lookup(&[
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
        assert!(sources_config(lookup(&[("SOURCES_USER_AGENT", "bad\nua")])).is_err());
        assert!(sources_config(lookup(&[("OVERPASS_BASE_URLS", "ftp://x")])).is_err());
        assert!(sources_config(lookup(&[("CQC_MAX_BYTES", "0")])).is_err());
    }

    #[test]
    fn the_contact_goes_into_the_one_agent_and_is_required_in_live_mode() {
        let c = sources_config(lookup(&[("SOURCES_CONTACT", " ops@care.example ")])).unwrap();
        assert_eq!(c.contact.as_deref(), Some("ops@care.example"));
        assert!(c
            .user_agent
            .ends_with("(UK care-home report service; +ops@care.example)"));
        assert!(c.names_a_contact());
        let url = sources_config(lookup(&[
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
            let err = sources_config(lookup(&[("SOURCES_CONTACT", bad)])).unwrap_err();
            assert_eq!(err.name, "SOURCES_CONTACT", "{bad}");
        }
        // The default agent names no contact: live mode refuses Overpass.
        let mut none = sources_config(|_| None).unwrap();
        assert!(!none.names_a_contact());
        assert!(none.overpass_allowed());
        none.require_contact = true;
        assert!(!none.overpass_allowed());
        // A custom agent with a contact in it counts.
        let mut custom = sources_config(lookup(&[(
            "SOURCES_USER_AGENT",
            "care-report/1 (+https://x.example; ops@x.example)",
        )]))
        .unwrap();
        custom.require_contact = true;
        assert!(custom.overpass_allowed());
    }

    #[test]
    fn bad_values_are_named() {
        let err = sources_config(lookup(&[("CQC_BASE_URL", "ftp://x")])).unwrap_err();
        assert!(err.to_string().contains("CQC_BASE_URL"));
        let err = sources_config(lookup(&[("FIRECRAWL_TIMEOUT_MS", "0")])).unwrap_err();
        assert!(err.to_string().contains("FIRECRAWL_TIMEOUT_MS"));
        let err = sources_config(lookup(&[("FSA_TIMEOUT_MS", "abc")])).unwrap_err();
        assert_eq!(err.name, "FSA_TIMEOUT_MS");
    }

    #[test]
    fn settings_from_the_environment() {
        let d = cache_settings(|_| None).unwrap();
        assert!(d.enabled);
        assert_eq!(d.cqc, Duration::from_secs(86_400));
        assert_eq!(d.overpass, Duration::from_secs(7 * 86_400));
        assert_eq!(d.longest(), Duration::from_secs(30 * 86_400));
        let off = cache_settings(|k| (k == "SOURCE_CACHE").then(|| "off".into())).unwrap();
        assert!(!off.enabled);
        assert!(cache_settings(|k| (k == "SOURCE_CACHE").then(|| "maybe".into())).is_err());
        let ttl =
            cache_settings(|k| (k == "SOURCE_CACHE_TTL_FSA_SECS").then(|| "60".into())).unwrap();
        assert_eq!(ttl.fsa, Duration::from_secs(60));
    }
}
