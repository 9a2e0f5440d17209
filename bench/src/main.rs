//! `bench`: the numbers of BENCHMARKS.md, rerunnable on any machine.
//!
//! ```text
//! scripts/bench.sh [all | api | reports | sweep | cold-start | memory | cache ...] [--secs N] ...
//! ```
//!
//! Each scenario prints a Markdown table on stdout (progress goes to
//! stderr), so a run's output can be pasted into BENCHMARKS.md as is. The
//! bench starts everything it measures itself: a private `redis-server` on a
//! free port (the test harness, `care_report_testing::redis`), the release
//! dev-server and function binaries on free ports, and `redis-benchmark`
//! against the same Redis for the physical ceiling. It never touches the
//! shared Redis on 6379. Nothing here asserts a number: the aims are
//! compared in BENCHMARKS.md, not in tests.

// A command-line report: its output *is* stdout.
#![allow(clippy::print_stdout)]

mod load;
mod procs;
mod redis_stats;
mod scenarios;

use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Command-line options.
#[derive(Clone, Debug)]
pub struct Opts {
    /// Scenarios to run, in order.
    pub scenarios: Vec<Scenario>,
    /// Measured seconds per HTTP load point.
    pub secs: u64,
    /// Unrecorded warm-up seconds before each HTTP load point.
    pub warmup_secs: u64,
    /// Jobs per reports-per-second run.
    pub jobs: usize,
    /// Store sizes of the sweep scenario.
    pub sizes: Vec<usize>,
    /// Due jobs in the sweep scenario.
    pub due: usize,
    /// Cold starts per function binary.
    pub runs: usize,
    /// Finished jobs in the memory scenario.
    pub memory_jobs: usize,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            scenarios: Scenario::ALL.to_vec(),
            secs: 5,
            warmup_secs: 1,
            jobs: 300,
            sizes: vec![1_000, 10_000, 100_000],
            due: 1_000,
            runs: 20,
            memory_jobs: 10_000,
        }
    }
}

/// One benchmark of the issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// `status` and `start` on the dev-server, against `redis-benchmark`.
    Api,
    /// Whole reports per second through the engine.
    Reports,
    /// Sweep time against store size.
    Sweep,
    /// Process start to first response of each function binary.
    ColdStart,
    /// Dev-server RSS with finished jobs in the memory store.
    Memory,
    /// Upstream calls per report with the source cache off, cold and warm.
    Cache,
    /// Redis commands and bytes per report, poll and sweep (Upstash billing).
    RedisCost,
}

impl Scenario {
    const ALL: [Scenario; 7] = [
        Scenario::Api,
        Scenario::Reports,
        Scenario::Sweep,
        Scenario::ColdStart,
        Scenario::Memory,
        Scenario::Cache,
        Scenario::RedisCost,
    ];

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "api" => Self::Api,
            "reports" => Self::Reports,
            "sweep" => Self::Sweep,
            "cold-start" => Self::ColdStart,
            "memory" => Self::Memory,
            "cache" => Self::Cache,
            "redis-cost" => Self::RedisCost,
            _ => return None,
        })
    }
}

const USAGE: &str = "usage: bench [all|api|reports|sweep|cold-start|memory|cache|redis-cost]... \
[--secs N] [--warmup-secs N] [--jobs N] [--sizes 1000,10000,100000] [--due N] [--runs N] [--memory-jobs N]";

