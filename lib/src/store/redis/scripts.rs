//! The Redis store's Lua scripts (`lua/`) and, for each, the one Rust
//! struct that calls it.
//!
//! A script reads its inputs by position (`KEYS[i]`, `ARGV[i]`); a struct
//! here names each of them, and [`LuaCall::args`] sends them in order, each
//! with its name. Every script opens with a header that lists the same
//! names, one per line:
//!
//! ```text
//! -- KEYS[1] job: the job hash
//! -- KEYS[4] idem (optional): an optional key (all optional ones come last)
//! -- ARGV[10..] slot_field, slot_json (repeated): a group repeated to the end
//! ```
//!
//! The test at the end of this file holds the two together: for sample
//! calls of every struct, the names sent are exactly what the header lists
//! (in order, every optional and repeated entry used by some sample), and
//! the script's body reads no `KEYS[i]`/`ARGV[i]` its header leaves out.
//!
//! Constants both sides need ([`HISTORY_LIMIT`], [`MIN_TTL_MS`]) are
//! generated into the prelude prepended to the job scripts (before
//! `lua/common.lua`), never copied by hand.

use std::fmt::Display;
use std::sync::OnceLock;

use ::redis::{Script, ScriptInvocation};

use crate::model::JobId;
use crate::store::{HISTORY_LIMIT, MIN_TTL_MS};

/// Every script of `lua/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Lua {
    Create,
    Read,
    Claim,
    Renew,
    Release,
    SavePlan,
    Record,
    Finish,
    GateManualRetry,
    Due,
    Erase,
    RateLimit,
    SpendBudget,
    CacheBegin,
    CacheComplete,
    CacheAbandon,
    LeaseAcquire,
    LeaseRelease,
    OpsPrune,
}

impl Lua {
    /// Every script, in [`Lua::index`] order.
    pub(super) const ALL: [Lua; 19] = [
        Lua::Create,
        Lua::Read,
        Lua::Claim,
        Lua::Renew,
        Lua::Release,
        Lua::SavePlan,
        Lua::Record,
        Lua::Finish,
        Lua::GateManualRetry,
        Lua::Due,
        Lua::Erase,
        Lua::RateLimit,
        Lua::SpendBudget,
        Lua::CacheBegin,
        Lua::CacheComplete,
        Lua::CacheAbandon,
        Lua::LeaseAcquire,
        Lua::LeaseRelease,
        Lua::OpsPrune,
    ];

    /// Its file under `lib/src/store/redis/lua/`, and its text.
    pub(super) fn source(self) -> (&'static str, &'static str) {
        match self {
            Lua::Create => ("create.lua", include_str!("lua/create.lua")),
            Lua::Read => ("read.lua", include_str!("lua/read.lua")),
            Lua::Claim => ("claim.lua", include_str!("lua/claim.lua")),
            Lua::Renew => ("renew.lua", include_str!("lua/renew.lua")),
            Lua::Release => ("release.lua", include_str!("lua/release.lua")),
            Lua::SavePlan => ("save_plan.lua", include_str!("lua/save_plan.lua")),
            Lua::Record => ("record.lua", include_str!("lua/record.lua")),
            Lua::Finish => ("finish.lua", include_str!("lua/finish.lua")),
            Lua::GateManualRetry => (
                "gate_manual_retry.lua",
                include_str!("lua/gate_manual_retry.lua"),
            ),
            Lua::Due => ("due.lua", include_str!("lua/due.lua")),
            Lua::Erase => ("erase.lua", include_str!("lua/erase.lua")),
            Lua::RateLimit => ("rate_limit.lua", include_str!("lua/rate_limit.lua")),
            Lua::SpendBudget => ("spend_budget.lua", include_str!("lua/spend_budget.lua")),
            Lua::CacheBegin => ("cache/begin.lua", include_str!("lua/cache/begin.lua")),
            Lua::CacheComplete => ("cache/complete.lua", include_str!("lua/cache/complete.lua")),
            Lua::CacheAbandon => ("cache/abandon.lua", include_str!("lua/cache/abandon.lua")),
            Lua::LeaseAcquire => (
                "cache/lease_acquire.lua",
                include_str!("lua/cache/lease_acquire.lua"),
            ),
            Lua::LeaseRelease => (
                "cache/lease_release.lua",
                include_str!("lua/cache/lease_release.lua"),
            ),
            Lua::OpsPrune => ("ops_prune.lua", include_str!("lua/ops_prune.lua")),
        }
    }

