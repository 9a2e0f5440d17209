//! The invariant checker of the reliability suite: reads jobs and their
//! histories back from a store and names every promise that was broken.
//!
//! The history (see [`HistoryEntry`]) is appended by the store in the same
//! atomic step as each transition, so it is the record of what was actually
//! committed, by which lease and when. Against it and the job's final state
//! the checker verifies:
//!
//! - **nothing lost**: every job a client was given still exists, its
//!   history starts at `created`, and its final slots agree with the history
//!   (attempt counts and statuses);
//! - **no (home, source) committed twice**: each slot's recorded attempts
//!   run 1, 2, 3, … without repeats or gaps, and nothing is recorded for a
//!   slot after its answer (`loaded`/`not_found`) was saved;
//! - **fencing**: lease tokens only grow, and every fenced write (plan,
//!   record, finish, release) carries the token of the latest grant and
//!   comes before that lease ended;
//! - **no attempt after a deadline**: every retry (attempt 2 and later)
//!   started no later than the job's deadline, and no slot was tried more
//!   than the policy allows;
//! - **progress monotonic**: the stored progress never went down;
//! - **settled** ([`check_settled`]): the job ended `completed` with every
//!   expected source answered, or `partial` with no automatic retry left,
//!   and holds no lease;
//! - **the operators' index matches the jobs** ([`check_index`]): every job
//!   is indexed exactly once, under its status; the index holds no job the
//!   store does not; each status' count is the number indexed under it.

use std::collections::{BTreeMap, HashMap};

use care_report::model::{HistoryEntry, HistoryEvent, Job, JobId, JobStatus, SlotStatus};
use care_report::retry::RetryPolicy;
use care_report::store::BoxFuture;
use care_report::store::JobStore;

/// What the checker reads from a store: a job and its history. Every
/// [`JobStore`] is one; the checker's own tests implement it to make reads
/// fail.
pub trait JobReader: Send + Sync {
    /// The job, `None` when the store does not hold it.
    fn read_job(&self, id: JobId) -> BoxFuture<'_, care_report::store::Result<Option<Job>>>;
    /// The job's history, oldest first.
    fn read_history(
        &self,
        id: JobId,
    ) -> BoxFuture<'_, care_report::store::Result<Vec<HistoryEntry>>>;
    /// The operators' index and counts (`store::ops`), when the store
    /// keeps them.
    fn read_index(&self) -> Option<BoxFuture<'_, care_report::store::Result<Index>>> {
        None
    }
}

/// The operators' index as read: every (job, status) filed, and the
/// count per status.
pub type Index = (Vec<(JobId, JobStatus)>, Vec<(JobStatus, u64)>);

impl<T: JobStore + ?Sized> JobReader for T {
    fn read_job(&self, id: JobId) -> BoxFuture<'_, care_report::store::Result<Option<Job>>> {
        self.get(id)
    }

    fn read_history(
        &self,
        id: JobId,
    ) -> BoxFuture<'_, care_report::store::Result<Vec<HistoryEntry>>> {
        self.history(id)
    }

    fn read_index(&self) -> Option<BoxFuture<'_, care_report::store::Result<Index>>> {
        let ops = self.ops()?;
        Some(Box::pin(async move {
            Ok((ops.indexed().await?, ops.counts().await?))
        }))
    }
}

/// What the checker found over a set of jobs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Jobs checked.
    pub jobs: usize,
    /// Of those, `completed`.
    pub completed: usize,
    /// Of those, `partial` (final or not).
    pub partial: usize,
    /// Of those, `failed`.
    pub failed: usize,
    /// Slot answers recorded, over all jobs.
    pub records: usize,
    /// Of those, retries (attempt 2 or later).
    pub retries: usize,
    /// Lease grants, over all jobs.
    pub claims: usize,
    /// Every broken promise, one line each (`job <id>: what`).
    pub violations: Vec<String>,
}

impl Report {
    /// A one-paragraph summary for test output.
    pub fn summary(&self) -> String {
        format!(
            "{} jobs ({} completed, {} partial, {} failed), {} answers recorded ({} retries), {} leases granted, {} violations",
            self.jobs,
            self.completed,
            self.partial,
            self.failed,
            self.records,
            self.retries,
            self.claims,
            self.violations.len()
        )
    }
}

