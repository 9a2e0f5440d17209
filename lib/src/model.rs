//! The job model shared by the store, the engine and the HTTP layer.
//!
//! A job is one report being built for one questionnaire. Its work is split
//! into *slots*: one per (home, source type) pair of the chosen homes. Each
//! slot is saved the moment its source answers, so a job can be resumed after
//! a crash without fetching again what already answered. The JSON names here
//! are the wire names of README.md "API".

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A job's identifier: a UUID in its canonical hyphenated lower-case form.
///
/// New ids are time-ordered (version 7: the creation time in milliseconds,
/// then 74 random bits, RFC 9562 §5.7), so a server that cannot see a job
/// yet can tell a fresh id from an unknown one: a read that lands on an
/// Upstash replica that has not caught up is answered "not visible yet,
/// poll again" instead of 404 (`engine::VISIBILITY_WINDOW`, docs/STORE.md
/// "Consistency across instances").
/// 74 random bits keep the id unguessable (it is what lets a family read
/// their report). Version 4 ids, which earlier releases issued, still parse:
/// their jobs may be stored for a day.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(
    value_type = String,
    format = Uuid,
    description = "A job's identifier: a UUID (new ones are version 7, time-ordered; version 4 ids of earlier releases are still accepted). Unguessable: it is what lets a family read their report."
)]
pub struct JobId(Uuid);

/// Why a string is not a [`JobId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobIdError {
    /// Not a UUID at all.
    #[error("job id is not a UUID")]
    Malformed,
    /// A UUID, but neither a time-ordered (version 7) nor a random
    /// (version 4) one: we never issue those.
    #[error("job id is not a version 7 or version 4 UUID")]
    WrongVersion,
}

impl JobId {
    /// A fresh id created now (system clock).
    pub fn new() -> Self {
        Self::at(Utc::now())
    }

    /// A fresh id created at `now` (the engine's clock): version 7, its
    /// timestamp `now` in milliseconds and 74 random bits.
    pub fn at(now: DateTime<Utc>) -> Self {
        let ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            ms / 1000,
            u32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
        );
        Self(Uuid::new_v7(ts))
    }

    /// When the id was made: the timestamp of a version 7 id; `None` for a
    /// version 4 id (it carries no time).
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        let (secs, nanos) = self.0.get_timestamp()?.to_unix();
        DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
    }

    /// Whether this id was made within `window` before `now` (or up to
    /// [`CLOCK_SKEW`] after it, another instance's clock): a job under such
    /// an id may exist and not be visible to this reader yet.
    pub fn is_fresh(&self, now: DateTime<Utc>, window: chrono::Duration) -> bool {
        self.created_at()
            .is_some_and(|at| at <= now + CLOCK_SKEW && now - at <= window)
    }

    /// Parses a client-supplied id. Only the hyphenated form of a version 7
    /// or version 4 UUID is accepted, so one job has exactly one spelling
    /// (and one key).
    pub fn parse(s: &str) -> Result<Self, JobIdError> {
        if s.len() != 36 {
            return Err(JobIdError::Malformed);
        }
        let uuid = Uuid::try_parse(s).map_err(|_| JobIdError::Malformed)?;
        if !matches!(uuid.get_version_num(), 4 | 7) {
            return Err(JobIdError::WrongVersion);
        }
        Ok(Self(uuid))
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

/// How far ahead of this instance's clock another instance's may be when
/// judging an id fresh ([`JobId::is_fresh`]).
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(5);

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for JobId {
    type Err = JobIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for JobId {
    type Error = JobIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> Self {
        id.to_string()
    }
}

/// How a failed fetch should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// May succeed later (timeouts, 429, 5xx, malformed bodies, network errors).
    Transient,
    /// Will not succeed without a change on our side (401/403, bad request).
    Permanent,
}

/// Where a job is in its life: `pending` → `processing` → `completed` |
/// `partial` | `failed`, and `partial` → `completed` once nothing is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Stored, nobody has started on it yet.
    Pending,
    /// Someone holds (or held) its lease and is building the report.
    Processing,
    /// Every expected source answered.
    Completed,
    /// The report exists but some sources are missing.
    Partial,
    /// No report could be built (e.g. no candidate homes).
    Failed,
}

