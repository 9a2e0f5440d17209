//! The local dev-server: the library's handlers on hyper, one process.
//!
//! - Store: memory, or Redis when `KV_REDIS_URL`/`KV_URL`/`REDIS_URL` is set.
//! - Sources: the in-process sandbox by default (`SOURCES_MODE=live` for the
//!   real APIs); its fault plan comes from `SANDBOX_FAULTS`.
//! - A local retry scheduler runs the same sweep as the Vercel cron, every
//!   `SWEEP_INTERVAL_SECS` (default 300).
//! - `PROCESS_ON_START=false` stores new jobs without processing them; the
//!   scheduler's sweep takes them over once `PENDING_GRACE_SECS` has passed,
//!   as it would after a crash. The benchmarks use it to time `start` alone.
//! - SIGTERM / Ctrl-C: stop accepting, let running jobs save what is in
//!   flight and give their leases back, then exit (a second Ctrl-C exits at
//!   once; the sweep resumes whatever was cut short).
//! - The API is the library's router (`care_report::http::api`), served by
//!   the library's loop with its timeouts and connection cap
//!   (`care_report::host::hyper`); this file only composes.
//! - `PORT=0` binds a free port. Once bound, the server prints exactly one
//!   line to stdout, `listening on http://<ip>:<port>`, for scripts and the
//!   end-to-end tests; everything else is logged to stderr.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use care_report::host::hyper::serve;
use care_report::http::{App, Background};
use care_report::service::Service;
use care_report::settings::{Environment, HostProfile, Settings};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for running work before leaving it to the sweep.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Background work as tracked tokio tasks, so shutdown can wait for them.
#[derive(Clone)]
struct Tracked {
    tasks: TaskTracker,
    /// `PROCESS_ON_START`: when false the work is dropped and the job stays
    /// `pending` in the due index, where the sweep finds it.
    run: bool,
}

impl Background for Tracked {
    fn spawn(&self, work: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
        if self.run {
            self.tasks.spawn(work);
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Every setting is read here, once; a malformed one stops the server
    // with a message naming it.
    let settings = Environment::capture()
        .and_then(|env| Settings::read(&env, HostProfile::DEV_SERVER))
        .context("the dev-server could not start")?;
    care_report::telemetry::init(&settings.log);
    let server = settings
        .dev_server
        .clone()
        .context("the dev-server's settings were not read")?;

    // A Redis URL that is set but unreachable stops the server here, with
    // the reason: falling back to memory would hide lost jobs.
    let service = Service::build(settings)
        .await
        .context("the dev-server could not start")?;
    let addr = server.addr;
    // The dev-server prints reports as HTML and PDF, as the result function does.
    let app = Arc::new(App {
        documents: Some(Arc::new(care_report_pdf::Renderer)),
        ..service.app.clone()
    });
    let listener = TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (set PORT, or PORT=0 for any free port)")
    })?;
    let local = listener.local_addr()?;
    tracing::info!(
        address = %format!("http://{local}"),
        store = app.engine.store().kind(),
        sources = service.sources_mode.as_str(),
        directory = app.engine.directory().label(),
        "dev-server listening"
    );
    // Signal handlers are in place before the line that tells scripts we
    // are up: a Ctrl-C right after it must take the graceful path, not the
    // default action.
    let signals = Signals::install();
    announce(local);

    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    tasks.spawn(scheduler(app.clone(), server.sweep_every, shutdown.clone()));
    tokio::spawn(on_signals(signals, shutdown.clone()));

    let bg = Arc::new(Tracked {
        tasks: tasks.clone(),
        run: server.process_on_start,
    });
    let api = care_report::http::api(App::clone(&app), None);
    let connections = serve(listener, api, bg, server.limits, shutdown.clone()).await;
    drain(&app, &tasks, &connections).await;
    drop(service.sandbox);
    tracing::info!("dev-server stopped");
    Ok(())
}

/// The first signal starts the graceful shutdown; a second exits at once.
async fn on_signals(mut signals: Signals, shutdown: CancellationToken) {
    signals.next().await;
    tracing::info!(
        grace_secs = SHUTDOWN_GRACE.as_secs(),
        "shutdown requested: finishing running work (signal again to exit at once)"
    );
    shutdown.cancel();
    signals.next().await;
    tracing::warn!("second signal: exiting now; the sweep resumes unfinished jobs");
    std::process::exit(130);
}

/// Stops starting fetches (rounds in flight save their answers and give
/// their leases back, so the next sweep resumes at once), then waits up to
/// [`SHUTDOWN_GRACE`] for the connections and the background work.
async fn drain(app: &App, tasks: &TaskTracker, connections: &TaskTracker) {
    app.engine.shutdown();
    tasks.close();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        connections.wait().await;
        tasks.wait().await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!("shutdown grace over; unfinished jobs are resumed by the next sweep");
    }
}

/// The one stdout line: where the server listens (tests and scripts read it,
/// which matters with `PORT=0`).
#[allow(
    clippy::print_stdout,
    reason = "a stable, machine-readable line on stdout is this function's purpose"
)]
fn announce(local: SocketAddr) {
    use std::io::Write as _;
    println!("listening on http://{local}");
    let _ = std::io::stdout().flush();
}

/// The local retry scheduler: the cron's sweep, every `every`. The first
/// sweep runs at once, so jobs a previous run left in Redis (interrupted,
/// or due while it was down) are resumed without waiting an interval.
async fn scheduler(app: Arc<App>, every: Duration, stop: CancellationToken) {
    tracing::info!(
        every_secs = every.as_secs(),
        "local retry scheduler started"
    );
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => break,
        }
        // Its own task, so a panic in one sweep is logged and the next
        // interval still sweeps, instead of retries stopping for good.
        let engine = app.engine.clone();
        match tokio::spawn(async move { engine.sweep().await }).await {
            // The engine logs each sweep's counts ("sweep finished").
            Ok(Ok(report)) => tracing::debug!(
                checked = report.checked,
                errors = report.errors,
                next_in_secs = every.as_secs(),
                "scheduled sweep done"
            ),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "scheduled sweep could not run; next interval tries again")
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduled sweep panicked; next one in an interval")
            }
        }
    }
    tracing::info!("local retry scheduler stopped");
}

/// SIGTERM and SIGINT (Ctrl-C), registered when created.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Registers the handlers now (not on first poll). A registration that
    /// fails leaves that signal to `tokio::signal::ctrl_c` below.
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Self {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Waits for the next SIGTERM or SIGINT.
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            if let (Some(term), Some(int)) = (self.term.as_mut(), self.int.as_mut()) {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                return;
            }
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
