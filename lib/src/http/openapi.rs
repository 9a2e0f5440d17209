//! The OpenAPI 3.1 description of the API, served at `/api/openapi.json`.
//!
//! The answers' schemas are derived from the types the handlers serialize
//! (`utoipa::ToSchema` on the types of `answers/` and the model
//! enums they hold), so a field added to an answer is in the document at
//! once. The operations (statuses, headers, parameters and the error codes
//! each can answer) are written here, each success naming its answer by
//! its Rust type (`ok_response::<StatusView>`), and held to the router by
//! tests: every route of [`super::ROUTES`] is here and nothing else, every
//! error code is named where it can happen. They are not `#[utoipa::path]`
//! annotations on the handlers: an annotation's body type is no more tied
//! to what the handler returns than these are, and it cannot say what this
//! document says (a job id parameter shared by `$ref`, the status route's
//! 304 and caching headers, the result route's three media types); what
//! ties an answer to its schema is `lib/tests/http_api.rs`, which checks
//! every answer the handlers give against this document. The request's
//! questionnaire and the report inside an answer stay hand-written, open
//! objects: lib/tests/schema/professional_report.schema.json is the
//! report's contract, checked apart.

use serde_json::{json, Map, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder, RefOr, Schema};
use utoipa::ToSchema;

use super::answers::{
    Erased, ErrorBody, Health, MissingSourcesView, ReportAnswer, ResultView, RetryAnswer,
    RetryStatusView, StartAccepted, StatusView, SweepAnswer,
};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

/// A success answering `T` as JSON: the schema is named by the type the
/// handler serializes, so renaming or replacing an answer type moves its
/// operations with it.
fn ok_response<T: ToSchema>(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{}", T::name()) } } }
    })
}

fn job_operation<T: ToSchema>(summary: &str, op_id: &str, extra: &[(&str, &str)]) -> Value {
    let mut responses = json!({
        "200": ok_response::<T>(summary),
        "400": error_response("Malformed job id (`invalid_job_id`)"),
        "404": error_response("Unknown or expired job (`job_not_found`)"),
        "503": error_response("Store unreachable (`store_unavailable`)"),
    });
    for (code, description) in extra {
        responses[*code] = error_response(description);
    }
    json!({
        "summary": summary,
        "operationId": op_id,
        "parameters": [{ "$ref": "#/components/parameters/JobId" }],
        "responses": responses,
    })
}

/// The status operation's conditional request and caching headers
/// (`http::status`).
fn status_caching(doc: &mut Value) {
    let op = &mut doc["paths"]["/api/professional-report/status/{job_id}"]["get"];
    op["parameters"] = json!([
        { "$ref": "#/components/parameters/JobId" },
        { "name": "If-None-Match", "in": "header", "required": false, "schema": { "type": "string" },
          "description": "The ETag of an earlier answer: 304 when the status has not changed since, or when this server's copy is older than it (a read replica behind: progress never goes back)" },
        { "name": "wait", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0, "maximum": 25 },
          "description": "Long poll: hold the request up to this many seconds until the job changes (from the If-None-Match tag, or from the job as it was when the request arrived); a completed or failed job answers at once. 400 invalid_parameter outside 0 to 25" }
    ]);
    op["description"] = json!("The job's status from its small summary. A job created moments ago that this server cannot see yet (a read replica behind) is answered 200 pending, \"not visible here yet\", never 404.");
    op["responses"]["400"] = error_response(
        "Malformed job id (`invalid_job_id`) or an unusable wait parameter (`invalid_parameter`)",
    );
    let headers = json!({
        "ETag": { "description": "Weak tag: the last update in milliseconds, then a hash of status, progress, completeness and error", "schema": { "type": "string" } },
        "Cache-Control": { "description": "no-cache: revalidate with If-None-Match", "schema": { "type": "string" } },
        "Retry-After": { "description": "Seconds to wait before polling again: about 2 while pending or processing, until the next automatic retry while partial; absent once final", "schema": { "type": "integer" } }
    });
    op["responses"]["200"]["headers"] = headers.clone();
    op["responses"]["304"] = json!({
        "description": "Not modified: the status is the one the If-None-Match tag names",
        "headers": headers
    });
}

