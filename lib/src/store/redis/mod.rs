//! The Redis [`JobStore`]: production state on Vercel KV / Upstash.
//!
//! Every transition is one Lua script from `lua/` (one round trip, atomic
//! on the server), called through its struct in `scripts.rs`, which
//! names every `KEYS` and `ARGV` entry the script's header lists (a test
//! holds the two together); every key a script touches is passed in `KEYS`,
//! as Upstash requires. `lua/common.lua` holds the helpers the job scripts
//! share and is prepended to each, after the constants generated from Rust
//! (`scripts::prelude`).
//!
//! Layout under the prefix `{p}` (default `care-report:`):
//! - `{p}job:{id}`: hash of the job's scalar fields (instants in epoch ms);
//! - `{p}job:{id}:slots`: hash `home_id/source` → slot JSON;
//! - `{p}job:{id}:data`: hash `home_id/source` → loaded data JSON;
//! - `{p}job:{id}:history`: list of the job's history entries (JSON, oldest
//!   first, at most [`super::HISTORY_LIMIT`]);
//! - `{p}idem:{key}`: hash `{job, fp}` for an idempotency key;
//! - `{p}due`: sorted set of job ids scored by when they are due (ms).
//!
//! Every key gets a TTL when written (see [`Retention`]); the due index's
//! TTL is only ever extended, so it expires only once nothing was written
//! for a whole retention period. A Redis failure is
//! [`StoreError::Unavailable`] for the caller: there is no fallback to
//! memory, which would silently split state between instances.
//!
//! The companions live beside it, one file per contract, each calling its
//! own scripts: `limits.rs`, `ops.rs` (the console's indexes and counters),
//! `source_cache.rs`, `erase.rs`; `health.rs` reads the eviction policy.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::Value;
use chrono::{DateTime, Utc};

mod erase;
mod health;
mod limits;
mod ops;
mod scripts;
mod source_cache;

use self::scripts::JobKeys;
use self::scripts::{
    ClaimCall, CreateCall, CreateIdem, DueCall, Fence, FinishCall, GateManualRetryCall, LuaCall,
    ReadCall, RecordCall, ReleaseCall, RenewCall, SavePlanCall, Ttl,
};
use super::BoxFuture;
use super::{
    add_ms, dur_ms, from_ms, order_slots, to_ms, trunc_ms, Claim, Created, Finish, Idempotency,
    JobStore, ManualRetryGate, NewJob, Record, Result, Retention, SavePlan, StoreError,
};
use crate::model::{
    HistoryEntry, Job, JobId, JobStatus, JobSummary, Lease, Slot, SlotKey, SlotStatus,
};

/// Installs rustls' ring crypto provider as the process default, once, so
/// `rediss://` connections can be made. Safe to call any number of times.
pub(crate) fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How to reach Redis and what to apply to every write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// Prefix of every key (isolates deployments and tests).
    pub prefix: String,
    /// How long one command may take before it fails. 2 s by default:
    /// `redis`' 500 ms default is too tight for a TLS round trip to Upstash
    /// from another region running a script over a whole job, while anything
    /// much longer keeps a request (and a serverless invocation) hanging on
    /// a Redis that is down instead of answering 503.
    pub response_timeout: Duration,
    /// How long one connection attempt may take. 3 s by default: a cold
    /// serverless instance does DNS, TCP and a TLS handshake to Upstash, which
    /// can exceed `redis`' 1 s default; longer would delay the 503 a client
    /// sees when Redis is unreachable.
    pub connection_timeout: Duration,
    /// TTL rule for every key.
    pub retention: Retention,
    /// The CA(s) a `rediss://` server's certificate must chain to, instead
    /// of the public web roots (`REDIS_CA_FILE`); `None`: the public roots.
    pub tls_ca: Option<TlsCa>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            prefix: "care-report:".to_owned(),
            response_timeout: Duration::from_millis(2000),
            connection_timeout: Duration::from_millis(3000),
            retention: Retention::default(),
            tls_ca: None,
        }
    }
}

/// One or more CA certificates in PEM, checked to hold at least one
/// certificate when read.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsCa {
    pem: Vec<u8>,
    certificates: usize,
}

impl std::fmt::Debug for TlsCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsCa({} certificates)", self.certificates)
    }
}

