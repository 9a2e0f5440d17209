//! Erasure of one job (the `DELETE` endpoint).

use crate::model::JobId;
use crate::store::{Erased, StoreError};

use super::{Engine, EngineError, Result};

impl Engine {
    /// Removes the job and everything stored for it, in one atomic store
    /// step. A round still running on it is fenced out: its next write
    /// fails with `LeaseLost` and it stops. [`EngineError::NotFound`] when
    /// there is no such job.
    pub async fn erase(&self, id: JobId) -> Result<()> {
        let erasure = self
            .store
            .erasure()
            .ok_or_else(|| StoreError::Unavailable("this store cannot erase jobs".into()))?;
        match erasure.erase(id).await? {
            Erased::Erased => {
                tracing::info!(job_id = %id, "job erased");
                Ok(())
            }
            Erased::Missing => Err(EngineError::NotFound),
        }
    }
}
