//! The HTTP layer's variables (docs/ENVIRONMENT.md, docs/API.md "Limits"
//! and docs/CONSOLE.md): CORS, the body limit, the cron secret, the
//! synchronous route's wait, the rate limits and budget, the console's
//! tokens, and the dev-server's serving limits, read into the plain config
//! values the HTTP layer and the hyper host take.

use std::time::Duration;

use super::{env_parse, env_str, is_vercel, ConfigError};
use crate::http::limits::{ClientIp, LimitsConfig, Rate};
use crate::http::ops::access::{Environment, OpsConfig, MIN_TOKEN_LEN};
use crate::http::sync::{SyncConfig, MAX_WAIT};
use crate::http::{CorsOrigins, HttpConfig, ServerLimits, MIN_BODY_BYTES};

/// The HTTP config: `CRON_SECRET`, `CORS_ALLOWED_ORIGINS`, `MAX_BODY_BYTES`,
/// and the synchronous route's, the limits' and the console's variables.
pub(super) fn http_config(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<HttpConfig, ConfigError> {
    let max_body_bytes = env_parse::<usize>(lookup, "MAX_BODY_BYTES")?
        .unwrap_or(HttpConfig::default().max_body_bytes);
    if max_body_bytes < MIN_BODY_BYTES {
        return Err(ConfigError::invalid(
            "MAX_BODY_BYTES",
            "must be at least 1024",
        ));
    }
    Ok(HttpConfig {
        cron_secret: env_str(lookup, "CRON_SECRET"),
        require_cron_secret: is_vercel(lookup),
        cors: cors_origins(lookup),
        max_body_bytes,
        sync: sync_config(lookup)?,
        limits: limits_config(lookup, is_vercel(lookup))?,
        ops: ops_config(lookup)?,
    })
}

/// `CORS_ALLOWED_ORIGINS`: a comma list of origins (a trailing `/` is
/// dropped), or `*` for any; unset or empty: none.
fn cors_origins(lookup: &impl Fn(&str) -> Option<String>) -> CorsOrigins {
    match env_str(lookup, "CORS_ALLOWED_ORIGINS") {
        None => CorsOrigins::None,
        Some(v) if v == "*" => CorsOrigins::Any,
        Some(v) => {
            let list: Vec<String> = v
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if list.is_empty() {
                CorsOrigins::None
            } else {
                CorsOrigins::List(list)
            }
        }
    }
}

/// `SYNC_REPORT_WAIT_SECS`, at most [`MAX_WAIT`].
fn sync_config(lookup: &impl Fn(&str) -> Option<String>) -> Result<SyncConfig, ConfigError> {
    let wait = match env_parse::<u64>(lookup, "SYNC_REPORT_WAIT_SECS")? {
        None => SyncConfig::default().wait,
        Some(secs) if Duration::from_secs(secs) <= MAX_WAIT => Duration::from_secs(secs),
        Some(_) => {
            return Err(ConfigError::invalid(
                "SYNC_REPORT_WAIT_SECS",
                "must be at most 290 (below the function's maxDuration of 300 s)",
            ))
        }
    };
    Ok(SyncConfig { wait })
}

/// The limits' defaults overridden by the `RATE_LIMIT_*` windows,
/// `DAILY_PAID_CALL_BUDGET`, `CLIENT_SHARE_PERCENT` and `TRUST_PROXY`. On
/// Vercel (`vercel`) the client address is always Vercel's header.
fn limits_config(
    lookup: &impl Fn(&str) -> Option<String>,
    vercel: bool,
) -> Result<LimitsConfig, ConfigError> {
    let mut c = LimitsConfig::default();
    for (name, slot) in [
        ("RATE_LIMIT_START_PER_CLIENT", &mut c.start_per_client),
        ("RATE_LIMIT_START_OVERALL", &mut c.start_overall),
        ("RATE_LIMIT_RETRY_PER_CLIENT", &mut c.retry_per_client),
        ("RATE_LIMIT_RETRY_OVERALL", &mut c.retry_overall),
    ] {
        if let Some(v) = env_str(lookup, name) {
            *slot = rate(name, &v)?;
        }
    }
    if let Some(v) = env_str(lookup, "DAILY_PAID_CALL_BUDGET") {
        c.daily_paid_calls = if v.eq_ignore_ascii_case("off") {
            None
        } else {
            Some(v.parse().map_err(|_| {
                ConfigError::invalid(
                    "DAILY_PAID_CALL_BUDGET",
                    "expected a whole number of calls or off",
                )
            })?)
        };
    }
    if let Some(v) = env_str(lookup, "CLIENT_SHARE_PERCENT") {
        c.client_share = share(&v)?;
    }
    c.client_ip = if vercel {
        ClientIp::Vercel
    } else {
        client_ip(lookup)?
    };
    Ok(c)
}

/// `TRUST_PROXY`: false (the peer), true (one proxy) or the number of
/// trusted proxies.
fn client_ip(lookup: &impl Fn(&str) -> Option<String>) -> Result<ClientIp, ConfigError> {
    match env_str(lookup, "TRUST_PROXY").map(|v| v.to_ascii_lowercase()) {
        None => Ok(ClientIp::Peer),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(ClientIp::Peer),
        Some(v) if ["true", "yes", "on"].contains(&v.as_str()) => {
            Ok(ClientIp::ForwardedFor { hops: 1 })
        }
        Some(v) => match v.parse::<usize>() {
            Ok(hops) if hops >= 1 => Ok(ClientIp::ForwardedFor { hops }),
            _ => Err(ConfigError::invalid(
                "TRUST_PROXY",
                "expected false, true or the number of trusted proxies",
            )),
        },
    }
}

/// A window `N/SECONDS` (e.g. `20/3600`) of variable `name`; `off` is
/// `None` (no limit).
fn rate(name: &str, value: &str) -> Result<Option<Rate>, ConfigError> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || ConfigError::invalid(name, "expected COUNT/SECONDS (e.g. 20/3600) or off");
    let (n, secs) = value.split_once('/').ok_or_else(bad)?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
    if n == 0 || secs == 0 {
        return Err(bad());
    }
    Ok(Some(Rate::per_secs(n, secs)))
}