/// The result route's HTML and PDF answers ([`super::formats`]).
fn document_formats(op: &mut Value) {
    op["description"] = json!(
        "JSON by default (also for Accept: */*). With Accept: text/html or ?format=html, the report as one accessible, printable page (A4 print styles, no script); with Accept: application/pdf or ?format=pdf, an A4 PDF with contents, page numbers and links, served with Content-Disposition: inline; filename=\"care-home-report-YYYY-MM-DD.pdf\". Both are rebuilt from the stored job on every request, so a partial report says what is still missing and when it is retried. HTML and PDF answers carry Referrer-Policy: no-referrer, X-Robots-Tag: noindex and Cache-Control: private, no-store; every outbound link has rel=noreferrer noopener. A job not ready yet answers an HTML client 202 with a short page and Retry-After; JSON and PDF clients get 409 as before."
    );
    if let Some(params) = op["parameters"].as_array_mut() {
        params.push(json!({
            "name": "format", "in": "query", "required": false,
            "description": "Overrides the Accept header: json, html or pdf.",
            "schema": { "type": "string", "enum": ["json", "html", "pdf"] }
        }));
    }
    let private = json!({
        "Referrer-Policy": { "schema": { "type": "string", "const": "no-referrer" } },
        "X-Robots-Tag": { "schema": { "type": "string", "const": "noindex" } },
        "Cache-Control": { "schema": { "type": "string", "const": "private, no-store" } }
    });
    let ok = &mut op["responses"]["200"];
    ok["content"]["text/html"] = json!({ "schema": { "type": "string" } });
    ok["content"]["application/pdf"] =
        json!({ "schema": { "type": "string", "format": "binary" } });
    ok["headers"] = private.clone();
    ok["headers"]["Content-Disposition"] = json!({
        "description": "PDF only: inline; filename=\"care-home-report-YYYY-MM-DD.pdf\"",
        "schema": { "type": "string" }
    });
    let mut waiting_headers = private;
    waiting_headers["Retry-After"] = json!({ "schema": { "type": "integer" } });
    op["responses"]["202"] = json!({
        "description": "HTML only: the report is not ready yet; a short page says so and when to look again (Retry-After, seconds)",
        "headers": waiting_headers,
        "content": { "text/html": { "schema": { "type": "string" } } }
    });
}

/// The document.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(derived_document()).expect("the document serializes");
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("derived schemas");
    let derived: Vec<String> = schemas.keys().cloned().collect();
    for name in &derived {
        unwrap_one_of(&mut schemas[name]);
        merge_all_of(schemas, name);
    }
    for name in &derived {
        close(&mut schemas[name]);
    }
    schemas.insert("Questionnaire".to_owned(), questionnaire_schema());
    schemas.insert(
        "ProfessionalReport".to_owned(),
        professional_report_schema(),
    );
    schemas["Error"]["description"] = json!(ERROR_DESCRIPTION);
    doc["components"]["parameters"] = json!({
        "JobId": { "name": "job_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }
    });
    doc["paths"] = paths();
    status_caching(&mut doc);
    document_formats(&mut doc["paths"]["/api/professional-report/result/{job_id}"]["get"]);
    add_server_faults(&mut doc);
    doc
}

/// The `Error` schema's description: the codes of requests outside every
/// operation.
const ERROR_DESCRIPTION: &str = "Every error answer. Requests outside the operations below answer it too: no such path (404 `route_not_found`), another method (405 `method_not_allowed`, with an Allow header).";

/// The document's frame built by `utoipa`: info, the security scheme and
/// the component schemas derived from the answer types.
fn derived_document() -> utoipa::openapi::OpenApi {
    let cron_bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some("CRON_SECRET"))
        .build();
    let components = ComponentsBuilder::new()
        .schemas_from_iter(answer_schemas())
        .security_scheme("cronBearer", SecurityScheme::Http(cron_bearer))
        .build();
    let info = InfoBuilder::new()
        .title("Care-home professional report API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some("Builds professional care-home reports as background jobs. Start a job, poll its status, fetch the result. Missing sources are retried automatically for 3 hours and on demand."))
        .build();
    OpenApiBuilder::new()
        .info(info)
        .components(Some(components))
        .build()
}

