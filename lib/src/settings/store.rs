//! The store's variables (docs/STORE.md): the Redis URL, the key
//! prefix, timeouts, the TLS CA and retention, read into plain
//! [`RedisConfig`] and [`Retention`] values.

use std::time::Duration;

use super::{env_str, env_whole, ConfigError};
use crate::store::{RedisConfig, Retention, TlsCa};

/// Environment variable: key prefix (default `care-report:`).
pub(crate) const ENV_KEY_PREFIX: &str = "REDIS_KEY_PREFIX";
/// Environment variable: response timeout in milliseconds (default 2000).
pub(crate) const ENV_RESPONSE_TIMEOUT_MS: &str = "REDIS_RESPONSE_TIMEOUT_MS";
/// Environment variable: connection timeout in milliseconds (default 3000).
pub(crate) const ENV_CONNECT_TIMEOUT_MS: &str = "REDIS_CONNECT_TIMEOUT_MS";
/// Environment variable: a PEM file of the CA(s) that sign the Redis
/// server's TLS certificate, for private deployments (unset: the public web
/// roots, which Upstash's certificates chain to).
pub(crate) const ENV_CA_FILE: &str = "REDIS_CA_FILE";
/// The variables holding the Redis URL, in order of precedence.
pub(crate) const URL_VARS: [&str; 3] = ["KV_REDIS_URL", "KV_URL", "REDIS_URL"];

/// The Redis URL read through `lookup`: `KV_REDIS_URL`, then `KV_URL`, then
/// `REDIS_URL`; the first one set and non-empty wins. It holds a password:
/// never log it. A value the client cannot parse is a [`ConfigError`]
/// naming the variable it came from (a deployment mistake, 500
/// `server_misconfigured`; not an outage, which a 503 would suggest).
pub(super) fn redis_url_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    let Some((var, url)) = URL_VARS
        .iter()
        .find_map(|var| env_str(&lookup, var).map(|url| (*var, url)))
    else {
        return Ok(None);
    };
    match ::redis::IntoConnectionInfo::into_connection_info(url.as_str()) {
        Ok(_) => Ok(Some(url)),
        Err(_) => Err(ConfigError::invalid(
            var,
            "is not a Redis URL (expected redis://[:password@]host[:port] or rediss://…)",
        )),
    }
}

/// Environment variable: [`Retention::ttl_after_update`] in seconds.
pub(crate) const ENV_JOB_TTL_SECS: &str = "JOB_TTL_SECS";
/// Environment variable: [`Retention::margin_after_deadline`] in seconds.
pub(crate) const ENV_JOB_TTL_DEADLINE_MARGIN_SECS: &str = "JOB_TTL_DEADLINE_MARGIN_SECS";

/// The defaults overridden by `JOB_TTL_SECS` and
/// `JOB_TTL_DEADLINE_MARGIN_SECS` (unset or empty keeps the default),
/// read through `lookup`.
pub(super) fn retention(lookup: impl Fn(&str) -> Option<String>) -> Result<Retention, ConfigError> {
    let mut retention = Retention::default();
    if let Some(secs) = env_whole(&lookup, ENV_JOB_TTL_SECS, 1)? {
        retention.ttl_after_update = Duration::from_secs(secs);
    }
    if let Some(secs) = env_whole(&lookup, ENV_JOB_TTL_DEADLINE_MARGIN_SECS, 0)? {
        retention.margin_after_deadline = Duration::from_secs(secs);
    }
    Ok(retention)
}

