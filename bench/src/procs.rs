//! Child processes: the release dev-server and function binaries, the
//! private Redis, `redis-benchmark`, and what we read about them (`/proc`).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Variables of the caller's environment that would change what a child
/// does (a Redis URL would turn the memory store into Redis); every child
/// starts without them and gets exactly what the scenario sets.
const SCRUBBED: &[&str] = &[
    "KV_REDIS_URL",
    "KV_URL",
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "SOURCES_MODE",
    "SANDBOX_FAULTS",
    "PROCESS_ON_START",
    "VERCEL",
    "VERCEL_ENV",
    "VERCEL_IPC_PATH",
    "VERCEL_DEV_PORT",
    "RUST_LOG",
    "PORT",
    "HOST",
];

/// A free TCP port on 127.0.0.1 (never 6379, the shared Redis).
pub fn free_port() -> anyhow::Result<u16> {
    loop {
        let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        if port != 6379 {
            return Ok(port);
        }
    }
}

/// Where the release binaries are: `BENCH_BIN_DIR`, else the directory of
/// this executable (`target/release/` when run by `scripts/bench.sh`).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("BENCH_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .context("executable without a directory")?
        .to_path_buf())
}

/// The path of release binary `name`, checked to exist.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if !path.is_file() {
        bail!(
            "{} not found: build the release binaries first (`cargo build --release --workspace --bins`, as scripts/bench.sh does)",
            path.display()
        );
    }
    Ok(path)
}

/// A directory for logs of this run.
pub fn log_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("care-report-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A command for `bin` with a scrubbed environment plus `env`.
pub fn command(bin: &Path, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(bin);
    for var in SCRUBBED {
        cmd.env_remove(var);
    }
    // Load from one address is the benchmarks' point: no spend limits
    // (a scenario may set them again).
    for var in [
        "RATE_LIMIT_START_PER_CLIENT",
        "RATE_LIMIT_START_OVERALL",
        "RATE_LIMIT_RETRY_PER_CLIENT",
        "RATE_LIMIT_RETRY_OVERALL",
        "DAILY_PAID_CALL_BUDGET",
    ] {
        cmd.env(var, "off");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A running dev-server; killed when dropped.
pub struct DevServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl DevServer {
    /// Starts the release dev-server on a free port with `env` added, its
    /// logs in `log`, and waits until it accepts connections.
    pub fn start(env: &[(&str, String)], log: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut env = env.to_vec();
        env.push(("PORT", port.to_string()));
        env.push(("HOST", "127.0.0.1".to_owned()));
        let log_file = std::fs::File::create(log)?;
        let child = command(&binary("dev-server")?, &env)
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("start the dev-server")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = Self { child, addr };
        server.wait_ready(Duration::from_secs(30), log)?;
        Ok(server)
    }

    fn wait_ready(&mut self, within: Duration, log: &Path) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "dev-server exited ({status}); its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "dev-server did not listen on {} within {within:?}",
            self.addr
        )
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) a process has used so far.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the `(comm)`, which may contain spaces: state is field 3,
    // utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/pid/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields
        .get(11..13)
        .context("short /proc/pid/stat")?
        .iter()
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .sum();
    // USER_HZ is 100 on every Linux this runs on.
    Ok(Duration::from_millis(ticks * 10))
}

/// One `redis-benchmark` result.
#[derive(Debug, Clone)]
pub struct RedisBench {
    /// Requests per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// redis-server CPU time per request.
    pub server_cpu: Option<Duration>,
}

/// Runs `redis-benchmark -t get` with `clients` connections and no
/// pipelining against the private Redis on `port` (whose process is
/// `server_pid`, for its CPU time).
pub fn redis_benchmark_get(
    port: u16,
    server_pid: Option<u32>,
    clients: usize,
    requests: u64,
) -> anyhow::Result<RedisBench> {
    let cpu_before = server_pid.and_then(|p| cpu_time(p).ok());
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "get",
            "-P",
            "1",
        ])
        .args([
            "-c",
            &clients.to_string(),
            "-n",
            &requests.to_string(),
            "--csv",
        ])
        .stdin(Stdio::null())
        .output()
        .context("run redis-benchmark (Debian package redis-tools)")?;
    if !out.status.success() {
        bail!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut bench = parse_redis_benchmark_csv(&String::from_utf8_lossy(&out.stdout))?;
    if let (Some(pid), Some(before)) = (server_pid, cpu_before) {
        bench.server_cpu = cpu_time(pid).ok().map(|after| {
            (after.saturating_sub(before)) / u32::try_from(requests).unwrap_or(u32::MAX)
        });
    }
    Ok(bench)
}

/// Parses `redis-benchmark --csv` (Redis 7):
/// `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"`.
fn parse_redis_benchmark_csv(csv: &str) -> anyhow::Result<RedisBench> {
    let row = csv
        .lines()
        .find(|l| l.starts_with("\"GET\""))
        .context("no GET row in redis-benchmark output")?;
    let cols: Vec<f64> = row
        .split(',')
        .skip(1)
        .map(|c| c.trim_matches('"').parse().unwrap_or(f64::NAN))
        .collect();
    if cols.len() < 6 {
        bail!("unexpected redis-benchmark row: {row}");
    }
    Ok(RedisBench {
        rps: cols[0],
        p50_ms: cols[3],
        p99_ms: cols[5],
        server_cpu: None,
    })
}

/// The port of a `redis://127.0.0.1:PORT` URL.
pub fn redis_port(url: &str) -> anyhow::Result<u16> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .with_context(|| "no port in the Redis URL".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_benchmark_csv() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\"GET\",\"32786.89\",\"0.333\",\"0.040\",\"0.231\",\"0.487\",\"4.167\",\"20.111\"\n";
        let r = parse_redis_benchmark_csv(csv).unwrap();
        assert!((r.rps - 32786.89).abs() < 1e-6);
        assert!((r.p50_ms - 0.231).abs() < 1e-9);
        assert!((r.p99_ms - 4.167).abs() < 1e-9);
        assert_eq!(redis_port("redis://127.0.0.1:40123").unwrap(), 40123);
    }
}
