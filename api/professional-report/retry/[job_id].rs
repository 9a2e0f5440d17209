//! Vercel function: `POST /api/professional-report/retry/{job_id}`: retries the missing sources now.
//!
//! A shim: the library owns the behaviour (see `care_report::http`).

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run(care_report::http::Endpoint::Retry).await
}