/// Reads every job of `ids` and its history from `store` and checks them
/// (and, with `settled`, that each has reached its end state).
pub async fn check_store<S: JobReader + ?Sized>(
    store: &S,
    ids: &[JobId],
    policy: &RetryPolicy,
    settled: bool,
) -> Report {
    let mut report = Report::default();
    let mut seen = BTreeMap::new();
    for &id in ids {
        let job = match store.read_job(id).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                report
                    .violations
                    .push(format!("job {id}: lost (not in the store)"));
                continue;
            }
            Err(e) => {
                report
                    .violations
                    .push(format!("job {id}: cannot be read: {e}"));
                continue;
            }
        };
        let history = match store.read_history(id).await {
            Ok(h) => h,
            Err(e) => {
                report
                    .violations
                    .push(format!("job {id}: history cannot be read: {e}"));
                continue;
            }
        };
        report.jobs += 1;
        seen.insert(id, job.status);
        match job.status {
            JobStatus::Completed => report.completed += 1,
            JobStatus::Partial => report.partial += 1,
            JobStatus::Failed => report.failed += 1,
            JobStatus::Pending | JobStatus::Processing => {}
        }
        for e in &history {
            match e.event {
                HistoryEvent::Recorded => {
                    report.records += 1;
                    report.retries += usize::from(e.attempts.unwrap_or(0) >= 2);
                }
                HistoryEvent::Claimed => report.claims += 1,
                _ => {}
            }
        }
        let mut found = check_job(&job, &history, policy);
        if settled {
            found.extend(check_settled(&job));
        }
        report
            .violations
            .extend(found.into_iter().map(|v| format!("job {id}: {v}")));
    }
    let index = check_store_index(store, seen).await;
    report.violations.extend(index);
    report
}

/// Reads the operators' index (when the store keeps one) and checks it
/// against `seen` (the jobs read, with their status) and any other job it
/// names, read now.
async fn check_store_index<S: JobReader + ?Sized>(
    store: &S,
    mut seen: BTreeMap<JobId, JobStatus>,
) -> Vec<String> {
    let Some(read) = store.read_index() else {
        return Vec::new();
    };
    let (indexed, counts) = match read.await {
        Ok(index) => index,
        Err(e) => return vec![format!("the operators' index cannot be read: {e}")],
    };
    for (id, _) in &indexed {
        if seen.contains_key(id) {
            continue;
        }
        if let Ok(Some(job)) = store.read_job(*id).await {
            seen.insert(*id, job.status);
        }
    }
    check_index(&seen, &indexed, &counts)
}

/// The operators' index promise (see the module docs): `jobs` are the
/// jobs the store holds, with their status.
pub fn check_index(
    jobs: &BTreeMap<JobId, JobStatus>,
    indexed: &[(JobId, JobStatus)],
    counts: &[(JobStatus, u64)],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut filed: BTreeMap<JobId, Vec<JobStatus>> = BTreeMap::new();
    for (id, status) in indexed {
        filed.entry(*id).or_default().push(*status);
    }
    for (id, status) in jobs {
        match filed.get(id).map(Vec::as_slice) {
            None | Some([]) => out.push(format!(
                "job {id}: {status} but not in the operators' index"
            )),
            Some([one]) if one == status => {}
            Some([one]) => out.push(format!("job {id}: {status} but indexed as {one}")),
            Some(many) => out.push(format!("job {id}: indexed {} times ({many:?})", many.len())),
        }
    }
    for id in filed.keys().filter(|id| !jobs.contains_key(id)) {
        out.push(format!(
            "the operators' index holds job {id}, which the store does not hold"
        ));
    }
    for (status, count) in counts {
        let held = indexed.iter().filter(|(_, s)| s == status).count() as u64;
        if held != *count {
            out.push(format!(
                "the operators' count of {status} is {count} but its index holds {held}"
            ));
        }
    }
    out
}