/// Every answer type's schema, with the schemas it refers to (the model's
/// enums, a missing source, a retry's result, a sweep's counts).
fn answer_schemas() -> Vec<(String, RefOr<Schema>)> {
    let mut schemas = Vec::new();
    add::<ErrorBody>(&mut schemas);
    add::<Health>(&mut schemas);
    add::<StartAccepted>(&mut schemas);
    add::<StatusView>(&mut schemas);
    add::<ReportAnswer>(&mut schemas);
    add::<ResultView>(&mut schemas);
    add::<MissingSourcesView>(&mut schemas);
    add::<RetryStatusView>(&mut schemas);
    add::<RetryAnswer>(&mut schemas);
    add::<SweepAnswer>(&mut schemas);
    add::<Erased>(&mut schemas);
    schemas
}

fn add<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// The derive writes a described field of an inlined type as a `oneOf` of
/// that one type; written as the type itself (with the description), so
/// that [`close`] reaches inside it.
fn unwrap_one_of(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(mut alternatives)) = object.remove("oneOf") {
        match (alternatives.len(), alternatives.pop()) {
            (1, Some(Value::Object(only))) => {
                for (key, value) in only {
                    object.entry(key).or_insert(value);
                }
            }
            (_, last) => {
                alternatives.extend(last);
                object.insert("oneOf".to_owned(), Value::Array(alternatives));
            }
        }
    }
    for value in object.values_mut() {
        unwrap_one_of(value);
    }
}

/// A `#[serde(flatten)]`ed answer (`Report` holds `ReportAnswer`'s fields)
/// comes out of the derive as `allOf`; written as one object instead, so
/// that it can be closed like the others.
fn merge_all_of(schemas: &mut Map<String, Value>, name: &str) {
    let Some(parts) = schemas[name]
        .get("allOf")
        .and_then(Value::as_array)
        .cloned()
    else {
        return;
    };
    let mut properties = Map::new();
    for part in parts {
        let part = match part["$ref"].as_str() {
            Some(reference) => {
                schemas[reference.trim_start_matches("#/components/schemas/")].clone()
            }
            None => part,
        };
        if let Some(props) = part["properties"].as_object() {
            properties.extend(props.clone());
        }
    }
    let mut merged = json!({ "type": "object", "properties": properties });
    if let Some(description) = schemas[name].get("description") {
        merged["description"] = description.clone();
    }
    schemas[name] = merged;
}

/// `additionalProperties: false` on `schema` and every object inside it
/// that lists its properties, and every property required: the answer
/// structs always write every field (null when there is no value), except
/// an error's `details`, which is left out when there are none.
fn close(schema: &mut Value) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for prop in props.values_mut() {
            close(prop);
        }
        let required: Vec<String> = props
            .keys()
            .filter(|k| k.as_str() != "details")
            .cloned()
            .collect();
        schema["additionalProperties"] = Value::Bool(false);
        schema["required"] = json!(required);
    }
    if let Some(items) = schema.get_mut("items") {
        close(items);
    }
}

/// Every operation can meet a server fault, and a Vercel function whose
/// settings are wrong answers every request with one.
fn add_server_faults(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in operation.values_mut() {
            op["responses"]["500"] = error_response(
                "A server fault, shown without its cause (`internal_error`), or a Vercel function whose settings are wrong (`server_misconfigured`)",
            );
        }
    }
}

