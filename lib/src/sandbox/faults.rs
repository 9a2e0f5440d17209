//! Switchable, reproducible faults for the sandbox servers.
//!
//! Whether attempt *n* of a (source, home) pair fails is a pure hash of
//! `seed`, the source, the home and *n*: the same plan and seed give the
//! same story every run, yet different homes fail differently. No random
//! number generator is involved, so a failing test can be replayed.
//!
//! Grammar of `SANDBOX_FAULTS` (clauses separated by `;`, whitespace ignored):
//!
//! ```text
//! plan    := clause (";" clause)*
//! clause  := "seed=" u64
//!          | source [":" option ("," option)*]
//! source  := cqc | fsa | google_places | neighbourhood | firecrawl | companies_house
//! option  := "rate=" 0.0..=1.0        probability an attempt fails (default 1)
//!          | "status=" 100..=599      answer this status (default failure: 503)
//!          | "delay_ms=" ms           wait this long before answering
//!          | "retry_after=" secs      answer 429 with this Retry-After
//!          | "malformed"              answer 200 with a garbage body
//!          | "heal_after=" n          only attempts 1..=n may fail, later ones answer
//!          | quirk                    answer the way the real service misbehaves
//! quirk   := "saf_only"               cqc: 200, ratings only under assessment[] (SAF)
//!          | "saf_newer"              cqc: currentRatings older than a worse SAF rating
//!          | "deregistered"           cqc: 200, registrationStatus Deregistered
//!          | "remark"                 neighbourhood: Overpass 200, no elements, "remark": "runtime error…"
//!          | "html_429"               neighbourhood: Overpass 429 text/html, no Retry-After
//!          | "html_403"               fsa: 403 HTML block page
//!          | "scrape_error=" CODE     firecrawl: 500 {success:false, code: CODE}
//!          | "page_status=" 100..=599 firecrawl: 200 with the page's metadata.statusCode
//!          | "blocklisted"            firecrawl: 403 blocklisted URL
//!          | "branded"                google_places: the place's name carries a brand
//!          | "endless"                any: 200 whose body never ends
//!          | "huge_string"            cqc, google_places, firecrawl, neighbourhood: a 600 KB name
//! ```
//!
//! Neighbourhood's Overpass quirks (`remark`, `html_429`) apply to the
//! Overpass call of a fetch (its postcodes.io call answers normally).
//!
//! Example: `google_places:rate=0.5;firecrawl:status=503,heal_after=2;cqc:delay_ms=5000;fsa:retry_after=120;neighbourhood:malformed;seed=42`.
//! A bare source name (`cqc`) makes every attempt answer 503.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::SourceType;

/// Why a fault plan string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultPlanError {
    /// An unknown source name.
    #[error("unknown source {0:?} in fault plan")]
    UnknownSource(String),
    /// An unknown option.
    #[error("unknown fault option {0:?}")]
    UnknownOption(String),
    /// An option with a bad value.
    #[error("bad value for fault option {0:?}")]
    BadValue(String),
}

/// How one source misbehaves. The default never fails.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSpec {
    /// Probability (0–1) that an attempt fails.
    pub failure_rate: f64,
    /// Status of a failing answer (503 when no other mode is chosen).
    pub fixed_status: Option<u16>,
    /// Wait before answering; set it beyond the client timeout to simulate
    /// a hang. A delay alone still answers normally afterwards.
    pub delay: Option<Duration>,
    /// Answer 429 with this `Retry-After` (whole seconds).
    pub retry_after: Option<Duration>,
    /// Answer 200 with a body that is not JSON.
    pub malformed: bool,
    /// Only attempts `1..=n` (per home) may fail; later ones answer.
    pub heal_after: Option<u32>,
    /// Answer the way the real service misbehaves.
    pub quirk: Option<Quirk>,
}

