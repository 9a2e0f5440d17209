//! Who may see the operators' console, and the headers every console
//! answer carries.
//!
//! - Off unless `OPS_TOKEN` is set: every console path is then an unknown
//!   route (404), so a deployment without it shows nothing.
//! - HTTP Basic authentication (RFC 7617) whose password is the token, any
//!   user name, compared in constant time as the cron secret is.
//!   `OPS_READ_TOKEN` lets its holder read every page; actions answer 403.
//!   Bull Board and Sidekiq Web ship without authentication and ask their
//!   users to add it (../shared/research/UPSTASH_CONSOLE_WAITING.md, B);
//!   Vercel's Deployment Protection cannot be the gate, since it would
//!   also close the public API.
//! - Failed logins are limited per client ([`LOGIN_FAILURES`] per
//!   [`LOGIN_WINDOW`], in the store, so every instance shares the count);
//!   once the limit is reached even the right password waits (429).
//! - Every form carries a CSRF token derived from the token and the UTC
//!   day (the browser sends Basic credentials with a forged cross-site
//!   form too; it cannot know this value); yesterday's is still accepted.
//! - No token is ever logged; `Debug` prints `<set>`.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{header, HeaderMap, HeaderValue, Request};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Failed logins one client may make per [`LOGIN_WINDOW`].
pub const LOGIN_FAILURES: u64 = 10;
/// The failed-login window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The shortest token accepted (a guessable token is a configuration error).
pub const MIN_TOKEN_LEN: usize = 16;

/// Where the service runs, for the console's banner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// The dev-server (no `VERCEL_ENV`).
    Local,
    /// A Vercel development deployment (`vercel dev`).
    Development,
    /// A Vercel preview deployment.
    Preview,
    /// The production deployment.
    Production,
}

impl Environment {
    /// Its name on the banner.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Development => "development",
            Self::Preview => "preview",
            Self::Production => "production",
        }
    }
}

/// The console's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct OpsConfig {
    /// `OPS_TOKEN`: full access; `None`: the console is off (404).
    pub token: Option<String>,
    /// `OPS_READ_TOKEN`: read-only access.
    pub read_token: Option<String>,
    /// The banner's environment.
    pub environment: Environment,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            token: None,
            read_token: None,
            environment: Environment::Local,
        }
    }
}

impl std::fmt::Debug for OpsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsConfig")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("read_token", &self.read_token.as_ref().map(|_| "<set>"))
            .field("environment", &self.environment)
            .finish()
    }
}

impl OpsConfig {
    /// Whether the console is served at all.
    pub fn enabled(&self) -> bool {
        self.token.as_deref().is_some_and(|t| !t.is_empty())
    }
}

/// What the credentials allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Every page and every action.
    Admin,
    /// Every page; actions answer 403.
    ReadOnly,
}

/// Why a request is not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No Basic credentials at all (a browser's first request): 401.
    Missing,
    /// Credentials that match no token: 401, counted as a failed login.
    Wrong,
}

/// The Basic credentials' password, when the header holds any.
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    // RFC 7617: the user name holds no colon; the password may.
    text.split_once(':').map(|(_, pass)| pass.to_owned())
}

fn same(given: &str, secret: Option<&str>) -> bool {
    secret.is_some_and(|s| !s.is_empty() && bool::from(given.as_bytes().ct_eq(s.as_bytes())))
}

/// The role the request's credentials give.
pub fn role(config: &OpsConfig, headers: &HeaderMap) -> Result<Role, Denied> {
    let has_auth = headers.contains_key(header::AUTHORIZATION);
    let Some(password) = basic_password(headers) else {
        return Err(if has_auth {
            Denied::Wrong
        } else {
            Denied::Missing
        });
    };
    // Both compared, always, so the time taken does not tell which matched.
    let admin = same(&password, config.token.as_deref());
    let read = same(&password, config.read_token.as_deref());
    match (admin, read) {
        (true, _) => Ok(Role::Admin),
        (false, true) => Ok(Role::ReadOnly),
        (false, false) => Err(Denied::Wrong),
    }
}

/// The CSRF token of the UTC day `now` falls in.
pub fn csrf_token(config: &OpsConfig, now: DateTime<Utc>) -> String {
    csrf_for_day(config, &now.format("%Y-%m-%d").to_string())
}

fn csrf_for_day(config: &OpsConfig, day: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"care-report ops csrf\n")
        .chain_update(config.token.as_deref().unwrap_or_default().as_bytes())
        .chain_update(b"\n")
        .chain_update(day.as_bytes())
        .finalize();
    super::super::hex(&digest)
}

/// Whether `given` is today's or yesterday's CSRF token.
pub fn csrf_ok(config: &OpsConfig, given: &str, now: DateTime<Utc>) -> bool {
    let yesterday = now - chrono::Duration::days(1);
    [now, yesterday].iter().any(|t| {
        let want = csrf_token(config, *t);
        !given.is_empty() && bool::from(given.as_bytes().ct_eq(want.as_bytes()))
    })
}

/// Whether a POST's `Origin`, when sent, is this host (a browser sends it
/// with every cross-site form post).
pub fn same_origin(req: &Request<Bytes>) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| url::Url::parse(o).ok())
        .map(|u| match u.port() {
            Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
            None => u.host_str().unwrap_or_default().to_owned(),
        });
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(&o))
}

/// The style sheet's CSP hash (`'sha256-…'`): the page's one inline
/// `<style>` is allowed, nothing else (no script, no image, no frame).
pub fn content_security_policy(css: &str) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// The headers of every console answer, errors included.
pub fn secure(headers: &mut HeaderMap, csp: &str) {
    if let Ok(v) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OpsConfig {
        OpsConfig {
            token: Some("admin-token-0123456789".into()),
            read_token: Some("read-token-0123456789".into()),
            environment: Environment::Local,
        }
    }

    fn basic(user: &str, pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {enc}")).unwrap(),
        );
        h
    }

    #[test]
    fn roles_follow_the_password_whatever_the_user() {
        let c = config();
        assert_eq!(
            role(&c, &basic("x", "admin-token-0123456789")),
            Ok(Role::Admin)
        );
        assert_eq!(
            role(&c, &basic("", "read-token-0123456789")),
            Ok(Role::ReadOnly)
        );
        assert_eq!(
            role(&c, &basic("admin-token-0123456789", "")),
            Err(Denied::Wrong)
        );
        assert_eq!(role(&c, &HeaderMap::new()), Err(Denied::Missing));
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer admin-token-0123456789"),
        );
        assert_eq!(role(&c, &bearer), Err(Denied::Wrong));
    }

    #[test]
    fn csrf_tokens_change_daily_and_yesterdays_still_works() {
        let c = config();
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .to_utc();
        let today = csrf_token(&c, now);
        assert!(csrf_ok(&c, &today, now));
        assert!(csrf_ok(&c, &today, now + chrono::Duration::days(1)));
        assert!(!csrf_ok(&c, &today, now + chrono::Duration::days(2)));
        assert!(!csrf_ok(&c, "", now));
        let other = OpsConfig {
            token: Some("another-token-0123456789".into()),
            ..c.clone()
        };
        assert!(!csrf_ok(&other, &today, now));
    }
}
