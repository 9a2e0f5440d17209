//! Redis health at start: the eviction policy, and what to do about it
//! ([`judge`], pure; the Redis store reads the policy in `redis/health.rs`).
//!
//! Jobs live in Redis with TTLs; an eviction policy (`allkeys-*`, and the
//! `volatile-*` ones too, because every job key has a TTL) lets Redis drop
//! jobs, their data or their idempotency keys silently when memory runs
//! short: accepted jobs answer 404, "completed" reports lose their data.
//! With `noeviction` a full Redis refuses writes instead, which the API
//! answers with 503 `store_full`. So a Vercel deployment refuses to start
//! on an evicting Redis; the dev-server only warns.
//!
//! What it cannot know: Upstash answers `CONFIG GET maxmemory-policy` with
//! an empty list ("other names simply return no matching entries",
//! `redis/commands/server/config-get.mdx`), and other hosts may refuse
//! `CONFIG` altogether. Then the policy is unknown: the service starts and
//! the log tells the operator where to look. On Upstash eviction is off by
//! default and, when switched on, evicts keys with a TTL first, which all
//! of ours have (`redis/features/eviction.mdx`); the setting is visible
//! only in the Upstash Console (or the Developer API's `eviction` field),
//! never over the Redis protocol (../shared/research/
//! UPSTASH_CONSOLE_WAITING.md, A.1).

/// What the server said about `maxmemory-policy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvictionPolicy {
    /// `noeviction`: a full Redis refuses writes.
    Off,
    /// A policy that deletes keys when memory runs short.
    Evicts(String),
    /// The policy could not be read: `CONFIG GET` answered nothing
    /// (Upstash) or was refused.
    Unknown,
}

/// What to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Fine.
    Ok,
    /// Start, but log this warning.
    Warn(String),
    /// Refuse to start, for this reason.
    Refuse(String),
}

/// The decision, pure: `strict` on Vercel, lenient on the dev-server.
pub fn judge(policy: &EvictionPolicy, strict: bool) -> Verdict {
    match policy {
        EvictionPolicy::Off => Verdict::Ok,
        EvictionPolicy::Evicts(p) => {
            let msg = format!(
                "Redis maxmemory-policy is {p}: it may silently delete jobs; set it to noeviction"
            );
            if strict {
                Verdict::Refuse(msg)
            } else {
                Verdict::Warn(msg)
            }
        }
        EvictionPolicy::Unknown => Verdict::Warn(
            "Redis maxmemory-policy cannot be read (CONFIG GET answers nothing on Upstash, or is refused): whether keys may be evicted is unknown; on Upstash check that Eviction is off in the Upstash Console (the database's Configuration), or jobs may vanish"
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicting_policies_are_refused_only_when_strict() {
        let lru = EvictionPolicy::Evicts("allkeys-lru".into());
        assert!(matches!(judge(&lru, true), Verdict::Refuse(m) if m.contains("allkeys-lru")));
        assert!(matches!(judge(&lru, false), Verdict::Warn(_)));
        assert_eq!(judge(&EvictionPolicy::Off, true), Verdict::Ok);
        assert!(
            matches!(judge(&EvictionPolicy::Unknown, true), Verdict::Warn(m) if m.contains("Eviction is off in the Upstash Console"))
        );
    }
}