    /// Whether the prelude (generated constants and `lua/common.lua`) is
    /// prepended: the job scripts (erasure included) use its helpers; the
    /// limits, source cache and index pruning scripts stand alone.
    fn with_prelude(self) -> bool {
        !matches!(
            self,
            Lua::OpsPrune
                | Lua::RateLimit
                | Lua::SpendBudget
                | Lua::CacheBegin
                | Lua::CacheComplete
                | Lua::CacheAbandon
                | Lua::LeaseAcquire
                | Lua::LeaseRelease
        )
    }

    fn index(self) -> usize {
        Lua::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }

    /// The compiled script (built once per process).
    pub(super) fn script(self) -> &'static Script {
        static SCRIPTS: OnceLock<Vec<Script>> = OnceLock::new();
        let all = SCRIPTS.get_or_init(|| Lua::ALL.iter().map(|l| Script::new(&l.text())).collect());
        &all[self.index()]
    }

    /// The text sent to Redis: the prelude, when the script takes it, then
    /// the script.
    fn text(self) -> String {
        let (_, body) = self.source();
        if self.with_prelude() {
            format!("{}\n{body}", prelude())
        } else {
            body.to_owned()
        }
    }
}

/// The constants the scripts share with Rust, as Lua, then `lua/common.lua`.
pub(super) fn prelude() -> String {
    format!(
        "-- Generated by store::redis::scripts::prelude from the Rust constants.\n\
         local HISTORY_LIMIT = {HISTORY_LIMIT}\n\
         local MIN_TTL_MS = {MIN_TTL_MS}\n\
         {}",
        include_str!("lua/common.lua")
    )
}

/// A script's inputs, each with the name its header gives it.
#[derive(Debug, Default)]
pub(super) struct Args {
    keys: Vec<(&'static str, String)>,
    argv: Vec<(&'static str, String)>,
}

impl Args {
    /// The next `KEYS[i]`.
    pub(super) fn key(&mut self, name: &'static str, key: impl Into<String>) -> &mut Self {
        self.keys.push((name, key.into()));
        self
    }

    /// The next `ARGV[i]` (numbers as decimal text, as `redis` sends them).
    pub(super) fn arg(&mut self, name: &'static str, value: impl Display) -> &mut Self {
        self.argv.push((name, value.to_string()));
        self
    }

    /// `'1'` or `'0'`.
    fn flag(&mut self, name: &'static str, value: bool) -> &mut Self {
        self.arg(name, if value { "1" } else { "0" })
    }
}

/// One call of one script.
pub(super) trait LuaCall {
    /// The script it calls.
    const SCRIPT: Lua;

    /// Its keys and arguments, in the script's order.
    fn args(&self, a: &mut Args);

    /// The invocation to send.
    fn invocation(&self) -> ScriptInvocation<'static> {
        let mut a = Args::default();
        self.args(&mut a);
        let mut inv = Self::SCRIPT.script().prepare_invoke();
        for (_, key) in &a.keys {
            inv.key(key);
        }
        for (_, value) in &a.argv {
            inv.arg(value);
        }
        inv
    }

    /// The same call as a plain `EVAL` with the script's text: the
    /// fallback when `EVALSHA` still answers `NOSCRIPT` after redis-rs
    /// loaded the script once (an Upstash replica without it: Upstash's
    /// own ratelimit library moved from EVALSHA to EVAL for this,
    /// upstash/ratelimit-js PR #137; ../shared/research/
    /// UPSTASH_CONSOLE_WAITING.md, A.5).
    fn eval(&self) -> ::redis::Cmd {
        let mut a = Args::default();
        self.args(&mut a);
        let mut cmd = ::redis::cmd("EVAL");
        cmd.arg(Self::SCRIPT.text()).arg(a.keys.len());
        for (_, key) in &a.keys {
            cmd.arg(key);
        }
        for (_, value) in &a.argv {
            cmd.arg(value);
        }
        cmd
    }

    /// Runs the call: `EVALSHA` (loading the script on a first `NOSCRIPT`,
    /// as redis-rs does), and `EVAL` when `NOSCRIPT` comes back again.
    async fn call(
        &self,
        conn: &mut ::redis::aio::ConnectionManager,
    ) -> ::redis::RedisResult<::redis::Value> {
        match self.invocation().invoke_async(conn).await {
            Err(e) if e.code() == Some("NOSCRIPT") => {
                tracing::debug!(
                    script = Self::SCRIPT.source().0,
                    "NOSCRIPT after a load; falling back to EVAL"
                );
                self.eval().query_async(conn).await
            }
            other => other,
        }
    }
}

/// The keys of one job, in the order every job script takes them
/// (`KEYS[1..5]`, then the operators' index as `KEYS[6..13]`).
#[derive(Clone, Debug)]
pub(super) struct JobKeys {
    pub(super) job: String,
    pub(super) slots: String,
    pub(super) data: String,
    pub(super) due: String,
    pub(super) history: String,
    pub(super) ops: OpsKeys,
}

impl JobKeys {
    fn send(&self, a: &mut Args) {
        a.key("job", &self.job)
            .key("slots", &self.slots)
            .key("data", &self.data)
            .key("due", &self.due)
            .key("history", &self.history);
        self.ops.send(a);
    }
}

/// The operators' index (`store::ops`): every job, by id, by expiry, and
/// one per status in `store::ops::STATUSES` order.
#[derive(Clone, Debug)]
pub(super) struct OpsKeys {
    pub(super) jobs: String,
    pub(super) ids: String,
    pub(super) expiry: String,
    pub(super) statuses: [String; 5],
}

impl OpsKeys {
    /// The names the scripts' headers give the per-status indexes.
    const STATUS_NAMES: [&'static str; 5] = [
        "ops_pending",
        "ops_processing",
        "ops_completed",
        "ops_partial",
        "ops_failed",
    ];

