//! Shared helpers for the integration tests.

use std::sync::Arc;

use care_report::store::{JobStore, Retention};

/// A Redis store under a fresh key prefix on the private test Redis.
pub async fn redis_store() -> Arc<dyn JobStore> {
    Arc::new(care_report_testing::redis::store(Retention::default()).await)
}
