//! The daily budget of paid upstream calls, checked before each paid call.
//!
//! Paid sources are the ones billed per request: Google Places (Places API,
//! billed per call) and Firecrawl (credits per scrape). CQC, FSA,
//! postcodes.io and Overpass are free public APIs and are never counted.
//! The counter is in the store (one per UTC day), so every instance spends
//! from the same budget.
//!
//! Each job also spends from its client's share of the day
//! ([`Engine::with_client_budget`]; `CLIENT_SHARE_PERCENT`), taken in the
//! same atomic step: without it one client starting report after report
//! would spend the whole day's budget and every other family's paid
//! sources would wait for midnight.
//!
//! When the budget (or the client's share) is spent a paid fetch is not
//! made: the slot is recorded as a transient failure whose `retry_after`
//! is the time until the budget resets, so the retry policy schedules it
//! for the next day. When the reset comes after the job's retry window
//! closes, the slot's message says so (it stays missing; a report started
//! after midnight UTC can have it) instead of promising a retry that will
//! never run. The job is not failed, and the free sources go on.
//!
//! The gate is a [`JobGate`], which `Sources::fetch_with` asks (through
//! [`UpstreamGate`]) right before an upstream call, after the source cache
//! missed: a cache hit costs nothing. It also stops calls for a job that
//! was erased (see `engine::erase`): before a paid call it checks that the
//! job still exists, so no instance spends money on a deleted job.

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::model::{Job, SourceType};
use crate::sources::{FailureKind, SourceFailure, SourceOutcome, UpstreamGate};
use crate::store::limits::{
    budget_day, client_budget_day, until_budget_reset, ClientBudget, Spend,
};

use super::Engine;

/// Whether a call to `source` is billed.
pub(crate) fn is_paid(source: SourceType) -> bool {
    matches!(source, SourceType::GooglePlaces | SourceType::Firecrawl)
}

/// What one round's upstream calls are asked against: the engine's budget,
/// the job's client and deadline, and whether the job was erased.
pub(super) struct JobGate<'a> {
    pub(super) engine: &'a Engine,
    pub(super) job: &'a Job,
    pub(super) erased: &'a CancellationToken,
}

/// What a call refused for an erased job records (the record is refused
/// too: the job is gone).
fn erased_outcome() -> SourceOutcome {
    SourceOutcome::Failed(SourceFailure {
        kind: FailureKind::Transient,
        retry_after: None,
        message: "the job was erased".to_owned(),
    })
}

impl Engine {
    /// Sets the day's budget of paid calls (`None`: no budget). Without it
    /// an engine spends without counting (tests, benchmarks).
    pub fn with_budget(mut self, daily_paid_calls: Option<u64>) -> Self {
        self.daily_paid_calls = daily_paid_calls;
        self
    }

    /// Sets how many of the day's paid calls one client's jobs may take
    /// (`None`: no share; `LimitsConfig::client_budget`). Only jobs that
    /// know their client ([`Job::client`]) are held to it.
    pub fn with_client_budget(mut self, client_paid_calls: Option<u64>) -> Self {
        self.client_paid_calls = client_paid_calls;
        self
    }

    /// Before an upstream call of `job`: `None` to go ahead (free source,
    /// no budget, unit taken), `Some(outcome)` to record instead. A store
    /// that cannot be asked refuses too (fail closed: no unmetered
    /// spending while Redis is down).
    async fn spend_gate(
        &self,
        source: SourceType,
        job: &Job,
        erased: &CancellationToken,
    ) -> Option<SourceOutcome> {
        if erased.is_cancelled() {
            return Some(erased_outcome());
        }
        if !is_paid(source) {
            return None;
        }
        if let Ok(None) = self.store.summary(job.id).await {
            tracing::info!(job_id = %job.id, source = source.as_str(), "job erased; paid call not made");
            erased.cancel();
            return Some(erased_outcome());
        }
        let limit = self.daily_paid_calls?;
        let limits = self.store.limits()?;
        let now = self.now();
        let client_day = job.client.as_deref().map(|c| client_budget_day(now, c));
        let client = self
            .client_paid_calls
            .zip(client_day.as_deref())
            .map(|(limit, counter)| ClientBudget { counter, limit });
        let why = match limits.spend(&budget_day(now), limit, client).await {
            Ok(Spend::Granted { .. }) => return None,
            Ok(Spend::Spent { .. }) => "today's budget of paid lookups is spent",
            Ok(Spend::ClientSpent { .. }) => {
                "this client's share of today's budget of paid lookups is spent"
            }
            Err(e) => {
                tracing::warn!(source = source.as_str(), error = %e, "budget could not be checked; call deferred");
                return Some(self.deferred(
                    job,
                    now,
                    "the budget of paid lookups could not be checked",
                    false,
                ));
            }
        };
        tracing::warn!(source = source.as_str(), reason = why, "paid call deferred");
        Some(self.deferred(job, now, why, true))
    }

    /// The outcome of a paid call deferred to the budget's reset at the
    /// next 00:00 UTC, for `why`. When the job's retry window closes before
    /// the reset, the message says the source stays missing rather than
    /// promising a retry after midnight (`until_reset`: whether the wait is
    /// for the reset or just a later try).
    fn deferred(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        why: &str,
        until_reset: bool,
    ) -> SourceOutcome {
        let wait = until_budget_reset(now);
        let reset = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero());
        let message = if !until_reset {
            format!("{why}; retried later")
        } else if self.policy.past_deadline(job.deadline_at, reset) {
            format!(
                "{why}, and it resets (00:00 UTC) only after this report's retry window closes ({} UTC): this source stays missing; a report started after midnight UTC can include it",
                job.deadline_at.format("%H:%M")
            )
        } else {
            format!("{why}; retried after it resets (00:00 UTC)")
        };
        SourceOutcome::Failed(SourceFailure {
            kind: FailureKind::Transient,
            retry_after: Some(wait),
            message,
        })
    }
}

impl UpstreamGate for JobGate<'_> {
    fn before_call(
        &self,
        source: SourceType,
    ) -> futures::future::BoxFuture<'_, Option<SourceOutcome>> {
        Box::pin(self.engine.spend_gate(source, self.job, self.erased))
    }
}
