//! Vercel function: `POST /api/professional-report/start`: validates, stores the job, answers 202 and builds the report inside `wait_until`.
//!
//! A shim: the library owns the behaviour (see `care_report::http`).

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run(care_report::http::Endpoint::Start).await
}
