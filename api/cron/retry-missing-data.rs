//! Vercel function: `GET /api/cron/retry-missing-data`: one retry sweep (Vercel Cron, every 5 minutes; needs `Authorization: Bearer $CRON_SECRET`).
//!
//! A shim: the library owns the behaviour (see `care_report::http`).

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run(care_report::http::Endpoint::Cron).await
}
