//! The operators' console's one bulk action: after an upstream outage,
//! retry every partial job's missing slots of that source now, through the
//! same leased rounds as the sweep (a round of `RoundKind::Source` fetches
//! only that source's missing slots with retries left, inside the job's
//! retry window).

use futures::StreamExt;
use serde::Serialize;

use super::round::RoundKind;
use super::{Engine, Ran, Result};
use crate::model::{JobId, JobStatus, SlotStatus, SourceType};
use crate::store::ops::ListQuery;

/// What a bulk retry of one source did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SourceRetryReport {
    /// The source retried.
    pub source: Option<SourceType>,
    /// Partial jobs with a missing slot of it that could be retried.
    pub jobs: usize,
    /// Slots fetched again.
    pub retried: usize,
    /// Of those, how many now have their answer.
    pub recovered: usize,
    /// Jobs another worker held at the time (left for the sweep).
    pub busy: usize,
    /// Jobs whose round failed (logged; left for the sweep).
    pub errors: usize,
    /// Whether more partial jobs are left than one action takes
    /// (`SWEEP_BATCH`); running it again takes the next ones.
    pub more_left: bool,
}

impl Engine {
    /// Retries the missing `source` slots of partial jobs (newest first, at
    /// most `SWEEP_BATCH` jobs per call), a few jobs at a time.
    pub async fn retry_source(&self, source: SourceType) -> Result<SourceRetryReport> {
        let (ids, more_left) = self.partial_with_missing(source).await?;
        let mut report = SourceRetryReport {
            source: Some(source),
            jobs: ids.len(),
            more_left,
            ..SourceRetryReport::default()
        };
        let rounds: Vec<(JobId, Result<Ran>)> = futures::stream::iter(ids)
            .map(|id| async move {
                let ran = self
                    .run_round(id, RoundKind::Source(source), &self.shutdown)
                    .await;
                (id, ran)
            })
            .buffer_unordered(self.config.sweep_job_concurrency)
            .collect()
            .await;
        for (id, ran) in rounds {
            match ran {
                Ok(Ran::Round(r)) => {
                    report.retried += r.retried;
                    report.recovered += r.recovered;
                }
                Ok(Ran::Held) => report.busy += 1,
                Ok(Ran::Finished(_) | Ran::Erased) => {}
                Err(e) => {
                    report.errors += 1;
                    tracing::warn!(job_id = %id, error = %e, "operator's source retry failed");
                }
            }
        }
        tracing::info!(
            source = source.as_str(),
            jobs = report.jobs,
            retried = report.retried,
            "operator retried a source"
        );
        Ok(report)
    }

    /// Partial jobs (from the operators' index) with a missing slot of
    /// `source` that may still be retried; and whether more were left.
    async fn partial_with_missing(&self, source: SourceType) -> Result<(Vec<JobId>, bool)> {
        let Some(ops) = self.store.ops() else {
            return Ok((Vec::new(), false));
        };
        let now = self.now();
        let take = self.config.sweep_batch.max(1);
        let mut ids = Vec::new();
        let mut offset = 0;
        loop {
            let query = ListQuery {
                status: Some(JobStatus::Partial),
                id_prefix: None,
                offset,
                limit: 100,
            };
            let page = ops.list(&query).await?;
            for row in &page.rows {
                let Some(job) = self.store.get(row.id).await? else {
                    continue;
                };
                let retryable = !self.policy.past_deadline(job.deadline_at, now)
                    && job.slots.iter().any(|s| {
                        s.source_type == source
                            && s.status == SlotStatus::Missing
                            && !self.policy.is_exhausted(s.retry_count())
                    });
                if retryable {
                    if ids.len() == take {
                        return Ok((ids, true));
                    }
                    ids.push(job.id);
                }
            }
            offset += page.rows.len();
            if page.rows.is_empty() || offset as u64 >= page.total {
                return Ok((ids, false));
            }
        }
    }
}
