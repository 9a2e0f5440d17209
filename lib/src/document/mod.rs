//! The report as a document a family can read, print and share: one HTML
//! page and one PDF, both printed from the same [`Document`].
//!
//! Fed by the report's typed output ([`ProfessionalReport`] with its
//! judgement sections), never by a second wording: [`model`] picks and
//! orders the report's own sentences and writes figures with the
//! judgement's helpers; [`html`] prints them with auto-escaping `maud`
//! templates; the `care-report-pdf` crate typesets the same model with
//! `typst` (data handed over as JSON, never as markup). The document is
//! rebuilt from the stored job on every request, so a partial report says
//! what is still missing at that moment.
//!
//! The PDF typesetter is a crate of its own so that only the binaries that
//! install it (the result function and the dev-server) carry typst and its
//! fonts: no other function and no test binary of this library links it.

pub mod html;
pub mod model;

use chrono::{DateTime, Utc};

pub use model::Document;

use crate::questionnaire::Questionnaire;
use crate::report::wire::ProfessionalReport;

/// The document of `report` (see [`model::build`]).
pub fn document(
    report: &ProfessionalReport,
    questionnaire: Option<&Questionnaire>,
    now: DateTime<Utc>,
) -> Document {
    model::build(report, questionnaire, now)
}

/// The HTML page of `report`.
pub fn to_html(doc: &Document) -> String {
    html::page(doc)
}

/// The file name a PDF is offered under: `care-home-report-2026-11-23.pdf`.
pub fn pdf_file_name(doc: &Document) -> String {
    format!("care-home-report-{}.pdf", doc.date_iso)
}