/// The defaults overridden by `REDIS_KEY_PREFIX`,
/// `REDIS_RESPONSE_TIMEOUT_MS`, `REDIS_CONNECT_TIMEOUT_MS` and the
/// retention variables of [`retention`], read through `lookup`.
pub(super) fn redis_config(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<RedisConfig, ConfigError> {
    let mut config = RedisConfig {
        retention: retention(&lookup)?,
        ..RedisConfig::default()
    };
    if let Some(prefix) = env_str(&lookup, ENV_KEY_PREFIX) {
        config.prefix = prefix;
    }
    if let Some(ms) = env_whole(&lookup, ENV_RESPONSE_TIMEOUT_MS, 1)? {
        config.response_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = env_whole(&lookup, ENV_CONNECT_TIMEOUT_MS, 1)? {
        config.connection_timeout = Duration::from_millis(ms);
    }
    if let Some(path) = env_str(&lookup, ENV_CA_FILE) {
        let ca = TlsCa::from_file(std::path::Path::new(&path))
            .map_err(|why| ConfigError::invalid(ENV_CA_FILE, &why))?;
        config.tls_ca = Some(ca);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RedisStore, StoreError};

    fn env<'a>(pairs: &'a [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn url_precedence_and_empty_values() {
        fn redis_url_from_lookup(l: impl Fn(&str) -> Option<String>) -> Option<String> {
            super::redis_url_from_lookup(l).unwrap()
        }
        assert_eq!(redis_url_from_lookup(env(&[])), None);
        assert_eq!(
            redis_url_from_lookup(env(&[("REDIS_URL", "redis://c"), ("KV_URL", "redis://b")])),
            Some("redis://b".to_owned())
        );
        assert_eq!(
            redis_url_from_lookup(env(&[
                ("REDIS_URL", "redis://c"),
                ("KV_URL", "redis://b"),
                ("KV_REDIS_URL", "rediss://a")
            ])),
            Some("rediss://a".to_owned())
        );
        assert_eq!(
            redis_url_from_lookup(env(&[("KV_REDIS_URL", " "), ("REDIS_URL", "redis://c")])),
            Some("redis://c".to_owned())
        );
    }

    #[test]
    fn config_from_env() {
        let c = redis_config(env(&[])).unwrap();
        assert_eq!(c, RedisConfig::default());
        assert_eq!(c.prefix, "care-report:");
        let c = redis_config(env(&[
            ("REDIS_KEY_PREFIX", "x:"),
            ("REDIS_RESPONSE_TIMEOUT_MS", "100"),
            ("REDIS_CONNECT_TIMEOUT_MS", "200"),
            ("JOB_TTL_SECS", "60"),
        ]))
        .unwrap();
        assert_eq!(c.prefix, "x:");
        assert_eq!(c.response_timeout, Duration::from_millis(100));
        assert_eq!(c.connection_timeout, Duration::from_millis(200));
        assert_eq!(c.retention.ttl_after_update, Duration::from_secs(60));
        let err = redis_config(env(&[("REDIS_CONNECT_TIMEOUT_MS", "soon")])).unwrap_err();
        assert!(err.to_string().contains("REDIS_CONNECT_TIMEOUT_MS"));
    }

    #[test]
    fn a_malformed_url_is_a_setting_error_naming_its_variable() {
        let err =
            redis_url_from_lookup(env(&[("REDIS_URL", "nonsense://:hunter2@x")])).unwrap_err();
        assert_eq!(err.name, "REDIS_URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = redis_url_from_lookup(env(&[("KV_URL", "not a url")])).unwrap_err();
        assert_eq!(err.name, "KV_URL");
    }

    /// `REDIS_CA_FILE`: a readable PEM with certificates is taken; a
    /// missing file, or one with no certificate, is a startup error naming
    /// the variable; a CA with a plain `redis://` URL is refused at connect.
    #[tokio::test]
    async fn the_ca_file_setting_is_checked_when_read() {
        let dir = std::env::temp_dir().join(format!("care-report-ca-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let missing = dir.join("missing.pem");
        let with_ca = |path: String| move |k: &str| (k == "REDIS_CA_FILE").then(|| path.clone());
        for (path, why) in [
            (&empty, "holds no PEM certificate"),
            (&missing, "cannot be read"),
        ] {
            let lookup = with_ca(path.display().to_string());
            let err = redis_config(lookup).unwrap_err().to_string();
            assert!(err.contains("REDIS_CA_FILE") && err.contains(why), "{err}");
        }
        let ca = care_report_testing::tls_redis::server().ca_file.clone();
        let config = redis_config(with_ca(ca.display().to_string())).unwrap();
        let tls = config.tls_ca.clone().expect("CA read");
        assert_eq!(tls.certificates(), 1);
        assert_eq!(format!("{tls:?}"), "TlsCa(1 certificates)");
        let err = RedisStore::connect("redis://127.0.0.1:1", config)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Tls(m) if m.contains("not rediss://")),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
