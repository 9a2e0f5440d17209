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
//!   else 408 `body_timeout` (a [`BodyDeadline`] the handlers' body reader
//!   keeps).
//! - **Connection cap** (`MAX_CONNECTIONS`, default 1024): at the cap the
//!   loop stops accepting, and new connections wait in the kernel's
//!   backlog until one closes.
//! - **Accept errors** (e.g. out of file descriptors) are logged once per
//!   streak, and the loop backs off (10 ms doubling to 1 s) instead of
//!   spinning; recovery is logged with the streak's count.
//!
//! Each request carries the peer's address as a [`PeerAddr`] extension,
//! which the rate limits use as the client's identity, and the server's
//! [`Background`] as a [`BackgroundHandle`].
//!
//! Why not `axum::serve`: it configures hyper itself, without a timer, so
//! it has no header read timeout (a slowloris would hold a connection for
//! ever), and it neither caps connections nor backs off failed accepts.
//! This loop serves the same router (`crate::http::api`) with hyper's
//! `http1` builder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ::hyper::body::Incoming;
use ::hyper::server::conn::http1;
use ::hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::http::limits::PeerAddr;
use crate::http::{Api, Background, BackgroundHandle, BodyDeadline, ServerLimits};

/// Accepts connections on `listener` and serves each with `api` (its
/// background work handed to `bg`) until `shutdown` is cancelled; then
/// asks every connection to finish its request and close. Returns the
/// connections' tracker (closed), to wait for them.
pub async fn serve(
    listener: TcpListener,
    api: Api,
    bg: Arc<dyn Background>,
    limits: ServerLimits,
    shutdown: CancellationToken,
) -> TaskTracker {
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
            api.clone(),
            BackgroundHandle(bg.clone()),
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
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    api: Api,
    bg: BackgroundHandle,
    limits: ServerLimits,
    stop: CancellationToken,
) {
    let service = service_fn(move |mut req: ::hyper::Request<Incoming>| {
        let extensions = req.extensions_mut();
        extensions.insert(PeerAddr(peer));
        extensions.insert(bg.clone());
        extensions.insert(BodyDeadline(limits.body_read_timeout));
        api.clone().oneshot(req)
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
