//! Vercel function: the operators' console, `/api/ops` and every path under it (a rewrite in `vercel.json` hands the sub-paths here); off unless `OPS_TOKEN` is set.
//!
//! A shim: the library owns the behaviour (see `care_report::http::ops`).

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run(care_report::http::Endpoint::Ops).await
}
