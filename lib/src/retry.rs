//! The retry policy: when a failed source is tried again, and when we stop.
//!
//! It is a plain value with pure methods so the engine's decisions can be
//! unit-tested without I/O or clocks: every method takes the instants it
//! needs (`now`, `deadline_at`) as parameters. Jitter spreads retries of many
//! jobs that failed together (an upstream outage) so they do not all hit the
//! source in the same sweep; it is derived from a seed and a per-slot key with
//! a small hash instead of a random generator, so the same inputs always give
//! the same delay (reproducible tests, and a resumed job keeps its schedule).
//!
//! Every knob can be overridden from the environment: the settings module
//! reads the variables (`settings/retry.rs`; docs/STORE.md).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::FailureKind;

/// The largest jitter fraction accepted: beyond it a "backoff" could come
/// out shorter than the previous step's delay.
pub(crate) const MAX_JITTER: f64 = 0.5;

/// The retry policy (docs/ARCHITECTURE.md "How it works"). See the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry (retry 0).
    pub base_delay: Duration,
    /// Each retry already made multiplies the delay by this (≥ 1).
    pub multiplier: f64,
    /// At most this many retries per source (after the first attempt).
    pub max_retries: u32,
    /// Nothing is retried once the job is this old.
    pub deadline: Duration,
    /// Jitter fraction `j`: a delay is multiplied by a factor in
    /// `[1 - j, 1 + j]`. Clamped to `[0, MAX_JITTER]` when used.
    pub jitter: f64,
    /// Seed of the jitter hash.
    pub seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_secs(300),
            multiplier: 1.5,
            max_retries: 10,
            deadline: Duration::from_secs(3 * 3600),
            jitter: 0.1,
            seed: 0,
        }
    }
}

impl RetryPolicy {
    /// The instant after which a job created at `created_at` is not retried.
    pub fn deadline_for(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        add(created_at, self.deadline).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Whether `now` is past the job's deadline (the deadline instant itself
    /// is still inside the window).
    pub(crate) fn past_deadline(&self, deadline_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now > deadline_at
    }

    /// The delay before the next retry when `retries_made` retries were
    /// already made: `base × multiplier^retries_made`, times a jitter factor
    /// in `[1 - j, 1 + j]` that depends only on the seed, `jitter_key` (use
    /// something per slot, e.g. `"{job_id}/{home_id}/{source}"`) and
    /// `retries_made`. Saturates instead of overflowing.
    pub fn delay(&self, retries_made: u32, jitter_key: &str) -> Duration {
        let exponent = i32::try_from(retries_made).unwrap_or(i32::MAX);
        let multiplier = if self.multiplier.is_finite() {
            self.multiplier.max(1.0)
        } else {
            1.0
        };
        let base = self.base_delay.as_secs_f64() * multiplier.powi(exponent);
        let secs = base * self.jitter_factor(retries_made, jitter_key);
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }

    /// Whether a source that has had `retries_made` retries gets no more.
    pub(crate) fn is_exhausted(&self, retries_made: u32) -> bool {
        retries_made >= self.max_retries
    }

    /// When to try a source again after a failed attempt. `attempts_made`
    /// counts that failed attempt (so `attempts_made - 1` retries were made).
    /// `None` when the failure is permanent, when the retries are exhausted
    /// (the failure of the last allowed retry gives up), or when the next
    /// attempt would fall after `deadline_at`. Otherwise
    /// `now + max(delay(attempts_made - 1), retry_after)`: a source's
    /// `Retry-After` wins when it asks for longer.
    pub(crate) fn next_attempt(
        &self,
        attempts_made: u32,
        kind: FailureKind,
        retry_after: Option<Duration>,
        jitter_key: &str,
        now: DateTime<Utc>,
        deadline_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if kind == FailureKind::Permanent {
            return None;
        }
        let retries_made = attempts_made.saturating_sub(1);
        if self.is_exhausted(retries_made) {
            return None;
        }
        let delay = self.delay(retries_made, jitter_key);
        let wait = retry_after.map_or(delay, |ra| ra.max(delay));
        let at = add(now, wait)?;
        (at <= deadline_at).then_some(at)
    }

    /// The jitter factor in `[1 - j, 1 + j]`.
    fn jitter_factor(&self, retries_made: u32, jitter_key: &str) -> f64 {
        let j = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, MAX_JITTER)
        } else {
            0.0
        };
        if j == 0.0 {
            return 1.0;
        }
        let h = splitmix64(self.seed ^ fnv1a(jitter_key.as_bytes()) ^ u64::from(retries_made));
        // 53 high bits → a uniform value in [0, 1).
        let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
        1.0 + j * (2.0 * unit - 1.0)
    }
}

fn add(t: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
    t.checked_add_signed(chrono::Duration::from_std(d).ok()?)
}