/// The operations.
fn paths() -> Value {
    let health = json!({
        "get": {
            "summary": "Liveness and store reachability",
            "operationId": "health",
            "responses": {
                "200": ok_response::<Health>("Service and store are up"),
                "503": error_response("The store is unreachable (`store_unavailable`, Retry-After header)"),
            }
        }
    });
    let mut paths = json!({
            "/health": health.clone(),
            "/api/health": health,
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": { "200": { "description": "OpenAPI 3.1 document", "content": { "application/json": {} } } }
                }
            },
            "/api/professional-report/start": {
                "post": {
                    "summary": "Start building a report",
                    "operationId": "startReport",
                    "parameters": [{
                        "name": "Idempotency-Key", "in": "header", "required": false,
                        "description": "Repeating a request with the same key returns the same job; a different body under a used key is a 409.",
                        "schema": { "type": "string", "minLength": 1, "maxLength": 255 }
                    }],
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": {
                            "oneOf": [
                                { "type": "object", "required": ["questionnaire"], "properties": { "questionnaire": { "$ref": "#/components/schemas/Questionnaire" } } },
                                { "$ref": "#/components/schemas/Questionnaire" }
                            ]
                        } } }
                    },
                    "responses": {
                        "202": ok_response::<StartAccepted>("Job accepted"),
                        "400": error_response("Invalid JSON (`invalid_json`), invalid questionnaire (`validation_failed`, details.fields lists every problem with its path), bad Idempotency-Key (`invalid_idempotency_key`) or a body the connection broke off (`incomplete_body`)"),
                        "408": error_response("The body took longer than BODY_READ_TIMEOUT_SECS to arrive (`body_timeout`, dev-server only; Connection: close)"),
                        "409": error_response("Idempotency-Key reused with a different body (`idempotency_key_reused`; names no job)"),
                        "429": error_response("Too many starts from this client or overall (`rate_limited`, Retry-After and RateLimit-* headers)"),
                        "413": error_response("Body over the size limit (`payload_too_large`)"),
                        "415": error_response("Body is not application/json (`unsupported_media_type`)"),
                        "503": error_response("Store unreachable (`store_unavailable`), store full (`store_full`), its request limit reached (`store_request_limit`) or the daily budget of paid calls spent (`budget_exhausted`), with Retry-After"),
                    }
                }
            },
            "/api/professional-report/status/{job_id}": {
                "get": job_operation::<StatusView>("Job status and progress", "getStatus", &[])
            },
            "/api/professional-report/result/{job_id}": {
                "get": job_operation::<ResultView>("The report (completed or partial)", "getResult", &[
                    ("409", "Not ready yet (`not_ready`, details: status, progress) or the job failed (`job_failed`)"),
                ])
            },
            "/api/professional-report/retry/{job_id}": {
                "post": job_operation::<RetryAnswer>("Retry the job's missing sources now", "retryJob", &[
                    ("409", "Job not partial/completed (`retry_not_allowed`), window closed (`retry_window_closed`) or busy (`job_busy`)"),
                    ("429", "A retry ran moments ago (`retry_too_soon`) or too many retries from this client or overall (`rate_limited`, RateLimit-* headers); Retry-After header"),
                    ("503", "Store unreachable (`store_unavailable`), full (`store_full`) or at its request limit (`store_request_limit`), with Retry-After"),
                ])
            },
            "/api/professional-report/missing-sources/{job_id}": {
                "get": job_operation::<MissingSourcesView>("The job's missing sources", "getMissingSources", &[])
            },
            "/api/professional-report/retry-status/{job_id}": {
                "get": job_operation::<RetryStatusView>("When each missing source is retried next", "getRetryStatus", &[])
            },
            "/api/cron/retry-missing-data": {
                "get": {
                    "summary": "One retry sweep (Vercel Cron, every 5 minutes)",
                    "operationId": "cronSweep",
                    "security": [{ "cronBearer": [] }, {}],
                    "responses": {
                        "200": ok_response::<SweepAnswer>("What the sweep did"),
                        "401": error_response("Missing or wrong bearer secret (`unauthorized`)"),
                        "503": error_response("CRON_SECRET not configured on Vercel (`cron_secret_not_configured`), or the store unreachable (`store_unavailable`) or full (`store_full`), with Retry-After"),
                    }
                }
            }
    });
    // Added apart: one json! literal this size hits the macro's recursion
    // limit.
    paths["/api/professional-report"] = sync_operation();
    paths["/api/professional-report/{job_id}"] = json!({
        "delete": job_operation::<Erased>("Erase the job and everything stored for it (questionnaire, report, history, idempotency key); afterwards every endpoint answers 404 for it", "eraseJob", &[])
    });
    paths
}

/// The request's questionnaire (its full rules: `lib/src/questionnaire`).
fn questionnaire_schema() -> Value {
    json!({
        "type": "object",
        "description": "The family's questionnaire, in the client's sections. It is validated whole (every problem is listed with its path); the job keeps only what the service reads, never an e-mail address, a phone number or an unknown field.",
        "required": ["section_1_contact_emergency", "section_2_location_budget", "section_3_medical_needs", "section_4_safety_special_needs", "section_5_timeline"],
        "properties": {
            "profile_description": { "type": "string" },
            "section_1_contact_emergency": { "type": "object" },
            "section_2_location_budget": { "type": "object" },
            "section_3_medical_needs": { "type": "object" },
            "section_4_safety_special_needs": { "type": "object" },
            "section_5_timeline": { "type": "object" },
            "section_6_priorities": { "type": "object" }
        }
    })
}