impl TlsCa {
    /// The CA certificates in `pem`; an error saying why when it holds none
    /// or a block that is not a certificate.
    pub fn from_pem(pem: Vec<u8>) -> std::result::Result<Self, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut certificates = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            cert.map_err(|e| format!("holds a block that is not a PEM certificate ({e:?})"))?;
            certificates += 1;
        }
        if certificates == 0 {
            return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned());
        }
        Ok(Self { pem, certificates })
    }

    /// The certificates read from the file at `path`.
    pub fn from_file(path: &std::path::Path) -> std::result::Result<Self, String> {
        let pem = std::fs::read(path).map_err(|e| format!("cannot be read ({e})"))?;
        Self::from_pem(pem)
    }

    /// How many certificates it holds.
    pub fn certificates(&self) -> usize {
        self.certificates
    }
}

/// The Redis store. Cheap to clone; clones share one multiplexed connection
/// that reconnects in the background.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    retention: Retention,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No URL here: it holds a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: ::redis::RedisError) -> StoreError {
    // The error text names the failing operation, never the URL. Redis
    // answers `OOM command not allowed when used memory > 'maxmemory'` when
    // it is full and evicts nothing: that is not an outage. Upstash says
    // the same as `ERR DB capacity quota exceeded`
    // (`redis/troubleshooting/db_capacity_quota_exceeded.mdx`), and
    // `ERR max requests limit exceeded` once the plan's requests are used
    // up (`redis/overall/billing.mdx`; ../shared/research/
    // UPSTASH_CONSOLE_WAITING.md, A.2 and A.6): matched on the text, since
    // the code is the generic `ERR`.
    let text = err.to_string();
    if err.code() == Some("OOM") || text.contains("DB capacity quota exceeded") {
        tracing::error!(cause = "store full", error = %text, "redis refuses writes: out of memory or capacity quota");
        return StoreError::Full(format!("redis: {err}"));
    }
    if text.contains("max requests limit exceeded") {
        tracing::error!(cause = "request limit", error = %text, "redis refuses requests: the plan's request limit is reached");
        return StoreError::RequestLimit(format!("redis: {err}"));
    }
    StoreError::Unavailable(format!("redis: {err}"))
}

/// The client for `url`, trusting `ca` instead of the public roots when
/// given (only for `rediss://`).
fn client(url: &str, ca: Option<&TlsCa>) -> Result<::redis::Client> {
    let invalid = |_| StoreError::Unavailable("invalid Redis URL".to_owned());
    let Some(ca) = ca else {
        return ::redis::Client::open(url).map_err(invalid);
    };
    if !url.starts_with("rediss://") {
        return Err(StoreError::Tls(
            "a CA to trust is set but the Redis URL is not rediss:// (TLS)".to_owned(),
        ));
    }
    let certs = ::redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(ca.pem.clone()),
    };
    ::redis::Client::build_with_tls(url, certs).map_err(invalid)
}