/// A real service's misbehaviour the sandbox can speak (the evidence is
/// beside each adapter's handling of it, in `crate::sources`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quirk {
    /// CQC: ratings only under the Single Assessment Framework.
    SafOnly,
    /// CQC: `currentRatings` older than a worse SAF rating.
    SafNewer,
    /// CQC: a deregistered location (200).
    Deregistered,
    /// Overpass: 200 with a runtime-error remark and no elements.
    Remark,
    /// Overpass: 429 as HTML without `Retry-After`.
    Html429,
    /// FSA: 403 HTML block page.
    Html403,
    /// Firecrawl: 500 with this error code.
    ScrapeError(String),
    /// Firecrawl: 200 with this page status.
    PageStatus(u16),
    /// Firecrawl: 403 blocklisted URL.
    Blocklisted,
    /// Google: a brand around the home's name.
    Branded,
    /// Any: a body that never ends.
    Endless,
    /// A 600 KB name.
    HugeString,
}

impl FaultSpec {
    /// Every attempt fails (with 503 unless a mode is added).
    pub fn always() -> Self {
        Self {
            failure_rate: 1.0,
            ..Self::default()
        }
    }

    /// Sets the failure probability.
    pub fn rate(mut self, rate: f64) -> Self {
        self.failure_rate = rate;
        self
    }

    /// Failing attempts answer `status`.
    pub fn status(mut self, status: u16) -> Self {
        self.fixed_status = Some(status);
        self
    }

    /// Failing attempts wait `delay` first.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Failing attempts answer 429 with `Retry-After`.
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Failing attempts answer a garbage 200.
    pub fn malformed(mut self) -> Self {
        self.malformed = true;
        self
    }

    /// Attempts after the first `n` answer normally.
    pub fn heal_after(mut self, n: u32) -> Self {
        self.heal_after = Some(n);
        self
    }

    /// Applies one option of a plan clause (`key=value`, or a bare `key`).
    fn set_option(&mut self, key: &str, value: &str) -> Result<(), FaultPlanError> {
        let bad = || FaultPlanError::BadValue(key.to_owned());
        match key {
            "rate" => {
                let r: f64 = value.parse().map_err(|_| bad())?;
                if !(0.0..=1.0).contains(&r) {
                    return Err(bad());
                }
                self.failure_rate = r;
            }
            "status" => self.fixed_status = Some(status_value(value).ok_or_else(bad)?),
            "delay_ms" => {
                self.delay = Some(Duration::from_millis(value.parse().map_err(|_| bad())?))
            }
            "retry_after" => {
                self.retry_after = Some(Duration::from_secs(value.parse().map_err(|_| bad())?))
            }
            "heal_after" => self.heal_after = Some(value.parse().map_err(|_| bad())?),
            "malformed" if value.is_empty() || value == "true" => self.malformed = true,
            "saf_only" => self.quirk = Some(Quirk::SafOnly),
            "saf_newer" => self.quirk = Some(Quirk::SafNewer),
            "deregistered" => self.quirk = Some(Quirk::Deregistered),
            "remark" => self.quirk = Some(Quirk::Remark),
            "html_429" => self.quirk = Some(Quirk::Html429),
            "html_403" => self.quirk = Some(Quirk::Html403),
            "blocklisted" => self.quirk = Some(Quirk::Blocklisted),
            "branded" => self.quirk = Some(Quirk::Branded),
            "endless" => self.quirk = Some(Quirk::Endless),
            "huge_string" => self.quirk = Some(Quirk::HugeString),
            "scrape_error" => {
                if value.is_empty() || !value.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    return Err(bad());
                }
                self.quirk = Some(Quirk::ScrapeError(value.to_owned()));
            }
            "page_status" => {
                self.quirk = Some(Quirk::PageStatus(status_value(value).ok_or_else(bad)?))
            }
            "malformed" => return Err(bad()),
            _ => return Err(FaultPlanError::UnknownOption(key.to_owned())),
        }
        Ok(())
    }
}

/// An HTTP status option's value, when it is one (100..=599).
fn status_value(value: &str) -> Option<u16> {
    value.parse().ok().filter(|code| (100..=599).contains(code))
}

/// What a failing attempt does, as decided by [`FaultPlan::decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Wait this long first.
    pub delay: Option<Duration>,
    /// Then answer this way.
    pub answer: FaultAnswer,
}

/// The answer of a failing attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAnswer {
    /// The normal answer (after the delay).
    Normal,
    /// This status with the API's error body.
    Status(u16),
    /// 429 with `Retry-After`.
    RateLimited(Duration),
    /// 200 with a body that is not JSON.
    Malformed,
    /// The real service's misbehaviour.
    Quirk(Quirk),
}

