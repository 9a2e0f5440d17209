//! The result route's formats: JSON (the default), an HTML page and a PDF.
//!
//! The HTTP layer only negotiates (`?format=` first, then `Accept`) and
//! hands the stored report to a [`Documents`] renderer, which the host
//! installs in [`App::documents`]: the result function and the dev-server
//! install `care_report_pdf::Renderer` (HTML from [`crate::document`], PDF
//! typeset by typst); the other functions never reference that crate, so
//! the linker leaves typst and its fonts out of them. With no renderer
//! installed every request is answered in JSON.
//!
//! A shared document link is private: HTML and PDF answers say so to
//! browsers, caches and crawlers ([`privacy`]).

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};

use super::answers::ResultView;
use super::{json_response, ApiError, App};
use crate::engine::EngineError;
use crate::model::JobId;

/// What the client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json` (also for `*/*` and no `Accept`).
    Json,
    /// `text/html`.
    Html,
    /// `application/pdf`.
    Pdf,
}

impl Format {
    /// The format of `req`: `?format=json|html|pdf` wins; else the
    /// `Accept` type with the highest weight among the three (earlier wins a
    /// tie); else JSON.
    pub fn of(req: &Request<Bytes>) -> Format {
        if let Some(f) = super::query_param(req.uri().query(), "format") {
            match f.to_ascii_lowercase().as_str() {
                "html" => return Format::Html,
                "pdf" => return Format::Pdf,
                "json" => return Format::Json,
                _ => {}
            }
        }
        Self::from_accept(req.headers())
    }

    fn from_accept(headers: &HeaderMap) -> Format {
        let mut best = (Format::Json, 0.0_f32);
        for value in headers.get_all(header::ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                let format = match media.as_str() {
                    "text/html" | "application/xhtml+xml" => Format::Html,
                    "application/pdf" => Format::Pdf,
                    "application/json" => Format::Json,
                    _ => continue,
                };
                if q > best.1 {
                    best = (format, q);
                }
            }
        }
        best.0
    }
}

/// Prints a report as a document. Object-safe, so [`App`] can hold one
/// without the library's default build carrying a renderer.
pub trait Documents: Send + Sync + std::fmt::Debug {
    /// The HTML page of a report.
    fn html(&self, view: &ResultView, now: chrono::DateTime<chrono::Utc>) -> String;
    /// The PDF of a report and its file name.
    fn pdf(
        &self,
        view: &ResultView,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Vec<u8>, String), String>;
    /// The short page for a report not ready yet.
    fn waiting(&self, progress: u8, retry_after_secs: u64, url: &str) -> String;
}

/// How long a family is asked to wait before looking again, seconds.
pub const WAITING_RETRY_AFTER_SECS: u64 = 15;

/// `GET …/result/{job_id}` in the negotiated format.
pub(super) async fn result(
    app: &App,
    id: JobId,
    req: &Request<Bytes>,
) -> Result<Response<Bytes>, ApiError> {
    let format = match (&app.documents, Format::of(req)) {
        (Some(_), f) => f,
        (None, _) => Format::Json,
    };
    let view = match app.engine.report(id).await {
        Ok(settled) => ResultView::of(settled),
        Err(EngineError::NotReady { progress, .. }) if format == Format::Html => {
            let docs = app.documents.as_ref().expect("format is JSON without one");
            let url = format!("/api/professional-report/result/{id}?format=html");
            let body = docs.waiting(progress, WAITING_RETRY_AFTER_SECS, &url);
            let mut r = document_response(StatusCode::ACCEPTED, "text/html; charset=utf-8", body);
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(WAITING_RETRY_AFTER_SECS),
            );
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    };
    let now = app.engine.now();
    let mut response = match (format, &app.documents) {
        (Format::Html, Some(docs)) => document_response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            docs.html(&view, now),
        ),
        (Format::Pdf, Some(docs)) => {
            let docs = docs.clone();
            // Typesetting is CPU work: off the async workers.
            let rendered = tokio::task::spawn_blocking(move || docs.pdf(&view, now))
                .await
                .map_err(|e| ApiError::Render(e.to_string()))?
                .map_err(ApiError::Render)?;
            let (pdf, name) = rendered;
            let mut r = document_response(StatusCode::OK, "application/pdf", pdf);
            if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        _ => json_response(StatusCode::OK, &view),
    };
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}

fn document_response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Bytes> {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    privacy(r.headers_mut());
    r
}

/// A document's link holds the job id, so whoever has it can read the
/// report: it must not leak through a referrer, be indexed, or be kept by
/// a shared cache.
pub fn privacy(headers: &mut HeaderMap) {
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // No script runs on the page; nothing may be loaded from elsewhere.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, accept: Option<&str>) -> Request<Bytes> {
        let mut b = Request::builder().uri(uri);
        if let Some(a) = accept {
            b = b.header(header::ACCEPT, a);
        }
        b.body(Bytes::new()).unwrap()
    }

    #[test]
    fn negotiation_prefers_the_query_then_the_heaviest_accept() {
        let u = "/api/professional-report/result/x";
        assert_eq!(Format::of(&req(u, None)), Format::Json);
        assert_eq!(Format::of(&req(u, Some("*/*"))), Format::Json);
        assert_eq!(
            Format::of(&req(
                u,
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
            )),
            Format::Html
        );
        assert_eq!(Format::of(&req(u, Some("application/pdf"))), Format::Pdf);
        assert_eq!(
            Format::of(&req(
                u,
                Some("application/json;q=0.5, application/pdf;q=0.9")
            )),
            Format::Pdf
        );
        assert_eq!(
            Format::of(&req(&format!("{u}?format=pdf"), Some("text/html"))),
            Format::Pdf
        );
        assert_eq!(
            Format::of(&req(&format!("{u}?format=HTML"), None)),
            Format::Html
        );
        assert_eq!(
            Format::of(&req(&format!("{u}?format=doc"), None)),
            Format::Json
        );
    }
}
