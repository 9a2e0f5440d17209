//! Vercel function: `POST /api/professional-report`: the original backend's synchronous contract; starts the job `start` starts and answers the report once it settles (202 with the start body if it does not within `SYNC_REPORT_WAIT_SECS`).
//!
//! A shim: the library owns the behaviour (see `care_report::http::sync`).

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run(care_report::http::Endpoint::ProfessionalReport).await
}
