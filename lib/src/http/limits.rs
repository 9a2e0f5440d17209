//! Spend limits at the API's door: per-client and overall sliding windows
//! on the routes that cost money (`start`, the synchronous
//! `POST /api/professional-report`, `retry`), and the daily budget of paid
//! upstream calls that a new job needs.
//!
//! A handler that starts paid work makes ONE call, [`check`], before
//! anything else and adds the returned [`Allowance`]'s headers to its
//! answer. `start` and `retry` do; the synchronous route must call
//! `check(app, &req, Action::Start)` too (it shares `start`'s windows: one
//! report is one report, whichever route builds it), and
//! [`budget_open`] before it builds.
//!
//! Who "a client" is: on Vercel only the address Vercel's edge writes into
//! `x-vercel-forwarded-for`, which a caller cannot set (`x-real-ip` is
//! never read: a caller can send it, and it would pick its own bucket);
//! a request without it falls into one shared bucket, `unknown`. On the
//! dev-server the socket's peer address (the hyper host passes it as a
//! [`PeerAddr`] request extension); `x-forwarded-for` only when
//! `TRUST_PROXY` says how many proxies in front append to it. IPv6
//! addresses count by their /64, which one household or one machine gets
//! whole. Addresses are stored only hashed (SHA-256, truncated), never as
//! written.
//!
//! Fair shares: one client may take at most `CLIENT_SHARE_PERCENT` of the
//! overall start (and retry) window and of the day's budget of paid calls
//! ([`LimitsConfig::client_share`]), so a single client (or every request
//! without an address, which share one bucket) cannot crowd out the rest.
//! The window share is one more sliding window checked in the same atomic
//! step; the budget share is the client's own day counter, which a new
//! job's admission reads and each paid call spends (`engine::budget`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use sha2::{Digest, Sha256};

use super::{hex, ApiError, App};
use crate::store::limits::{
    budget_day, client_budget_day, remaining, retry_after, until_budget_reset, HitOutcome, Window,
    WindowCount,
};
use crate::store::{to_ms, StoreError};

/// The peer's socket address, set by a host that has one (the dev-server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// At most `limit` hits per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Hits per window (at least 1).
    pub limit: u64,
    /// The window.
    pub window: Duration,
}

impl Rate {
    /// `limit` per `secs` seconds.
    pub const fn per_secs(limit: u64, secs: u64) -> Self {
        Self {
            limit,
            window: Duration::from_secs(secs),
        }
    }
}

/// Where a request's client address comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientIp {
    /// `x-vercel-forwarded-for` (set by Vercel's edge); nothing else.
    Vercel,
    /// The socket's peer address ([`PeerAddr`]).
    Peer,
    /// The `hops`-th address from the right of `x-forwarded-for` (each of
    /// the `hops` trusted proxies appends one), else the peer.
    ForwardedFor {
        /// Trusted proxies in front of the server (at least 1).
        hops: usize,
    },
}

/// Every knob of the limits (docs/API.md "Limits"; defaults in docs/ENVIRONMENT.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Starts per client (`RATE_LIMIT_START_PER_CLIENT`, default 20/3600).
    pub start_per_client: Option<Rate>,
    /// Starts overall, every client together (`RATE_LIMIT_START_OVERALL`,
    /// default 300/3600).
    pub start_overall: Option<Rate>,
    /// Manual retries per client (`RATE_LIMIT_RETRY_PER_CLIENT`, default
    /// 60/3600).
    pub retry_per_client: Option<Rate>,
    /// Manual retries overall (`RATE_LIMIT_RETRY_OVERALL`, default 600/3600).
    pub retry_overall: Option<Rate>,
    /// Paid upstream calls per UTC day, shared by every instance
    /// (`DAILY_PAID_CALL_BUDGET`, default 2000; `off` for none).
    pub daily_paid_calls: Option<u64>,
    /// Where the client address comes from (`TRUST_PROXY` on the
    /// dev-server; always [`ClientIp::Vercel`] in a Vercel function).
    pub client_ip: ClientIp,
    /// The most one client may take, in percent, of the overall start and
    /// retry windows and of the daily budget (`CLIENT_SHARE_PERCENT`,
    /// default 25; `off` for no bound).
    pub client_share: Option<u8>,
}

