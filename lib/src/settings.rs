//! The service's settings: every environment variable, read once.
//!
//! [`Environment::capture`] takes one snapshot of the process environment;
//! [`Settings::read`] turns it into one [`Settings`] value for a host (the
//! Vercel functions or the dev-server). The variables of the store, the
//! retry policy, the engine, the sources and their cache, the sandbox, the
//! logs and HTTP (with the dev-server's serving limits) are read here, one
//! file per layer under `settings/`, into the plain config values those
//! layers take.
//! All parse with the helpers below, so every bad value is reported the same way:
//! naming the variable, never echoing a secret's value. [`VARIABLES`] is the
//! table of every variable (name, default, meaning), grouped by
//! [`SECTIONS`]; `tests/settings_docs.rs` generates `docs/ENVIRONMENT.md`
//! from it (and fails when the file is stale) and checks `.env.example`
//! against it, and the unit
//! tests below check that the readers ask for exactly these names and that
//! the documented defaults are the defaults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::str::FromStr;

mod engine;
mod http;
mod retry;
mod sandbox;
mod sources;
mod store;
mod telemetry;

pub use retry::retry_policy;
pub use sources::{cache_settings, sources_config};

/// A setting that is present but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: String,
    /// What is wrong with it (never its value, which may be a secret).
    pub reason: String,
}

impl ConfigError {
    /// An error about variable `name`.
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The variable's value, trimmed, with empty counting as unset.
pub(crate) fn env_str(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The variable parsed as `T`; unset or empty is `Ok(None)`.
pub(crate) fn env_parse<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<T>, ConfigError> {
    match env_str(lookup, name) {
        None => Ok(None),
        Some(v) => v.parse::<T>().map(Some).map_err(|_| {
            ConfigError::invalid(
                name,
                format!(
                    "expected a {}",
                    std::any::type_name::<T>()
                        .rsplit("::")
                        .next()
                        .unwrap_or("value")
                ),
            )
        }),
    }
}

/// The variable as a whole number of at least `min`; unset or empty is
/// `Ok(None)`.
pub(crate) fn env_whole(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    min: u64,
) -> Result<Option<u64>, ConfigError> {
    let Some(value) = env_str(lookup, name) else {
        return Ok(None);
    };
    match value.parse::<u64>() {
        Ok(n) if n >= min => Ok(Some(n)),
        _ => Err(ConfigError::invalid(
            name,
            if min == 0 {
                "expected a whole non-negative number"
            } else {
                "expected a whole positive number"
            },
        )),
    }
}

/// A boolean variable: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`.
pub(crate) fn env_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<bool>, ConfigError> {
    match env_str(lookup, name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) => match v.as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(ConfigError::invalid(name, "expected true or false")),
        },
    }
}

/// Whether the process runs on Vercel (`VERCEL=1` or `VERCEL_ENV` set).
pub(crate) fn is_vercel(lookup: &impl Fn(&str) -> Option<String>) -> bool {
    env_str(lookup, "VERCEL").as_deref() == Some("1") || env_str(lookup, "VERCEL_ENV").is_some()
}

/// Where the sources' requests go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourcesMode {
    /// In-process fake servers (no keys, no network).
    Sandbox,
    /// The real public APIs.
    Live,
}

impl SourcesMode {
    /// `"sandbox"` or `"live"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Live => "live",
        }
    }
}

/// What differs between hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostProfile {
    /// Whether memory may be used when no Redis URL is set (dev-server yes,
    /// Vercel no).
    pub allow_memory: bool,
    /// Sources mode when `SOURCES_MODE` is unset.
    pub default_sources: SourcesMode,
    /// Whether this binary is a Vercel function, whatever the environment
    /// says: then the cron endpoint always requires `CRON_SECRET` and client
    /// addresses always come from Vercel's edge headers (a project may not
    /// expose Vercel's system variables, so they are not relied on).
    pub vercel_function: bool,
}

