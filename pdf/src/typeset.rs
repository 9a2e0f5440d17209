//! The document as a PDF, typeset in-process by `typst` (no browser, no
//! external program).
//!
//! A minimal [`World`]: one source file, `report.typ` (compiled into the
//! binary), the fonts `typst-assets` ships, and no file system. The report's
//! data never becomes typst markup: the document model is serialised to JSON
//! and handed over as the byte value `sys.inputs.data`, which the template
//! reads with `json(…)`; strings from it are inserted as text, so a home
//! named `*bold* #eval("…")` prints exactly that.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Dict, Duration, Str, Value};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use care_report::document::Document;

/// The template; it reads everything from `sys.inputs.data`.
const TEMPLATE: &str = include_str!("report.typ");

/// Why a PDF could not be made. The template is ours, so this is a bug.
#[derive(Debug, thiserror::Error)]
#[error("the PDF could not be typeset: {0}")]
pub struct PdfError(pub String);

/// The bundled fonts, parsed once per process.
struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Fonts {
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

struct ReportWorld {
    library: LazyHash<Library>,
    main: Source,
    today: Option<Datetime>,
}

impl ReportWorld {
    fn new(data: Vec<u8>, today: chrono::NaiveDate) -> Result<Self, PdfError> {
        use chrono::Datelike;
        let mut inputs = Dict::new();
        inputs.insert(Str::from("data"), Value::Bytes(Bytes::new(data)));
        let library = Library::builder().with_inputs(inputs).build();
        let path = VirtualPath::new("/report.typ").map_err(|e| PdfError(format!("{e:?}")))?;
        let id = FileId::new(RootedPath::new(VirtualRoot::Project, path));
        Ok(Self {
            library: LazyHash::new(library),
            main: Source::new(id, TEMPLATE.to_owned()),
            today: Datetime::from_ymd(
                today.year(),
                u8::try_from(today.month()).unwrap_or(1),
                u8::try_from(today.day()).unwrap_or(1),
            ),
        })
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today
    }
}

/// Typesets `doc` as an A4 PDF.
pub fn render(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let data = serde_json::to_vec(doc).map_err(|e| PdfError(e.to_string()))?;
    // The document's own date (the report's), never the clock.
    let today = chrono::NaiveDate::parse_from_str(&doc.date_iso, "%Y-%m-%d")
        .map_err(|e| PdfError(format!("document date {:?}: {e}", doc.date_iso)))?;
    let world = ReportWorld::new(data, today)?;
    let compiled = typst::compile::<PagedDocument>(&world);
    let document = compiled.output.map_err(|errors| diagnostics(&errors))?;
    typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
        .map_err(|errors| diagnostics(&errors))
}

/// typst's diagnostics as one error.
fn diagnostics(errors: &[typst::diag::SourceDiagnostic]) -> PdfError {
    PdfError(
        errors
            .iter()
            .map(|e| e.message.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    )
}
