//! The report as a PDF, typeset in-process by `typst`: no browser, no
//! external program (nothing of the sort exists on Vercel).
//!
//! A crate of its own so that typst, its PDF exporter and its bundled fonts
//! are linked only into the binaries that install [`Renderer`]: the result
//! function (`api/professional-report/result/[job_id].rs`) and the
//! dev-server. No other function and no test binary of the library carries
//! them. The document itself, and the HTML page, come from
//! [`care_report::document`]: one model, two printers.

mod typeset;

use chrono::{DateTime, Utc};

use care_report::document::{self, Document};
use care_report::http::answers::ResultView;
use care_report::http::formats::Documents;

pub use typeset::{render, PdfError};

/// The renderer the result route uses for HTML and PDF answers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Renderer;

impl Renderer {
    /// The document of a stored result, with its questionnaire as stored
    /// (read back by its typed decode; one that does not decode leaves the
    /// budget out).
    fn doc(view: &ResultView, now: DateTime<Utc>) -> Document {
        let q =
            care_report::questionnaire::Questionnaire::from_stored(&view.answer.questionnaire).ok();
        document::document(&view.answer.report, q.as_ref(), now)
    }
}

impl Documents for Renderer {
    fn html(&self, view: &ResultView, now: DateTime<Utc>) -> String {
        document::to_html(&Self::doc(view, now))
    }

    fn pdf(&self, view: &ResultView, now: DateTime<Utc>) -> Result<(Vec<u8>, String), String> {
        let doc = Self::doc(view, now);
        let pdf = render(&doc).map_err(|e| e.to_string())?;
        Ok((pdf, document::pdf_file_name(&doc)))
    }

    fn waiting(&self, progress: u8, retry_after_secs: u64, url: &str) -> String {
        document::html::waiting(progress, retry_after_secs, url)
    }
}
