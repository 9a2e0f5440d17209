//! A round's decisions, as pure functions of the job read under the lease.
//!
//! [`super::Engine::run_leased`] is a sequence of steps (plan, fetch, save,
//! finish); everything it *decides* lives here, so each rule is written once
//! and table-tested without a store or a clock:
//! - [`select`]: which slots a round fetches (first round, sweep retry,
//!   manual retry);
//! - [`auto_retry_left`]: whether the sweep will still retry a partial job by
//!   itself (the one rule behind "final", used by the round, its finish and
//!   the `retry-status` view);
//! - [`finish`]: what the round's end writes (completed, partial, final);
//! - [`manual_answer`]: what a manual retry answers, from what the round
//!   actually did.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{ManualRetryReport, RoundReport};
use crate::model::{Job, JobStatus, Slot, SlotStatus};
use crate::retry::RetryPolicy;
use crate::store::Finish;

/// Which slots a round fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoundKind {
    /// First processing or resumption: never-attempted slots, plus missing
    /// slots whose retry is due.
    Process,
    /// Sweep retry: missing slots whose retry is due.
    DueRetries,
    /// Manual retry: every missing slot with retries left.
    Manual,
    /// An operator's retry of one source (after an upstream outage): the
    /// missing slots of that source with retries left.
    Source(crate::model::SourceType),
}

/// Whether the sweep will still retry some missing slot of `job` by itself:
/// the retry window is open and a missing slot has a next attempt scheduled
/// (the policy leaves it unscheduled once retries are exhausted or the
/// failure is permanent). A partial job for which this is false is final.
pub(crate) fn auto_retry_left(job: &Job, policy: &RetryPolicy, now: DateTime<Utc>) -> bool {
    !policy.past_deadline(job.deadline_at, now)
        && job.missing().any(|s| s.next_attempt_at.is_some())
}

