//! Vercel function: `GET /health` (rewritten to `/api/health`): liveness and store reachability.
//!
//! A shim: the library owns the behaviour (see `care_report::http`).

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run(care_report::http::Endpoint::Health).await
}
