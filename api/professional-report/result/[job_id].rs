//! Vercel function: `GET /api/professional-report/result/{job_id}`.
//!
//! A shim: the library owns the behaviour (see `care_report::http`). The
//! only function that installs the document renderer (HTML and PDF), so
//! the only binary that carries typst and its fonts.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    care_report::host::vercel::run_with_documents(
        care_report::http::Endpoint::Result,
        Some(Arc::new(care_report_pdf::Renderer)),
    )
    .await
}
