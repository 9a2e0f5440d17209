//! Vercel function: `GET /api/professional-report/status/{job_id}`.
//!
//! A shim: the library owns the behaviour (see `care_report::http`).

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run(care_report::http::Endpoint::Status).await
}