/// The end-state promise: `completed` with every expected slot answered and
/// completeness 100, or `partial` that will not retry by itself any more;
/// no lease held either way.
pub fn check_settled(job: &Job) -> Vec<String> {
    let mut out = Vec::new();
    match job.status {
        JobStatus::Completed => {
            if job.completeness != 100 {
                out.push(format!("completed at completeness {}", job.completeness));
            }
            for s in &job.slots {
                if !s.status.is_done() && s.status != SlotStatus::NotConfigured {
                    out.push(format!(
                        "completed with {} still {}",
                        s.key().field(),
                        s.status.as_str()
                    ));
                }
            }
        }
        JobStatus::Partial if !job.will_auto_retry => {}
        status => out.push(format!(
            "not settled: {status}{}",
            if status == JobStatus::Partial {
                " and still retrying"
            } else {
                ""
            }
        )),
    }
    if job.status.has_report() && job.progress != 100 {
        out.push(format!("{} at progress {}", job.status, job.progress));
    }
    if let Some(lease) = &job.lease {
        out.push(format!("still holds lease {}", lease.token));
    }
    out
}

/// Checks one job's history against the promises in the module docs and
/// against its current state. Answers every violation found.
pub fn check_job(job: &Job, history: &[HistoryEntry], policy: &RetryPolicy) -> Vec<String> {
    let mut out = Vec::new();
    match history.first() {
        Some(e) if e.event == HistoryEvent::Created => {}
        Some(e) => out.push(format!(
            "history does not start at `created` but at {:?} (truncated?)",
            e.event
        )),
        None => {
            out.push("history is empty".to_owned());
            return out;
        }
    }

    // Fencing: the latest grant, and whether its lease is still held.
    let mut latest: Option<u64> = None;
    let mut held = false;
    let mut progress = 0u8;
    // Per slot: attempts recorded so far, the last status, and whether its
    // answer was already saved.
    let mut slots: BTreeMap<&str, (u32, SlotStatus)> = BTreeMap::new();
    let max_attempts = policy.max_retries.saturating_add(1);

    for (i, e) in history.iter().enumerate() {
        let at = format!("entry {i} ({:?} at {})", e.event, e.at.to_rfc3339());
        if let Some(p) = e.progress {
            if p < progress {
                out.push(format!("{at}: progress went back from {progress} to {p}"));
            }
            progress = progress.max(p);
        }
        match e.event {
            HistoryEvent::Created => {
                if i != 0 {
                    out.push(format!("{at}: created again"));
                }
            }
            HistoryEvent::Claimed => {
                let Some(token) = e.token else {
                    out.push(format!("{at}: grant without a token"));
                    continue;
                };
                if latest.is_some_and(|l| token <= l) {
                    out.push(format!(
                        "{at}: token {token} granted after token {}",
                        latest.unwrap_or_default()
                    ));
                }
                latest = Some(token);
                held = true;
            }
            HistoryEvent::Planned
            | HistoryEvent::Recorded
            | HistoryEvent::Finished
            | HistoryEvent::Released => {
                if e.token.is_none() || e.token != latest {
                    out.push(format!(
                        "{at}: written under token {:?} while the latest grant is {latest:?}",
                        e.token
                    ));
                } else if !held {
                    out.push(format!(
                        "{at}: written under token {:?} after that lease ended",
                        e.token
                    ));
                }
                if matches!(e.event, HistoryEvent::Finished | HistoryEvent::Released) {
                    held = false;
                }
            }
            HistoryEvent::ManualRetryRequested => {}
        }
        if e.event == HistoryEvent::Recorded {
            check_record(e, &at, job, max_attempts, &mut slots, &mut out);
        }
    }

    // The final state must be what the history says was written.
    for slot in &job.slots {
        let field = slot.key().field();
        match slots.get(field.as_str()) {
            Some((attempts, status)) => {
                if slot.attempts != *attempts {
                    out.push(format!(
                        "{field}: {} attempts stored but {attempts} recorded",
                        slot.attempts
                    ));
                }
                if slot.status != *status {
                    out.push(format!(
                        "{field}: stored as {} but last recorded as {}",
                        slot.status.as_str(),
                        status.as_str()
                    ));
                }
            }
            None if slot.attempts != 0 => out.push(format!(
                "{field}: {} attempts stored but none recorded",
                slot.attempts
            )),
            None => {}
        }
    }
    let known: HashMap<String, ()> = job.slots.iter().map(|s| (s.key().field(), ())).collect();
    for field in slots.keys() {
        if !known.contains_key(*field) {
            out.push(format!("{field}: recorded but not a slot of the job"));
        }
    }
    if job.progress != progress {
        out.push(format!(
            "progress stored as {} but last recorded as {progress}",
            job.progress
        ));
    }
    if let Some(last) = history
        .iter()
        .rev()
        .find(|e| e.event == HistoryEvent::Finished)
    {
        let after_last_finish = history
            .iter()
            .rev()
            .take_while(|e| e.event != HistoryEvent::Finished)
            .any(|e| e.event == HistoryEvent::Claimed);
        if !after_last_finish && last.job_status != Some(job.status) {
            out.push(format!(
                "status {} but the last round finished {:?}",
                job.status, last.job_status
            ));
        }
    }
    out
}