/// A connection error: [`StoreError::Tls`] when the server's certificate
/// was refused (a deployment mistake that retrying will not fix, logged
/// with what to do), otherwise as [`unavailable`].
fn refused_or_unavailable(err: ::redis::RedisError) -> StoreError {
    let text = err.to_string();
    if text.contains("certificate") {
        tracing::error!(
            cause = "tls certificate",
            error = %text,
            "the Redis server's TLS certificate was refused"
        );
        return StoreError::Tls(format!(
            "the Redis server's TLS certificate was refused: {text}"
        ));
    }
    unavailable(err)
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

impl RedisStore {
    /// Connects to `url` (`redis://` or `rediss://`, trusting
    /// [`RedisConfig::tls_ca`] when set). Fails with
    /// [`StoreError::Unavailable`] when the URL is invalid or Redis cannot be
    /// reached, and [`StoreError::Tls`] when the server's certificate is
    /// refused; the message never contains the URL.
    pub async fn connect(url: &str, config: RedisConfig) -> Result<Self> {
        install_crypto_provider();
        let client = client(url, config.tls_ca.as_ref())?;
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.response_timeout))
            .set_connection_timeout(Some(config.connection_timeout))
            // Few, quick reconnection attempts: a caller waiting on a dead
            // Redis should get its 503 within a few seconds, not minutes.
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, manager_config)
            .await
            .map_err(refused_or_unavailable)?;
        tracing::debug!(prefix = %config.prefix, "connected to redis");
        Ok(Self {
            conn,
            prefix: config.prefix,
            retention: config.retention,
        })
    }

    /// What a fenced script checks first (`ARGV[1..3]`).
    fn fence(lease: &Lease, now: DateTime<Utc>) -> Fence {
        Fence {
            job_id: lease.job_id,
            token: lease.token,
            now_ms: to_ms(now),
        }
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn keys(&self, id: JobId) -> JobKeys {
        let job = format!("{}job:{id}", self.prefix);
        JobKeys {
            slots: format!("{job}:slots"),
            data: format!("{job}:data"),
            history: format!("{job}:history"),
            due: self.due_key(),
            job,
            ops: self.ops_keys(),
        }
    }

    fn due_key(&self) -> String {
        format!("{}due", self.prefix)
    }

    fn ttl(&self) -> Ttl {
        Ttl {
            ttl_after_update_ms: dur_ms(self.retention.ttl_after_update),
            margin_after_deadline_ms: dur_ms(self.retention.margin_after_deadline),
        }
    }

    async fn read(&self, id: JobId, with_data: bool) -> Result<Option<Snapshot>> {
        let k = self.keys(id);
        let v = self
            .run(&ReadCall {
                job: k.job,
                slots: k.slots,
                data: k.data,
                with_data,
            })
            .await?;
        let parts = array(v)?;
        let [job, slots, data]: [Value; 3] = parts
            .try_into()
            .map_err(|_| corrupt("unexpected read reply"))?;
        let job = pairs(job)?;
        if job.is_empty() {
            return Ok(None);
        }
        Ok(Some(Snapshot {
            job,
            slots: pairs(slots)?,
            data: pairs(data)?,
        }))
    }

    /// Runs a fenced script whose success reply is `{'ok', job, slots}`.
    async fn fenced_job(&self, call: &impl LuaCall) -> Result<Job> {
        let mut parts = self.status_reply(call).await?.into_iter();
        match parts.next().map(string).transpose()?.as_deref() {
            Some("ok") => {
                let job = pairs(parts.next().ok_or_else(|| corrupt("missing job"))?)?;
                let slots = pairs(parts.next().ok_or_else(|| corrupt("missing slots"))?)?;
                decode_job(&job, slots)
            }
            Some("lost") => Err(StoreError::LeaseLost),
            _ => Err(corrupt("unexpected script reply")),
        }
    }

    /// Runs a fenced script whose success reply is `{'ok', summary fields}`
    /// (the fields of [`SUMMARY_FIELDS`], in order).
    async fn fenced_summary(&self, call: &impl LuaCall) -> Result<JobSummary> {
        let mut parts = self.status_reply(call).await?.into_iter();
        match parts.next().map(string).transpose()?.as_deref() {
            Some("ok") => {
                let values: Vec<Option<String>> = ::redis::from_redis_value(
                    parts.next().ok_or_else(|| corrupt("missing summary"))?,
                )
                .map_err(|_| corrupt("summary reply"))?;
                decode_summary(&summary_map(values))
            }
            Some("lost") => Err(StoreError::LeaseLost),
            _ => Err(corrupt("unexpected script reply")),
        }
    }

    /// Runs one script on a clone of the shared connection; a Redis error
    /// becomes [`unavailable`]'s store error.
    async fn run(&self, call: &impl LuaCall) -> Result<Value> {
        let mut conn = self.conn.clone();
        call.call(&mut conn).await.map_err(unavailable)
    }

    /// [`RedisStore::run`] for a script that answers an array.
    async fn status_reply(&self, call: &impl LuaCall) -> Result<Vec<Value>> {
        array(self.run(call).await?)
    }

    async fn create_job(&self, new: NewJob, pending_grace: Duration) -> Result<Created> {
        let first = self.create_once(&new, pending_grace, None).await?;
        let (tag, id) = first;
        // An idempotency key whose job is gone (evicted, or erased between
        // two steps) is treated as absent: once more, telling the script
        // which job we found gone, so it drops the key atomically.
        if tag != "new" && id != new.id && self.summary_of(id).await?.is_none() {
            let (tag, id) = self.create_once(&new, pending_grace, Some(id)).await?;
            return self.created(&tag, id).await;
        }
        self.created(&tag, id).await
    }

    async fn created(&self, tag: &str, id: JobId) -> Result<Created> {
        match tag {
            "conflict" => Err(StoreError::IdempotencyConflict { existing: id }),
            "new" | "existing" => {
                let job = self.get_job(id).await?.ok_or_else(|| {
                    corrupt("idempotency key refers to a job that no longer exists")
                })?;
                Ok(if tag == "new" {
                    Created::New(job)
                } else {
                    Created::Existing(job)
                })
            }
            _ => Err(corrupt("unexpected create reply")),
        }
    }

    async fn create_once(
        &self,
        new: &NewJob,
        pending_grace: Duration,
        stale: Option<JobId>,
    ) -> Result<(String, JobId)> {
        let k = self.keys(new.id);
        let now = trunc_ms(new.now);
        let questionnaire = serde_json::to_string(&new.questionnaire)
            .map_err(|e| corrupt(format!("questionnaire: {e}")))?;
        let inv = CreateCall {
            idem: new.idempotency.as_ref().map(|idem| CreateIdem {
                key: format!("{}idem:{}", self.prefix, idem.key),
                fingerprint: idem.fingerprint.clone(),
                stale: stale.map(|id| (self.keys(id).job, id)),
            }),
            keys: k,
            job_id: new.id,
            now_ms: to_ms(now),
            deadline_ms: to_ms(new.deadline_at),
            message: new.message.clone(),
            questionnaire,
            due_ms: to_ms(add_ms(now, pending_grace)),
            ttl: self.ttl(),
            client: new.client.clone(),
        };
        let reply = self.status_reply(&inv).await?;
        let mut parts = reply.into_iter().map(string);
        let tag = parts
            .next()
            .transpose()?
            .ok_or_else(|| corrupt("empty create reply"))?;
        let id = parts
            .next()
            .transpose()?
            .ok_or_else(|| corrupt("create reply without id"))?;
        let id = JobId::parse(&id).map_err(|e| corrupt(format!("job id: {e}")))?;
        Ok((tag, id))
    }

    async fn get_job(&self, id: JobId) -> Result<Option<Job>> {
        match self.read(id, false).await? {
            Some(snap) => decode_job(&snap.job, snap.slots).map(Some),
            None => Ok(None),
        }
    }

    /// One `HMGET` of the job hash: a single-key read is atomic by itself,
    /// so it needs no script.
    async fn summary_of(&self, id: JobId) -> Result<Option<JobSummary>> {
        let mut conn = self.conn.clone();
        let values: Vec<Option<String>> = ::redis::cmd("HMGET")
            .arg(self.keys(id).job)
            .arg(&SUMMARY_FIELDS[..])
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if values.first().is_none_or(Option::is_none) {
            return Ok(None);
        }
        decode_summary(&summary_map(values)).map(Some)
    }

    async fn due_jobs(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<JobId>> {
        let now_ms = to_ms(now);
        let due_key = self.due_key();
        let mut out: Vec<JobId> = Vec::new();
        // A few rounds at most: each round drops the expired ids it met, so
        // the next one reads fresh candidates.
        for _ in 0..4 {
            if out.len() >= limit {
                break;
            }
            let mut conn = self.conn.clone();
            let candidates: Vec<String> = ::redis::cmd("ZRANGEBYSCORE")
                .arg(&due_key)
                .arg("-inf")
                .arg(now_ms)
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let fresh: Vec<(JobId, String)> = candidates
                .into_iter()
                .filter_map(|member| {
                    let id = JobId::parse(&member).ok()?;
                    (!out.contains(&id)).then_some((id, member))
                })
                .collect();
            if fresh.is_empty() {
                break;
            }
            let inv = DueCall {
                due: due_key.clone(),
                now_ms,
                candidates: fresh
                    .iter()
                    .map(|(id, member)| (self.keys(*id).job, member.clone()))
                    .collect(),
            };
            let alive = self.status_reply(&inv).await?;
            let dropped = fresh.len() - alive.len();
            for v in alive {
                let id = JobId::parse(&string(v)?).map_err(|e| corrupt(format!("due id: {e}")))?;
                if out.len() < limit {
                    out.push(id);
                }
            }
            if dropped == 0 {
                break;
            }
        }
        Ok(out)
    }
}

/// A job's three hashes as read.
struct Snapshot {
    job: HashMap<String, String>,
    slots: HashMap<String, String>,
    data: HashMap<String, String>,
}

fn array(v: Value) -> Result<Vec<Value>> {
    match v {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        _ => Err(corrupt("expected an array reply")),
    }
}

fn string(v: Value) -> Result<String> {
    match v {
        Value::BulkString(bytes) => {
            String::from_utf8(bytes).map_err(|_| corrupt("reply is not UTF-8"))
        }
        Value::SimpleString(s) => Ok(s),
        Value::Int(n) => Ok(n.to_string()),
        Value::Okay => Ok("OK".to_owned()),
        _ => Err(corrupt("expected a string reply")),
    }
}

/// A flat field/value array (HGETALL) or a map reply as a map.
fn pairs(v: Value) -> Result<HashMap<String, String>> {
    if let Value::Map(entries) = v {
        return entries
            .into_iter()
            .map(|(k, v)| Ok((string(k)?, string(v)?)))
            .collect();
    }
    let items = array(v)?;
    if items.len() % 2 != 0 {
        return Err(corrupt("odd field/value array"));
    }
    let mut out = HashMap::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.insert(string(k)?, string(v)?);
    }
    Ok(out)
}

