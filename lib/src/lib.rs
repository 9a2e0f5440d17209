//! Care-home professional report service.
//!
//! Layout:
//! - [`model`]: job ids, statuses, slots (one per home × source), leases.
//! - [`retry`]: the retry policy, a pure value.
//! - [`store`]: the `JobStore` contract with memory and Redis implementations.
//! - [`directory`]: the care-home directory (embedded demo or CSV export).
//! - [`sources`]: the five external source adapters.
//! - `testing` (hidden): a private `redis-server` for test suites.

pub mod directory;
pub mod model;
pub mod retry;
pub mod sources;
pub mod store;
#[doc(hidden)]
pub mod testing;

pub use store::{MemoryStore, RedisStore};