/// One `recorded` entry: attempts run on by one, nothing after an answer,
/// retries within the deadline and the policy's limit.
fn check_record<'h>(
    e: &'h HistoryEntry,
    at: &str,
    job: &Job,
    max_attempts: u32,
    slots: &mut BTreeMap<&'h str, (u32, SlotStatus)>,
    out: &mut Vec<String>,
) {
    let (Some(field), Some(status), Some(attempts)) =
        (e.slot.as_deref(), e.slot_status.clone(), e.attempts)
    else {
        out.push(format!("{at}: record without slot, status or attempts"));
        return;
    };
    let (before, last) = slots
        .get(field)
        .cloned()
        .unwrap_or((0, SlotStatus::Pending));
    if last.is_done() {
        out.push(format!(
            "{at}: {field} committed twice: attempt {attempts} recorded after its answer ({}) was saved",
            last.as_str()
        ));
    }
    if attempts <= before {
        out.push(format!(
            "{at}: {field} committed twice: attempt {attempts} recorded again (after attempt {before})"
        ));
    } else if attempts != before + 1 {
        out.push(format!(
            "{at}: {field} lost an update: attempt {attempts} follows attempt {before}"
        ));
    }
    if attempts > max_attempts {
        out.push(format!(
            "{at}: {field} attempt {attempts} exceeds the policy's {max_attempts}"
        ));
    }
    if attempts >= 2 {
        match e.started_at {
            Some(started) if started > job.deadline_at => out.push(format!(
                "{at}: {field} retry started at {} after the deadline {}",
                started.to_rfc3339(),
                job.deadline_at.to_rfc3339()
            )),
            Some(_) => {}
            None => out.push(format!("{at}: {field} retry without its start time")),
        }
    }
    slots.insert(field, (attempts.max(before), status));
}