fn field<'a>(job: &'a HashMap<String, String>, name: &str) -> Result<&'a str> {
    job.get(name)
        .map(String::as_str)
        .ok_or_else(|| corrupt(format!("job field {name} missing")))
}

fn int_field(job: &HashMap<String, String>, name: &str) -> Result<i64> {
    field(job, name)?
        .parse()
        .map_err(|_| corrupt(format!("job field {name} is not an integer")))
}

fn time_field(job: &HashMap<String, String>, name: &str) -> Result<DateTime<Utc>> {
    from_ms(int_field(job, name)?).ok_or_else(|| corrupt(format!("job field {name} out of range")))
}

fn opt_time_field(job: &HashMap<String, String>, name: &str) -> Result<Option<DateTime<Utc>>> {
    if job.contains_key(name) {
        time_field(job, name).map(Some)
    } else {
        Ok(None)
    }
}

fn json_field(job: &HashMap<String, String>, name: &str) -> Result<serde_json::Value> {
    serde_json::from_str(field(job, name)?)
        .map_err(|_| corrupt(format!("job field {name} is not JSON")))
}

/// The job hash's fields a [`JobSummary`] is made of (read by `summary` and
/// returned by `record.lua`, in this order).
const SUMMARY_FIELDS: [&str; 8] = [
    "id",
    "status",
    "progress",
    "message",
    "created",
    "updated",
    "error",
    "completeness",
];

