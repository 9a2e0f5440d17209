//! Vercel function: `DELETE /api/professional-report/{job_id}`: erases the job and everything stored for it.
//!
//! A shim: the library owns the behaviour (see `care_report::http`).

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run(care_report::http::Endpoint::Delete).await
}