/// `CLIENT_SHARE_PERCENT`: a whole percentage from 1 to 100, or `off`.
fn share(value: &str) -> Result<Option<u8>, ConfigError> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match value.parse::<u8>() {
        Ok(pct) if (1..=100).contains(&pct) => Ok(Some(pct)),
        _ => Err(ConfigError::invalid(
            "CLIENT_SHARE_PERCENT",
            "expected a whole percentage from 1 to 100, or off",
        )),
    }
}

/// The console: `OPS_TOKEN`, `OPS_READ_TOKEN` and `VERCEL_ENV`. A token
/// shorter than [`MIN_TOKEN_LEN`], or a read token equal to the full one,
/// is a configuration error.
fn ops_config(lookup: &impl Fn(&str) -> Option<String>) -> Result<OpsConfig, ConfigError> {
    let token = env_str(lookup, "OPS_TOKEN");
    let read_token = env_str(lookup, "OPS_READ_TOKEN");
    for (name, value) in [("OPS_TOKEN", &token), ("OPS_READ_TOKEN", &read_token)] {
        if value
            .as_ref()
            .is_some_and(|t| t.chars().count() < MIN_TOKEN_LEN)
        {
            return Err(ConfigError::invalid(
                name,
                "must be at least 16 characters (use a long random string)",
            ));
        }
    }
    if token.is_some() && token == read_token {
        return Err(ConfigError::invalid(
            "OPS_READ_TOKEN",
            "must differ from OPS_TOKEN",
        ));
    }
    Ok(OpsConfig {
        token,
        read_token,
        environment: environment(lookup),
    })
}

/// The console banner's environment, from `VERCEL_ENV` (Vercel sets
/// `production`, `preview` or `development`; unset: the dev-server).
fn environment(lookup: &impl Fn(&str) -> Option<String>) -> Environment {
    match env_str(lookup, "VERCEL_ENV").as_deref() {
        Some("production") => Environment::Production,
        Some("preview") => Environment::Preview,
        Some(_) => Environment::Development,
        None => Environment::Local,
    }
}