impl HostProfile {
    /// The dev-server: memory allowed, sandbox by default.
    pub const DEV_SERVER: Self = Self {
        allow_memory: true,
        default_sources: SourcesMode::Sandbox,
        vercel_function: false,
    };
    /// A Vercel function: Redis mandatory, live sources by default.
    pub const VERCEL: Self = Self {
        allow_memory: false,
        default_sources: SourcesMode::Live,
        vercel_function: true,
    };
}

/// One snapshot of the process environment: the only place the library
/// reads it.
#[derive(Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: only say how many there are.
        f.debug_struct("Environment")
            .field("variables", &self.vars.len())
            .finish()
    }
}

impl Environment {
    /// The process environment, now. A variable of [`VARIABLES`] whose value
    /// is not UTF-8 is an error (it would otherwise count as unset); other
    /// variables that are not UTF-8 are none of the service's business.
    pub fn capture() -> Result<Self, ConfigError> {
        let mut vars = HashMap::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            match value.into_string() {
                Ok(value) => {
                    vars.insert(name.to_owned(), value);
                }
                Err(_) if variable(name).is_some() => {
                    return Err(ConfigError::invalid(name, "is not valid UTF-8"));
                }
                Err(_) => {}
            }
        }
        Ok(Self { vars })
    }

    /// An environment of the given pairs (tests).
    #[cfg(test)]
    pub(crate) fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The raw value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

/// The dev-server's own settings (read only for [`HostProfile::DEV_SERVER`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevServerSettings {
    /// Where it listens (`HOST`, `PORT`; port 0 binds a free one).
    pub addr: SocketAddr,
    /// How often the local retry scheduler sweeps (`SWEEP_INTERVAL_SECS`).
    pub sweep_every: Duration,
    /// Whether a started job is processed at once (`PROCESS_ON_START`);
    /// false leaves it pending for the sweep, as after a crash.
    pub process_on_start: bool,
    /// Timeouts and the connection cap of the serving loop.
    pub limits: crate::http::ServerLimits,
}

impl DevServerSettings {
    /// Reads `HOST`, `PORT`, `SWEEP_INTERVAL_SECS`, `PROCESS_ON_START` and
    /// the serving loop's limits.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let port: u16 = env_parse(lookup, "PORT")?.unwrap_or(8000);
        let host = env_str(lookup, "HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
        let addr = format!("{host}:{port}")
            .parse()
            .map_err(|_| ConfigError::invalid("HOST", "expected an IP address"))?;
        let sweep_secs = env_parse::<u64>(lookup, "SWEEP_INTERVAL_SECS")?.unwrap_or(300);
        Ok(Self {
            addr,
            sweep_every: Duration::from_secs(sweep_secs.max(1)),
            process_on_start: env_bool(lookup, "PROCESS_ON_START")?.unwrap_or(true),
            limits: http::server_limits(lookup)?,
        })
    }
}

/// Every setting of the service, read once (module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The host the settings were read for.
    pub profile: HostProfile,
    /// Logging.
    pub log: crate::telemetry::LogConfig,
    /// The Redis URL (`KV_REDIS_URL`, `KV_URL`, `REDIS_URL`: the first set
    /// wins). It holds a password: never logged, redacted in `Debug`.
    pub redis_url: Option<Secret>,
    /// The store's keys, timeouts and retention (retention also applies to
    /// the memory store).
    pub redis: crate::store::redis::RedisConfig,
    /// The directory export (`CARE_HOMES_CSV`); `None`: the demo directory.
    pub directory_csv: Option<PathBuf>,
    /// The councils' weekly rates (`COUNCIL_RATES_CSV`); `None`: no Fair
    /// Cost Gap section.
    pub council_rates_csv: Option<PathBuf>,
    /// Where the sources' requests go (`SOURCES_MODE`).
    pub sources_mode: SourcesMode,
    /// The live sources' URLs, keys, timeouts and caps.
    pub sources: crate::sources::SourcesConfig,
    /// The sandbox's fault plan (`SANDBOX_FAULTS`, `SANDBOX_SEED`).
    pub faults: crate::sandbox::FaultPlan,
    /// The shared source cache.
    pub cache: crate::sources::CacheConfig,
    /// HTTP: CORS, body limit, cron secret, limits, the synchronous route.
    pub http: crate::http::HttpConfig,
    /// When failed sources are tried again.
    pub retry: crate::retry::RetryPolicy,
    /// Leases, sweeps and fetch concurrency.
    pub engine: crate::engine::EngineConfig,
    /// The dev-server's own settings; `None` for a Vercel function.
    pub dev_server: Option<DevServerSettings>,
}

