//! Care-home professional report service.
//!
//! Layout:
//! - [`model`]: job ids, statuses, slots (one per home × source), leases.
//! - [`retry`]: the retry policy, a pure value.
//! - [`store`]: the `JobStore` contract with memory and Redis implementations.
//! - [`questionnaire`]: the client's questionnaire, validated into typed answers.
//! - [`directory`]: the care-home directory (embedded demo or CSV export).
//! - [`geo`]: city and postcode to coordinates, distances.
//! - [`matching`]: care-type and distance filters, scoring, the top 5.
//! - [`report`]: the plan checkpoint, report assembly and merging late sources.
//! - [`sources`]: the five external source adapters.

pub mod directory;
pub mod geo;
pub mod matching;
pub mod model;
pub mod questionnaire;
pub mod report;
pub mod sources;
pub mod store;
