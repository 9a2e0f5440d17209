//! Care-home professional report service.
//!
//! Layout:
//! - [`model`]: job ids, statuses, slots (one per home × source), leases.
//! - [`retry`]: the retry policy, a pure value.
//! - [`store`]: the `JobStore` contract with memory and Redis implementations.
//! - [`directory`]: the care-home directory (embedded demo or CSV export).
//! - [`sources`]: the five external source adapters (real HTTP clients).
//! - [`sandbox`]: local fake servers of the sources' APIs, with switchable faults.

pub mod directory;
pub mod model;
pub mod sandbox;
pub mod sources;
pub mod store;
