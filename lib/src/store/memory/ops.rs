//! The memory store's hourly counters and sweep log ([`crate::store::ops`]),
//! shared by the job store (outcomes, sweeps) and the memory source cache
//! (hits and misses). The job index itself lives in the job store's own
//! state, under its lock (`store::memory`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use crate::store::ops::{HourCounts, SweepLog, HOUR_RETENTION, SWEEP_LOG_LIMIT};
use crate::store::{dur_ms, from_ms};

/// Hourly counters and the sweep log of one memory store.
#[derive(Debug, Default)]
pub struct MemoryOps {
    hours: Mutex<BTreeMap<i64, BTreeMap<String, u64>>>,
    sweeps: Mutex<VecDeque<SweepLog>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section is one insert or read: a panic cannot leave
    // a half-made change behind.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryOps {
    /// Adds one to `field` of the hour starting at `hour` (epoch ms), and
    /// drops hours older than [`HOUR_RETENTION`] before it, as their TTL
    /// would in Redis.
    pub(crate) fn count(&self, hour: i64, field: &str) {
        let mut hours = locked(&self.hours);
        let oldest = hour - dur_ms(HOUR_RETENTION);
        hours.retain(|h, _| *h > oldest);
        *hours
            .entry(hour)
            .or_default()
            .entry(field.to_owned())
            .or_default() += 1;
    }

    /// The hours from `from` to `to` (both included) that have counts.
    pub(crate) fn hours(&self, from: i64, to: i64) -> Vec<HourCounts> {
        locked(&self.hours)
            .range(from..=to)
            .filter_map(|(h, counts)| {
                Some(HourCounts {
                    hour: from_ms(*h)?,
                    counts: counts.clone(),
                })
            })
            .collect()
    }

    /// Keeps `log` first, at most [`SWEEP_LOG_LIMIT`] in all.
    pub(crate) fn log_sweep(&self, log: SweepLog) {
        let mut sweeps = locked(&self.sweeps);
        sweeps.push_front(log);
        sweeps.truncate(SWEEP_LOG_LIMIT);
    }

    /// The kept sweeps, newest first.
    pub(crate) fn sweeps(&self) -> Vec<SweepLog> {
        locked(&self.sweeps).iter().cloned().collect()
    }
}