    fn send(&self, a: &mut Args) {
        a.key("ops_jobs", &self.jobs)
            .key("ops_ids", &self.ids)
            .key("ops_expiry", &self.expiry);
        for (name, key) in Self::STATUS_NAMES.iter().zip(&self.statuses) {
            a.key(name, key);
        }
    }
}

/// One hour's operators' counter to add one to.
#[derive(Clone, Debug)]
pub(super) struct HourCount {
    pub(super) key: String,
    pub(super) field: String,
    pub(super) ttl_ms: i64,
}

/// What a fenced script checks first (`ARGV[1..3]`): the job, the lease
/// token and now.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fence {
    pub(super) job_id: JobId,
    pub(super) token: u64,
    pub(super) now_ms: i64,
}

impl Fence {
    fn send(&self, a: &mut Args) {
        a.arg("job_id", self.job_id)
            .arg("token", self.token)
            .arg("now_ms", self.now_ms);
    }
}

/// The retention rule's two durations (see `store::Retention`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Ttl {
    pub(super) ttl_after_update_ms: i64,
    pub(super) margin_after_deadline_ms: i64,
}

impl Ttl {
    fn send(&self, a: &mut Args) {
        a.arg("ttl_after_update_ms", self.ttl_after_update_ms)
            .arg("margin_after_deadline_ms", self.margin_after_deadline_ms);
    }
}

/// `create.lua`'s idempotency key, with the job it pointed at when the
/// caller found that job gone.
#[derive(Clone, Debug)]
pub(super) struct CreateIdem {
    pub(super) key: String,
    pub(super) fingerprint: String,
    /// The stale job's hash key and id.
    pub(super) stale: Option<(String, JobId)>,
}

/// `create.lua`.
#[derive(Clone, Debug)]
pub(super) struct CreateCall {
    pub(super) keys: JobKeys,
    pub(super) idem: Option<CreateIdem>,
    pub(super) job_id: JobId,
    pub(super) now_ms: i64,
    pub(super) deadline_ms: i64,
    pub(super) message: String,
    pub(super) questionnaire: String,
    pub(super) due_ms: i64,
    pub(super) ttl: Ttl,
    pub(super) client: Option<String>,
}

impl LuaCall for CreateCall {
    const SCRIPT: Lua = Lua::Create;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        if let Some(idem) = &self.idem {
            a.key("idem", &idem.key);
            if let Some((stale_key, _)) = &idem.stale {
                a.key("stale_job", stale_key);
            }
        }
        a.arg("job_id", self.job_id)
            .arg("now_ms", self.now_ms)
            .arg("deadline_ms", self.deadline_ms)
            .arg("message", &self.message)
            .arg("questionnaire", &self.questionnaire)
            .arg("due_ms", self.due_ms);
        self.ttl.send(a);
        a.arg("client", self.client.as_deref().unwrap_or(""));
        if let Some(idem) = &self.idem {
            a.arg("fingerprint", &idem.fingerprint);
            if let Some((_, stale_id)) = &idem.stale {
                a.arg("stale_job_id", stale_id);
            }
        }
    }
}

