//! The daily budget of paid upstream calls, checked before each paid call.
//!
//! Paid sources are the ones billed per request: Google Places (Places API,
//! billed per call) and Firecrawl (credits per scrape). CQC, FSA,
//! postcodes.io and Overpass are free public APIs and are never counted.
//! The counter is in the store (one per UTC day), so every instance spends
//! from the same budget.
//!
//! When the day's budget is spent a paid fetch is not made: the slot is
//! recorded as a transient failure whose `retry_after` is the time until
//! the budget resets, so the retry policy schedules it for the next day
//! (inside the job's retry window; past it the job ends partial). The job
//! is not failed, and the free sources go on.
//!
//! The gate is [`Engine::spend_gate`], which `Sources::fetch_with` asks
//! (through [`UpstreamGate`]) right before an upstream call, after the
//! source cache missed: a cache hit costs nothing.

use crate::model::SourceType;
use crate::sources::{FailureKind, SourceFailure, SourceOutcome, UpstreamGate};
use crate::store::limits::{budget_day, until_budget_reset, Spend};

use super::Engine;

/// Whether a call to `source` is billed.
pub(crate) fn is_paid(source: SourceType) -> bool {
    matches!(source, SourceType::GooglePlaces | SourceType::Firecrawl)
}

impl Engine {
    /// Sets the day's budget of paid calls (`None`: no budget). Without it
    /// an engine spends without counting (tests, benchmarks).
    pub fn with_budget(mut self, daily_paid_calls: Option<u64>) -> Self {
        self.daily_paid_calls = daily_paid_calls;
        self
    }

    /// Takes one unit of the day's budget for a call to `source`. `None`:
    /// go ahead (free source, no budget, unit taken). `Some(outcome)`: do
    /// not call; record this instead. A store that cannot be asked refuses
    /// too (fail closed: no unmetered spending while Redis is down).
    pub(super) async fn spend_gate(&self, source: SourceType) -> Option<SourceOutcome> {
        let limit = self.daily_paid_calls?;
        if !is_paid(source) {
            return None;
        }
        let limits = self.store.limits()?;
        let now = self.now();
        let message = match limits.spend(&budget_day(now), limit).await {
            Ok(Spend::Granted { .. }) => return None,
            Ok(Spend::Spent { .. }) => {
                tracing::warn!(
                    source = source.as_str(),
                    "daily budget of paid calls spent; call deferred"
                );
                "today's budget of paid lookups is spent; retried after it resets (00:00 UTC)"
            }
            Err(e) => {
                tracing::warn!(source = source.as_str(), error = %e, "budget could not be checked; call deferred");
                "the budget of paid lookups could not be checked; retried later"
            }
        };
        Some(SourceOutcome::Failed(SourceFailure {
            kind: FailureKind::Transient,
            retry_after: Some(until_budget_reset(now)),
            message: message.to_owned(),
        }))
    }
}

impl UpstreamGate for Engine {
    fn before_call(
        &self,
        source: SourceType,
    ) -> futures::future::BoxFuture<'_, Option<SourceOutcome>> {
        Box::pin(self.spend_gate(source))
    }
}
