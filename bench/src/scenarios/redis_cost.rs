//! 7. What a report costs in Redis, in Upstash's billing units: commands
//!    (every command a client sends is billed, pipelined or not; a script is
//!    one `EVALSHA`) and bytes both ways.
//!
//! The release dev-server talks to the private redis-server through the
//! test suite's RESP proxy (`care_report_testing::upstash`) in its warm
//! mode: `EVALSHA` reaches Redis, as on an Upstash node that has the
//! scripts cached. The proxy counts every command and byte. Each row is the
//! proxy's count across one action, taken when the dev-server has gone
//! quiet (no command for 300 ms); its local scheduler is off
//! (`SWEEP_INTERVAL_SECS` a day) and sweeps run only when this bench calls
//! the cron route. Sandbox sources, the sample questionnaire (5 homes, 25
//! sources). A fresh key prefix per dev-server, so the source cache starts
//! empty; the second report of the same questionnaire finds every source
//! cached. Scripts were loaded by a warm-up report on another prefix, so
//! no `SCRIPT LOAD` is counted: on a node that lost its scripts each script
//! call costs 3 more commands (`EVALSHA` refused, `SCRIPT LOAD`, `EVALSHA`
//! refused again on a replica, then `EVAL`: the worst case,
//! `lib/tests/store/upstash.rs`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use care_report_testing::upstash::{Meter, UpstashProxy};

use super::{start_request, QUESTIONNAIRE};
use crate::load::{Conn, RequestSpec};
use crate::procs::{log_dir, DevServer};

/// Upstash pay-as-you-go: $0.2 per 100K commands; bandwidth free up to
/// 200 GB a month (upstash.com/pricing/redis, read November 2026).
const USD_PER_100K_COMMANDS: f64 = 0.2;

struct Row {
    action: &'static str,
    meter: Meter,
    commands: BTreeMap<String, usize>,
}

/// The dev-server under measurement, with the proxy in front of Redis.
struct Rig<'a> {
    proxy: &'a UpstashProxy,
    server: DevServer,
    conn: Conn,
}