/// `read.lua`.
#[derive(Clone, Debug)]
pub(super) struct ReadCall {
    pub(super) job: String,
    pub(super) slots: String,
    pub(super) data: String,
    pub(super) with_data: bool,
}

impl LuaCall for ReadCall {
    const SCRIPT: Lua = Lua::Read;
    fn args(&self, a: &mut Args) {
        a.key("job", &self.job)
            .key("slots", &self.slots)
            .key("data", &self.data)
            .flag("with_data", self.with_data);
    }
}

/// `claim.lua`.
#[derive(Clone, Debug)]
pub(super) struct ClaimCall {
    pub(super) keys: JobKeys,
    pub(super) job_id: JobId,
    pub(super) owner: String,
    pub(super) now_ms: i64,
    pub(super) lease_exp_ms: i64,
    pub(super) ttl: Ttl,
}

impl LuaCall for ClaimCall {
    const SCRIPT: Lua = Lua::Claim;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        a.arg("job_id", self.job_id)
            .arg("owner", &self.owner)
            .arg("now_ms", self.now_ms)
            .arg("lease_exp_ms", self.lease_exp_ms);
        self.ttl.send(a);
    }
}

/// `renew.lua`.
#[derive(Clone, Debug)]
pub(super) struct RenewCall {
    pub(super) keys: JobKeys,
    pub(super) fence: Fence,
    pub(super) lease_exp_ms: i64,
    pub(super) ttl: Ttl,
}

impl LuaCall for RenewCall {
    const SCRIPT: Lua = Lua::Renew;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        self.fence.send(a);
        a.arg("lease_exp_ms", self.lease_exp_ms);
        self.ttl.send(a);
    }
}

/// `release.lua`.
#[derive(Clone, Debug)]
pub(super) struct ReleaseCall {
    pub(super) keys: JobKeys,
    pub(super) fence: Fence,
    pub(super) ttl: Ttl,
}

impl LuaCall for ReleaseCall {
    const SCRIPT: Lua = Lua::Release;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        self.fence.send(a);
        self.ttl.send(a);
    }
}

/// `save_plan.lua`.
#[derive(Clone, Debug)]
pub(super) struct SavePlanCall {
    pub(super) keys: JobKeys,
    pub(super) fence: Fence,
    pub(super) plan: String,
    pub(super) slot_order: String,
    pub(super) progress: u8,
    pub(super) message: String,
    pub(super) ttl: Ttl,
    /// Slot field and slot JSON of every planned slot.
    pub(super) slots: Vec<(String, String)>,
}

impl LuaCall for SavePlanCall {
    const SCRIPT: Lua = Lua::SavePlan;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        self.fence.send(a);
        a.arg("plan", &self.plan)
            .arg("slot_order", &self.slot_order)
            .arg("progress", self.progress.min(100))
            .arg("message", &self.message);
        self.ttl.send(a);
        for (field, json) in &self.slots {
            a.arg("slot_field", field).arg("slot_json", json);
        }
    }
}

/// `record.lua`.
#[derive(Clone, Debug)]
pub(super) struct RecordCall {
    pub(super) keys: JobKeys,
    pub(super) fence: Fence,
    pub(super) slot_field: String,
    pub(super) slot_json: String,
    /// The loaded data's JSON, `None` for none.
    pub(super) data_json: Option<String>,
    pub(super) loaded: bool,
    pub(super) progress: u8,
    pub(super) message: String,
    pub(super) ttl: Ttl,
    pub(super) slot_status: &'static str,
    pub(super) attempts: u32,
    pub(super) attempt_started_ms: Option<i64>,
    /// The hour's outcome counter, when the attempt counts.
    pub(super) hour: Option<HourCount>,
}

impl LuaCall for RecordCall {
    const SCRIPT: Lua = Lua::Record;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        self.fence.send(a);
        a.arg("slot_field", &self.slot_field)
            .arg("slot_json", &self.slot_json)
            .arg("data_json", self.data_json.as_deref().unwrap_or_default())
            .flag("loaded", self.loaded)
            .arg("progress", self.progress.min(100))
            .arg("message", &self.message);
        self.ttl.send(a);
        a.arg("slot_status", self.slot_status)
            .arg("attempts", self.attempts)
            .arg(
                "attempt_started_ms",
                self.attempt_started_ms
                    .map(|ms| ms.to_string())
                    .unwrap_or_default(),
            );
        if let Some(hour) = &self.hour {
            a.key("ops_hour", &hour.key)
                .arg("outcome_field", &hour.field)
                .arg("ops_hour_ttl_ms", hour.ttl_ms);
        }
    }
}

