//! Real binaries in tests: start one, wait for the line it prints when it is
//! ready, stop it gracefully or kill it, and never leave it running.
//!
//! [`ChildGuard`] owns a spawned process. Its stdout and stderr are read by
//! two threads, which write every line (tagged with its stream) to a log
//! file of the guard's own and keep the last lines in memory, so a test can
//! wait for a line (the dev-server's `listening on http://…`, a Vercel
//! function's `Dev server listening: …`), search everything the process
//! wrote ([`ChildGuard::output`], [`ChildGuard::wait_for_output`]), and a
//! failing test can show how the process ended ([`ChildGuard::tail`]).
//!
//! Dropping the guard kills the process and reaps it, also when the test
//! panics (its tail is printed then, since that is usually the
//! explanation). When the test did not panic, the drop scans the **whole**
//! log for a Rust panic (`panicked at`, the default hook's line, printed
//! also for panics that are caught later) and fails the test if it finds
//! one; a clean log file is removed, one with a panic is kept and named.
//! A server that panics in a request handler or a source adapter and keeps
//! serving can therefore not pass a test unnoticed.
//!
//! ```no_run
//! use care_report_testing::child::ChildGuard;
//! use std::time::Duration;
//! let mut cmd = std::process::Command::new("target/debug/dev-server");
//! cmd.env("PORT", "0");
//! let server = ChildGuard::spawn("dev-server", cmd);
//! let url = server.wait_for_line(Duration::from_secs(30), |l| {
//!     l.strip_prefix("listening on ").map(str::to_owned)
//! });
//! // ... talk to `url`; the server is killed when `server` is dropped.
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much of a child's output a failure message shows (the end of it).
const SHOWN_OUTPUT_BYTES: usize = 16 * 1024;

/// What the default panic hook prints for every panic, caught or not
/// (`thread '…' panicked at src/…:12:5:`).
pub const PANIC_NEEDLE: &str = "panicked at";

/// The log file and the in-memory tail both reader threads write to.
#[derive(Debug)]
struct Sink {
    file: File,
    tail: String,
}

/// A spawned process that is killed (and reaped) when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
    /// Where every line goes, and the last lines kept in memory.
    sink: Arc<Mutex<Sink>>,
    log_path: PathBuf,
    /// Stdout lines, for [`ChildGuard::wait_for_line`].
    stdout_lines: Receiver<String>,
    /// The two reader threads; they end when the process closes its pipes.
    readers: Vec<JoinHandle<()>>,
}

/// A fresh log file path for a child called `name`.
fn log_path_for(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join("care-report-child-logs");
    let _ = std::fs::create_dir_all(&dir);
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!(
        "{safe}-{}-{}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

impl ChildGuard {
    /// Spawns `cmd` with stdin closed and stdout/stderr captured.
    ///
    /// # Panics
    /// When the process or its log file cannot be created.
    pub fn spawn(name: &str, mut cmd: Command) -> Self {
        let log_path = log_path_for(name);
        let file = File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let sink = Arc::new(Mutex::new(Sink {
            file,
            tail: String::new(),
        }));
        let (tx, stdout_lines) = mpsc::channel();
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let sink = sink.clone();
            readers.push(std::thread::spawn(move || {
                read_lines(stdout, &sink, "stdout", |line| {
                    // The receiver may be gone (guard dropped): keep draining.
                    let _ = tx.send(line.to_owned());
                });
            }));
        }
        if let Some(stderr) = child.stderr.take() {
            let sink = sink.clone();
            readers.push(std::thread::spawn(move || {
                read_lines(stderr, &sink, "stderr", |_| {});
            }));
        }
        Self {
            name: name.to_owned(),
            child,
            sink,
            log_path,
            stdout_lines,
            readers,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The file holding everything the process wrote so far, each line
    /// tagged `stdout: ` or `stderr: `.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Waits until a stdout line makes `parse` answer `Some`, and returns
    /// that answer.
    ///
    /// # Panics
    /// When `timeout` passes first or the process closes its stdout (exits);
    /// the message includes the end of the process's output.
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
                    "{} printed no expected line within {timeout:?}; the end of its output:\n{}",
                    self.name,
                    self.tail()
                ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Give stderr's reader a moment to catch the last words
                    // (diagnostics only).
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(format!(
                        "{} closed its stdout (exited?) before printing the expected line; the end of its output:\n{}",
                        self.name,
                        self.tail()
                    ));
                }
            }
        }
    }

    /// Waits until everything the process wrote so far ([`ChildGuard::output`])
    /// makes `found` answer `Some`, polling for at most `timeout`, and
    /// returns that answer. For log lines a process writes *after* the state
    /// change a test saw (a log line follows the write it reports, and the
    /// reader threads may lag behind an HTTP answer): reading once would race.
    ///
    /// # Panics
    /// When `timeout` passes first; the message names `what`.
    pub fn wait_for_output<T>(
        &self,
        timeout: Duration,
        what: &str,
        found: impl Fn(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(t) = found(&self.output()) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {what} in its output within {timeout:?}; the end of it:\n{}",
                self.name,
                self.tail()
            );
            std::thread::sleep(Duration::from_millis(50));
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

    /// Everything the process wrote so far, read back from its log file,
    /// each line tagged with its stream. Search this; show
    /// [`ChildGuard::tail`] in messages.
    pub fn output(&self) -> String {
        // The readers write whole lines under the lock: holding it, the file
        // ends at a line boundary.
        let _sink = self.sink.lock();
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The end of what the process wrote so far (at most 16 KiB), for
    /// failure messages.
    pub fn tail(&self) -> String {
        let all = self.sink.lock().map(|s| s.tail.clone()).unwrap_or_default();
        if all.len() <= SHOWN_OUTPUT_BYTES {
            return all;
        }
        format!("[...]\n{}", &all[tail_cut(&all, SHOWN_OUTPUT_BYTES)..])
    }

    /// Every line of the whole log that reports a panic (see
    /// [`PANIC_NEEDLE`]), each with its line number.
    pub fn panics(&self) -> Vec<String> {
        panic_lines(&self.output())
    }

    /// Fails the test when the process's whole log reports a panic.
    ///
    /// # Panics
    /// When it does; the message quotes the lines and keeps the log file.
    pub fn assert_no_panic(&self) {
        let found = self.panics();
        assert!(
            found.is_empty(),
            "{} (pid {}) panicked; its whole log is {}:\n{}",
            self.name,
            self.child.id(),
            self.log_path.display(),
            found.join("\n")
        );
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipes are closed now (unless a grandchild holds them): the
        // readers write what is left and end.
        let waited = Instant::now();
        while self.readers.iter().any(|r| !r.is_finished())
            && waited.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        if std::thread::panicking() {
            eprintln!(
                "----- end of the output of {} (pid {}; all of it: {}) -----\n{}\n----- end of {} -----",
                self.name,
                self.child.id(),
                self.log_path.display(),
                self.tail(),
                self.name
            );
            return;
        }
        let found = self.panics();
        if found.is_empty() {
            let _ = std::fs::remove_file(&self.log_path);
        } else {
            panic!(
                "{} (pid {}) panicked; its whole log is {}:\n{}",
                self.name,
                self.child.id(),
                self.log_path.display(),
                found.join("\n")
            );
        }
    }
}

/// Reads `stream` line by line (lossy UTF-8) into `sink`, tagged `tag`,
/// calling `each` with every line.
fn read_lines(stream: impl std::io::Read, sink: &Mutex<Sink>, tag: &str, each: impl Fn(&str)) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                let line = line.trim_end_matches(['\n', '\r']);
                push(sink, tag, line);
                each(line);
            }
        }
    }
}