/// `HMGET SUMMARY_FIELDS` values as a field map (absent fields left out).
fn summary_map(values: Vec<Option<String>>) -> HashMap<String, String> {
    SUMMARY_FIELDS
        .iter()
        .zip(values)
        .filter_map(|(name, v)| v.map(|v| ((*name).to_owned(), v)))
        .collect()
}

fn small_field(job: &HashMap<String, String>, name: &str) -> Result<u8> {
    u8::try_from(int_field(job, name)?).map_err(|_| corrupt(format!("job field {name}")))
}

fn decode_summary(job: &HashMap<String, String>) -> Result<JobSummary> {
    Ok(JobSummary {
        id: JobId::parse(field(job, "id")?).map_err(|e| corrupt(format!("job id: {e}")))?,
        status: JobStatus::parse(field(job, "status")?).ok_or_else(|| corrupt("job status"))?,
        progress: small_field(job, "progress")?,
        message: field(job, "message")?.to_owned(),
        created_at: time_field(job, "created")?,
        updated_at: time_field(job, "updated")?,
        error: job.get("error").cloned(),
        completeness: small_field(job, "completeness")?,
    })
}

fn decode_job(job: &HashMap<String, String>, slots: HashMap<String, String>) -> Result<Job> {
    let id = JobId::parse(field(job, "id")?).map_err(|e| corrupt(format!("job id: {e}")))?;
    let status = JobStatus::parse(field(job, "status")?).ok_or_else(|| corrupt("job status"))?;
    let small = |name: &str| -> Result<u8> {
        u8::try_from(int_field(job, name)?).map_err(|_| corrupt(format!("job field {name}")))
    };
    let lease = match job.get("lease_token") {
        Some(token) => Some(Lease {
            job_id: id,
            owner: field(job, "lease_owner")?.to_owned(),
            token: token.parse().map_err(|_| corrupt("lease token"))?,
            expires_at: time_field(job, "lease_exp")?,
        }),
        None => None,
    };
    let order: Vec<String> = match job.get("slot_order") {
        Some(s) => serde_json::from_str(s).map_err(|_| corrupt("slot order"))?,
        None => Vec::new(),
    };
    let slots = slots
        .into_iter()
        .map(|(field, json)| {
            let slot: Slot =
                serde_json::from_str(&json).map_err(|_| corrupt(format!("slot {field}")))?;
            Ok((field, slot))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    Ok(Job {
        id,
        status,
        progress: small("progress")?,
        message: field(job, "message")?.to_owned(),
        created_at: time_field(job, "created")?,
        updated_at: time_field(job, "updated")?,
        deadline_at: time_field(job, "deadline")?,
        error: job.get("error").cloned(),
        questionnaire: json_field(job, "questionnaire")?,
        plan: if job.contains_key("plan") {
            Some(json_field(job, "plan")?)
        } else {
            None
        },
        slots: order_slots(&order, slots),
        completeness: small("completeness")?,
        lease,
        will_auto_retry: field(job, "auto_retry")? == "1",
        last_manual_retry_at: opt_time_field(job, "manual_retry")?,
        client: job.get("client").cloned(),
    })
}

/// A slot as stored: its JSON plus `_next_ms` (the next attempt in epoch ms)
/// for missing slots, which the scripts use to re-file the job.
fn encode_slot(slot: &Slot) -> Result<String> {
    let mut value =
        serde_json::to_value(slot).map_err(|e| corrupt(format!("slot encoding: {e}")))?;
    if let (SlotStatus::Missing, Some(next), Some(obj)) =
        (&slot.status, slot.next_attempt_at, value.as_object_mut())
    {
        obj.insert("_next_ms".to_owned(), to_ms(next).into());
    }
    Ok(value.to_string())
}

impl JobStore for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn ping(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let _: String = ::redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn create(&self, new: NewJob, pending_grace: Duration) -> BoxFuture<'_, Result<Created>> {
        Box::pin(self.create_job(new, pending_grace))
    }

    fn get(&self, id: JobId) -> BoxFuture<'_, Result<Option<Job>>> {
        Box::pin(self.get_job(id))
    }

    fn summary(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobSummary>>> {
        Box::pin(self.summary_of(id))
    }

    fn source_data(&self, id: JobId) -> BoxFuture<'_, Result<Vec<(SlotKey, serde_json::Value)>>> {
        Box::pin(async move {
            let snap = self.read(id, true).await?.ok_or(StoreError::NotFound)?;
            let job = decode_job(&snap.job, snap.slots)?;
            job.slots
                .iter()
                .filter(|s| s.status == SlotStatus::Loaded)
                .filter_map(|s| {
                    let key = s.key();
                    snap.data.get(&key.field()).map(|json| {
                        serde_json::from_str(json)
                            .map(|v| (key.clone(), v))
                            .map_err(|_| corrupt(format!("data of {}", key.field())))
                    })
                })
                .collect()
        })
    }

    fn claim(
        &self,
        id: JobId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Claim>> {
        let owner = owner.to_owned();
        Box::pin(async move {
            let k = self.keys(id);
            let now = trunc_ms(now);
            let expires_at = add_ms(now, ttl);
            let inv = ClaimCall {
                keys: k,
                job_id: id,
                owner: owner.clone(),
                now_ms: to_ms(now),
                lease_exp_ms: to_ms(expires_at),
                ttl: self.ttl(),
            };
            let reply = self.status_reply(&inv).await?;
            let mut parts = reply.into_iter().map(string);
            let kind = parts.next().transpose()?;
            let value = parts.next().transpose()?;
            match (kind.as_deref(), value) {
                (Some("ok"), Some(token)) => {
                    let token = token
                        .parse::<u64>()
                        .map_err(|_| corrupt("claim reply token"))?;
                    Ok(Claim::Granted(Lease {
                        job_id: id,
                        owner,
                        token,
                        expires_at,
                    }))
                }
                (Some("held"), Some(until)) => until
                    .parse::<i64>()
                    .ok()
                    .and_then(from_ms)
                    .map(|until| Claim::Held { until })
                    .ok_or_else(|| corrupt("claim reply lease expiry")),
                (Some("finished"), Some(status)) => JobStatus::parse(&status)
                    .map(Claim::Finished)
                    .ok_or_else(|| corrupt("claim reply status")),
                (Some("gone"), None) => Ok(Claim::Gone),
                _ => Err(corrupt("unexpected claim reply")),
            }
        })
    }

    fn renew(
        &self,
        lease: &Lease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Lease>> {
        let lease = lease.clone();
        Box::pin(async move {
            let now = trunc_ms(now);
            let expires_at = add_ms(now, ttl);
            let inv = RenewCall {
                keys: self.keys(lease.job_id),
                fence: Self::fence(&lease, now),
                lease_exp_ms: to_ms(expires_at),
                ttl: self.ttl(),
            };
            let reply = self.status_reply(&inv).await?;
            match reply.into_iter().next().map(string).transpose()?.as_deref() {
                Some("ok") => Ok(Lease {
                    expires_at,
                    ..lease
                }),
                Some("lost") => Err(StoreError::LeaseLost),
                _ => Err(corrupt("unexpected renew reply")),
            }
        })
    }

    fn release(&self, lease: &Lease, now: DateTime<Utc>) -> BoxFuture<'_, Result<()>> {
        let lease = lease.clone();
        Box::pin(async move {
            let inv = ReleaseCall {
                keys: self.keys(lease.job_id),
                fence: Self::fence(&lease, now),
                ttl: self.ttl(),
            };
            self.status_reply(&inv).await.map(drop)
        })
    }

    fn save_plan(
        &self,
        lease: &Lease,
        plan: SavePlan,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>> {
        let lease = lease.clone();
        Box::pin(async move {
            let SavePlan {
                plan,
                slots,
                progress,
                message,
            } = plan;
            let mut order: Vec<String> = Vec::with_capacity(slots.len());
            let mut encoded = Vec::with_capacity(slots.len());
            for slot in &slots {
                let field = slot.key().field();
                if !order.contains(&field) {
                    order.push(field.clone());
                }
                encoded.push((field, encode_slot(slot)?));
            }
            let order = serde_json::to_string(&order).map_err(|e| corrupt(e.to_string()))?;
            let inv = SavePlanCall {
                keys: self.keys(lease.job_id),
                fence: Self::fence(&lease, now),
                plan: plan.to_string(),
                slot_order: order,
                progress,
                message,
                ttl: self.ttl(),
                slots: encoded,
            };
            self.fenced_job(&inv).await
        })
    }

    fn record(
        &self,
        lease: &Lease,
        record: Record,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<JobSummary>> {
        let lease = lease.clone();
        Box::pin(async move {
            let Record {
                slot,
                data,
                progress,
                message,
                outcome,
            } = record;
            let inv = RecordCall {
                keys: self.keys(lease.job_id),
                fence: Self::fence(&lease, now),
                slot_field: slot.key().field(),
                slot_json: encode_slot(&slot)?,
                data_json: data.map(|d| d.to_string()),
                loaded: slot.status == SlotStatus::Loaded,
                progress,
                message,
                ttl: self.ttl(),
                slot_status: slot.status.as_str(),
                attempts: slot.attempts,
                attempt_started_ms: slot.attempt_started_at.map(to_ms),
                hour: outcome.map(|o| {
                    self.hour_count(now, super::ops::outcome_field(slot.source_type.as_str(), o))
                }),
            };
            self.fenced_summary(&inv).await
        })
    }

    fn finish(
        &self,
        lease: &Lease,
        finish: Finish,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Job>> {
        let lease = lease.clone();
        Box::pin(async move {
            let inv = FinishCall {
                keys: self.keys(lease.job_id),
                fence: Self::fence(&lease, now),
                status: finish.status().as_str(),
                message: finish.message().to_owned(),
                error: finish.error().map(str::to_owned),
                auto_retry: finish.will_auto_retry(),
                progress_full: finish.status().has_report(),
                ttl: self.ttl(),
            };
            self.fenced_job(&inv).await
        })
    }

    fn gate_manual_retry(
        &self,
        id: JobId,
        now: DateTime<Utc>,
        min_interval: Duration,
    ) -> BoxFuture<'_, Result<ManualRetryGate>> {
        Box::pin(async move {
            let inv = GateManualRetryCall {
                keys: self.keys(id),
                now_ms: to_ms(now),
                min_interval_ms: dur_ms(min_interval),
                ttl: self.ttl(),
            };
            let reply = self.status_reply(&inv).await?;
            let mut parts = reply.into_iter().map(string);
            match parts.next().transpose()?.as_deref() {
                Some("ok") => Ok(ManualRetryGate::Allowed),
                Some("missing") => Err(StoreError::NotFound),
                Some("wait") => {
                    let ms = parts
                        .next()
                        .transpose()?
                        .and_then(|s| s.parse::<u64>().ok())
                        .ok_or_else(|| corrupt("gate reply without wait"))?;
                    Ok(ManualRetryGate::TooSoon {
                        retry_after: Duration::from_millis(ms),
                    })
                }
                _ => Err(corrupt("unexpected gate reply")),
            }
        })
    }

    fn due(&self, now: DateTime<Utc>, limit: usize) -> BoxFuture<'_, Result<Vec<JobId>>> {
        Box::pin(self.due_jobs(now, limit))
    }

    fn due_at(&self, id: JobId) -> BoxFuture<'_, Result<Option<DateTime<Utc>>>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let score: Option<f64> = ::redis::cmd("ZSCORE")
                .arg(self.due_key())
                .arg(id.to_string())
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            // Scores are whole milliseconds, far below 2^53: exact.
            #[allow(clippy::cast_possible_truncation)]
            Ok(score.and_then(|ms| from_ms(ms as i64)))
        })
    }

    fn replay<'a>(&'a self, idem: &'a Idempotency) -> BoxFuture<'a, Result<Option<Job>>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            // One HMGET of the key's hash: atomic by itself.
            let (job, fp): (Option<String>, Option<String>) = ::redis::cmd("HMGET")
                .arg(format!("{}idem:{}", self.prefix, idem.key))
                .arg("job")
                .arg("fp")
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let (Some(job), Some(fp)) = (job, fp) else {
                return Ok(None);
            };
            if fp != idem.fingerprint {
                return Ok(None);
            }
            let id = JobId::parse(&job).map_err(|e| corrupt(format!("idempotency job id: {e}")))?;
            self.get_job(id).await
        })
    }

    fn limits(&self) -> Option<&dyn super::LimitStore> {
        Some(self)
    }

    fn erasure(&self) -> Option<&dyn super::EraseStore> {
        Some(self)
    }

    fn ops(&self) -> Option<&dyn super::ops::OpsStore> {
        Some(self)
    }

    fn history(&self, id: JobId) -> BoxFuture<'_, Result<Vec<HistoryEntry>>> {
        Box::pin(async move {
            let k = self.keys(id);
            let mut conn = self.conn.clone();
            // MULTI/EXEC: the existence check and the list belong together.
            let (exists, entries): (bool, Vec<String>) = ::redis::pipe()
                .atomic()
                .exists(&k.job)
                .lrange(&k.history, 0, -1)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            entries
                .iter()
                .map(|e| serde_json::from_str(e).map_err(|_| corrupt("history entry")))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_provider_install_is_idempotent() {
        install_crypto_provider();
        install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        // A rediss:// URL is accepted by the client (TLS compiled in).
        assert!(::redis::Client::open("rediss://:secret@example.invalid:6380").is_ok());
    }

    /// Upstash's refusals, as a server sends them (an error reply whose
    /// code is the generic `ERR`; texts from Upstash's docs, see
    /// `unavailable`), come out as the store errors the API names.
    #[tokio::test]
    async fn upstash_refusals_map_to_full_and_request_limit() {
        let client = ::redis::Client::open(care_report_testing::redis::url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        for (text, full) in [
            ("ERR DB capacity quota exceeded", true),
            (
                "ERR max requests limit exceeded. Limit: 500000, Usage: 500000",
                false,
            ),
        ] {
            let err = ::redis::cmd("EVAL")
                .arg("return redis.error_reply(ARGV[1])")
                .arg(0)
                .arg(text)
                .query_async::<::redis::Value>(&mut conn)
                .await
                .unwrap_err();
            match (unavailable(err), full) {
                (StoreError::Full(_), true) | (StoreError::RequestLimit(_), false) => {}
                (other, _) => panic!("{text}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn bad_url_error_does_not_leak_it() {
        let err = RedisStore::connect("nonsense://:hunter2@x", RedisConfig::default())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)));
        assert!(!err.to_string().contains("hunter2"));
    }
}