impl JobStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "processing" => Self::Processing,
            "completed" => Self::Completed,
            "partial" => Self::Partial,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// Whether a report exists (completed or partial).
    pub fn has_report(self) -> bool {
        matches!(self, Self::Completed | Self::Partial)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One external data source.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// CQC public API: the location's inspection record.
    Cqc,
    /// Food Standards Agency food hygiene ratings.
    Fsa,
    /// Google Places: rating and reviews.
    GooglePlaces,
    /// postcodes.io + OpenStreetMap Overpass: the surroundings.
    Neighbourhood,
    /// Firecrawl scrape of the home's own website.
    Firecrawl,
    /// Companies House: the provider company's filing and insolvency
    /// record (one fetch per company number, shared by its homes).
    CompaniesHouse,
}

impl SourceType {
    /// Every source, in report order.
    pub const ALL: [SourceType; 6] = [
        Self::Cqc,
        Self::Fsa,
        Self::GooglePlaces,
        Self::Neighbourhood,
        Self::Firecrawl,
        Self::CompaniesHouse,
    ];

    /// The wire name (`cqc`, `fsa`, `google_places`, `neighbourhood`,
    /// `firecrawl`, `companies_house`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cqc => "cqc",
            Self::Fsa => "fsa",
            Self::GooglePlaces => "google_places",
            Self::Neighbourhood => "neighbourhood",
            Self::Firecrawl => "firecrawl",
            Self::CompaniesHouse => "companies_house",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// A human name for reports and messages.
    pub(crate) fn display_name(self) -> &'static str {
        match self {
            Self::Cqc => "CQC inspection record",
            Self::Fsa => "FSA food hygiene rating",
            Self::GooglePlaces => "Google Places reviews",
            Self::Neighbourhood => "Neighbourhood (postcodes.io + OpenStreetMap)",
            Self::Firecrawl => "Home website (Firecrawl)",
            Self::CompaniesHouse => "Companies House provider record",
        }
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one slot of a job: a (home, source type) pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SlotKey {
    /// The home's directory id (CQC location id or `DEMO-…`).
    pub home_id: String,
    /// The source.
    pub source_type: SourceType,
}

impl SlotKey {
    /// A slot key.
    pub fn new(home_id: impl Into<String>, source_type: SourceType) -> Self {
        Self {
            home_id: home_id.into(),
            source_type,
        }
    }

    /// The stable string form `home_id/source_type`, used as a store field name.
    pub fn field(&self) -> String {
        format!("{}/{}", self.home_id, self.source_type.as_str())
    }

    /// Parses [`SlotKey::field`]'s form.
    #[cfg(test)]
    pub(crate) fn parse_field(s: &str) -> Option<Self> {
        let (home, source) = s.rsplit_once('/')?;
        Some(Self::new(home, SourceType::parse(source)?))
    }
}

/// The state of one slot, as the store keeps it. Loaded data itself is kept
/// apart (see `JobStore::source_data`) so reading a job's state stays cheap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotStatus {
    /// Planned, not attempted yet.
    Pending,
    /// The source answered with data.
    Loaded,
    /// The source answered that it has no record of this home (not retried;
    /// counts as loaded).
    NotFound,
    /// The source has no API key configured (not retried; not expected).
    NotConfigured,
    /// The source failed; see the retry fields.
    Missing,
}

impl SlotStatus {
    /// The wire name, as serde writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Loaded => "loaded",
            Self::NotFound => "not_found",
            Self::NotConfigured => "not_configured",
            Self::Missing => "missing",
        }
    }

    /// Whether the slot has its final answer (counts towards completeness).
    pub fn is_done(&self) -> bool {
        matches!(self, Self::Loaded | Self::NotFound)
    }
}

/// One slot's full state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The home's directory id.
    pub home_id: String,
    /// The home's name, for messages and the missing-sources list.
    pub home_name: String,
    /// The source.
    pub source_type: SourceType,
    /// Where the slot stands.
    pub status: SlotStatus,
    /// Attempts made so far (0 while pending).
    pub attempts: u32,
    /// When the last attempt finished.
    pub last_attempt: Option<DateTime<Utc>>,
    /// When the last attempt started (its fetch was sent). Absent in slots
    /// stored before it was recorded, hence the serde default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_started_at: Option<DateTime<Utc>>,
    /// When the next automatic attempt is due; `None` when none will be made
    /// (done, not configured, permanent failure, retries exhausted, deadline).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last error, for missing slots. Never contains secrets.
    pub error: Option<String>,
}