fn push(sink: &Mutex<Sink>, stream: &str, line: &str) {
    if let Ok(mut s) = sink.lock() {
        let tagged = format!("{stream}: {line}\n");
        // The whole stream goes to the file (a failed write only loses
        // diagnostics: the panic scan then fails to find a file, not a panic).
        let _ = s.file.write_all(tagged.as_bytes());
        s.tail.push_str(&tagged);
        if s.tail.len() > 4 * SHOWN_OUTPUT_BYTES {
            let cut = tail_cut(&s.tail, SHOWN_OUTPUT_BYTES);
            s.tail.drain(..cut);
        }
    }
}

/// Where to cut `s` to keep about its last `keep` bytes (a char boundary).
fn tail_cut(s: &str, keep: usize) -> usize {
    let mut cut = s.len().saturating_sub(keep);
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    cut
}

/// The lines of `log` that report a panic ([`PANIC_NEEDLE`]), numbered.
pub fn panic_lines(log: &str) -> Vec<String> {
    log.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(PANIC_NEEDLE))
        .map(|(i, l)| format!("line {}: {l}", i + 1))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        cmd
    }

    #[test]
    fn the_whole_output_is_kept_not_only_its_end() {
        // ~150 KB of stderr: far more than the tail a message shows.
        let mut child = ChildGuard::spawn(
            "chatty",
            sh("echo first >&2; i=0; while [ $i -lt 3000 ]; do                 echo \"line $i of a long log, padded to fifty bytes\" >&2; i=$((i+1)); done;                 echo last"),
        );
        assert!(child.wait_exit(Duration::from_secs(60)).is_some());
        let all = child.output();
        assert!(all.starts_with("stderr: first\n"), "{}", &all[..100]);
        assert!(all.contains("stdout: last\n"));
        assert_eq!(all.lines().count(), 3_002);
        assert!(child.tail().len() < 2 * SHOWN_OUTPUT_BYTES);
        assert!(!child.tail().contains("stderr: first"));
    }

    #[test]
    fn a_panic_anywhere_in_the_log_fails_the_drop() {
        let path;
        {
            let mut child = ChildGuard::spawn(
                "panicky",
                sh("echo \"thread 'tokio-runtime-worker' panicked at src/sources/cqc.rs:1:1:\" >&2;                     i=0; while [ $i -lt 5000 ]; do echo \"later line $i padded out to fifty bytes\" >&2; i=$((i+1)); done"),
            );
            assert!(child.wait_exit(Duration::from_secs(60)).is_some());
            path = child.log_path().to_owned();
            assert_eq!(child.panics().len(), 1, "{:?}", child.panics());
            // The panic is long out of the tail, and still found.
            assert!(!child.tail().contains(PANIC_NEEDLE));
            let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(child)));
            let why = dropped.expect_err("the drop must fail the test");
            let why = why.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(why.contains("panicked; its whole log is"), "{why}");
        }
        // Kept for the reader of the failure.
        assert!(path.exists());
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_clean_log_is_removed_on_drop() {
        let mut child = ChildGuard::spawn("quiet", sh("echo fine"));
        assert!(child.wait_exit(Duration::from_secs(60)).is_some());
        let path = child.log_path().to_owned();
        assert!(path.exists());
        child.assert_no_panic();
        drop(child);
        assert!(!path.exists());
    }

    #[test]
    fn waiting_for_output_sees_lines_written_later() {
        let child = ChildGuard::spawn("late", sh("sleep 0.3; echo done 7 >&2; sleep 30"));
        let found = child.wait_for_output(Duration::from_secs(30), "the done line", |out| {
            out.lines()
                .find_map(|l| l.strip_prefix("stderr: done "))
                .map(str::to_owned)
        });
        assert_eq!(found, "7");
    }
}