/// A setting that holds a secret (a URL with a password): its `Debug`
/// says only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<set>")
    }
}

impl Settings {
    /// The settings of a `profile` host, from one environment snapshot.
    pub fn read(env: &Environment, profile: HostProfile) -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| env.get(name), profile)
    }

    /// [`Settings::read`] through any lookup (tests record the names asked).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        profile: HostProfile,
    ) -> Result<Self, ConfigError> {
        let mut http = http::http_config(&lookup)?;
        if profile.vercel_function {
            http.require_cron_secret = true;
            http.limits.client_ip = crate::http::limits::ClientIp::Vercel;
        }
        Ok(Self {
            profile,
            log: telemetry::log_settings(&lookup)?,
            redis_url: store::redis_url_from_lookup(lookup)?.map(Secret),
            redis: store::redis_config(lookup)?,
            directory_csv: env_str(&lookup, crate::directory::CSV_ENV).map(PathBuf::from),
            council_rates_csv: env_str(&lookup, "COUNCIL_RATES_CSV").map(PathBuf::from),
            sources_mode: sources_mode(&lookup, profile)?,
            sources: sources::sources_config(lookup)?,
            faults: sandbox::fault_plan(&lookup)?,
            cache: sources::cache_settings(lookup)?,
            http,
            retry: retry::retry_policy(lookup)?,
            engine: engine::engine_config(lookup)?,
            dev_server: if profile.vercel_function {
                None
            } else {
                Some(DevServerSettings::from_lookup(&lookup)?)
            },
        })
    }
}

/// `SOURCES_MODE`, or the host's default when unset.
fn sources_mode(
    lookup: &impl Fn(&str) -> Option<String>,
    profile: HostProfile,
) -> Result<SourcesMode, ConfigError> {
    match env_str(lookup, "SOURCES_MODE").as_deref() {
        None => Ok(profile.default_sources),
        Some("sandbox") => Ok(SourcesMode::Sandbox),
        Some("live") => Ok(SourcesMode::Live),
        Some(_) => Err(ConfigError::invalid(
            "SOURCES_MODE",
            "expected sandbox or live",
        )),
    }
}

/// Which hosts read a variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every host.
    All,
    /// The dev-server only.
    DevServer,
    /// Set by Vercel itself, not by the operator (so not in `.env.example`).
    SetByVercel,
}

/// What a variable falls back to when unset or empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// This value: setting it changes nothing (a unit test checks).
    Value(&'static str),
    /// Nothing: the feature it names is off or unconfigured.
    Unset,
    /// A default that is not one literal value, described.
    Described(&'static str),
}

/// One environment variable the service reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    /// Its name.
    pub name: &'static str,
    /// What it falls back to.
    pub default: Fallback,
    /// Which hosts read it.
    pub scope: Scope,
    /// What it means: the text of `docs/ENVIRONMENT.md` (Markdown).
    pub meaning: &'static str,
}

/// The variable named `name`, if the service reads it.
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// A table row: `v!(NAME, default, scope, meaning)`.
macro_rules! v {
    ($name:literal, unset, $scope:ident, $meaning:literal) => {
        Variable {
            name: $name,
            default: Fallback::Unset,
            scope: Scope::$scope,
            meaning: $meaning,
        }
    };
    ($name:literal, described $d:literal, $scope:ident, $meaning:literal) => {
        Variable {
            name: $name,
            default: Fallback::Described($d),
            scope: Scope::$scope,
            meaning: $meaning,
        }
    };
    ($name:literal, $default:literal, $scope:ident, $meaning:literal) => {
        Variable {
            name: $name,
            default: Fallback::Value($default),
            scope: Scope::$scope,
            meaning: $meaning,
        }
    };
}

