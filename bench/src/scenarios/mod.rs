//! One module per benchmark of the issue, each printing its own table.

pub mod api;
pub mod cache;
pub mod cold_start;
pub mod memory;
pub mod redis_cost;
pub mod reports;
pub mod sweep;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::load::{Conn, RequestSpec};

/// The questionnaire every job uses (the dev-server's sample: Birmingham,
/// dementia care; the demo directory has five matching homes, so a job
/// fetches 25 slots).
pub const QUESTIONNAIRE: &str = include_str!("../../../dev-server/samples/questionnaire.json");

/// The questionnaire as a JSON value.
pub fn questionnaire() -> serde_json::Value {
    serde_json::from_str(QUESTIONNAIRE).unwrap_or_default()
}

/// A `POST /api/professional-report/start` with the sample questionnaire.
pub fn start_request() -> RequestSpec {
    RequestSpec::post_json(
        "/api/professional-report/start",
        QUESTIONNAIRE.as_bytes(),
        202,
    )
}

/// Starts one job over `conn` and returns its id.
pub async fn start_job(conn: &mut Conn) -> anyhow::Result<String> {
    let r = conn.send(&start_request()).await?;
    if r.status != 202 {
        bail!("start answered {}", r.status);
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body)?;
    v["job_id"]
        .as_str()
        .map(str::to_owned)
        .context("start answer without job_id")
}

/// The `status` field of a job's status view.
pub async fn job_status(conn: &mut Conn, id: &str) -> anyhow::Result<String> {
    let r = conn
        .send(&RequestSpec::get(
            &format!("/api/professional-report/status/{id}"),
            200,
        ))
        .await?;
    let v: serde_json::Value = serde_json::from_slice(&r.body)?;
    Ok(v["status"].as_str().unwrap_or("").to_owned())
}

/// Whether a status is final for the first round (a report exists or the
/// job failed).
pub fn finished(status: &str) -> bool {
    matches!(status, "completed" | "partial" | "failed")
}

/// Starts one job on the server at `addr` and waits until it is finished.
pub async fn one_finished_job(addr: SocketAddr) -> anyhow::Result<String> {
    let mut conn = Conn::open(addr).await?;
    let id = start_job(&mut conn).await?;
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(60) {
        if finished(&job_status(&mut conn, &id).await?) {
            return Ok(id);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("job {id} did not finish within 60 s")
}