impl<'a> Rig<'a> {
    async fn start(
        proxy: &'a UpstashProxy,
        extra: &[(&'static str, &str)],
        log: &str,
    ) -> anyhow::Result<Rig<'a>> {
        let mut env = vec![
            ("REDIS_URL", proxy.url().to_owned()),
            (
                "REDIS_KEY_PREFIX",
                care_report_testing::redis::unique_prefix(),
            ),
            ("SWEEP_INTERVAL_SECS", "86400".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let server = DevServer::start(&env, &log_dir().join(log))?;
        let conn = Conn::open(server.addr).await?;
        let rig = Rig {
            proxy,
            server,
            conn,
        };
        rig.quiet().await;
        Ok(rig)
    }

    /// Waits until no command has passed for 300 ms.
    async fn quiet(&self) {
        let mut last = self.proxy.meter().commands;
        let mut still = Instant::now();
        while still.elapsed() < Duration::from_millis(300) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = self.proxy.meter().commands;
            if now != last {
                last = now;
                still = Instant::now();
            }
        }
    }

    /// The commands and bytes of `action` (sent over this rig's
    /// connection), counted once the server is quiet again.
    async fn measure(
        &mut self,
        name: &'static str,
        req: &RequestSpec,
    ) -> anyhow::Result<(Row, crate::load::Response)> {
        self.quiet().await;
        let before = self.proxy.meter();
        let response = self.conn.send(req).await?;
        if response.status != req.expect {
            bail!(
                "{name}: answered {} (expected {})",
                response.status,
                req.expect
            );
        }
        self.quiet().await;
        let row = Row {
            action: name,
            meter: self.proxy.meter() - before,
            commands: self.proxy.commands_since(before.commands),
        };
        Ok((row, response))
    }
}

fn job_id(body: &[u8]) -> anyhow::Result<String> {
    let v: serde_json::Value = serde_json::from_slice(body)?;
    v["job_id"]
        .as_str()
        .map(str::to_owned)
        .context("answer without job_id")
}

/// Runs the measurements and prints the tables.
pub async fn run(redis_url: &str) -> anyhow::Result<()> {
    let proxy = UpstashProxy::start_warm(redis_url).await;
    // Warm-up on its own prefix: loads every script into Redis.
    {
        let mut warm = Rig::start(&proxy, &[], "redis-cost-warmup.log").await?;
        warm.measure("warm-up", &start_request()).await?;
    }
    let mut rows = complete_report_rows(&proxy).await?;
    rows.extend(partial_report_rows(&proxy).await?);
    print(&rows);
    Ok(())
}

/// A completed report: start and round, polls, result, a second report
/// from the cache, the synchronous route, an idle sweep.
async fn complete_report_rows(proxy: &UpstashProxy) -> anyhow::Result<Vec<Row>> {
    let mut rig = Rig::start(proxy, &[], "redis-cost.log").await?;
    let mut rows = Vec::new();
    let (row, started) = rig
        .measure("start + its round (sources not cached)", &start_request())
        .await?;
    rows.push(row);
    let id = job_id(&started.body)?;
    let status = format!("/api/professional-report/status/{id}");
    let (row, polled) = rig
        .measure("status poll (200)", &RequestSpec::get(&status, 200))
        .await?;
    rows.push(row);
    let tag = polled
        .header("etag")
        .context("status without ETag")?
        .to_owned();
    let not_modified = RequestSpec::get_with(&status, ("If-None-Match", &tag), 304);
    rows.push(rig.measure("status poll (304)", &not_modified).await?.0);
    let result = RequestSpec::get(&format!("/api/professional-report/result/{id}"), 200);
    rows.push(rig.measure("result (JSON)", &result).await?.0);
    rows.push(
        rig.measure("start + its round (sources cached)", &start_request())
            .await?
            .0,
    );
    let sync = RequestSpec::post_json("/api/professional-report", QUESTIONNAIRE.as_bytes(), 200);
    rows.push(
        rig.measure("synchronous route (sources cached)", &sync)
            .await?
            .0,
    );
    let cron = RequestSpec::get("/api/cron/retry-missing-data", 200);
    rows.push(rig.measure("sweep, nothing due", &cron).await?.0);
    Ok(rows)
}

/// A partial report (CQC down): its long poll while nothing changes, and a
/// sweep that retries its five missing sources.
async fn partial_report_rows(proxy: &UpstashProxy) -> anyhow::Result<Vec<Row>> {
    let extra = [
        ("SANDBOX_FAULTS", "cqc:status=503"),
        ("RETRY_BASE_DELAY_SECS", "1"),
    ];
    let mut rig = Rig::start(proxy, &extra, "redis-cost-partial.log").await?;
    let mut rows = Vec::new();
    let (row, started) = rig
        .measure("start + its round (5 sources fail)", &start_request())
        .await?;
    rows.push(row);
    let id = job_id(&started.body)?;
    let status = format!("/api/professional-report/status/{id}");
    let polled = rig.conn.send(&RequestSpec::get(&status, 200)).await?;
    let tag = polled
        .header("etag")
        .context("status without ETag")?
        .to_owned();
    let wait = RequestSpec::get_with(&format!("{status}?wait=5"), ("If-None-Match", &tag), 304);
    rows.push(
        rig.measure("status ?wait=5, nothing changes (304)", &wait)
            .await?
            .0,
    );
    // The first retry is due a second after the round.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cron = RequestSpec::get("/api/cron/retry-missing-data", 200);
    rows.push(
        rig.measure("sweep retrying 5 missing sources of one job", &cron)
            .await?
            .0,
    );
    drop(rig.server);
    Ok(rows)
}

fn print(rows: &[Row]) {
    println!("\n## 7. Redis commands and bytes per action (Upstash's billing units)\n");
    println!(
        "Commands as the client sends them (each billed by Upstash); bytes on the wire both ways, through the RESP proxy. Sandbox sources, 5 homes, 25 sources.\n"
    );
    println!("| action | commands | bytes sent | bytes received | by command |");
    println!("|---|---:|---:|---:|---|");
    for r in rows {
        let by: Vec<String> = r.commands.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "| {} | {} | {} | {} | {} |",
            r.action,
            r.meter.commands,
            r.meter.request_bytes,
            r.meter.reply_bytes,
            by.join(", ")
        );
    }
    print_month(rows);
}

/// The month at a stated volume, from the rows.
fn print_month(rows: &[Row]) {
    let cost = |name: &str| {
        rows.iter()
            .find(|r| r.action == name)
            .map_or(0.0, |r| r.meter.commands as f64)
    };
    // Stated volume: 3,000 reports a month through the original frontend's
    // synchronous route with sources not cached (its round plus the route's
    // summary reads: counted here at sandbox speed, so a slower live round
    // adds 5 reads a second), 10 status polls and 1 result read each, 20 %
    // partial with 10 retry sweeps each, and the cron sweep every 5 minutes.
    let reports = 3000.0;
    let sweeps = 30.0 * 24.0 * 12.0;
    let lines = [
        (
            "reports (start + round, not cached)",
            reports,
            cost("start + its round (sources not cached)"),
        ),
        ("status polls", reports * 10.0, cost("status poll (200)")),
        ("result reads", reports, cost("result (JSON)")),
        (
            "retry sweeps of partial jobs",
            reports * 0.2 * 10.0,
            cost("sweep retrying 5 missing sources of one job"),
        ),
        ("idle cron sweeps", sweeps, cost("sweep, nothing due")),
    ];
    println!("\n### A month at 3,000 reports (Upstash pay-as-you-go)\n");
    println!("| what | times | commands each | commands |");
    println!("|---|---:|---:|---:|");
    let mut total = 0.0;
    for (what, times, each) in lines {
        total += times * each;
        println!("| {what} | {times:.0} | {each:.0} | {:.0} |", times * each);
    }
    println!(
        "| **total** | | | **{total:.0}** (${:.2} at ${USD_PER_100K_COMMANDS} per 100K) |",
        total / 100_000.0 * USD_PER_100K_COMMANDS
    );
}
