//! The hyper host: the dev-server's accept loop, with the limits a server
//! reachable by anyone needs.
//!
//! - **Header read timeout** (`HEADER_READ_TIMEOUT_SECS`, default 30, hyper's own default):
//!   hyper's own, on its tokio timer. A client that has not sent a whole
//!   request head in time is disconnected (slowloris). hyper starts this
//!   timer whenever the connection waits for a request head, so it is also
//!   the **idle timeout** of a kept-alive connection between requests. A
//!   client that pools connections must keep them idle for less than this
//!   (reqwest's `pool_idle_timeout`), or a request sent just as the server
//!   closes an idle connection fails: 30 s keeps that rare.
//! - **Body read timeout** (`BODY_READ_TIMEOUT_SECS`, default 30): reading
//!   the body (already capped at `MAX_BODY_BYTES`) must finish in time,
//!   else 408 `body_timeout`.
//! - **Connection cap** (`MAX_CONNECTIONS`, default 1024): at the cap the
//!   loop stops accepting, and new connections wait in the kernel's
//!   backlog until one closes.
//! - **Accept errors** (e.g. out of file descriptors) are logged once per
//!   streak, and the loop backs off (10 ms doubling to 1 s) instead of
//!   spinning; recovery is logged with the streak's count.
//!
//! Each request carries the peer's address as a [`PeerAddr`] extension,
//! which the rate limits use as the client's identity.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ::hyper::body::Incoming;
use ::hyper::server::conn::http1;
use ::hyper::service::service_fn;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http::limits::PeerAddr;
use crate::http::{handle, ApiError, App, Background};
use crate::settings::{env_parse, ConfigError};

/// The server's limits (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time for a whole request head; also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// Time for a whole request body.
    pub body_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

impl ServerLimits {
    /// The defaults overridden by `HEADER_READ_TIMEOUT_SECS`,
    /// `BODY_READ_TIMEOUT_SECS` and `MAX_CONNECTIONS`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut l = Self::default();
        let positive = |name: &str, v: u64| {
            if v == 0 {
                Err(ConfigError::invalid(name, "must be at least 1"))
            } else {
                Ok(v)
            }
        };
        if let Some(s) = env_parse::<u64>(lookup, "HEADER_READ_TIMEOUT_SECS")? {
            l.header_read_timeout = Duration::from_secs(positive("HEADER_READ_TIMEOUT_SECS", s)?);
        }
        if let Some(s) = env_parse::<u64>(lookup, "BODY_READ_TIMEOUT_SECS")? {
            l.body_read_timeout = Duration::from_secs(positive("BODY_READ_TIMEOUT_SECS", s)?);
        }
        if let Some(n) = env_parse::<u64>(lookup, "MAX_CONNECTIONS")? {
            l.max_connections =
                usize::try_from(positive("MAX_CONNECTIONS", n)?).unwrap_or(usize::MAX);
        }
        Ok(l)
    }
}

/// Accepts connections on `listener` and serves each with the library's
/// handlers until `shutdown` is cancelled; then asks every connection to
/// finish its request and close. Returns the connections' tracker (closed),
/// to wait for them.
pub async fn serve<B>(
    listener: TcpListener,
    app: Arc<App>,
    bg: B,
    limits: ServerLimits,
    shutdown: CancellationToken,
) -> TaskTracker
where
    B: Background + Clone + 'static,
{
    let connections = TaskTracker::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut failures = AcceptFailures::default();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    let wait = failures.failed(&e);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = shutdown.cancelled() => break,
                    }
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        failures.recovered();
        let connection = serve_connection(
            stream,
            peer,
            app.clone(),
            bg.clone(),
            limits,
            shutdown.clone(),
        );
        connections.spawn(async move {
            // The slot is held until the connection is done.
            let _permit = permit;
            connection.await;
        });
    }
    connections.close();
    connections
}

/// Serves one accepted connection until it closes; once `stop` is
/// cancelled, lets it finish its request in flight and close.
async fn serve_connection<B>(
    stream: TcpStream,
    peer: SocketAddr,
    app: Arc<App>,
    bg: B,
    limits: ServerLimits,
    stop: CancellationToken,
) where
    B: Background + Clone + 'static,
{
    let service = service_fn(move |mut req: ::hyper::Request<Incoming>| {
        let app = app.clone();
        let bg = bg.clone();
        req.extensions_mut().insert(PeerAddr(peer));
        async move { Ok::<_, Infallible>(serve_one(&app, req, &bg, limits).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        }
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The current streak of failed accepts: logged once, backed off (doubling)
/// instead of spinning, and its count logged on recovery.
struct AcceptFailures {
    /// Failed accepts in the streak.
    count: u64,
    /// The wait after the next failure.
    backoff: Duration,
}

impl Default for AcceptFailures {
    fn default() -> Self {
        Self {
            count: 0,
            backoff: ACCEPT_BACKOFF_MIN,
        }
    }
}

impl AcceptFailures {
    /// Counts a failed accept (logging the first of a streak) and returns
    /// how long to wait before the next.
    fn failed(&mut self, e: &std::io::Error) -> Duration {
        self.count += 1;
        if self.count == 1 {
            tracing::warn!(error = %e, "accept failed; backing off until it recovers (logged once)");
        }
        let wait = self.backoff;
        self.backoff = (self.backoff * 2).min(ACCEPT_BACKOFF_MAX);
        wait
    }

    /// Ends a streak, if there was one, logging its count.
    fn recovered(&mut self) {
        if self.count > 0 {
            tracing::info!(failed_accepts = self.count, "accepting again");
            *self = Self::default();
        }
    }
}

/// Collects the body under the size and time limits and hands the request
/// to the library.
async fn serve_one<B: Background>(
    app: &App,
    req: ::hyper::Request<Incoming>,
    bg: &B,
    limits: ServerLimits,
) -> ::hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let limit = app.config.max_body_bytes;
    let collected = tokio::time::timeout(
        limits.body_read_timeout,
        crate::host::collect_limited(body, limit),
    )
    .await;
    let response = match collected {
        Ok(Ok(bytes)) => handle(app, http::Request::from_parts(parts, bytes), bg).await,
        Ok(Err(true)) => ApiError::PayloadTooLarge { limit }.into_response(),
        Ok(Err(false)) => ApiError::IncompleteBody.into_response(),
        Err(_) => ApiError::BodyTimeout.into_response(),
    };
    response.map(Full::new)
}