/// The faults of every source, plus the seed of the failure decisions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// Seed of the failure decisions.
    pub seed: u64,
    /// Faults per source; absent sources behave.
    pub specs: BTreeMap<SourceType, FaultSpec>,
}

impl FaultPlan {
    /// No faults at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// The same plan with `spec` for `source`.
    pub fn with(mut self, source: SourceType, spec: FaultSpec) -> Self {
        self.specs.insert(source, spec);
        self
    }

    /// The same plan with another seed.
    #[cfg(test)]
    pub(crate) fn seeded(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Parses the grammar in the module docs. An empty string is no faults.
    pub fn parse(spec: &str) -> Result<Self, FaultPlanError> {
        let mut plan = Self::none();
        for clause in spec.split(';').map(str::trim).filter(|c| !c.is_empty()) {
            if let Some(seed) = clause.strip_prefix("seed=") {
                plan.seed = seed
                    .trim()
                    .parse()
                    .map_err(|_| FaultPlanError::BadValue("seed".into()))?;
                continue;
            }
            let (name, options) = clause.split_once(':').unwrap_or((clause, ""));
            let source = SourceType::parse(name.trim())
                .ok_or_else(|| FaultPlanError::UnknownSource(name.trim().to_owned()))?;
            let mut s = FaultSpec::always();
            for option in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                let (key, value) = option.split_once('=').unwrap_or((option, ""));
                s.set_option(key.trim(), value.trim())?;
            }
            plan.specs.insert(source, s);
        }
        Ok(plan)
    }

    /// What attempt `attempt` (1-based, per source and home) does; `None`
    /// when it behaves.
    pub fn decide(&self, source: SourceType, home: &str, attempt: u64) -> Option<Fault> {
        let spec = self.specs.get(&source)?;
        if spec.heal_after.is_some_and(|n| attempt > u64::from(n)) {
            return None;
        }
        if spec.failure_rate <= 0.0
            || unit_hash(self.seed, source, home, attempt) >= spec.failure_rate
        {
            return None;
        }
        let answer = if let Some(q) = &spec.quirk {
            FaultAnswer::Quirk(q.clone())
        } else if let Some(after) = spec.retry_after {
            FaultAnswer::RateLimited(after)
        } else if let Some(status) = spec.fixed_status {
            FaultAnswer::Status(status)
        } else if spec.malformed {
            FaultAnswer::Malformed
        } else if spec.delay.is_some() {
            FaultAnswer::Normal
        } else {
            FaultAnswer::Status(503)
        };
        Some(Fault {
            delay: spec.delay,
            answer,
        })
    }
}