/// FNV-1a, 64 bit: turns the jitter key into a number.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64's finaliser: mixes the combined inputs into well-spread bits.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
    }

    fn no_jitter() -> RetryPolicy {
        RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn delay_grows_by_the_multiplier() {
        let p = no_jitter();
        assert_eq!(p.delay(0, "k"), Duration::from_secs(300));
        assert_eq!(p.delay(1, "k"), Duration::from_secs(450));
        assert_eq!(p.delay(2, "k"), Duration::from_secs(675));
        // Saturates instead of panicking.
        assert_eq!(p.delay(u32::MAX, "k"), Duration::MAX);
    }

    #[test]
    fn jitter_is_bounded_and_deterministic() {
        let p = RetryPolicy {
            jitter: 0.2,
            seed: 7,
            ..RetryPolicy::default()
        };
        let mut distinct = std::collections::HashSet::new();
        for n in 0..5u32 {
            let plain = no_jitter().delay(n, "x").as_secs_f64();
            for i in 0..200 {
                let key = format!("job/{i}/cqc");
                let d = p.delay(n, &key);
                assert_eq!(d, p.delay(n, &key), "same inputs, same delay");
                let ratio = d.as_secs_f64() / plain;
                assert!((0.8 - 1e-9..=1.2 + 1e-9).contains(&ratio), "{ratio}");
                distinct.insert(d);
            }
        }
        assert!(distinct.len() > 500, "jitter spreads delays");
        // Another seed gives another schedule.
        let other = RetryPolicy {
            seed: 8,
            ..p.clone()
        };
        assert!((0..20).any(|i| p.delay(0, &i.to_string()) != other.delay(0, &i.to_string())));
        // Out-of-range jitter is clamped to ±50 %.
        let wild = RetryPolicy {
            jitter: 5.0,
            ..RetryPolicy::default()
        };
        for i in 0..100 {
            let s = wild.delay(0, &i.to_string()).as_secs_f64();
            assert!((150.0..=450.0).contains(&s), "{s}");
        }
    }

    #[test]
    fn deadline_is_creation_plus_window_and_inclusive() {
        let p = RetryPolicy::default();
        let deadline = p.deadline_for(t0());
        assert_eq!(deadline, t0() + chrono::Duration::hours(3));
        assert!(!p.past_deadline(deadline, deadline));
        assert!(p.past_deadline(deadline, deadline + chrono::Duration::milliseconds(1)));
        assert!(!p.past_deadline(deadline, t0()));
    }

    #[test]
    fn exhaustion_after_max_retries() {
        let p = RetryPolicy::default();
        assert!(!p.is_exhausted(0));
        assert!(!p.is_exhausted(9));
        assert!(p.is_exhausted(10));
        assert!(p.is_exhausted(11));
    }

    #[test]
    fn next_attempt_follows_the_backoff() {
        let p = no_jitter();
        let far = t0() + chrono::Duration::days(10);
        let tr = FailureKind::Transient;
        // The first attempt failed: retry 0 after the base delay.
        assert_eq!(
            p.next_attempt(1, tr, None, "k", t0(), far),
            Some(t0() + chrono::Duration::seconds(300))
        );
        // The second attempt (first retry) failed: 450 s.
        assert_eq!(
            p.next_attempt(2, tr, None, "k", t0(), far),
            Some(t0() + chrono::Duration::seconds(450))
        );
        // The 9th retry failed (10 attempts): the 10th retry is still scheduled.
        assert!(p.next_attempt(10, tr, None, "k", t0(), far).is_some());
        // The 10th retry failed: give up.
        assert_eq!(p.next_attempt(11, tr, None, "k", t0(), far), None);
        // Zero attempts is treated like the first.
        assert_eq!(
            p.next_attempt(0, tr, None, "k", t0(), far),
            p.next_attempt(1, tr, None, "k", t0(), far)
        );
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        let far = t0() + chrono::Duration::days(1);
        assert_eq!(
            no_jitter().next_attempt(1, FailureKind::Permanent, None, "k", t0(), far),
            None
        );
    }

    #[test]
    fn retry_after_wins_only_when_longer() {
        let p = no_jitter();
        let far = t0() + chrono::Duration::days(1);
        let tr = FailureKind::Transient;
        assert_eq!(
            p.next_attempt(1, tr, Some(Duration::from_secs(900)), "k", t0(), far),
            Some(t0() + chrono::Duration::seconds(900))
        );
        assert_eq!(
            p.next_attempt(1, tr, Some(Duration::from_secs(10)), "k", t0(), far),
            Some(t0() + chrono::Duration::seconds(300))
        );
    }

    #[test]
    fn nothing_is_scheduled_after_the_deadline() {
        let p = no_jitter();
        let tr = FailureKind::Transient;
        let deadline = t0() + chrono::Duration::seconds(300);
        // Exactly at the deadline is still allowed.
        assert_eq!(
            p.next_attempt(1, tr, None, "k", t0(), deadline),
            Some(deadline)
        );
        assert_eq!(
            p.next_attempt(
                1,
                tr,
                None,
                "k",
                t0(),
                deadline - chrono::Duration::seconds(1)
            ),
            None
        );
        // A Retry-After beyond the deadline gives up too.
        assert_eq!(
            p.next_attempt(
                1,
                tr,
                Some(Duration::from_secs(3600)),
                "k",
                t0(),
                t0() + chrono::Duration::seconds(1800)
            ),
            None
        );
        // An absurd delay does not overflow.
        assert_eq!(
            p.next_attempt(1, tr, Some(Duration::MAX), "k", t0(), deadline),
            None
        );
    }
}