/// `finish.lua`.
#[derive(Clone, Debug)]
pub(super) struct FinishCall {
    pub(super) keys: JobKeys,
    pub(super) fence: Fence,
    pub(super) status: &'static str,
    pub(super) message: String,
    pub(super) error: Option<String>,
    pub(super) auto_retry: bool,
    pub(super) progress_full: bool,
    pub(super) ttl: Ttl,
}

impl LuaCall for FinishCall {
    const SCRIPT: Lua = Lua::Finish;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        self.fence.send(a);
        a.arg("status", self.status)
            .arg("message", &self.message)
            .arg("error", self.error.as_deref().unwrap_or_default())
            .flag("has_error", self.error.is_some())
            .flag("auto_retry", self.auto_retry)
            .flag("progress_full", self.progress_full);
        self.ttl.send(a);
    }
}

/// `gate_manual_retry.lua`.
#[derive(Clone, Debug)]
pub(super) struct GateManualRetryCall {
    pub(super) keys: JobKeys,
    pub(super) now_ms: i64,
    pub(super) min_interval_ms: i64,
    pub(super) ttl: Ttl,
}

impl LuaCall for GateManualRetryCall {
    const SCRIPT: Lua = Lua::GateManualRetry;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        a.arg("now_ms", self.now_ms)
            .arg("min_interval_ms", self.min_interval_ms);
        self.ttl.send(a);
    }
}

/// `due.lua`.
#[derive(Clone, Debug)]
pub(super) struct DueCall {
    pub(super) due: String,
    pub(super) now_ms: i64,
    /// Each candidate's job hash key and its member in the due index.
    pub(super) candidates: Vec<(String, String)>,
}

impl LuaCall for DueCall {
    const SCRIPT: Lua = Lua::Due;
    fn args(&self, a: &mut Args) {
        a.key("due", &self.due).arg("now_ms", self.now_ms);
        for (job, id) in &self.candidates {
            a.key("job", job).arg("job_id", id);
        }
    }
}

/// `erase.lua`.
#[derive(Clone, Debug)]
pub(super) struct EraseCall {
    pub(super) keys: JobKeys,
    pub(super) job_id: JobId,
    /// The job hash's `idem` field as the caller read it.
    pub(super) idem: Option<String>,
}

impl LuaCall for EraseCall {
    const SCRIPT: Lua = Lua::Erase;
    fn args(&self, a: &mut Args) {
        self.keys.send(a);
        if let Some(idem) = &self.idem {
            a.key("idem", idem);
        }
        a.arg("job_id", self.job_id)
            .arg("idem_field", self.idem.as_deref().unwrap_or_default());
    }
}

/// One window of `rate_limit.lua`.
#[derive(Clone, Debug)]
pub(super) struct RateWindow {
    pub(super) current: String,
    pub(super) previous: String,
    pub(super) limit: u64,
    pub(super) window_ms: i64,
}

/// `rate_limit.lua`.
#[derive(Clone, Debug)]
pub(super) struct RateLimitCall {
    pub(super) now_ms: i64,
    pub(super) windows: Vec<RateWindow>,
}

impl LuaCall for RateLimitCall {
    const SCRIPT: Lua = Lua::RateLimit;
    fn args(&self, a: &mut Args) {
        a.arg("now_ms", self.now_ms);
        for w in &self.windows {
            a.key("current", &w.current)
                .key("previous", &w.previous)
                .arg("limit", w.limit)
                .arg("window_ms", w.window_ms);
        }
    }
}

/// `spend_budget.lua`.
#[derive(Clone, Debug)]
pub(super) struct SpendBudgetCall {
    pub(super) counter: String,
    pub(super) limit: u64,
    pub(super) lifetime_ms: i64,
    /// The client's counter and share.
    pub(super) client: Option<(String, u64)>,
}

impl LuaCall for SpendBudgetCall {
    const SCRIPT: Lua = Lua::SpendBudget;
    fn args(&self, a: &mut Args) {
        a.key("counter", &self.counter);
        if let Some((counter, _)) = &self.client {
            a.key("client_counter", counter);
        }
        a.arg("limit", self.limit)
            .arg("lifetime_ms", self.lifetime_ms);
        if let Some((_, limit)) = &self.client {
            a.arg("client_limit", limit);
        }
    }
}