fn parse_args(args: impl Iterator<Item = String>) -> anyhow::Result<Opts> {
    let mut opts = Opts::default();
    let mut scenarios = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> anyhow::Result<String> {
            args.next().with_context(|| format!("{name} needs a value"))
        };
        let number = |v: String, name: &str| -> anyhow::Result<u64> {
            v.parse().with_context(|| format!("{name}: not a number"))
        };
        match arg.as_str() {
            "all" => scenarios.extend(Scenario::ALL),
            "--secs" => opts.secs = number(value(&arg)?, &arg)?.max(1),
            "--warmup-secs" => opts.warmup_secs = number(value(&arg)?, &arg)?,
            "--jobs" => opts.jobs = number(value(&arg)?, &arg)?.max(1) as usize,
            "--due" => opts.due = number(value(&arg)?, &arg)?.max(1) as usize,
            "--runs" => opts.runs = number(value(&arg)?, &arg)?.max(1) as usize,
            "--memory-jobs" => opts.memory_jobs = number(value(&arg)?, &arg)?.max(1) as usize,
            "--sizes" => {
                opts.sizes = value(&arg)?
                    .split(',')
                    .map(|s| s.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .context("--sizes: comma-separated numbers")?;
            }
            other => match Scenario::parse(other) {
                Some(s) => scenarios.push(s),
                None => bail!("unknown argument {other:?}\n{USAGE}"),
            },
        }
    }
    if !scenarios.is_empty() {
        opts.scenarios = scenarios;
    }
    Ok(opts)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let opts = parse_args(std::env::args().skip(1))?;
    // The bench needs counters and memory figures of a Redis nobody else
    // uses: always a fresh private server, never TEST_REDIS_URL's.
    std::env::remove_var(care_report_testing::redis::ENV_TEST_REDIS_URL);
    let redis_url = tokio::task::spawn_blocking(care_report_testing::redis::url).await?;
    eprintln!("bench: private redis-server at {redis_url}");

    let began = Instant::now();
    println!("# Benchmark run\n");
    machine::print(&opts);
    for scenario in &opts.scenarios {
        let started = Instant::now();
        eprintln!("bench: scenario {scenario:?}");
        match scenario {
            Scenario::Api => scenarios::api::run(&opts, &redis_url).await?,
            Scenario::Reports => scenarios::reports::run(&opts, &redis_url).await?,
            Scenario::Sweep => scenarios::sweep::run(&opts, &redis_url).await?,
            Scenario::ColdStart => scenarios::cold_start::run(&opts, &redis_url).await?,
            Scenario::Memory => scenarios::memory::run(&opts).await?,
            Scenario::Cache => scenarios::cache::run().await?,
            Scenario::RedisCost => scenarios::redis_cost::run(&redis_url).await?,
        }
        eprintln!("bench: {scenario:?} took {:.0?}", started.elapsed());
    }
    println!("\n_Whole run: {:.0} s._", began.elapsed().as_secs_f64());
    Ok(())
}

/// Formats a duration in milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// Formats a byte count in KiB or MiB.
pub fn bytes(n: f64) -> String {
    if n >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KiB", n / 1024.0)
    }
}

mod machine {
    //! What the numbers were measured on.

    use std::process::Command;

    use crate::Opts;

    fn first_line_of(cmd: &str, args: &[&str]) -> String {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.lines().next().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned())
    }

    pub fn print(opts: &Opts) {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned();
        println!("| machine | |\n|---|---|");
        println!("| CPU | {model} |");
        println!("| cores (available to this process) | {cpus} |");
        println!("| memory | {:.1} GiB |", mem_kib as f64 / 1024.0 / 1024.0);
        println!("| kernel | {kernel} |");
        // Other work on the machine skews every number: say how busy it was.
        println!(
            "| load average at start (1, 5, 15 min) | {} |",
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "| redis-server | {} |",
            first_line_of("redis-server", &["--version"])
        );
        println!(
            "| started | {} |",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        println!(
            "| options | {} s per load point after {} s warm-up; {} jobs per reports run; sweep sizes {:?} with {} due; {} cold starts; {} jobs for memory |",
            opts.secs, opts.warmup_secs, opts.jobs, opts.sizes, opts.due, opts.runs, opts.memory_jobs
        );
        println!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let o = parse_args(
            ["sweep", "--sizes", "10,20", "--secs", "2"]
                .map(String::from)
                .into_iter(),
        )
        .unwrap();
        assert_eq!(o.scenarios, vec![Scenario::Sweep]);
        assert_eq!(o.sizes, vec![10, 20]);
        assert_eq!(o.secs, 2);
        assert_eq!(parse_args(std::iter::empty()).unwrap().scenarios.len(), 7);
        assert!(parse_args(["nope".to_owned()].into_iter()).is_err());
    }
}
