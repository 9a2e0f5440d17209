//! Erasure of one job (the `DELETE` endpoint).
//!
//! The store's erasure fences out a round still running on the job: its
//! next write is refused. That alone would let the round go on starting
//! fetches (paid ones too) until its lease keeper noticed, so erasing also
//! stops it at once: a round in this process is cancelled through the
//! engine's registry of running rounds; a round in another instance stops
//! at its first refused write, and checks the job still exists before any
//! paid call (`engine::budget`). Either way its answers and logs say
//! "erased", and the sweep does not count it busy.

use crate::model::{JobId, CLOCK_SKEW};
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
                let running = self.rounds.lock().ok().and_then(|r| r.get(&id).cloned());
                if let Some((_, round)) = running {
                    round.cancel();
                }
                self.remember_erased(id);
                tracing::info!(job_id = %id, "job erased");
                Ok(())
            }
            Erased::Missing => Err(EngineError::NotFound),
        }
    }

    /// Notes that this process erased `id`, forgetting erasures older than
    /// the visibility window.
    fn remember_erased(&self, id: JobId) {
        let now = self.now();
        if let Ok(mut erased) = self.erased.lock() {
            erased.retain(|_, at| now - *at <= super::VISIBILITY_WINDOW + CLOCK_SKEW);
            erased.insert(id, now);
        }
    }

    /// Whether this process erased `id` within the visibility window.
    pub(super) fn erased_here(&self, id: JobId) -> bool {
        self.erased.lock().is_ok_and(|e| e.contains_key(&id))
    }
}