/// Every variable the service reads, with its default and meaning.
#[rustfmt::skip]
pub const VARIABLES: &[Variable] = &[
    // Host and logging.
    v!("VERCEL", unset, SetByVercel, "Vercel mode: Redis mandatory, `CRON_SECRET` mandatory, JSON logs, live sources"),
    v!("VERCEL_ENV", unset, SetByVercel, "Vercel mode, like `VERCEL`; also names the console's environment banner (`production`, `preview`, `development`)"),
    v!("RUST_LOG", "info", All, "log filter"),
    // Dev-server.
    v!("PORT", "8000", DevServer, "dev-server port (`0`: any free port)"),
    v!("HOST", "127.0.0.1", DevServer, "dev-server bind address"),
    v!("SWEEP_INTERVAL_SECS", "300", DevServer, "how often the local retry scheduler sweeps"),
    v!("PROCESS_ON_START", "true", DevServer, "`false` leaves a started job `pending` in the due index, for the sweep to pick up (how the tests exercise takeover)"),
    v!("HEADER_READ_TIMEOUT_SECS", "30", DevServer, "a request's headers must arrive within this; also the idle timeout of a kept-alive connection"),
    v!("BODY_READ_TIMEOUT_SECS", "30", DevServer, "a request's body must arrive within this (408 `body_timeout`)"),
    v!("MAX_CONNECTIONS", "1024", DevServer, "connections served at once; more wait in the kernel's backlog"),
    // HTTP and limits.
    v!("CRON_SECRET", unset, All, "bearer secret of the cron endpoint (compared in constant time)"),
    v!("OPS_TOKEN", unset, All, "the operators' console (`/api/ops`, see [CONSOLE.md](CONSOLE.md)): its password, sent with HTTP Basic authentication under any user name, compared in constant time; at least 16 characters; unset: every console path answers 404"),
    v!("OPS_READ_TOKEN", unset, All, "the console's read-only password: every page, every action refused (403); must differ from `OPS_TOKEN`"),
    v!("CORS_ALLOWED_ORIGINS", unset, All, "a comma-separated list of origins allowed to call from a browser (or `*` for any); unset or empty: no CORS headers, so no other website can drive the API from its visitors' browsers"),
    v!("MAX_BODY_BYTES", "262144", All, "request body limit (413 above it)"),
    v!("SYNC_REPORT_WAIT_SECS", "240", All, "how long `POST /api/professional-report` waits for its job to settle before answering 202 (at most 290: below the function's `maxDuration` of 300 s; 0 answers 202 at once)"),
    v!("RATE_LIMIT_START_PER_CLIENT", "20/3600", All, "starts per client per window (`COUNT/SECONDS`, or `off`)"),
    v!("RATE_LIMIT_START_OVERALL", "300/3600", All, "starts of every client together"),
    v!("RATE_LIMIT_RETRY_PER_CLIENT", "60/3600", All, "manual retries per client"),
    v!("RATE_LIMIT_RETRY_OVERALL", "600/3600", All, "manual retries overall"),
    v!("DAILY_PAID_CALL_BUDGET", "2000", All, "paid upstream calls per UTC day, all instances (`off`: unmetered)"),
    v!("CLIENT_SHARE_PERCENT", "25", All, "the most one client (one address, IPv6 by /64; or every request without one, as one bucket) may take, in percent, of the overall start and retry windows and of the daily paid-call budget (`off`: no bound)"),
    v!("TRUST_PROXY", "false", All, "the dev-server behind proxies: `true` (one proxy) or the number of proxies whose `x-forwarded-for` entries to trust (a Vercel function always reads Vercel's own edge header)"),
    // Engine.
    v!("LEASE_TTL_SECS", "60", All, "processing lease; renewed every third of it; a dead worker's job is resumed after it"),
    v!("PENDING_GRACE_SECS", "120", All, "a job nobody started is taken over by the sweep after this"),
    v!("SWEEP_BUDGET_SECS", "45", All, "time budget of one sweep; at its end rounds stop starting fetches and give their jobs back (the cron function's `maxDuration` is 120 s)"),
    v!("SWEEP_BATCH", "50", All, "due jobs read from the index at a time"),
    v!("SWEEP_JOB_CONCURRENCY", "4", All, "jobs one sweep works on at once"),
    v!("MANUAL_RETRY_MIN_INTERVAL_SECS", "30", All, "minimum time between two manual retries of one job"),
    v!("FETCH_CONCURRENCY", "10", All, "source fetches in flight per job"),
    v!("FETCH_CONCURRENCY_PER_SOURCE", "4", All, "fetches in flight per source type per process"),
    // Store and retention.
    v!("KV_REDIS_URL", unset, All, "Redis URL (the first of `KV_REDIS_URL`, `KV_URL`, `REDIS_URL` that is set wins); `rediss://` uses TLS (rustls). Holds a password: never logged. Unset: memory on the dev-server, refused on Vercel"),
    v!("KV_URL", unset, All, "Redis URL, second choice (Vercel KV sets it)"),
    v!("REDIS_URL", unset, All, "Redis URL, third choice"),
    v!("REDIS_KEY_PREFIX", "care-report:", All, "prefix of every Redis key"),
    v!("REDIS_RESPONSE_TIMEOUT_MS", "2000", All, "how long one Redis command may take (a TLS round trip to Upstash plus a script, yet a dead Redis answers 503 quickly)"),
    v!("REDIS_CONNECT_TIMEOUT_MS", "3000", All, "how long one connection attempt may take (DNS + TCP + TLS from a cold serverless instance)"),
    v!("REDIS_CA_FILE", unset, All, "for a private Redis over `rediss://`: a PEM file of the CA(s) that sign its certificate, trusted instead of the public web roots (Upstash needs none). A file that cannot be read or holds no certificate is a startup error naming it; a server certificate that does not chain to the trusted roots is 500 `server_misconfigured` on a function and a startup error on the dev-server, logged with what to set"),
    v!("JOB_TTL_SECS", "86400", All, "a job's keys expire this long after its last update, but never before its retry deadline plus `JOB_TTL_DEADLINE_MARGIN_SECS`"),
    v!("JOB_TTL_DEADLINE_MARGIN_SECS", "3600", All, "the margin after the retry deadline before a job's keys may expire"),
    // Retry policy.
    v!("RETRY_BASE_DELAY_SECS", "300", All, "delay before the first retry of a source"),
    v!("RETRY_MULTIPLIER", "1.5", All, "delay before retry n = base × multiplier^n (n = retries already made); 1–100"),
    v!("RETRY_MAX_RETRIES", "10", All, "retries per source after the first attempt"),
    v!("RETRY_DEADLINE_SECS", "10800", All, "nothing is retried once the job is this old"),
    v!("RETRY_JITTER", "0.1", All, "each delay is scaled by a factor in [1 − j, 1 + j]; 0–0.5"),
    v!("RETRY_JITTER_SEED", "0", All, "seed of the deterministic jitter hash"),
    // Directory.
    v!("CARE_HOMES_CSV", described "the demo directory", All, "path of a `care_homes` export to use as the directory"),
    v!("COUNCIL_RATES_CSV", unset, All, "path of the councils' weekly rates for care homes (columns `council, care_type, weekly_rate, year, source_url`, optional `figures=example`; format in `lib/src/directory/council_rates.rs`). With it, and fees known, the report fills the client's Fair Cost Gap section; without it the section is absent. `docs/examples/council_rates.EXAMPLE.csv` holds **example figures** for the demo directory's councils. A file that cannot be read stops the service at start-up"),
    // Sources.
    v!("SOURCES_MODE", described "sandbox on the dev-server, live on Vercel", All, "where the source adapters send their requests"),
    v!("SOURCES_USER_AGENT", described "care-report/<version> with SOURCES_CONTACT", All, "the User-Agent of every upstream request: CQC, Companies House, Overpass and the rest see the same identifying agent; set it only to replace the product name (the contact is appended when it lacks it)"),
    v!("SOURCES_CONTACT", unset, All, "the operator's contact, an e-mail address or an http(s) URL, put in the User-Agent. **Required in live mode**: Overpass's operators ask for a contact ([drolbr/Overpass-API#791](https://github.com/drolbr/Overpass-API/issues/791)), so without one the `neighbourhood` source is `not_configured` (a warning at start-up names the variable) and no request goes out with a placeholder. The sandbox needs none"),
    v!("CQC_API_KEY", unset, All, "CQC subscription key (`Ocp-Apim-Subscription-Key`); unset or blank → `cqc` is `not_configured`"),
    v!("CQC_BASE_URL", "https://api.service.cqc.org.uk/public/v1/", All, "CQC public API base"),
    v!("CQC_TIMEOUT_MS", "10000", All, "per-request timeout"),
    v!("CQC_MAX_BYTES", "2097152", All, "most bytes one answer may have"),
    v!("FSA_BASE_URL", "https://api.ratings.food.gov.uk/", All, "FSA food hygiene ratings API (no key; sends `x-api-version: 2`)"),
    v!("FSA_TIMEOUT_MS", "10000", All, "per-request timeout"),
    v!("FSA_MAX_BYTES", "1048576", All, "most bytes one answer may have"),
    v!("GOOGLE_PLACES_API_KEY", unset, All, "Google Places API (New) key (`X-Goog-Api-Key`); unset → `not_configured`"),
    v!("GOOGLE_PLACES_BASE_URL", "https://places.googleapis.com/v1/", All, "Places API base (one text search with rating and reviews in its field mask; place details when the place id is cached)"),
    v!("GOOGLE_PLACES_TIMEOUT_MS", "10000", All, "per-request timeout"),
    v!("GOOGLE_PLACES_MAX_BYTES", "1048576", All, "most bytes one answer may have"),
    v!("POSTCODES_BASE_URL", "https://api.postcodes.io/", All, "postcodes.io (neighbourhood source and the geocoder)"),
    v!("POSTCODES_TIMEOUT_MS", "5000", All, "per-request timeout"),
    v!("POSTCODES_MAX_BYTES", "262144", All, "most bytes one answer may have"),
    v!("OVERPASS_BASE_URL", "https://overpass-api.de/api/", All, "OpenStreetMap Overpass API (`interpreter` is appended)"),
    v!("OVERPASS_BASE_URLS", unset, All, "comma-separated Overpass instances tried in order (the first replaces `OVERPASS_BASE_URL`)"),
    v!("OVERPASS_TIMEOUT_MS", "30000", All, "per-request timeout (above the query's own `[timeout:20]`)"),
    v!("OVERPASS_MAX_BYTES", "8388608", All, "most bytes one answer may have"),
    v!("FIRECRAWL_API_KEY", unset, All, "Firecrawl key (`Authorization: Bearer`); unset → `not_configured`"),
    v!("FIRECRAWL_BASE_URL", "https://api.firecrawl.dev/v2/", All, "Firecrawl API base (`scrape` is appended; v1 is legacy)"),
    v!("FIRECRAWL_TIMEOUT_MS", "30000", All, "per-request timeout (above the `timeout: 20000` the scrape asks for)"),
    v!("FIRECRAWL_MAX_BYTES", "4194304", All, "most bytes one answer may have"),
    v!("COMPANIES_HOUSE_API_KEY", unset, All, "Companies House Public Data API key (free; sent as the HTTP Basic user name, empty password); unset → `companies_house` is `not_configured`"),
    v!("COMPANIES_HOUSE_BASE_URL", "https://api.company-information.service.gov.uk/", All, "Companies House Public Data API base (`company/{number}`, then `insolvency` and `charges` when the profile has them)"),
    v!("COMPANIES_HOUSE_TIMEOUT_MS", "10000", All, "per-request timeout"),
    v!("COMPANIES_HOUSE_MAX_BYTES", "524288", All, "most bytes one answer may have"),
    // Source cache.
    v!("SOURCE_CACHE", "on", All, "`off` turns the shared source cache off"),
    v!("SOURCE_CACHE_TTL_CQC_SECS", "86400", All, "how long cached CQC answers live"),
    v!("SOURCE_CACHE_TTL_FSA_SECS", "604800", All, "how long cached FSA answers live"),
    v!("SOURCE_CACHE_TTL_GOOGLE_PLACE_ID_SECS", "2592000", All, "how long a cached Google place id lives"),
    v!("SOURCE_CACHE_TTL_POSTCODES_SECS", "2592000", All, "how long cached postcodes.io answers live"),
    v!("SOURCE_CACHE_TTL_OVERPASS_SECS", "604800", All, "how long cached Overpass answers live"),
    v!("SOURCE_CACHE_TTL_FIRECRAWL_SECS", "604800", All, "how long cached Firecrawl answers live"),
    v!("SOURCE_CACHE_TTL_COMPANIES_HOUSE_SECS", "86400", All, "how long a cached Companies House company record lives"),
    // Sandbox.
    v!("SANDBOX_FAULTS", unset, All, "the sandbox's fault plan (grammar in [SOURCES.md](SOURCES.md#fault-plan)); unset: no faults"),
    v!("SANDBOX_SEED", "0", All, "seed of the sandbox's failure decisions (overrides a `seed=` clause)"),
];