impl Slot {
    /// A slot that has not been attempted.
    pub fn pending(
        home_id: impl Into<String>,
        home_name: impl Into<String>,
        source_type: SourceType,
    ) -> Self {
        Self {
            home_id: home_id.into(),
            home_name: home_name.into(),
            source_type,
            status: SlotStatus::Pending,
            attempts: 0,
            last_attempt: None,
            attempt_started_at: None,
            next_attempt_at: None,
            error: None,
        }
    }

    /// This slot's key.
    pub fn key(&self) -> SlotKey {
        SlotKey::new(self.home_id.clone(), self.source_type)
    }

    /// Retries made so far: every attempt after the first.
    pub fn retry_count(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

/// A (home, source) pair the report still lacks, and where its retries
/// stand (docs/ARCHITECTURE.md "How it works").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MissingSource {
    /// The home's directory id.
    pub home_id: String,
    /// The home's name.
    pub home_name: String,
    /// The source's wire name.
    pub source_type: SourceType,
    /// The source's human name.
    pub source_name: String,
    /// Retries made so far.
    pub retry_count: u32,
    /// When the last attempt finished.
    pub last_attempt: Option<DateTime<Utc>>,
    /// When the next automatic attempt is due (`None`: no more automatic attempts).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last error.
    pub error: Option<String>,
    /// Where the source stands.
    pub status: MissingSourceStatus,
}

/// Where a missing source stands: the `status` of a missing source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissingSourceStatus {
    /// An automatic attempt is scheduled (`next_attempt_at`).
    Retrying,
    /// No more automatic attempts: the retry window or the attempts ran out.
    GivenUp,
    /// Not fetched yet: the job's first round has not reached it.
    Pending,
}

impl From<&Slot> for MissingSource {
    fn from(slot: &Slot) -> Self {
        Self {
            home_id: slot.home_id.clone(),
            home_name: slot.home_name.clone(),
            source_type: slot.source_type,
            source_name: slot.source_type.display_name().to_owned(),
            retry_count: slot.retry_count(),
            last_attempt: slot.last_attempt,
            next_attempt_at: slot.next_attempt_at,
            error: slot.error.clone(),
            status: if slot.next_attempt_at.is_some() {
                MissingSourceStatus::Retrying
            } else {
                MissingSourceStatus::GivenUp
            },
        }
    }
}

/// Completeness in percent (0–100) of the expected slots: those whose source
/// is configured. Not-found answers count as loaded. With no expected slot
/// at all the report is complete by definition.
pub fn completeness(slots: &[Slot]) -> u8 {
    let expected = slots
        .iter()
        .filter(|s| s.status != SlotStatus::NotConfigured)
        .count();
    if expected == 0 {
        return 100;
    }
    let done = slots.iter().filter(|s| s.status.is_done()).count();
    // Floor, so 24 of 25 shows 96 and only a full set shows 100.
    u8::try_from(done * 100 / expected).unwrap_or(100)
}

/// The lease a worker holds while it processes a job. Every write made under
/// it carries its fencing `token`; the store rejects the write once a newer
/// lease was granted or this one expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The job.
    pub job_id: JobId,
    /// Who holds it (a worker name, for logs).
    pub owner: String,
    /// Fencing token: strictly increasing per job, one per grant.
    pub token: u64,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// A job as the store returns it (without loaded source data). Its `Debug`
/// leaves out the questionnaire and the plan (personal data: names,
/// contacts, health), so a stray `{:?}` cannot put them into logs.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// Where it is in its life.
    pub status: JobStatus,
    /// 0–100, never decreases.
    pub progress: u8,
    /// Human message for the status endpoint.
    pub message: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
    /// After this instant nothing is retried (creation + the policy's deadline).
    pub deadline_at: DateTime<Utc>,
    /// Why it failed, for `failed` jobs.
    pub error: Option<String>,
    /// The validated questionnaire in its stored canonical form, as the
    /// JSON stored (written by `Questionnaire::to_stored_json`; the result
    /// answers echo it). The first round reads it back typed, once
    /// (`Questionnaire::from_stored`). It stays JSON here: `model` is below
    /// `questionnaire`, and a record that does not decode then fails only
    /// its job's planning, never a read of the job (status, lists, sweep).
    pub questionnaire: serde_json::Value,
    /// The checkpoint written before any fetch: the chosen homes and the
    /// report envelope. `None` until candidates were chosen.
    pub plan: Option<serde_json::Value>,
    /// One per (home, source) of the plan, in plan order.
    pub slots: Vec<Slot>,
    /// Completeness in percent, as [`completeness`] computes it.
    pub completeness: u8,
    /// The current lease, if one was granted and not released.
    pub lease: Option<Lease>,
    /// Whether the sweep will still retry missing slots by itself. False once
    /// the job was finalized (deadline passed or retries exhausted).
    pub will_auto_retry: bool,
    /// When a client last asked for a manual retry (for the throttle).
    pub last_manual_retry_at: Option<DateTime<Utc>>,
    /// The hashed bucket name of the client that started it
    /// (`http::limits::client_key`, never an address), whose share of the
    /// daily budget its paid calls take; `None` for a job started in
    /// process (tests, tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// What happened in one entry of a job's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryEvent {
    /// The job was stored (`start`).
    Created,
    /// A worker was granted a lease (`token`); `job_status` is the status
    /// after the grant.
    Claimed,
    /// The plan checkpoint was saved: the homes are chosen, slots exist.
    Planned,
    /// One slot's answer was saved: `slot`, `slot_status`, `attempts`,
    /// `started_at` (when that attempt's fetch began).
    Recorded,
    /// A round ended (`job_status`, `will_auto_retry`) and its lease with it.
    Finished,
    /// A lease was given back without finishing the round.
    Released,
    /// A client's manual retry passed the throttle.
    ManualRetryRequested,
}