/// The dev-server's serving limits: the defaults overridden by
/// `HEADER_READ_TIMEOUT_SECS`, `BODY_READ_TIMEOUT_SECS` and
/// `MAX_CONNECTIONS` (each at least 1).
pub(super) fn server_limits(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<ServerLimits, ConfigError> {
    let mut l = ServerLimits::default();
    let positive = |name: &str| -> Result<Option<u64>, ConfigError> {
        match env_parse::<u64>(lookup, name)? {
            Some(0) => Err(ConfigError::invalid(name, "must be at least 1")),
            v => Ok(v),
        }
    };
    if let Some(s) = positive("HEADER_READ_TIMEOUT_SECS")? {
        l.header_read_timeout = Duration::from_secs(s);
    }
    if let Some(s) = positive("BODY_READ_TIMEOUT_SECS")? {
        l.body_read_timeout = Duration::from_secs(s);
    }
    if let Some(n) = positive("MAX_CONNECTIONS")? {
        l.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn config_reads_cors_secret_and_vercel_mode() {
        let c = http_config(&env(&[
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example/, https://b.example",
            ),
            ("CRON_SECRET", "s"),
            ("VERCEL", "1"),
        ]))
        .unwrap();
        assert_eq!(
            c.cors,
            CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()])
        );
        assert!(c.require_cron_secret);
        assert!(!format!("{c:?}").contains("\"s\""));
        assert_eq!(
            http_config(&env(&[("CORS_ALLOWED_ORIGINS", "*")]))
                .unwrap()
                .cors,
            CorsOrigins::Any
        );
        let e = http_config(&env(&[("MAX_BODY_BYTES", "1023")])).unwrap_err();
        assert_eq!(e.name, "MAX_BODY_BYTES");
        let e = http_config(&env(&[("SYNC_REPORT_WAIT_SECS", "291")])).unwrap_err();
        assert_eq!(e.name, "SYNC_REPORT_WAIT_SECS");
    }

    #[test]
    fn limits_from_env() {
        let c = limits_config(&env(&[]), false).unwrap();
        assert_eq!(c, LimitsConfig::default());
        let c = limits_config(
            &env(&[
                ("RATE_LIMIT_START_PER_CLIENT", "5/60"),
                ("RATE_LIMIT_RETRY_OVERALL", "off"),
                ("DAILY_PAID_CALL_BUDGET", "7"),
                ("TRUST_PROXY", "2"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(c.start_per_client, Some(Rate::per_secs(5, 60)));
        assert_eq!(c.retry_overall, None);
        assert_eq!(c.daily_paid_calls, Some(7));
        assert_eq!(c.client_ip, ClientIp::ForwardedFor { hops: 2 });
        // On Vercel, TRUST_PROXY cannot switch the header off.
        let c = limits_config(&env(&[("TRUST_PROXY", "false")]), true).unwrap();
        assert_eq!(c.client_ip, ClientIp::Vercel);
        let e = limits_config(&env(&[("RATE_LIMIT_START_OVERALL", "lots")]), false).unwrap_err();
        assert_eq!(e.name, "RATE_LIMIT_START_OVERALL");
        let c = limits_config(&env(&[("CLIENT_SHARE_PERCENT", "off")]), false).unwrap();
        assert_eq!((c.client_share, c.client_budget()), (None, None));
        for bad in ["0", "101", "half"] {
            let pairs: &'static [(&'static str, &'static str)] = match bad {
                "0" => &[("CLIENT_SHARE_PERCENT", "0")],
                "101" => &[("CLIENT_SHARE_PERCENT", "101")],
                _ => &[("CLIENT_SHARE_PERCENT", "half")],
            };
            let e = limits_config(&env(pairs), false).unwrap_err();
            assert_eq!(e.name, "CLIENT_SHARE_PERCENT");
        }
    }

    #[test]
    fn console_settings_refuse_short_or_equal_tokens_and_hide_them() {
        assert!(ops_config(&env(&[("OPS_TOKEN", "short")])).is_err());
        assert!(ops_config(&env(&[
            ("OPS_TOKEN", "same-token-0123456789"),
            ("OPS_READ_TOKEN", "same-token-0123456789")
        ]))
        .is_err());
        let c = ops_config(&env(&[
            ("OPS_TOKEN", "admin-token-0123456789"),
            ("VERCEL_ENV", "preview"),
        ]))
        .unwrap();
        assert!(c.enabled());
        assert_eq!(c.environment, Environment::Preview);
        assert!(!format!("{c:?}").contains("admin-token"));
        assert!(!ops_config(&env(&[])).unwrap().enabled());
    }

    #[test]
    fn server_limits_refuse_zero() {
        assert_eq!(server_limits(&env(&[])).unwrap(), ServerLimits::default());
        let l = server_limits(&env(&[("MAX_CONNECTIONS", "3")])).unwrap();
        assert_eq!(l.max_connections, 3);
        let e = server_limits(&env(&[("BODY_READ_TIMEOUT_SECS", "0")])).unwrap_err();
        assert_eq!(e.name, "BODY_READ_TIMEOUT_SECS");
    }
}