impl Default for LimitsConfig {
    /// Generous for a family (a report takes minutes to read; 20 an hour
    /// from one address is far more than anyone needs) and tight for a
    /// script (20 an hour, 300 an hour overall, 2,000 paid calls a day: a
    /// report makes about 10).
    fn default() -> Self {
        Self {
            start_per_client: Some(Rate::per_secs(20, 3600)),
            start_overall: Some(Rate::per_secs(300, 3600)),
            retry_per_client: Some(Rate::per_secs(60, 3600)),
            retry_overall: Some(Rate::per_secs(600, 3600)),
            daily_paid_calls: Some(2000),
            client_ip: ClientIp::Peer,
            client_share: Some(25),
        }
    }
}

impl LimitsConfig {
    /// No limit at all (tests that drive thousands of jobs from one client).
    pub fn unlimited() -> Self {
        Self {
            start_per_client: None,
            start_overall: None,
            retry_per_client: None,
            retry_overall: None,
            daily_paid_calls: None,
            client_ip: ClientIp::Peer,
            client_share: None,
        }
    }

    /// One client's share of `total` ([`LimitsConfig::client_share`]),
    /// rounded up and at least 1; `None` when there is no share.
    pub fn share_of(&self, total: u64) -> Option<u64> {
        let pct = u64::from(self.client_share?);
        Some(total.saturating_mul(pct).div_ceil(100).max(1))
    }

    /// How many of the day's paid calls one client's jobs may take
    /// (`None`: no budget or no share), for `Engine::with_client_budget`.
    pub fn client_budget(&self) -> Option<u64> {
        self.share_of(self.daily_paid_calls?)
    }
}

/// The route families that are limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new report: `start` and the synchronous route.
    Start,
    /// A manual retry.
    Retry,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Retry => "retry",
        }
    }
}

/// The client's address as [`LimitsConfig::client_ip`] says, or `None`
/// when the request carries none (an in-process call).
pub(crate) fn client_ip(req: &Request<Bytes>, source: ClientIp) -> Option<IpAddr> {
    let header_ip = |name: &str, from_right: Option<usize>| -> Option<IpAddr> {
        let v = req.headers().get(name)?.to_str().ok()?;
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        let part = match from_right {
            None => parts.first().copied(),
            Some(n) => parts
                .len()
                .checked_sub(n)
                .and_then(|i| parts.get(i).copied()),
        }?;
        parse_ip(part)
    };
    let peer = || req.extensions().get::<PeerAddr>().map(|p| p.0.ip());
    match source {
        // Only Vercel's own header: `x-real-ip` is the caller's to send,
        // and without the header there is no address (one shared bucket).
        ClientIp::Vercel => header_ip("x-vercel-forwarded-for", None),
        ClientIp::Peer => peer(),
        ClientIp::ForwardedFor { hops } => header_ip("x-forwarded-for", Some(hops)).or_else(peer),
    }
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The bucket name of a client: a hash of its address (IPv6 by /64), so
/// no address is stored as written. No address at all is one shared
/// client, `unknown`.
pub(crate) fn client_key(ip: Option<IpAddr>) -> String {
    let Some(ip) = ip else {
        return "unknown".to_owned();
    };
    let canonical = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    };
    hex(&Sha256::digest(canonical.as_bytes())[..12])
}

/// What [`check`] allowed: the `RateLimit-*` headers of the tightest
/// window, for the answer.
#[derive(Clone, Debug, Default)]
pub struct Allowance {
    headers: Vec<(&'static str, HeaderValue)>,
    /// The client's bucket name (scopes idempotency keys too).
    pub client: String,
}

impl Allowance {
    /// No window was counted (a replayed start): no headers.
    pub(crate) fn for_client(client: String) -> Self {
        Self {
            headers: Vec::new(),
            client,
        }
    }