/// A deterministic value in `[0, 1)` from the decision's inputs
/// (FNV-1a, then a SplitMix64 finaliser to spread close inputs).
pub(crate) fn unit_hash(seed: u64, source: SourceType, home: &str, attempt: u64) -> f64 {
    let h = hash_parts(&[
        &seed.to_le_bytes(),
        source.as_str().as_bytes(),
        home.as_bytes(),
        &attempt.to_le_bytes(),
    ]);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a over length-prefixed parts, finished with SplitMix64.
pub(crate) fn hash_parts(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in (part.len() as u64).to_le_bytes().iter().chain(part.iter()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let p = FaultPlan::parse(
            "google_places:rate=0.5;firecrawl:status=503,heal_after=2; cqc:delay_ms=5000;\
             fsa:retry_after=120;neighbourhood:malformed;seed=42",
        )
        .unwrap();
        assert_eq!(p.seed, 42);
        assert_eq!(
            p.specs[&SourceType::GooglePlaces],
            FaultSpec::always().rate(0.5)
        );
        assert_eq!(
            p.specs[&SourceType::Firecrawl],
            FaultSpec::always().status(503).heal_after(2)
        );
        assert_eq!(
            p.specs[&SourceType::Cqc],
            FaultSpec::always().delay(Duration::from_secs(5))
        );
        assert_eq!(
            p.specs[&SourceType::Fsa],
            FaultSpec::always().retry_after(Duration::from_secs(120))
        );
        assert!(p.specs[&SourceType::Neighbourhood].malformed);
        assert_eq!(FaultPlan::parse("").unwrap(), FaultPlan::none());
        assert_eq!(
            FaultPlan::parse("cqc").unwrap().specs[&SourceType::Cqc],
            FaultSpec::always()
        );
    }

    #[test]
    fn parses_quirks() {
        let p = FaultPlan::parse(
            "cqc:saf_only;neighbourhood:remark,heal_after=1;firecrawl:scrape_error=SCRAPE_DNS_RESOLUTION_ERROR;google_places:branded",
        )
        .unwrap();
        assert_eq!(
            p.decide(SourceType::Cqc, "h", 1).unwrap().answer,
            FaultAnswer::Quirk(Quirk::SafOnly)
        );
        assert_eq!(
            p.decide(SourceType::Firecrawl, "h", 1).unwrap().answer,
            FaultAnswer::Quirk(Quirk::ScrapeError("SCRAPE_DNS_RESOLUTION_ERROR".into()))
        );
        assert!(p.decide(SourceType::Neighbourhood, "h", 2).is_none());
        assert!(FaultPlan::parse("firecrawl:page_status=9999").is_err());
        assert!(FaultPlan::parse("firecrawl:scrape_error=bad code").is_err());
        assert_eq!(
            FaultPlan::parse("fsa:endless").unwrap().specs[&SourceType::Fsa].quirk,
            Some(Quirk::Endless)
        );
    }

    #[test]
    fn refuses_nonsense() {
        assert!(matches!(
            FaultPlan::parse("google"),
            Err(FaultPlanError::UnknownSource(_))
        ));
        assert!(matches!(
            FaultPlan::parse("cqc:boom"),
            Err(FaultPlanError::UnknownOption(_))
        ));
        assert!(matches!(
            FaultPlan::parse("cqc:rate=2"),
            Err(FaultPlanError::BadValue(_))
        ));
        assert!(matches!(
            FaultPlan::parse("cqc:status=99"),
            Err(FaultPlanError::BadValue(_))
        ));
        assert!(matches!(
            FaultPlan::parse("seed=x"),
            Err(FaultPlanError::BadValue(_))
        ));
    }

    #[test]
    fn decisions_are_deterministic_and_follow_the_rate() {
        let plan = FaultPlan::none()
            .seeded(7)
            .with(SourceType::Cqc, FaultSpec::always().rate(0.3));
        let fails = (1..=2000)
            .filter(|n| plan.decide(SourceType::Cqc, "h", *n).is_some())
            .count();
        assert!((450..750).contains(&fails), "{fails}");
        let again = (1..=2000)
            .filter(|n| plan.decide(SourceType::Cqc, "h", *n).is_some())
            .count();
        assert_eq!(fails, again);
        assert_eq!(plan.decide(SourceType::Fsa, "h", 1), None);
        let other_seed = plan.clone().seeded(8);
        assert!(
            (1..=50).any(|n| plan.decide(SourceType::Cqc, "h", n).is_some()
                != other_seed.decide(SourceType::Cqc, "h", n).is_some())
        );
    }

    #[test]
    fn heal_after_and_answers() {
        let plan = FaultPlan::none().with(
            SourceType::Firecrawl,
            FaultSpec::always().status(500).heal_after(2),
        );
        assert_eq!(
            plan.decide(SourceType::Firecrawl, "h", 1).unwrap().answer,
            FaultAnswer::Status(500)
        );
        assert!(plan.decide(SourceType::Firecrawl, "h", 2).is_some());
        assert!(plan.decide(SourceType::Firecrawl, "h", 3).is_none());
        let plan = FaultPlan::none().with(SourceType::Cqc, FaultSpec::always());
        assert_eq!(
            plan.decide(SourceType::Cqc, "h", 1).unwrap().answer,
            FaultAnswer::Status(503)
        );
        let plan = FaultPlan::none().with(
            SourceType::Cqc,
            FaultSpec::always().delay(Duration::from_millis(5)),
        );
        assert_eq!(
            plan.decide(SourceType::Cqc, "h", 1).unwrap().answer,
            FaultAnswer::Normal
        );
    }
}