/// One entry of a job's history: an audit trail of every committed store
/// transition, appended in the same atomic step as the transition itself,
/// so it can be trusted to say what was written, by which lease, and when.
/// Renewals are not recorded (they change no data). It holds ids, statuses,
/// counters and times only: never questionnaire contents or source data.
///
/// Operators read it to see why a report is partial or late; the
/// reliability suite checks the store's invariants against it (see
/// `care_report_testing::invariants`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When the transition was made (the writer's `now`, whole milliseconds).
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
    /// What happened.
    pub event: HistoryEvent,
    /// The fencing token of the lease the write was made under (granted,
    /// for `claimed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<u64>,
    /// The job's status after a claim, finish or release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_status: Option<JobStatus>,
    /// The slot (`home_id/source_type`) a `recorded` entry saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The slot's status as saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_status: Option<SlotStatus>,
    /// The slot's attempt count as saved (1 for its first answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// When the saved attempt's fetch began.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "chrono::serde::ts_milliseconds_option"
    )]
    pub started_at: Option<DateTime<Utc>>,
    /// The job's stored progress after the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// The job's completeness after the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<u8>,
    /// Whether the sweep will retry by itself, after a `finished` round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub will_auto_retry: Option<bool>,
}

impl HistoryEntry {
    /// An entry with only the time and the event set.
    pub fn new(at: DateTime<Utc>, event: HistoryEvent) -> Self {
        Self {
            at,
            event,
            token: None,
            job_status: None,
            slot: None,
            slot_status: None,
            attempts: None,
            started_at: None,
            progress: None,
            completeness: None,
            will_auto_retry: None,
        }
    }
}

/// A job's status fields only: what the status endpoint shows, read
/// without the questionnaire, the plan or the slots (the most polled
/// endpoint stays one small read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// Its id.
    pub id: JobId,
    /// Where it is in its life.
    pub status: JobStatus,
    /// 0–100, never decreases.
    pub progress: u8,
    /// Human message.
    pub message: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
    /// Why it failed, for `failed` jobs.
    pub error: Option<String>,
    /// Completeness in percent.
    pub completeness: u8,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("progress", &self.progress)
            .field("message", &self.message)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("deadline_at", &self.deadline_at)
            .field("error", &self.error)
            .field("questionnaire", &Redacted)
            .field("plan", &self.plan.as_ref().map(|_| Redacted))
            .field("slots", &self.slots)
            .field("completeness", &self.completeness)
            .field("lease", &self.lease)
            .field("will_auto_retry", &self.will_auto_retry)
            .field("last_manual_retry_at", &self.last_manual_retry_at)
            .field("client", &self.client)
            .finish()
    }
}

