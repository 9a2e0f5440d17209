//! Care-home professional report service.
//!
//! Layout:
//! - [`model`]: job ids, statuses, slots (one per home × source), leases.
//! - [`retry`]: the retry policy, a pure value.
//! - [`store`]: the `JobStore` contract with memory and Redis implementations.
//! - [`questionnaire`]: the client's questionnaire, validated into typed answers.
//! - [`directory`]: the care-home directory (embedded demo or CSV export).
//! - [`geo`]: city and postcode to coordinates, distances.
//! - [`facts`]: the source records as serde types, which the adapters write
//!   and the judgement and the report read.
//! - [`matching`]: care-type and distance filters, scoring, the top 5.
//! - [`report`]: the plan checkpoint and the client-shaped report, assembled
//!   (and judged) from the stored facts on every read.
//! - [`judgement`]: pure rules that write the report's analysis sections,
//!   each statement traced to its data.
//! - [`sources`]: the five external source adapters (real HTTP clients).
//! - [`sandbox`]: local fake servers of the sources' APIs, with switchable faults.
//! - [`engine`]: durable processing under leases, the retry sweep, manual retries.
//! - [`document`]: the report as a document model and an HTML page, printed
//!   from the typed report (the PDF is typeset by the `care-report-pdf`
//!   crate from the same model).
//! - [`http`]: the API's handlers, host-independent, and the OpenAPI document.
//! - [`host`]: adapters for the hosts (Vercel functions; the dev-server uses hyper).
//! - [`settings`]: every environment variable, read once into [`settings::Settings`].
//! - [`service`]: builds everything from the settings.
//! - [`telemetry`]: logging shared by all.
//! - [`metrics`]: process counters of absorbed failures (shown by `/health`).
//!
//! Test support (a private `redis-server`, a guard for real binaries, the
//! invariant checker, an engine rig) is the `care-report-testing` crate in
//! `testing/`, a dev-dependency, so none of it is in the function binaries.

#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod clock;
pub mod directory;
pub mod document;
pub mod engine;
pub mod facts;
pub mod geo;
pub mod host;
pub mod http;
pub mod judgement;
pub mod matching;
pub mod metrics;
pub mod model;
pub mod questionnaire;
pub mod report;
pub mod retry;
pub mod sandbox;
pub mod service;
pub mod settings;
pub mod sources;
pub mod store;
pub mod telemetry;