/// A group of [`VARIABLES`] in `docs/ENVIRONMENT.md`: the variables from
/// `first` up to the next section's first, in the table's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    /// The heading.
    pub title: &'static str,
    /// The section's first variable.
    pub first: &'static str,
    /// The page of `docs/` that explains the behaviour behind them.
    pub explained_in: &'static str,
}

/// The sections of `docs/ENVIRONMENT.md`, in the table's order.
#[rustfmt::skip]
pub const SECTIONS: &[Section] = &[
    Section { title: "Host and logging", first: "VERCEL", explained_in: "DEPLOYING.md" },
    Section { title: "Dev-server", first: "PORT", explained_in: "../README.md#run-it-locally" },
    Section { title: "HTTP and limits", first: "CRON_SECRET", explained_in: "API.md#limits" },
    Section { title: "Engine", first: "LEASE_TTL_SECS", explained_in: "ARCHITECTURE.md#how-it-works" },
    Section { title: "Store and retention", first: "KV_REDIS_URL", explained_in: "STORE.md" },
    Section { title: "Retry policy", first: "RETRY_BASE_DELAY_SECS", explained_in: "ARCHITECTURE.md#how-it-works" },
    Section { title: "Directory", first: "CARE_HOMES_CSV", explained_in: "DIRECTORY.md" },
    Section { title: "Sources", first: "SOURCES_MODE", explained_in: "SOURCES.md" },
    Section { title: "Source cache", first: "SOURCE_CACHE", explained_in: "SOURCES.md" },
    Section { title: "Sandbox", first: "SANDBOX_FAULTS", explained_in: "SOURCES.md#fault-plan" },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_names_the_variable_and_hides_the_value() {
        let lookup = |k: &str| (k == "X").then(|| "s3cret".to_owned());
        let err = env_parse::<u64>(&lookup, "X").unwrap_err();
        assert_eq!(err.name, "X");
        assert!(!err.to_string().contains("s3cret"));
        assert_eq!(env_parse::<u64>(&lookup, "Y"), Ok(None));
    }

    #[test]
    fn empty_is_unset_and_bools_parse() {
        let lookup = |k: &str| match k {
            "E" => Some("  ".to_owned()),
            "B" => Some("Yes".to_owned()),
            _ => None,
        };
        assert_eq!(env_str(&lookup, "E"), None);
        assert_eq!(env_bool(&lookup, "B"), Ok(Some(true)));
        assert!(!is_vercel(&lookup));
        assert!(is_vercel(
            &|k: &str| (k == "VERCEL_ENV").then(|| "production".to_owned())
        ));
    }

    use std::collections::BTreeSet;
    use std::sync::Mutex;

    const PROFILES: [HostProfile; 2] = [HostProfile::DEV_SERVER, HostProfile::VERCEL];

    /// The names a read of `profile`'s settings asks for (every variable
    /// unset).
    fn names_asked(profile: HostProfile) -> BTreeSet<String> {
        let asked = Mutex::new(BTreeSet::new());
        let lookup = |name: &str| {
            asked.lock().unwrap().insert(name.to_owned());
            None
        };
        Settings::from_lookup(&lookup, profile).unwrap();
        asked.into_inner().unwrap()
    }

    #[test]
    fn the_table_lists_exactly_the_variables_each_host_reads() {
        for profile in PROFILES {
            let expected: BTreeSet<String> = VARIABLES
                .iter()
                .filter(|v| v.scope != Scope::DevServer || !profile.vercel_function)
                .map(|v| v.name.to_owned())
                .collect();
            assert_eq!(names_asked(profile), expected, "{profile:?}");
        }
    }

    #[test]
    fn the_table_names_each_variable_once() {
        let names: BTreeSet<&str> = VARIABLES.iter().map(|v| v.name).collect();
        assert_eq!(names.len(), VARIABLES.len());
        assert!(variable("PORT").is_some() && variable("NOT_A_SETTING").is_none());
    }

    #[test]
    fn the_documented_defaults_are_the_defaults() {
        let defaults: Vec<(&str, &str)> = VARIABLES
            .iter()
            .filter_map(|v| match v.default {
                Fallback::Value(value) => Some((v.name, value)),
                Fallback::Unset | Fallback::Described(_) => None,
            })
            .collect();
        assert!(defaults.len() > 50, "{}", defaults.len());
        let env = Environment::from_pairs(defaults.iter().copied());
        for profile in PROFILES {
            let unset = Settings::read(&Environment::default(), profile).unwrap();
            assert_eq!(Settings::read(&env, profile).unwrap(), unset, "{profile:?}");
        }
        // The comparison sees a changed default: one value off changes it.
        let off = Environment::from_pairs([("SWEEP_BATCH", "51")]);
        assert_ne!(
            Settings::read(&off, HostProfile::VERCEL).unwrap(),
            Settings::read(&Environment::default(), HostProfile::VERCEL).unwrap()
        );
    }

    #[test]
    fn a_vercel_function_requires_the_cron_secret_and_reads_no_dev_server_settings() {
        let env = Environment::from_pairs([("PORT", "not a port")]);
        let vercel = Settings::read(&env, HostProfile::VERCEL).unwrap();
        assert!(vercel.http.require_cron_secret && vercel.dev_server.is_none());
        assert_eq!(
            vercel.http.limits.client_ip,
            crate::http::limits::ClientIp::Vercel
        );
        assert_eq!(vercel.sources_mode, SourcesMode::Live);
        let err = Settings::read(&env, HostProfile::DEV_SERVER).unwrap_err();
        assert_eq!(err.name, "PORT");
        let local = Settings::read(&Environment::default(), HostProfile::DEV_SERVER).unwrap();
        assert!(!local.http.require_cron_secret);
        assert_eq!(local.sources_mode, SourcesMode::Sandbox);
    }

    #[test]
    fn every_reader_reports_through_the_one_error_type() {
        for (name, value) in [
            ("CQC_BASE_URL", "ftp://x"),
            ("SANDBOX_FAULTS", "nosuchsource"),
            ("SANDBOX_SEED", "x"),
            ("RUST_LOG", "info,care_report=loudest"),
            ("SOURCES_MODE", "both"),
            ("JOB_TTL_SECS", "0"),
            ("SOURCE_CACHE", "maybe"),
        ] {
            let env = Environment::from_pairs([(name, value)]);
            let err = Settings::read(&env, HostProfile::DEV_SERVER).unwrap_err();
            assert_eq!(err.name, name, "{err}");
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let env = Environment::from_pairs([
            ("REDIS_URL", "redis://:hunter2@db:6379"),
            ("CRON_SECRET", "s3cret-cron"),
            ("CQC_API_KEY", "s3cret-key"),
        ]);
        let shown = format!(
            "{:?} {env:?}",
            Settings::read(&env, HostProfile::VERCEL).unwrap()
        );
        for secret in ["hunter2", "s3cret-cron", "s3cret-key"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