/// The report inside an answer: open, since
/// lib/tests/schema/professional_report.schema.json is its full contract.
fn professional_report_schema() -> Value {
    json!({
        "type": "object",
        "description": "The original frontend's ProfessionalReportData (camelCase; a fact the service does not hold is absent, never null or empty). The repository's lib/tests/schema/professional_report.schema.json is the full contract, tested against real answers.",
        "required": ["reportId", "jobId", "clientName", "analysisSummary", "appliedWeights", "careHomes", "generatedAt", "isPartial", "completeness", "missingDataSources"],
        "properties": {
            "reportId": { "type": "string" },
            "jobId": { "type": "string", "format": "uuid" },
            "clientName": { "type": "string" },
            "city": { "type": "string" },
            "analysisSummary": { "type": "object" },
            "appliedWeights": { "type": "object" },
            "careHomes": { "type": "array", "items": { "type": "object", "required": ["id", "name", "matchScore", "distance", "factorScores", "contact", "dataSources"] } },
            "generatedAt": { "type": "string", "format": "date-time" },
            "isPartial": { "type": "boolean" },
            "completeness": { "type": "integer" },
            "missingDataSources": { "type": "array", "items": { "$ref": "#/components/schemas/MissingSource" } }
        }
    })
}

/// `POST /api/professional-report`.
fn sync_operation() -> Value {
    json!({
        "post": {
            "summary": "The original backend's synchronous call: start the job and answer its report once it settles",
            "description": "Starts exactly the job `start` starts (same validation, Idempotency-Key, store, background processing and retries), then waits up to SYNC_REPORT_WAIT_SECS (default 240, below the function's maxDuration of 300) for it to settle. No top-level job_id: the report's jobId and the Content-Location header (its result URL) name the job.",
            "operationId": "professionalReport",
            "parameters": [{
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "As for start: the same key and body find the same job (and its report).",
                "schema": { "type": "string", "minLength": 1, "maxLength": 255 }
            }],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": {
                    "oneOf": [
                        { "type": "object", "required": ["questionnaire"], "properties": { "questionnaire": { "$ref": "#/components/schemas/Questionnaire" } } },
                        { "$ref": "#/components/schemas/Questionnaire" }
                    ]
                } } }
            },
            "responses": {
                "200": ok_response::<ReportAnswer>("The job settled with a report (completed or partial); Content-Location: its result URL"),
                "202": ok_response::<StartAccepted>("Not settled within the wait: the start answer; the job carries on"),
                "400": error_response("As for start (`invalid_json`, `validation_failed`, `invalid_idempotency_key`, `incomplete_body`)"),
                "408": error_response("As for start (`body_timeout`)"),
                "409": error_response("The job failed (`job_failed`, details.error) or the Idempotency-Key was reused with another body (`idempotency_key_reused`)"),
                "413": error_response("Body over the size limit (`payload_too_large`)"),
                "415": error_response("Body is not application/json (`unsupported_media_type`)"),
                "429": error_response("As for start (`rate_limited`)"),
                "503": error_response("As for start (`store_unavailable`, `store_full`, `budget_exhausted`)"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::http::ErrorCode;

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc = document();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = super::super::ROUTES
            .iter()
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(documented, routed);
        assert_eq!(doc["openapi"], "3.1.0");
    }

    /// Every code the responses (and the Error schema, for the requests
    /// outside every operation) name is an [`ErrorCode`], and every
    /// [`ErrorCode`] is named where it can happen.
    #[test]
    fn responses_name_exactly_the_error_codes() {
        let doc = document();
        let mut named = crate::http::error::tests::code_words(
            doc["components"]["schemas"]["Error"]["description"]
                .as_str()
                .unwrap(),
        );
        for operations in doc["paths"].as_object().unwrap().values() {
            for op in operations.as_object().unwrap().values() {
                for response in op["responses"].as_object().unwrap().values() {
                    named.extend(crate::http::error::tests::code_words(
                        response["description"].as_str().unwrap(),
                    ));
                }
            }
        }
        let codes: BTreeSet<String> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        assert_eq!(named, codes);
        let schema_codes: BTreeSet<String> = doc["components"]["schemas"]["Error"]["properties"]
            ["error"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(schema_codes, codes);
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/").skip(1) {
            let path = &piece[..piece.find('"').unwrap()];
            let mut node = &doc["components"];
            for part in path.split('/') {
                node = &node[part];
            }
            assert!(!node.is_null(), "dangling $ref {path}");
        }
    }
}