    /// Adds the `RateLimit-*` headers to `response`.
    pub(crate) fn apply(&self, response: &mut Response<Bytes>) {
        for (name, value) in &self.headers {
            response.headers_mut().insert(*name, value.clone());
        }
    }
}

/// The `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers:
/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` in seconds,
/// and `RateLimit-Policy` as `limit;w=window`).
pub(crate) fn rate_headers(
    limit: u64,
    window: Duration,
    remaining: u64,
    reset: Duration,
) -> Vec<(&'static str, HeaderValue)> {
    vec![
        ("ratelimit-limit", HeaderValue::from(limit)),
        ("ratelimit-remaining", HeaderValue::from(remaining)),
        ("ratelimit-reset", HeaderValue::from(secs_up(reset))),
        (
            "ratelimit-policy",
            HeaderValue::from_str(&format!("{limit};w={}", window.as_secs().max(1)))
                .unwrap_or_else(|_| HeaderValue::from_static("0")),
        ),
    ]
}

/// Whole seconds, rounded up.
pub(crate) fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Counts one `action` by this request's client against the per-client and
/// the overall window, atomically in the store. `Err(RateLimited)` (429
/// with `Retry-After` and `RateLimit-*`) when either is full; nothing is
/// counted then. A store without limits (a test wrapper) allows everything.
pub async fn check(app: &App, req: &Request<Bytes>, action: Action) -> Result<Allowance, ApiError> {
    let config = &app.config.limits;
    let client = client_key(client_ip(req, config.client_ip));
    let windows = windows(config, action, &client);
    let store = app.engine.store();
    let (Some(limits), false) = (store.limits(), windows.is_empty()) else {
        return Ok(Allowance {
            headers: Vec::new(),
            client,
        });
    };
    let now = app.engine.now();
    let now_ms = to_ms(now);
    let plain: Vec<Window> = windows.iter().map(|(w, _)| w.clone()).collect();
    match limits.hit(&plain, now).await? {
        HitOutcome::Allowed(counts) => Ok(Allowance {
            headers: tightest_headers(&plain, &counts, now_ms),
            client,
        }),
        HitOutcome::Refused { index, count } => {
            let (w, scope) = windows
                .get(index)
                .cloned()
                .ok_or_else(|| StoreError::Corrupt("rate limit window index".into()))?;
            let wait = retry_after(count, w.limit, now_ms, window_ms(&w));
            tracing::info!(action = action.name(), scope, "rate limited");
            Err(ApiError::RateLimited {
                scope,
                limit: w.limit,
                window: w.window,
                retry_after: wait.max(Duration::from_secs(1)),
            })
        }
    }
}

/// The windows `action` counts against, each with its scope (`client` or
/// `overall`); a window that is off is left out.
fn windows(config: &LimitsConfig, action: Action, client: &str) -> Vec<(Window, &'static str)> {
    let (per_client, overall) = match action {
        Action::Start => (config.start_per_client, config.start_overall),
        Action::Retry => (config.retry_per_client, config.retry_overall),
    };
    let mut windows: Vec<(Window, &'static str)> = Vec::with_capacity(2);
    if let Some(r) = per_client {
        windows.push((
            Window {
                key: format!("{}:client:{client}", action.name()),
                limit: r.limit,
                window: r.window,
            },
            "client",
        ));
    }
    if let Some(r) = overall {
        windows.push((
            Window {
                key: format!("{}:overall", action.name()),
                limit: r.limit,
                window: r.window,
            },
            "overall",
        ));
    }
    if let Some(share) = share_window(config, per_client, overall, action, client) {
        windows.push((share, "client"));
    }
    windows
}

/// The client's share of the overall window, when the per-client window
/// does not already hold it there (none, another length, or a higher
/// limit).
fn share_window(
    config: &LimitsConfig,
    per_client: Option<Rate>,
    overall: Option<Rate>,
    action: Action,
    client: &str,
) -> Option<Window> {
    let overall = overall?;
    let cap = config.share_of(overall.limit)?;
    if per_client.is_some_and(|r| r.window == overall.window && r.limit <= cap) {
        return None;
    }
    Some(Window {
        key: format!("{}:share:{client}", action.name()),
        limit: cap,
        window: overall.window,
    })
}

/// A window's length in milliseconds, as the store counts it.
fn window_ms(w: &Window) -> i64 {
    crate::store::limits::window_ms(w.window)
}

/// The `RateLimit-*` headers of the window with the fewest hits left once a
/// hit was allowed; none when there is no window.
fn tightest_headers(
    windows: &[Window],
    counts: &[WindowCount],
    now_ms: i64,
) -> Vec<(&'static str, HeaderValue)> {
    let tightest = windows
        .iter()
        .zip(counts)
        .min_by_key(|(w, c)| remaining(**c, w.limit, now_ms, window_ms(w)));
    match tightest {
        Some((w, c)) => {
            let left = remaining(*c, w.limit, now_ms, window_ms(w));
            let full = WindowCount {
                current: c.current + left,
                previous: c.previous,
            };
            rate_headers(
                w.limit,
                w.window,
                left,
                retry_after(full, w.limit, now_ms, window_ms(w)).max(Duration::from_secs(0)),
            )
        }
        None => Vec::new(),
    }
}

/// Whether the day's budget of paid calls, and `client`'s share of it,
/// still have room for a new job. `Err(BudgetSpent)` (503
/// `budget_exhausted`, `Retry-After` until 00:00 UTC) when either is
/// spent. Jobs already accepted are not refused: their paid calls wait for
/// the next day (see `engine::budget`).
pub(crate) async fn budget_open(app: &App, client: &str) -> Result<(), ApiError> {
    let config = &app.config.limits;
    let (Some(limit), Some(limits)) = (config.daily_paid_calls, app.engine.store().limits()) else {
        return Ok(());
    };
    let now = app.engine.now();
    let retry_after = until_budget_reset(now);
    if limits.spent(&budget_day(now)).await? >= limit {
        return Err(ApiError::BudgetSpent {
            retry_after,
            client: false,
        });
    }
    if let Some(share) = config.client_budget() {
        if limits.spent(&client_budget_day(now, client)).await? >= share {
            tracing::info!("a client's share of the daily budget is spent; start refused");
            return Err(ApiError::BudgetSpent {
                retry_after,
                client: true,
            });
        }
    }
    Ok(())
}

/// The headers of a 429 (`Retry-After` and `RateLimit-*`).
pub(crate) fn refusal_headers(
    headers: &mut HeaderMap,
    limit: u64,
    window: Duration,
    retry_after: Duration,
) {
    for (name, value) in rate_headers(limit, window, 0, retry_after) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], peer: Option<&str>) -> Request<Bytes> {
        let mut b = Request::builder().uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut r = b.body(Bytes::new()).unwrap();
        if let Some(p) = peer {
            r.extensions_mut().insert(PeerAddr(p.parse().unwrap()));
        }
        r
    }

    #[test]
    fn client_address_sources() {
        let spoof = [
            ("x-forwarded-for", "6.6.6.6, 10.0.0.1"),
            ("x-vercel-forwarded-for", "1.2.3.4"),
        ];
        let r = req(&spoof, Some("127.0.0.1:5000"));
        assert_eq!(
            client_ip(&r, ClientIp::Vercel),
            Some("1.2.3.4".parse().unwrap())
        );
        // The dev-server ignores headers unless told to trust a proxy.
        assert_eq!(
            client_ip(&r, ClientIp::Peer),
            Some("127.0.0.1".parse().unwrap())
        );
        // One trusted proxy: the address it appended, not the client's claim.
        assert_eq!(
            client_ip(&r, ClientIp::ForwardedFor { hops: 1 }),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            client_ip(&r, ClientIp::ForwardedFor { hops: 2 }),
            Some("6.6.6.6".parse().unwrap())
        );
        // On Vercel `x-real-ip` (which a caller can send) and the peer are
        // never read: without Vercel's header, the shared bucket.
        let r = req(&[("x-real-ip", "5.6.7.8")], Some("127.0.0.1:5000"));
        assert_eq!(client_ip(&r, ClientIp::Vercel), None);
        assert_eq!(client_key(client_ip(&r, ClientIp::Vercel)), "unknown");
        assert_eq!(client_ip(&req(&[], None), ClientIp::Peer), None);
    }

    #[test]
    fn client_keys_hash_addresses_and_group_ipv6_by_64() {
        let a = client_key(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = client_key(Some("2001:db8:1:2:bbbb::2".parse().unwrap()));
        let c = client_key(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let v4 = client_key(Some("192.0.2.7".parse().unwrap()));
        assert!(!v4.contains("192"));
        assert_eq!(v4, client_key(Some("::ffff:192.0.2.7".parse().unwrap())));
        assert_eq!(client_key(None), "unknown");
    }

    #[test]
    fn a_clients_share_bounds_its_part_of_the_overall_window_and_budget() {
        let mut c = LimitsConfig::default();
        // 25 % of 2000 paid calls; of 300 starts an hour, 75: above the
        // per-client 20 in the same window, so no extra window.
        assert_eq!(c.client_budget(), Some(500));
        assert_eq!(windows(&c, Action::Start, "k").len(), 2);
        // No per-client window: the share is one.
        c.start_per_client = None;
        let w = windows(&c, Action::Start, "k");
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[1].0.limit, w[1].0.key.as_str(), w[1].1),
            (75, "start:share:k", "client")
        );
        // A per-client window of another length does not hold it there.
        c.start_per_client = Some(Rate::per_secs(10, 60));
        assert_eq!(windows(&c, Action::Start, "k").len(), 3);
        // Rounded up, at least one.
        c.start_overall = Some(Rate::per_secs(3, 3600));
        assert_eq!(windows(&c, Action::Start, "k")[2].0.limit, 1);
        assert_eq!(LimitsConfig::unlimited().client_budget(), None);
    }
}