/// `cache/begin.lua`.
#[derive(Clone, Debug)]
pub(super) struct CacheBeginCall {
    pub(super) entry: String,
    pub(super) fill: String,
    pub(super) token: String,
    pub(super) now_ms: i64,
    pub(super) fill_ttl_ms: i64,
    /// The hour's counters key, hit field and miss field, and their TTL.
    pub(super) hour: Option<(String, String, String, i64)>,
}

impl LuaCall for CacheBeginCall {
    const SCRIPT: Lua = Lua::CacheBegin;
    fn args(&self, a: &mut Args) {
        a.key("entry", &self.entry)
            .key("fill", &self.fill)
            .arg("token", &self.token)
            .arg("now_ms", self.now_ms)
            .arg("fill_ttl_ms", self.fill_ttl_ms);
        if let Some((key, hit, miss, ttl_ms)) = &self.hour {
            a.key("ops_hour", key)
                .arg("hit_field", hit)
                .arg("miss_field", miss)
                .arg("ops_hour_ttl_ms", ttl_ms);
        }
    }
}

/// `cache/complete.lua`.
#[derive(Clone, Debug)]
pub(super) struct CacheCompleteCall {
    pub(super) entry: String,
    pub(super) fill: String,
    pub(super) token: String,
    pub(super) now_ms: i64,
    pub(super) ttl_ms: i64,
    pub(super) value: String,
}

impl LuaCall for CacheCompleteCall {
    const SCRIPT: Lua = Lua::CacheComplete;
    fn args(&self, a: &mut Args) {
        a.key("entry", &self.entry)
            .key("fill", &self.fill)
            .arg("token", &self.token)
            .arg("now_ms", self.now_ms)
            .arg("ttl_ms", self.ttl_ms)
            .arg("value", &self.value);
    }
}

/// `cache/abandon.lua`.
#[derive(Clone, Debug)]
pub(super) struct CacheAbandonCall {
    pub(super) fill: String,
    pub(super) token: String,
}

impl LuaCall for CacheAbandonCall {
    const SCRIPT: Lua = Lua::CacheAbandon;
    fn args(&self, a: &mut Args) {
        a.key("fill", &self.fill).arg("token", &self.token);
    }
}

/// `cache/lease_acquire.lua`.
#[derive(Clone, Debug)]
pub(super) struct LeaseAcquireCall {
    pub(super) lease: String,
    pub(super) token: String,
    pub(super) now_ms: i64,
    pub(super) ttl_ms: i64,
}

impl LuaCall for LeaseAcquireCall {
    const SCRIPT: Lua = Lua::LeaseAcquire;
    fn args(&self, a: &mut Args) {
        a.key("lease", &self.lease)
            .arg("token", &self.token)
            .arg("now_ms", self.now_ms)
            .arg("ttl_ms", self.ttl_ms);
    }
}

/// `cache/lease_release.lua`.
#[derive(Clone, Debug)]
pub(super) struct LeaseReleaseCall {
    pub(super) lease: String,
    pub(super) token: String,
    pub(super) now_ms: i64,
    pub(super) cooldown_ms: i64,
}

impl LuaCall for LeaseReleaseCall {
    const SCRIPT: Lua = Lua::LeaseRelease;
    fn args(&self, a: &mut Args) {
        a.key("lease", &self.lease)
            .arg("token", &self.token)
            .arg("now_ms", self.now_ms)
            .arg("cooldown_ms", self.cooldown_ms);
    }
}

/// `ops_prune.lua`.
#[derive(Clone, Debug)]
pub(super) struct OpsPruneCall {
    pub(super) ops: OpsKeys,
    pub(super) now_ms: i64,
    /// Each candidate's job hash key and its id.
    pub(super) candidates: Vec<(String, String)>,
}

impl LuaCall for OpsPruneCall {
    const SCRIPT: Lua = Lua::OpsPrune;
    fn args(&self, a: &mut Args) {
        self.ops.send(a);
        a.arg("now_ms", self.now_ms);
        for (job, id) in &self.candidates {
            a.key("job", job).arg("job_id", id);
        }
    }
}

#[cfg(test)]
#[path = "scripts_tests.rs"]
mod tests;