/// Stands in for personal data in `Debug` output.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Job {
    /// This job's summary.
    pub fn summary(&self) -> JobSummary {
        JobSummary {
            id: self.id,
            status: self.status,
            progress: self.progress,
            message: self.message.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            error: self.error.clone(),
            completeness: self.completeness,
        }
    }

    /// The slots still missing.
    pub fn missing(&self) -> impl Iterator<Item = &Slot> {
        self.slots
            .iter()
            .filter(|s| s.status == SlotStatus::Missing)
    }

    /// Whether the job is `partial`.
    pub fn is_partial(&self) -> bool {
        self.status == JobStatus::Partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_round_trips_and_rejects_other_forms() {
        let id = JobId::new();
        assert_eq!(JobId::parse(&id.to_string()), Ok(id));
        assert_eq!(JobId::parse("nope"), Err(JobIdError::Malformed));
        assert_eq!(JobId::parse(""), Err(JobIdError::Malformed));
        // v1 UUID
        assert_eq!(
            JobId::parse("c232ab00-9414-11ec-b3c8-9f6bdeced846"),
            Err(JobIdError::WrongVersion)
        );
        // a v4 id (issued by earlier releases) still parses
        let v4 = Uuid::new_v4().to_string();
        assert_eq!(JobId::parse(&v4).map(|i| i.to_string()), Ok(v4));
        // simple (unhyphenated) form is refused: one spelling per job
        let simple = id.as_uuid().simple().to_string();
        assert_eq!(JobId::parse(&simple), Err(JobIdError::Malformed));
        // braced and URN forms too
        assert!(JobId::parse(&format!("{{{id}}}")).is_err());
    }

    #[test]
    fn job_ids_are_time_ordered_and_know_when_they_were_made() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T15:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let a = JobId::at(t);
        let b = JobId::at(t + chrono::Duration::milliseconds(1));
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(a.created_at(), Some(t));
        assert!(a < b && a.to_string() < b.to_string());
        // Two ids of the same millisecond still differ (74 random bits).
        assert_ne!(JobId::at(t), JobId::at(t));
        let window = chrono::Duration::seconds(10);
        assert!(a.is_fresh(t + chrono::Duration::seconds(10), window));
        assert!(!a.is_fresh(t + chrono::Duration::milliseconds(10_001), window));
        assert!(a.is_fresh(t - CLOCK_SKEW, window));
        assert!(!a.is_fresh(t - CLOCK_SKEW - chrono::Duration::milliseconds(1), window));
        let v4 = JobId::parse(&Uuid::new_v4().to_string()).unwrap();
        assert_eq!(v4.created_at(), None);
        assert!(!v4.is_fresh(t, window));
    }

    #[test]
    fn job_id_serde_is_a_string() {
        let id = JobId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: JobId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<JobId>("\"x\"").is_err());
    }

    #[test]
    fn status_and_source_wire_names() {
        for s in [
            JobStatus::Pending,
            JobStatus::Processing,
            JobStatus::Completed,
            JobStatus::Partial,
            JobStatus::Failed,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for t in SourceType::ALL {
            assert_eq!(SourceType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(SourceType::parse("google"), None);
    }

    #[test]
    fn slot_field_round_trips_even_with_slashes_in_home_ids() {
        let key = SlotKey::new("DEMO/1", SourceType::GooglePlaces);
        assert_eq!(SlotKey::parse_field(&key.field()), Some(key));
    }

    #[test]
    fn job_debug_leaves_out_the_questionnaire_and_plan() {
        let job = Job {
            client: None,
            id: JobId::new(),
            status: JobStatus::Partial,
            progress: 100,
            message: "m".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deadline_at: Utc::now(),
            error: None,
            questionnaire: serde_json::json!({"q1_names": "Ada Example", "q2_email": "a@example.invalid"}),
            plan: Some(serde_json::json!({"client_name": "Ada Example"})),
            slots: Vec::new(),
            completeness: 80,
            lease: None,
            will_auto_retry: true,
            last_manual_retry_at: None,
        };
        let shown = format!("{job:?} {job:#?}");
        assert!(
            !shown.contains("Ada") && !shown.contains("example.invalid"),
            "{shown}"
        );
        assert!(shown.contains("<redacted>") && shown.contains(&job.id.to_string()));
    }

    #[test]
    fn completeness_ignores_not_configured_and_counts_not_found() {
        let mut slots: Vec<Slot> = SourceType::ALL
            .iter()
            .map(|t| Slot::pending("h", "H", *t))
            .collect();
        assert_eq!(completeness(&slots), 0);
        slots[0].status = SlotStatus::Loaded;
        slots[1].status = SlotStatus::NotFound;
        slots[2].status = SlotStatus::NotConfigured;
        slots[3].status = SlotStatus::Missing;
        slots[5].status = SlotStatus::NotConfigured;
        // 2 done of 4 expected
        assert_eq!(completeness(&slots), 50);
        slots[3].status = SlotStatus::Loaded;
        slots[4].status = SlotStatus::Loaded;
        assert_eq!(completeness(&slots), 100);
        assert_eq!(completeness(&[]), 100);
    }
}