/// Whether a round of `kind` should only finalize the job, without
/// fetching: a partial job with no automatic retry left. A manual retry
/// still works on it (inside the window its own gate checked).
pub(crate) fn finalize_only(
    job: &Job,
    kind: RoundKind,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> bool {
    job.status == JobStatus::Partial
        && !matches!(kind, RoundKind::Manual | RoundKind::Source(_))
        && !auto_retry_left(job, policy, now)
}

/// The slots a round of `kind` fetches, from the job as read under the
/// lease, limited to homes of the plan (`planned`).
pub(crate) fn select(
    job: &Job,
    kind: RoundKind,
    policy: &RetryPolicy,
    planned: &HashSet<&str>,
    now: DateTime<Utc>,
) -> Vec<Slot> {
    let window_open = !policy.past_deadline(job.deadline_at, now);
    job.slots
        .iter()
        .filter(|s| planned.contains(s.home_id.as_str()))
        .filter(|s| match (&s.status, kind) {
            (SlotStatus::Pending, RoundKind::Process) => true,
            (SlotStatus::Missing, RoundKind::Process | RoundKind::DueRetries) => {
                window_open && s.next_attempt_at.is_some_and(|t| t <= now)
            }
            (SlotStatus::Missing, RoundKind::Manual) => {
                window_open && !policy.is_exhausted(s.retry_count())
            }
            (SlotStatus::Missing, RoundKind::Source(t)) => {
                s.source_type == t && window_open && !policy.is_exhausted(s.retry_count())
            }
            _ => false,
        })
        .cloned()
        .collect()
}

/// What a round's end writes: completed when nothing is missing, else
/// partial, with automatic retries when [`auto_retry_left`] and not
/// `force_final`.
pub(crate) fn finish(
    job: &Job,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
    force_final: bool,
) -> Finish {
    let missing = job.missing().count();
    let expected = job
        .slots
        .iter()
        .filter(|s| s.status != SlotStatus::NotConfigured)
        .count();
    if missing == 0 {
        return Finish::Completed {
            message: format!("Report complete: {expected} of {expected} expected sources loaded"),
        };
    }
    let retryable = !force_final && auto_retry_left(job, policy, now);
    let message = if retryable {
        format!(
            "Report ready with {missing} of {expected} sources missing; they are retried automatically"
        )
    } else {
        format!(
            "Report ready with {missing} of {expected} sources missing; no further automatic retries"
        )
    };
    Finish::Partial {
        message,
        will_auto_retry: retryable,
    }
}

/// A manual retry's answer, from the round it ran (`round.retried_sources`
/// are the slots that round fetched, chosen under its lease) and the job
/// as it stands after the round.
pub(crate) fn manual_answer(round: RoundReport, still_missing: usize) -> ManualRetryReport {
    let fetched = round.retried_sources.len();
    let message = match (fetched, still_missing) {
        (0, 0) => "Nothing to retry: every source is loaded".to_owned(),
        (0, n) => format!("No source could be retried ({n} missing have no retries left)"),
        (f, 0) => format!("Retried {f} sources: the report is now complete"),
        (f, n) => format!(
            "Retried {f} sources: {} loaded, {n} still missing",
            round.recovered
        ),
    };
    ManualRetryReport {
        retried_sources: round.retried_sources,
        success_count: round.recovered,
        still_missing,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobId, SourceType};
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 10, 0, 0).unwrap()
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        }
    }

    fn slot(home: &str, source: SourceType, status: SlotStatus) -> Slot {
        let mut s = Slot::pending(home, home, source);
        s.status = status;
        s
    }

    /// A missing slot after `attempts` attempts, next due at `next`.
    fn missing(home: &str, source: SourceType, attempts: u32, next: Option<i64>) -> Slot {
        let mut s = slot(home, source, SlotStatus::Missing);
        s.attempts = attempts;
        s.next_attempt_at = next.map(|m| t0() + Duration::minutes(m));
        s
    }

    fn job(status: JobStatus, slots: Vec<Slot>) -> Job {
        Job {
            client: None,
            id: JobId::new(),
            status,
            progress: 0,
            message: String::new(),
            created_at: t0(),
            updated_at: t0(),
            deadline_at: t0() + Duration::hours(3),
            error: None,
            questionnaire: serde_json::json!({}),
            plan: None,
            slots,
            completeness: 0,
            lease: None,
            will_auto_retry: true,
            last_manual_retry_at: None,
        }
    }

    fn keys(slots: &[Slot]) -> Vec<String> {
        slots.iter().map(|s| s.key().field()).collect()
    }

    #[test]
    fn each_kind_selects_its_slots() {
        let j = job(
            JobStatus::Partial,
            vec![
                slot("a", SourceType::Cqc, SlotStatus::Pending),
                missing("a", SourceType::Fsa, 1, Some(-1)),
                missing("a", SourceType::GooglePlaces, 1, Some(30)),
                missing("a", SourceType::Firecrawl, 3, None),
                slot("a", SourceType::Neighbourhood, SlotStatus::Loaded),
                slot("z", SourceType::Cqc, SlotStatus::Pending),
            ],
        );
        let planned: HashSet<&str> = ["a"].into();
        let p = policy();
        let cases: [(RoundKind, &[&str]); 3] = [
            (RoundKind::Process, &["a/cqc", "a/fsa"]),
            (RoundKind::DueRetries, &["a/fsa"]),
            // Manual: every missing slot with retries left; the firecrawl
            // slot made 2 retries of 2.
            (RoundKind::Manual, &["a/fsa", "a/google_places"]),
        ];
        for (kind, want) in cases {
            assert_eq!(
                keys(&select(&j, kind, &p, &planned, t0())),
                want,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn nothing_is_selected_for_retry_once_the_window_closed() {
        let j = job(
            JobStatus::Partial,
            vec![
                slot("a", SourceType::Cqc, SlotStatus::Pending),
                missing("a", SourceType::Fsa, 1, Some(-1)),
            ],
        );
        let planned: HashSet<&str> = ["a"].into();
        let late = t0() + Duration::hours(4);
        assert_eq!(
            keys(&select(&j, RoundKind::Process, &policy(), &planned, late)),
            ["a/cqc"]
        );
        assert!(select(&j, RoundKind::DueRetries, &policy(), &planned, late).is_empty());
        assert!(select(&j, RoundKind::Manual, &policy(), &planned, late).is_empty());
    }

    #[test]
    fn finality_has_one_rule() {
        let p = policy();
        let scheduled = job(
            JobStatus::Partial,
            vec![missing("a", SourceType::Fsa, 1, Some(5))],
        );
        let unscheduled = job(
            JobStatus::Partial,
            vec![missing("a", SourceType::Fsa, 3, None)],
        );
        let late = t0() + Duration::hours(3) + Duration::seconds(1);
        let table = [
            (&scheduled, t0(), true),
            (&scheduled, t0() + Duration::hours(3), true),
            (&scheduled, late, false),
            (&unscheduled, t0(), false),
        ];
        for (j, now, left) in table {
            assert_eq!(auto_retry_left(j, &p, now), left);
            assert_eq!(finalize_only(j, RoundKind::DueRetries, &p, now), !left);
            assert!(!finalize_only(j, RoundKind::Manual, &p, now));
        }
        let processing = job(
            JobStatus::Processing,
            vec![missing("a", SourceType::Fsa, 3, None)],
        );
        assert!(!finalize_only(&processing, RoundKind::Process, &p, t0()));
    }

    #[test]
    fn finish_says_completed_partial_or_final() {
        let p = policy();
        let done = job(
            JobStatus::Processing,
            vec![
                slot("a", SourceType::Cqc, SlotStatus::Loaded),
                slot("a", SourceType::Fsa, SlotStatus::NotFound),
                slot("a", SourceType::Firecrawl, SlotStatus::NotConfigured),
            ],
        );
        let f = finish(&done, &p, t0(), false);
        assert_eq!(
            (f.status(), f.will_auto_retry()),
            (JobStatus::Completed, false)
        );
        assert_eq!(
            f.message(),
            "Report complete: 2 of 2 expected sources loaded"
        );

        let open = job(
            JobStatus::Processing,
            vec![
                slot("a", SourceType::Cqc, SlotStatus::Loaded),
                missing("a", SourceType::Fsa, 1, Some(5)),
            ],
        );
        let f = finish(&open, &p, t0(), false);
        assert_eq!(
            (f.status(), f.will_auto_retry()),
            (JobStatus::Partial, true)
        );
        assert!(
            f.message().ends_with("they are retried automatically"),
            "{}",
            f.message()
        );
        let f = finish(&open, &p, t0(), true);
        assert_eq!(
            (f.status(), f.will_auto_retry()),
            (JobStatus::Partial, false)
        );
        assert!(
            f.message().ends_with("no further automatic retries"),
            "{}",
            f.message()
        );
    }

    #[test]
    fn the_manual_answer_counts_what_the_round_fetched() {
        let round = |retried: &[&str], recovered| RoundReport {
            retried_sources: retried.iter().map(|s| (*s).to_owned()).collect(),
            recovered,
            ..RoundReport::default()
        };
        let table: [(RoundReport, usize, &str); 4] = [
            (round(&[], 0), 0, "Nothing to retry: every source is loaded"),
            (
                round(&[], 0),
                2,
                "No source could be retried (2 missing have no retries left)",
            ),
            (
                round(&["a/cqc", "b/cqc"], 2),
                0,
                "Retried 2 sources: the report is now complete",
            ),
            (
                round(&["a/cqc", "b/cqc"], 1),
                1,
                "Retried 2 sources: 1 loaded, 1 still missing",
            ),
        ];
        for (r, still, message) in table {
            let retried = r.retried_sources.clone();
            let answer = manual_answer(r, still);
            assert_eq!(answer.message, message);
            assert_eq!(answer.retried_sources, retried);
            assert_eq!(answer.still_missing, still);
        }
    }
}