/// One broken history per violation branch: each test breaks one promise
/// and expects exactly the line of that branch (found by a phrase only that
/// branch writes) and no other, so each fails when its branch is removed.
#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::*;
    use care_report::model::{Lease, Slot, SourceType};
    use care_report::store::{MemoryStore, NewJob, StoreError};

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap() + Duration::seconds(secs)
    }

    fn entry(at: i64, event: HistoryEvent) -> HistoryEntry {
        HistoryEntry::new(t(at), event)
    }

    fn claimed(at: i64, token: u64, progress: u8) -> HistoryEntry {
        HistoryEntry {
            token: Some(token),
            job_status: Some(JobStatus::Processing),
            progress: Some(progress),
            ..entry(at, HistoryEvent::Claimed)
        }
    }

    fn recorded(at: i64, token: u64, attempts: u32, status: SlotStatus, p: u8) -> HistoryEntry {
        HistoryEntry {
            token: Some(token),
            slot: Some("H1/cqc".to_owned()),
            slot_status: Some(status),
            attempts: Some(attempts),
            started_at: Some(t(at - 1)),
            progress: Some(p),
            ..entry(at, HistoryEvent::Recorded)
        }
    }

    fn finished(at: i64, token: u64, status: JobStatus) -> HistoryEntry {
        HistoryEntry {
            token: Some(token),
            job_status: Some(status),
            progress: Some(100),
            ..entry(at, HistoryEvent::Finished)
        }
    }

    /// A job whose only slot was missing once, then loaded on the retry.
    /// Indices: 0 created, 1 claimed(1), 2 planned, 3 recorded attempt 1
    /// missing, 4 finished partial, 5 claimed(2), 6 recorded attempt 2
    /// loaded, 7 finished completed.
    fn good() -> (Job, Vec<HistoryEntry>) {
        let mut slot = Slot::pending("H1", "Home One", SourceType::Cqc);
        slot.status = SlotStatus::Loaded;
        slot.attempts = 2;
        let job = Job {
            client: None,
            id: JobId::new(),
            status: JobStatus::Completed,
            progress: 100,
            message: String::new(),
            created_at: t(0),
            updated_at: t(400),
            deadline_at: t(3600),
            error: None,
            questionnaire: serde_json::Value::Null,
            plan: None,
            slots: vec![slot],
            completeness: 100,
            lease: None,
            will_auto_retry: false,
            last_manual_retry_at: None,
        };
        let history = vec![
            HistoryEntry {
                progress: Some(0),
                ..entry(0, HistoryEvent::Created)
            },
            claimed(1, 1, 0),
            HistoryEntry {
                token: Some(1),
                progress: Some(20),
                ..entry(2, HistoryEvent::Planned)
            },
            recorded(3, 1, 1, SlotStatus::Missing, 99),
            finished(4, 1, JobStatus::Partial),
            claimed(300, 2, 100),
            // Progress stays at 100: the store never lowers it.
            recorded(301, 2, 2, SlotStatus::Loaded, 100),
            finished(302, 2, JobStatus::Completed),
        ];
        (job, history)
    }

    /// Both checks, as `check_store` runs them with `settled`.
    fn violations(job: &Job, history: &[HistoryEntry]) -> Vec<String> {
        let mut v = check_job(job, history, &RetryPolicy::default());
        v.extend(check_settled(job));
        v
    }

    /// Exactly one line, and it contains `phrase`.
    #[track_caller]
    fn only(v: &[String], phrase: &str) {
        assert!(
            v.len() == 1 && v[0].contains(phrase),
            "expected exactly one violation containing {phrase:?}, got {v:#?}"
        );
    }

    #[test]
    fn a_clean_history_passes() {
        let (job, history) = good();
        assert_eq!(violations(&job, &history), Vec::<String>::new());
    }

    // --- the history's shape

    #[test]
    fn an_empty_history_is_caught() {
        let (job, _) = good();
        only(&violations(&job, &[]), "history is empty");
    }

    #[test]
    fn a_truncated_history_is_caught() {
        let (job, history) = good();
        only(
            &violations(&job, &history[1..]),
            "does not start at `created`",
        );
    }

    #[test]
    fn a_job_created_twice_is_caught() {
        let (job, mut history) = good();
        history.insert(
            1,
            HistoryEntry {
                progress: Some(0),
                ..entry(0, HistoryEvent::Created)
            },
        );
        only(&violations(&job, &history), "created again");
    }

    #[test]
    fn progress_going_back_is_caught() {
        let (job, mut history) = good();
        history[3].progress = Some(10);
        only(
            &violations(&job, &history),
            "progress went back from 20 to 10",
        );
    }

    // --- fencing

    #[test]
    fn a_grant_without_a_token_is_caught() {
        let (job, mut history) = good();
        history.push(HistoryEntry {
            token: None,
            ..claimed(400, 3, 100)
        });
        only(&violations(&job, &history), "grant without a token");
    }

    #[test]
    fn a_token_that_does_not_grow_is_caught() {
        let (job, mut history) = good();
        // The second grant reuses token 1 (and its writes carry it).
        for e in &mut history[5..] {
            e.token = Some(1);
        }
        only(&violations(&job, &history), "token 1 granted after token 1");
    }

    #[test]
    fn a_write_under_a_stale_token_is_caught() {
        let (job, mut history) = good();
        history[6].token = Some(1);
        only(
            &violations(&job, &history),
            "written under token Some(1) while the latest grant is Some(2)",
        );
    }

    #[test]
    fn a_write_after_the_lease_ended_is_caught() {
        let (job, mut history) = good();
        // The record lands after its round's `finished`.
        history.swap(6, 7);
        only(&violations(&job, &history), "after that lease ended");
    }

    // --- records

    #[test]
    fn a_record_without_its_slot_is_caught() {
        let (job, mut history) = good();
        history.insert(
            7,
            HistoryEntry {
                slot: None,
                ..recorded(301, 2, 3, SlotStatus::Loaded, 100)
            },
        );
        only(
            &violations(&job, &history),
            "record without slot, status or attempts",
        );
    }

    #[test]
    fn a_record_after_the_answer_is_caught() {
        let (mut job, mut history) = good();
        history.insert(7, recorded(302, 2, 3, SlotStatus::Loaded, 100));
        job.slots[0].attempts = 3;
        only(
            &violations(&job, &history),
            "after its answer (loaded) was saved",
        );
    }

    #[test]
    fn an_attempt_committed_twice_is_caught() {
        let (job, mut history) = good();
        // Attempt 1 (missing) recorded by two workers.
        history.insert(4, recorded(3, 1, 1, SlotStatus::Missing, 99));
        only(&violations(&job, &history), "attempt 1 recorded again");
    }

    #[test]
    fn a_lost_update_is_caught() {
        let (job, mut history) = good();
        history.remove(3);
        only(
            &violations(&job, &history),
            "lost an update: attempt 2 follows attempt 0",
        );
    }

    #[test]
    fn too_many_attempts_are_caught() {
        let (job, history) = good();
        let policy = RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        };
        only(
            &check_job(&job, &history, &policy),
            "exceeds the policy's 1",
        );
    }

    #[test]
    fn a_retry_after_the_deadline_is_caught() {
        let (mut job, history) = good();
        job.deadline_at = t(200);
        only(&violations(&job, &history), "after the deadline");
    }

    #[test]
    fn a_retry_without_its_start_time_is_caught() {
        let (job, mut history) = good();
        history[6].started_at = None;
        only(&violations(&job, &history), "retry without its start time");
    }

    #[test]
    fn a_record_for_no_slot_of_the_job_is_caught() {
        let (job, mut history) = good();
        history.insert(
            7,
            HistoryEntry {
                slot: Some("H9/cqc".to_owned()),
                ..recorded(301, 2, 1, SlotStatus::Loaded, 100)
            },
        );
        only(
            &violations(&job, &history),
            "H9/cqc: recorded but not a slot of the job",
        );
    }

    // --- the final state against the history

    #[test]
    fn stored_attempts_that_disagree_with_the_records_are_caught() {
        let (mut job, history) = good();
        job.slots[0].attempts = 1;
        only(
            &violations(&job, &history),
            "1 attempts stored but 2 recorded",
        );
    }

    #[test]
    fn a_stored_slot_status_that_disagrees_with_the_records_is_caught() {
        let (mut job, history) = good();
        job.slots[0].status = SlotStatus::Missing;
        only(
            &check_job(&job, &history, &RetryPolicy::default()),
            "stored as missing but last recorded as loaded",
        );
    }

    #[test]
    fn stored_attempts_with_no_record_are_caught() {
        let (mut job, history) = good();
        let mut fsa = Slot::pending("H1", "Home One", SourceType::Fsa);
        fsa.status = SlotStatus::Missing;
        fsa.attempts = 1;
        job.slots.push(fsa);
        only(
            &check_job(&job, &history, &RetryPolicy::default()),
            "H1/fsa: 1 attempts stored but none recorded",
        );
    }

    #[test]
    fn stored_progress_that_disagrees_with_the_history_is_caught() {
        let (mut job, history) = good();
        job.progress = 90;
        only(
            &check_job(&job, &history, &RetryPolicy::default()),
            "progress stored as 90 but last recorded as 100",
        );
    }

    #[test]
    fn a_stored_status_that_disagrees_with_the_last_round_is_caught() {
        let (mut job, history) = good();
        job.status = JobStatus::Partial;
        only(
            &violations(&job, &history),
            "status partial but the last round finished Some(Completed)",
        );
        // A round claimed after the last `finished` is still running: its
        // status is not the finished one's, and that is no violation.
        let (mut job, mut history) = good();
        job.status = JobStatus::Processing;
        history.push(claimed(400, 3, 100));
        assert_eq!(
            check_job(&job, &history, &RetryPolicy::default()),
            Vec::<String>::new()
        );
    }

    // --- settled

    #[test]
    fn completed_below_full_completeness_is_caught() {
        let (mut job, _) = good();
        job.completeness = 90;
        only(&check_settled(&job), "completed at completeness 90");
    }

    #[test]
    fn completed_with_a_slot_not_done_is_caught() {
        let (mut job, _) = good();
        job.slots[0].status = SlotStatus::Missing;
        only(&check_settled(&job), "completed with H1/cqc still missing");
        // A source without a key is not expected: no violation.
        job.slots[0].status = SlotStatus::NotConfigured;
        assert_eq!(check_settled(&job), Vec::<String>::new());
    }

    #[test]
    fn a_partial_job_still_retrying_is_caught() {
        let (mut job, _) = good();
        job.status = JobStatus::Partial;
        job.will_auto_retry = true;
        only(
            &check_settled(&job),
            "not settled: partial and still retrying",
        );
        job.will_auto_retry = false;
        assert_eq!(check_settled(&job), Vec::<String>::new());
    }

    #[test]
    fn a_job_still_processing_is_caught() {
        let (mut job, _) = good();
        job.status = JobStatus::Processing;
        only(&check_settled(&job), "not settled: processing");
    }

    #[test]
    fn a_report_below_full_progress_is_caught() {
        let (mut job, _) = good();
        job.progress = 90;
        only(&check_settled(&job), "completed at progress 90");
    }

    #[test]
    fn a_lease_still_held_is_caught() {
        let (mut job, _) = good();
        job.lease = Some(Lease {
            job_id: job.id,
            owner: "w".into(),
            token: 3,
            expires_at: t(500),
        });
        only(&check_settled(&job), "still holds lease 3");
    }

    // --- check_store

    fn new_job(id: JobId) -> NewJob {
        NewJob {
            client: None,
            id,
            questionnaire: serde_json::json!({}),
            idempotency: None,
            now: t(0),
            deadline_at: t(3600),
            message: String::new(),
        }
    }

    #[tokio::test]
    async fn a_job_missing_from_the_store_is_lost() {
        let store = MemoryStore::default();
        let kept = JobId::new();
        store
            .create(new_job(kept), std::time::Duration::from_secs(60))
            .await
            .unwrap();
        let lost = JobId::new();
        let report = check_store(&store, &[kept, lost], &RetryPolicy::default(), false).await;
        assert_eq!(report.jobs, 1, "{report:?}");
        assert_eq!(
            report.violations,
            vec![format!("job {lost}: lost (not in the store)")]
        );
    }

    /// A store whose reads fail: the job, or only its history.
    struct Failing {
        job: Option<Job>,
    }

    impl JobReader for Failing {
        fn read_job(&self, _: JobId) -> BoxFuture<'_, care_report::store::Result<Option<Job>>> {
            let job = self.job.clone();
            Box::pin(async move {
                job.map(Some)
                    .ok_or_else(|| StoreError::Unavailable("down".into()))
            })
        }

        fn read_history(
            &self,
            _: JobId,
        ) -> BoxFuture<'_, care_report::store::Result<Vec<HistoryEntry>>> {
            Box::pin(async { Err(StoreError::Unavailable("down".into())) })
        }
    }

    #[tokio::test]
    async fn a_job_that_cannot_be_read_is_reported() {
        let id = JobId::new();
        let report =
            check_store(&Failing { job: None }, &[id], &RetryPolicy::default(), true).await;
        assert_eq!(report.jobs, 0);
        assert_eq!(
            report.violations,
            vec![format!("job {id}: cannot be read: store unavailable: down")]
        );
    }

    #[tokio::test]
    async fn a_history_that_cannot_be_read_is_reported() {
        let (job, _) = good();
        let id = job.id;
        let store = Failing { job: Some(job) };
        let report = check_store(&store, &[id], &RetryPolicy::default(), true).await;
        assert_eq!(report.jobs, 0);
        assert_eq!(
            report.violations,
            vec![format!(
                "job {id}: history cannot be read: store unavailable: down"
            )]
        );
    }

    #[tokio::test]
    async fn check_store_counts_what_it_read() {
        let store = MemoryStore::default();
        let id = JobId::new();
        store
            .create(new_job(id), std::time::Duration::from_secs(60))
            .await
            .unwrap();
        let report = check_store(&store, &[id], &RetryPolicy::default(), false).await;
        assert_eq!(report.jobs, 1);
        assert_eq!(report.violations, Vec::<String>::new(), "{report:?}");
        // Not settled yet: the settled check says so.
        let report = check_store(&store, &[id], &RetryPolicy::default(), true).await;
        assert_eq!(
            report.violations,
            vec![format!("job {id}: not settled: pending")]
        );
    }

    /// One job per status, indexed as it should be, with matching counts.
    fn sound_index() -> (BTreeMap<JobId, JobStatus>, Index) {
        let statuses = [JobStatus::Pending, JobStatus::Partial, JobStatus::Completed];
        let jobs: BTreeMap<JobId, JobStatus> =
            statuses.iter().map(|st| (JobId::new(), *st)).collect();
        let indexed = jobs.iter().map(|(id, st)| (*id, *st)).collect();
        let counts = statuses.iter().map(|st| (*st, 1)).collect();
        (jobs, (indexed, counts))
    }

    #[test]
    fn a_sound_index_passes() {
        let (jobs, (indexed, counts)) = sound_index();
        assert_eq!(check_index(&jobs, &indexed, &counts), Vec::<String>::new());
    }

    #[test]
    fn a_job_missing_from_the_index_is_reported() {
        let (jobs, (mut indexed, mut counts)) = sound_index();
        let (id, st) = indexed.remove(0);
        counts.retain(|(s, _)| *s != st);
        assert_eq!(
            check_index(&jobs, &indexed, &counts),
            vec![format!("job {id}: {st} but not in the operators' index")]
        );
    }

    #[test]
    fn a_job_under_the_wrong_status_is_reported() {
        let (jobs, (mut indexed, _)) = sound_index();
        // The first job indexed (ids are random: any of the three, none
        // failed) is filed as failed instead of its own status.
        let (id, status) = indexed[0];
        indexed[0].1 = JobStatus::Failed;
        let found = check_index(&jobs, &indexed, &[]);
        assert_eq!(
            found,
            vec![format!("job {id}: {status} but indexed as failed")]
        );
    }

    #[test]
    fn a_job_indexed_twice_is_reported() {
        let (jobs, (mut indexed, _)) = sound_index();
        let twice = indexed[0];
        indexed.push((twice.0, JobStatus::Processing));
        let found = check_index(&jobs, &indexed, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("indexed 2 times"), "{found:?}");
    }

    #[test]
    fn an_index_entry_without_its_job_is_reported() {
        let (mut jobs, (indexed, counts)) = sound_index();
        let gone = indexed[2].0;
        jobs.remove(&gone);
        assert_eq!(
            check_index(&jobs, &indexed, &counts),
            vec![format!(
                "the operators' index holds job {gone}, which the store does not hold"
            )]
        );
    }

    #[test]
    fn a_count_that_disagrees_with_its_index_is_reported() {
        let (jobs, (indexed, mut counts)) = sound_index();
        counts[1].1 = 4;
        assert_eq!(
            check_index(&jobs, &indexed, &counts),
            vec!["the operators' count of partial is 4 but its index holds 1".to_owned()]
        );
    }

    #[tokio::test]
    async fn check_store_checks_the_index_of_a_real_store() {
        let store = MemoryStore::default();
        let ids: Vec<JobId> = (0..3).map(|_| JobId::new()).collect();
        for id in &ids {
            store
                .create(new_job(*id), std::time::Duration::from_secs(60))
                .await
                .unwrap();
        }
        // Only two are the caller's: the third is still checked through
        // the index.
        let report = check_store(&store, &ids[..2], &RetryPolicy::default(), false).await;
        assert_eq!(report.violations, Vec::<String>::new(), "{report:?}");
    }
}
