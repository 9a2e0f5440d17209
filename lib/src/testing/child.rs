//! Real binaries in tests: start one, wait for the line it prints when it is
//! ready, stop it gracefully or kill it, and never leave it running.
//!
//! [`ChildGuard`] owns a spawned process. Its stdout and stderr are read by
//! two threads into a buffer, so a test can wait for a line (the dev-server's
//! `listening on http://…`, a Vercel function's `Dev server listening: …`)
//! and a failing test can show what the process logged. Dropping the guard
//! kills the process and reaps it, also when the test panics (and then its
//! output is printed, since that is usually the explanation).
//!
//! ```no_run
//! use care_report::testing::child::ChildGuard;
//! use std::time::Duration;
//! let mut cmd = std::process::Command::new("target/debug/dev-server");
//! cmd.env("PORT", "0");
//! let server = ChildGuard::spawn("dev-server", cmd);
//! let url = server.wait_for_line(Duration::from_secs(30), |l| {
//!     l.strip_prefix("listening on ").map(str::to_owned)
//! });
//! // ... talk to `url`; the server is killed when `server` is dropped.
//! ```

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much of a child's output a failure message shows (the end of it).
const SHOWN_OUTPUT_BYTES: usize = 16 * 1024;

/// A spawned process that is killed (and reaped) when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
    /// Stdout and stderr lines, interleaved as they arrived.
    output: Arc<Mutex<String>>,
    /// Stdout lines, for [`ChildGuard::wait_for_line`].
    stdout_lines: Receiver<String>,
    /// The two reader threads; they end when the process closes its pipes.
    readers: Vec<JoinHandle<()>>,
}

impl ChildGuard {
    /// Spawns `cmd` with stdin closed and stdout/stderr captured.
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn spawn(name: &str, mut cmd: Command) -> Self {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, stdout_lines) = mpsc::channel();
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let output = output.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    push(&output, "stdout", &line);
                    // The receiver may be gone (guard dropped): keep draining.
                    let _ = tx.send(line);
                }
            }));
        }
        if let Some(stderr) = child.stderr.take() {
            let output = output.clone();
            readers.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match reader.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let line = String::from_utf8_lossy(&buf);
                            push(&output, "stderr", line.trim_end());
                        }
                    }
                }
            }));
        }
        Self {
            name: name.to_owned(),
            child,
            output,
            stdout_lines,
            readers,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stdout line makes `parse` answer `Some`, and returns
    /// that answer.
    ///
    /// # Panics
    /// When `timeout` passes first or the process closes its stdout (exits);
    /// the message includes the process's output.
    pub fn wait_for_line<T>(&self, timeout: Duration, parse: impl Fn(&str) -> Option<T>) -> T {
        self.try_wait_for_line(timeout, parse)
            .unwrap_or_else(|why| panic!("{why}"))
    }

    /// Like [`ChildGuard::wait_for_line`], but answers why it failed instead
    /// of panicking (for callers that retry, e.g. on a port taken meanwhile).
    pub fn try_wait_for_line<T>(
        &self,
        timeout: Duration,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(found) = parse(&line) {
                        return Ok(found);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{} printed no expected line within {timeout:?}; its output:\n{}",
                        self.name,
                        self.output()
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Give stderr's reader a moment to catch the last words
                    // (diagnostics only).
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(format!(
                        "{} closed its stdout (exited?) before printing the expected line; its output:\n{}",
                        self.name,
                        self.output()
                    ));
                }
            }
        }
    }

    /// Asks the process to stop gracefully: SIGTERM.
    ///
    /// # Panics
    /// When `kill` cannot be run.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends the signal `name` (`TERM`, `INT`, ...) through `kill`, so no
    /// unsafe code is needed.
    ///
    /// # Panics
    /// When `kill` cannot be run or fails.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {} failed", self.id());
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still
    /// running then. Once it exited, [`ChildGuard::output`] holds all it
    /// printed.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // Its pipes are closed: the readers finish what is left.
                    for reader in self.readers.drain(..) {
                        let _ = reader.join();
                    }
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Everything the process printed so far (the last 16 KiB), each line
    /// tagged with its stream.
    pub fn output(&self) -> String {
        let all = self.output.lock().map(|o| o.clone()).unwrap_or_default();
        if all.len() <= SHOWN_OUTPUT_BYTES {
            return all;
        }
        let mut cut = all.len() - SHOWN_OUTPUT_BYTES;
        while !all.is_char_boundary(cut) {
            cut += 1;
        }
        format!("[...]\n{}", &all[cut..])
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "----- output of {} (pid {}) -----\n{}\n----- end of {} -----",
                self.name,
                self.child.id(),
                self.output(),
                self.name
            );
        }
    }
}

fn push(output: &Mutex<String>, stream: &str, line: &str) {
    if let Ok(mut o) = output.lock() {
        o.push_str(stream);
        o.push_str(": ");
        o.push_str(line);
        o.push('\n');
    }
}

/// A port that was free a moment ago (bind port 0, read it, close). For
/// programs that cannot bind port 0 themselves and report it; a test should
/// retry with another port if the program then fails to bind.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0 to find a free port")
}

/// Builds binary `bin` of workspace package `package` (whose workspace has
/// its manifest at `manifest`) into `bin_dir`'s profile and target
/// directory (`<target>/<profile>/`), for tests that run another package's
/// binary, which `cargo test -p` alone does not build.
///
/// # Panics
/// When cargo cannot be run, the build fails or does not produce the file.
pub fn cargo_build(package: &str, bin: &str, manifest: &Path, bin_dir: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", package, "--bin", bin])
        .arg("--manifest-path")
        .arg(manifest);
    match bin_dir.file_name().and_then(|p| p.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
    }
    if let Some(target_dir) = bin_dir.parent() {
        cmd.arg("--target-dir").arg(target_dir);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("run cargo build -p {package} --bin {bin}: {e}"));
    assert!(
        status.success(),
        "cargo build -p {package} --bin {bin} failed"
    );
    let path = bin_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "cargo build did not produce {}",
        path.display()
    );
    path
}

/// Clears `cmd`'s environment (a developer's `REDIS_URL`, `SANDBOX_FAULTS`
/// or keys must not leak into a test) except `PATH`, and sets
/// `RUST_BACKTRACE=1` so a panicking child says where.
///
/// It also lifts the spend limits (rate limits, daily budget): the suites
/// drive thousands of jobs from one address. A test of the limits sets
/// them again after calling this.
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    cmd.env_clear().env("RUST_BACKTRACE", "1");
    for var in [
        "RATE_LIMIT_START_PER_CLIENT",
        "RATE_LIMIT_START_OVERALL",
        "RATE_LIMIT_RETRY_PER_CLIENT",
        "RATE_LIMIT_RETRY_OVERALL",
        "DAILY_PAID_CALL_BUDGET",
    ] {
        cmd.env(var, "off");
    }
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}
