//! The job store contract, written once and run against both stores.
//!
//! Each case is a function of a [`Backend`]; `contract_suite!` instantiates
//! every case for `MemoryStore`, for `RedisStore` (on the private test
//! Redis of `care_report_testing::redis`, under a fresh key prefix per
//! test) and for `RedisStore` over TLS (`rediss://` to the private TLS
//! Redis of `care_report_testing::tls_redis`, trusting the CA made for the
//! run). After every plain Redis case, no key under its prefix may lack a
//! TTL.
//! Time is a parameter everywhere, except in the retention case: Redis
//! expires keys on its own clock.

use std::sync::Arc;
use std::time::Duration;

use care_report::model::{
    HistoryEntry, HistoryEvent, Job, JobId, JobStatus, JobSummary, Lease, Slot, SlotKey,
    SlotStatus, SourceType,
};
use care_report::store::ops::{hour_of, ListQuery, Outcome, SweepLog, STATUSES, SWEEP_LOG_LIMIT};
use care_report::store::{
    Claim, Created, Finish, Idempotency, JobStore, ManualRetryGate, MemoryStore, NewJob, Record,
    RedisStore, Retention, SavePlan, StoreError,
};
use care_report_testing::redis as test_redis;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    Redis,
    RedisTls,
}

struct Fixture {
    store: Arc<dyn JobStore>,
    redis_prefix: Option<String>,
}

impl Backend {
    async fn open(self) -> Fixture {
        self.open_with(Retention::default()).await
    }

    async fn open_with(self, retention: Retention) -> Fixture {
        match self {
            Backend::Memory => Fixture {
                store: Arc::new(MemoryStore::new(retention)),
                redis_prefix: None,
            },
            // The same scripts over TLS: the transport is what is tested
            // (the TTL rule is checked on the plain server).
            Backend::RedisTls => Fixture {
                store: Arc::new(care_report_testing::tls_redis::store(retention).await),
                redis_prefix: None,
            },
            Backend::Redis => {
                let store = test_redis::store(retention).await;
                let prefix = store.prefix().to_owned();
                Fixture {
                    store: Arc::new(store),
                    redis_prefix: Some(prefix),
                }
            }
        }
    }
}

impl Fixture {
    /// Ends a case: every key the case wrote must carry a TTL.
    async fn done(self) {
        if let Some(prefix) = self.redis_prefix {
            let bare = test_redis::keys_without_ttl(&prefix).await;
            assert!(bare.is_empty(), "keys without TTL: {bare:?}");
        }
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

const GRACE: Duration = Duration::from_secs(60);
const LEASE: Duration = Duration::from_secs(120);

fn new_job(now: DateTime<Utc>) -> NewJob {
    NewJob {
        client: None,
        id: JobId::new(),
        questionnaire: json!({"section_1": {"name": "Ann"}, "q6_max_distance": "within_15km"}),
        idempotency: None,
        now,
        deadline_at: now + chrono::Duration::hours(3),
        message: "Queued".to_owned(),
    }
}

async fn create(store: &Arc<dyn JobStore>, now: DateTime<Utc>) -> Job {
    match store.create(new_job(now), GRACE).await.unwrap() {
        Created::New(job) => job,
        other => panic!("expected a new job, got {other:?}"),
    }
}

fn plan_slots() -> Vec<Slot> {
    vec![
        Slot::pending("H1", "Home One", SourceType::Cqc),
        Slot::pending("H1", "Home One", SourceType::Fsa),
        Slot::pending("H2", "Home Two", SourceType::GooglePlaces),
        Slot {
            status: SlotStatus::NotConfigured,
            ..Slot::pending("H2", "Home Two", SourceType::Firecrawl)
        },
    ]
}

fn loaded(slot: &Slot, at: DateTime<Utc>) -> Slot {
    Slot {
        status: SlotStatus::Loaded,
        attempts: slot.attempts + 1,
        last_attempt: Some(at),
        next_attempt_at: None,
        error: None,
        ..slot.clone()
    }
}

fn missing(slot: &Slot, at: DateTime<Utc>, next: Option<DateTime<Utc>>) -> Slot {
    Slot {
        status: SlotStatus::Missing,
        attempts: slot.attempts + 1,
        last_attempt: Some(at),
        next_attempt_at: next,
        error: Some("HTTP 503".to_owned()),
        ..slot.clone()
    }
}

fn finish(status: JobStatus, will_auto_retry: bool) -> Finish {
    let message = format!("{status}");
    match status {
        JobStatus::Completed => Finish::Completed { message },
        JobStatus::Partial => Finish::Partial {
            message,
            will_auto_retry,
        },
        JobStatus::Failed => Finish::Failed {
            message,
            error: "no candidate homes".to_owned(),
        },
        other => panic!("{other} is not an end state"),
    }
}

/// A created, claimed job with its plan saved.
async fn planned(store: &Arc<dyn JobStore>) -> (Job, Lease) {
    let job = create(store, t0()).await;
    let lease = store
        .claim(job.id, "w1", t0(), LEASE)
        .await
        .unwrap()
        .lease()
        .unwrap();
    let job = store
        .save_plan(
            &lease,
            SavePlan {
                plan: json!({"homes": ["H1", "H2"]}),
                slots: plan_slots(),
                progress: 10,
                message: "Planned".into(),
            },
            t0(),
        )
        .await
        .unwrap();
    (job, lease)
}

mod cases {
    use super::*;

    pub async fn create_and_get(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let new = new_job(t0());
        let id = new.id;
        let Created::New(job) = s.create(new.clone(), GRACE).await.unwrap() else {
            panic!("not new")
        };
        assert_eq!(job.id, id);
        assert_eq!(job.status, JobStatus::Pending);
        assert_eq!(job.progress, 0);
        assert_eq!(job.message, "Queued");
        assert_eq!(job.created_at, t0());
        assert_eq!(job.updated_at, t0());
        assert_eq!(job.deadline_at, t0() + chrono::Duration::hours(3));
        assert_eq!(job.questionnaire, new.questionnaire);
        assert_eq!(job.plan, None);
        assert!(job.slots.is_empty());
        assert_eq!(job.completeness, 0);
        assert_eq!(job.lease, None);
        assert!(job.will_auto_retry);
        assert_eq!(job.error, None);
        assert_eq!(job.last_manual_retry_at, None);
        assert_eq!(s.get(id).await.unwrap(), Some(job.clone()));
        // Creating the same id again (a retried call) returns it unchanged.
        assert_eq!(
            s.create(new, GRACE).await.unwrap(),
            Created::Existing(job.clone())
        );
        assert_eq!(s.get(JobId::new()).await.unwrap(), None);
        assert!(matches!(
            s.source_data(JobId::new()).await,
            Err(StoreError::NotFound)
        ));
        assert!(s.source_data(id).await.unwrap().is_empty());
        s.ping().await.unwrap();
        fx.done().await;
    }

    pub async fn idempotency_keys(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let idem = |fp: &str| {
            Some(Idempotency {
                key: "key-1".into(),
                fingerprint: fp.into(),
            })
        };
        let first = s
            .create(
                NewJob {
                    client: None,
                    idempotency: idem("aaa"),
                    ..new_job(t0())
                },
                GRACE,
            )
            .await
            .unwrap();
        let Created::New(job) = first else {
            panic!("not new")
        };
        let again = s
            .create(
                NewJob {
                    client: None,
                    idempotency: idem("aaa"),
                    ..new_job(t0() + secs(5))
                },
                GRACE,
            )
            .await
            .unwrap();
        assert_eq!(again, Created::Existing(job.clone()));
        match s
            .create(
                NewJob {
                    client: None,
                    idempotency: idem("bbb"),
                    ..new_job(t0())
                },
                GRACE,
            )
            .await
        {
            Err(StoreError::IdempotencyConflict { existing }) => assert_eq!(existing, job.id),
            other => panic!("expected a conflict, got {other:?}"),
        }
        // Another key is another job.
        let other = s
            .create(
                NewJob {
                    client: None,
                    idempotency: Some(Idempotency {
                        key: "key-2".into(),
                        fingerprint: "aaa".into(),
                    }),
                    ..new_job(t0())
                },
                GRACE,
            )
            .await
            .unwrap();
        assert!(matches!(other, Created::New(ref j) if j.id != job.id));
        fx.done().await;
    }

    pub async fn concurrent_idempotent_creates_make_one_job(b: Backend) {
        let fx = b.open().await;
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let s = fx.store.clone();
                tokio::spawn(async move {
                    s.create(
                        NewJob {
                            client: None,
                            idempotency: Some(Idempotency {
                                key: "same".into(),
                                fingerprint: "fp".into(),
                            }),
                            ..new_job(t0())
                        },
                        GRACE,
                    )
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        let mut new = 0;
        for t in tasks {
            let created = t.await.unwrap();
            if matches!(created, Created::New(_)) {
                new += 1;
            }
            ids.insert(created.job().id);
        }
        assert_eq!(new, 1);
        assert_eq!(ids.len(), 1);
        assert_eq!(fx.store.due(t0() + secs(3600), 100).await.unwrap().len(), 1);
        fx.done().await;
    }

    pub async fn claim_rules(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        assert_eq!(
            s.claim(JobId::new(), "w", t0(), LEASE).await.unwrap(),
            Claim::Gone
        );
        let job = create(s, t0()).await;
        let l1 = s
            .claim(job.id, "w1", t0(), LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        assert_eq!(l1.job_id, job.id);
        assert_eq!(l1.owner, "w1");
        assert_eq!(l1.expires_at, t0() + secs(120));
        let got = s.get(job.id).await.unwrap().unwrap();
        assert_eq!(got.status, JobStatus::Processing);
        assert_eq!(got.lease, Some(l1.clone()));
        // Held: refused, even one millisecond before expiry.
        let held = Claim::Held {
            until: l1.expires_at,
        };
        assert_eq!(s.claim(job.id, "w2", t0(), LEASE).await.unwrap(), held);
        let almost = l1.expires_at - chrono::Duration::milliseconds(1);
        assert_eq!(s.claim(job.id, "w2", almost, LEASE).await.unwrap(), held);
        // Expired: a new lease with a larger token.
        let l2 = s
            .claim(job.id, "w2", l1.expires_at, LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        assert!(l2.token > l1.token);
        // Completed and failed jobs cannot be claimed.
        s.finish(&l2, finish(JobStatus::Completed, false), l1.expires_at)
            .await
            .unwrap();
        assert_eq!(
            s.claim(job.id, "w3", t0() + secs(999), LEASE)
                .await
                .unwrap(),
            Claim::Finished(JobStatus::Completed)
        );
        let failed = create(s, t0()).await;
        let l = s
            .claim(failed.id, "w", t0(), LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        s.finish(&l, finish(JobStatus::Failed, false), t0())
            .await
            .unwrap();
        assert_eq!(
            s.claim(failed.id, "w", t0(), LEASE).await.unwrap(),
            Claim::Finished(JobStatus::Failed)
        );
        // A final partial job can still be claimed (manual retry); status stays partial.
        let partial = create(s, t0()).await;
        let l = s
            .claim(partial.id, "w", t0(), LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        s.finish(&l, finish(JobStatus::Partial, false), t0())
            .await
            .unwrap();
        let l = s
            .claim(partial.id, "manual", t0() + secs(1), LEASE)
            .await
            .unwrap();
        assert!(matches!(l, Claim::Granted(_)), "{l:?}");
        let got = s.get(partial.id).await.unwrap().unwrap();
        assert_eq!(got.status, JobStatus::Partial);
        fx.done().await;
    }

    pub async fn fifty_claimers_one_winner(b: Backend) {
        let fx = b.open().await;
        let job = create(&fx.store, t0()).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let s = fx.store.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.claim(job.id, &format!("w{i}"), t0(), LEASE)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            if let Some(lease) = t.await.unwrap().lease() {
                winners.push(lease);
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        let got = fx.store.get(job.id).await.unwrap().unwrap();
        assert_eq!(got.lease.as_ref(), winners.first());
        fx.done().await;
    }

    pub async fn stale_tokens_are_rejected(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let (job, l1) = planned(s).await;
        let slot = &job.slots[0];
        // Expired, not yet taken over: writes at or after expiry are refused.
        let at = l1.expires_at;
        fn lost<T>(r: Result<T, StoreError>) -> bool {
            matches!(r, Err(StoreError::LeaseLost))
        }
        assert!(lost(
            s.record(
                &l1,
                Record {
                    outcome: None,
                    slot: loaded(slot, at),
                    data: Some(json!(1)),
                    progress: 50,
                    message: "x".into()
                },
                at
            )
            .await
        ));
        assert!(matches!(
            s.renew(&l1, at, LEASE).await,
            Err(StoreError::LeaseLost)
        ));
        assert_eq!(s.get(job.id).await.unwrap().unwrap(), job);
        // Taken over: the old token is refused even "before" its expiry.
        let l2 = s
            .claim(job.id, "w2", at, LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        let before = t0() + secs(1);
        assert!(lost(
            s.record(
                &l1,
                Record {
                    outcome: None,
                    slot: loaded(slot, before),
                    data: Some(json!(1)),
                    progress: 50,
                    message: "x".into()
                },
                before
            )
            .await
        ));
        assert!(lost(
            s.save_plan(
                &l1,
                SavePlan {
                    plan: json!({}),
                    slots: vec![],
                    progress: 90,
                    message: "x".into()
                },
                before
            )
            .await
        ));
        assert!(lost(
            s.finish(&l1, finish(JobStatus::Completed, false), before)
                .await
        ));
        assert!(matches!(
            s.renew(&l1, before, LEASE).await,
            Err(StoreError::LeaseLost)
        ));
        // Releasing a lost lease is a no-op.
        s.release(&l1, before).await.unwrap();
        let got = s.get(job.id).await.unwrap().unwrap();
        assert_eq!(got.lease, Some(l2.clone()));
        assert_eq!(got.slots, job.slots);
        assert_eq!(got.progress, job.progress);
        assert!(s.source_data(job.id).await.unwrap().is_empty());
        // A lease for an unknown job is lost too.
        let ghost = Lease {
            job_id: JobId::new(),
            ..l2.clone()
        };
        assert!(lost(
            s.finish(&ghost, finish(JobStatus::Completed, false), at)
                .await
        ));
        // The live lease still writes.
        s.record(
            &l2,
            Record {
                outcome: None,
                slot: loaded(slot, at),
                data: Some(json!(1)),
                progress: 50,
                message: "ok".into(),
            },
            at,
        )
        .await
        .unwrap();
        // After finish the lease is gone; its token cannot write any more.
        s.finish(&l2, finish(JobStatus::Partial, true), at)
            .await
            .unwrap();
        assert!(lost(
            s.record(
                &l2,
                Record {
                    outcome: None,
                    slot: loaded(slot, at),
                    data: None,
                    progress: 60,
                    message: "late".into()
                },
                at
            )
            .await
        ));
        fx.done().await;
    }

    pub async fn renew_extends_and_moves_due(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let job = create(s, t0()).await;
        let l = s
            .claim(job.id, "w", t0(), LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        // Due at the lease's expiry, not before.
        assert!(s.due(l.expires_at - secs(1), 10).await.unwrap().is_empty());
        assert_eq!(s.due(l.expires_at, 10).await.unwrap(), vec![job.id]);
        let r = s.renew(&l, t0() + secs(100), LEASE).await.unwrap();
        assert_eq!(r.token, l.token);
        assert_eq!(r.expires_at, t0() + secs(220));
        assert_eq!(s.get(job.id).await.unwrap().unwrap().lease, Some(r.clone()));
        assert!(s.due(l.expires_at, 10).await.unwrap().is_empty());
        assert_eq!(s.due(r.expires_at, 10).await.unwrap(), vec![job.id]);
        // The old expiry no longer matters: writes between the two succeed.
        let at = l.expires_at + secs(10);
        s.save_plan(
            &r,
            SavePlan {
                plan: json!({}),
                slots: plan_slots(),
                progress: 5,
                message: "p".into(),
            },
            at,
        )
        .await
        .unwrap();
        // Claiming while the renewed lease is live is refused.
        assert_eq!(
            s.claim(job.id, "w2", at, LEASE).await.unwrap(),
            Claim::Held {
                until: r.expires_at
            }
        );
        fx.done().await;
    }

    pub async fn plan_and_record(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let (job, lease) = planned(s).await;
        assert_eq!(job.plan, Some(json!({"homes": ["H1", "H2"]})));
        assert_eq!(job.slots, plan_slots());
        assert_eq!(job.progress, 10);
        assert_eq!(job.message, "Planned");
        assert_eq!(job.completeness, 0);
        let at = t0() + secs(5);
        let j = s
            .record(
                &lease,
                Record {
                    outcome: None,
                    slot: loaded(&job.slots[0], at),
                    data: Some(json!({"rating": "Good"})),
                    progress: 40,
                    message: "CQC loaded".into(),
                },
                at,
            )
            .await
            .unwrap();
        // 1 of 3 expected (firecrawl is not configured).
        assert_eq!(j.completeness, 33);
        assert_eq!(j.progress, 40);
        assert_eq!(j.message, "CQC loaded");
        assert_eq!(j.updated_at, at);
        let full = s.get(job.id).await.unwrap().unwrap();
        assert_eq!(full.summary(), j, "record answers the job's summary");
        assert_eq!(full.slots[0].status, SlotStatus::Loaded);
        let next = at + secs(300);
        let j = s
            .record(
                &lease,
                Record {
                    outcome: None,
                    slot: missing(&job.slots[1], at, Some(next)),
                    data: None,
                    progress: 30,
                    message: "FSA failed".into(),
                },
                at,
            )
            .await
            .unwrap();
        assert_eq!(j.progress, 40, "progress never decreases");
        let full = s.get(job.id).await.unwrap().unwrap();
        assert_eq!(full.missing().count(), 1);
        assert_eq!(full.missing().next().unwrap().next_attempt_at, Some(next));
        let j = s
            .record(
                &lease,
                Record {
                    outcome: None,
                    slot: Slot {
                        status: SlotStatus::NotFound,
                        attempts: 1,
                        ..job.slots[2].clone()
                    },
                    data: None,
                    progress: 70,
                    message: "Places: no record".into(),
                },
                at,
            )
            .await
            .unwrap();
        assert_eq!(j.completeness, 66);
        let j = s.get(job.id).await.unwrap().unwrap();
        // A re-saved plan keeps the answers already recorded.
        let j2 = s
            .save_plan(
                &lease,
                SavePlan {
                    plan: json!({"homes": ["H1", "H2"]}),
                    slots: plan_slots(),
                    progress: 5,
                    message: "Resumed".into(),
                },
                at,
            )
            .await
            .unwrap();
        assert_eq!(j2.slots, j.slots);
        assert_eq!(j2.progress, 70);
        assert_eq!(j2.completeness, 66);
        // Only loaded slots have data, in plan order.
        assert_eq!(
            s.source_data(job.id).await.unwrap(),
            vec![(
                SlotKey::new("H1", SourceType::Cqc),
                json!({"rating": "Good"})
            )]
        );
        // The retried source loads (inside the lease): complete.
        let j = s
            .record(
                &lease,
                Record {
                    outcome: None,
                    slot: loaded(&j.slots[1], at + secs(30)),
                    data: Some(json!({"rating": 5})),
                    progress: 100,
                    message: "All loaded".into(),
                },
                at + secs(30),
            )
            .await
            .unwrap();
        assert_eq!(j.completeness, 100);
        let full = s.get(job.id).await.unwrap().unwrap();
        assert_eq!(full.missing().count(), 0);
        assert_eq!(s.source_data(job.id).await.unwrap().len(), 2);
        assert_eq!(full.summary(), j);
        fx.done().await;
    }

    pub async fn progress_is_monotonic_under_concurrency(b: Backend) {
        let fx = b.open().await;
        let (job, lease) = planned(&fx.store).await;
        let values: Vec<u8> = (0..40).map(|i| ((i * 37) % 101) as u8).collect();
        let max = *values.iter().max().unwrap();
        let tasks: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let s = fx.store.clone();
                let lease = lease.clone();
                let slot = loaded(&job.slots[i % 3], t0());
                let p = *p;
                tokio::spawn(async move {
                    let j = s
                        .record(
                            &lease,
                            Record {
                                outcome: None,
                                slot,
                                data: Some(json!(i)),
                                progress: p,
                                message: format!("{p}"),
                            },
                            t0(),
                        )
                        .await
                        .unwrap();
                    assert!(j.progress >= p);
                    j.progress
                })
            })
            .collect();
        // A reader meanwhile never sees progress go backwards.
        let reader = {
            let s = fx.store.clone();
            tokio::spawn(async move {
                let mut last = 0;
                for _ in 0..40 {
                    let p = s.get(job.id).await.unwrap().unwrap().progress;
                    assert!(p >= last, "progress went from {last} to {p}");
                    last = p;
                }
            })
        };
        for t in tasks {
            t.await.unwrap();
        }
        reader.await.unwrap();
        let got = fx.store.get(job.id).await.unwrap().unwrap();
        assert_eq!(got.progress, max);
        assert_eq!(got.completeness, 100);
        fx.done().await;
    }

    pub async fn finish_refiles_the_due_index(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        // Pending jobs are due after the grace period.
        let fresh = create(s, t0()).await;
        assert!(s.due(t0() + secs(59), 10).await.unwrap().is_empty());
        assert_eq!(s.due(t0() + secs(60), 10).await.unwrap(), vec![fresh.id]);

        // Partial with auto retry: due at the earliest missing slot's next attempt.
        let (job, lease) = planned(s).await;
        let at = t0() + secs(10);
        s.record(
            &lease,
            Record {
                outcome: None,
                slot: missing(&job.slots[0], at, Some(at + secs(600))),
                data: None,
                progress: 50,
                message: "m".into(),
            },
            at,
        )
        .await
        .unwrap();
        s.record(
            &lease,
            Record {
                outcome: None,
                slot: missing(&job.slots[1], at, Some(at + secs(300))),
                data: None,
                progress: 60,
                message: "m".into(),
            },
            at,
        )
        .await
        .unwrap();
        // A loaded slot with a stale next_attempt_at does not count.
        s.record(
            &lease,
            Record {
                outcome: None,
                slot: Slot {
                    next_attempt_at: Some(at + secs(1)),
                    ..loaded(&job.slots[2], at)
                },
                data: Some(json!({})),
                progress: 70,
                message: "m".into(),
            },
            at,
        )
        .await
        .unwrap();
        let done = s
            .finish(&lease, finish(JobStatus::Partial, true), at)
            .await
            .unwrap();
        assert_eq!(done.status, JobStatus::Partial);
        assert_eq!(done.lease, None);
        assert!(done.will_auto_retry);
        assert_eq!(done.progress, 100);
        let due = |t| async move { s.due(t, 10).await.unwrap().contains(&job.id) };
        assert!(!due(at + secs(299)).await);
        assert!(due(at + secs(300)).await);

        // Capped at the deadline.
        let l = s
            .claim(job.id, "w", at + secs(300), LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        let late = job.deadline_at + secs(3600);
        s.record(
            &l,
            Record {
                outcome: None,
                slot: missing(&job.slots[0], at, Some(late)),
                data: None,
                progress: 0,
                message: "m".into(),
            },
            at + secs(300),
        )
        .await
        .unwrap();
        s.record(
            &l,
            Record {
                outcome: None,
                slot: missing(&job.slots[1], at, Some(late)),
                data: None,
                progress: 0,
                message: "m".into(),
            },
            at + secs(300),
        )
        .await
        .unwrap();
        s.finish(&l, finish(JobStatus::Partial, true), at + secs(300))
            .await
            .unwrap();
        assert!(!due(job.deadline_at - secs(1)).await);
        assert!(due(job.deadline_at).await);

        // Final partial leaves the index.
        let l = s
            .claim(job.id, "w", at + secs(400), LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        let fin = s
            .finish(&l, finish(JobStatus::Partial, false), at + secs(400))
            .await
            .unwrap();
        assert!(!fin.will_auto_retry);
        assert!(!due(late).await);

        // Completed and failed leave it too.
        let (j2, l2) = planned(s).await;
        let c = s
            .finish(&l2, finish(JobStatus::Completed, true), t0())
            .await
            .unwrap();
        assert_eq!(c.status, JobStatus::Completed);
        assert!(!c.will_auto_retry);
        assert_eq!(c.error, None);
        let (j3, l3) = planned(s).await;
        let f = s
            .finish(&l3, finish(JobStatus::Failed, true), t0())
            .await
            .unwrap();
        assert_eq!(f.error.as_deref(), Some("no candidate homes"));
        assert_eq!(f.progress, 10, "failed keeps its progress");
        let all = s.due(late, 100).await.unwrap();
        assert!(!all.contains(&j2.id) && !all.contains(&j3.id));
        fx.done().await;
    }

    pub async fn release_makes_work_due(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let (job, lease) = planned(s).await;
        let at = t0() + secs(5);
        s.release(&lease, at).await.unwrap();
        let got = s.get(job.id).await.unwrap().unwrap();
        assert_eq!(got.lease, None);
        assert_eq!(got.status, JobStatus::Processing);
        assert_eq!(s.due(at, 10).await.unwrap(), vec![job.id]);
        // A released lease cannot write.
        assert!(matches!(
            s.record(
                &lease,
                Record {
                    outcome: None,
                    slot: loaded(&job.slots[0], at),
                    data: None,
                    progress: 1,
                    message: "x".into()
                },
                at
            )
            .await,
            Err(StoreError::LeaseLost)
        ));
        // Claimable at once, and releasing a partial job re-files it by its slots.
        let l = s
            .claim(job.id, "w2", at, LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        s.record(
            &l,
            Record {
                outcome: None,
                slot: missing(&job.slots[0], at, Some(at + secs(900))),
                data: None,
                progress: 50,
                message: "m".into(),
            },
            at,
        )
        .await
        .unwrap();
        s.finish(&l, finish(JobStatus::Partial, true), at)
            .await
            .unwrap();
        let l = s
            .claim(job.id, "manual", at + secs(1), LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        s.release(&l, at + secs(2)).await.unwrap();
        assert!(!s.due(at + secs(899), 10).await.unwrap().contains(&job.id));
        assert!(s.due(at + secs(900), 10).await.unwrap().contains(&job.id));
        fx.done().await;
    }

    pub async fn due_is_ordered_and_limited(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let mut ids = Vec::new();
        for i in (0..6).rev() {
            let job = create(s, t0() + secs(i * 10)).await;
            ids.push((i, job.id));
        }
        ids.sort();
        let expected: Vec<JobId> = ids.iter().map(|(_, id)| *id).collect();
        let now = t0() + secs(3600);
        assert_eq!(s.due(now, 100).await.unwrap(), expected);
        assert_eq!(s.due(now, 3).await.unwrap(), expected[..3].to_vec());
        assert_eq!(s.due(now, 0).await.unwrap(), Vec::<JobId>::new());
        // Only those due at `now`.
        assert_eq!(
            s.due(t0() + secs(60 + 25), 100).await.unwrap(),
            expected[..3].to_vec()
        );
        fx.done().await;
    }

    pub async fn manual_retry_gate(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let min = Duration::from_secs(60);
        assert!(matches!(
            s.gate_manual_retry(JobId::new(), t0(), min).await,
            Err(StoreError::NotFound)
        ));
        let job = create(s, t0()).await;
        assert_eq!(
            s.gate_manual_retry(job.id, t0(), min).await.unwrap(),
            ManualRetryGate::Allowed
        );
        assert_eq!(
            s.get(job.id).await.unwrap().unwrap().last_manual_retry_at,
            Some(t0())
        );
        assert_eq!(
            s.gate_manual_retry(job.id, t0() + secs(45), min)
                .await
                .unwrap(),
            ManualRetryGate::TooSoon {
                retry_after: Duration::from_secs(15)
            }
        );
        assert_eq!(
            s.gate_manual_retry(job.id, t0() + secs(60), min)
                .await
                .unwrap(),
            ManualRetryGate::Allowed
        );
        // Concurrent requests: exactly one passes.
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let s = fx.store.clone();
                tokio::spawn(async move {
                    s.gate_manual_retry(job.id, t0() + secs(500), min)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            if t.await.unwrap() == ManualRetryGate::Allowed {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 1);
        fx.done().await;
    }

    pub async fn expired_jobs_vanish_and_leave_the_due_index(b: Backend) {
        // The shortest retention there is (one second, see Retention::ttl);
        // Redis expires on its own clock, so this case waits for real.
        let fx = b
            .open_with(Retention {
                ttl_after_update: Duration::from_millis(100),
                margin_after_deadline: Duration::ZERO,
            })
            .await;
        let s = &fx.store;
        let now = Utc::now();
        let mut new = new_job(now);
        new.deadline_at = now;
        new.idempotency = Some(Idempotency {
            key: "k".into(),
            fingerprint: "f".into(),
        });
        let job = s.create(new, Duration::ZERO).await.unwrap().job().clone();
        let keep = create(s, now).await; // default deadline: lives 3 h + margin
        assert_eq!(
            s.due(now + secs(60), 10).await.unwrap(),
            vec![job.id, keep.id]
        );
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(s.get(job.id).await.unwrap(), None);
        assert_eq!(s.due(now + secs(60), 10).await.unwrap(), vec![keep.id]);
        assert!(s.get(keep.id).await.unwrap().is_some());
        // The idempotency key expired with it.
        let again = s
            .create(
                NewJob {
                    client: None,
                    idempotency: Some(Idempotency {
                        key: "k".into(),
                        fingerprint: "other".into(),
                    }),
                    ..new_job(now)
                },
                GRACE,
            )
            .await
            .unwrap();
        assert!(matches!(again, Created::New(_)));
        fx.done().await;
    }

    /// The summary is exactly the job's status fields, at every stage.
    pub async fn summary_matches_the_job(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        assert_eq!(s.summary(JobId::new()).await.unwrap(), None);
        let (job, lease) = planned(s).await;
        let check = |expected: JobSummary| async move {
            let summary = s.summary(expected.id).await.unwrap().unwrap();
            assert_eq!(summary, expected);
        };
        check(s.get(job.id).await.unwrap().unwrap().summary()).await;
        let recorded = s
            .record(
                &lease,
                Record {
                    outcome: None,
                    slot: loaded(&job.slots[0], t0()),
                    data: Some(json!({"x": 1})),
                    progress: 40,
                    message: "r".into(),
                },
                t0(),
            )
            .await
            .unwrap();
        assert_eq!(
            recorded.completeness,
            s.summary(job.id).await.unwrap().unwrap().completeness
        );
        check(recorded).await;
        let failed = s
            .finish(
                &lease,
                Finish::Failed {
                    message: "m".into(),
                    error: "no homes".into(),
                },
                t0() + secs(1),
            )
            .await
            .unwrap();
        assert_eq!(
            s.summary(job.id).await.unwrap().unwrap().error.as_deref(),
            Some("no homes")
        );
        check(failed.summary()).await;
        fx.done().await;
    }

    /// Every committed transition appends one history entry in the same
    /// step; refused writes and renewals append nothing.
    pub async fn history_records_every_committed_transition(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        assert!(matches!(
            s.history(JobId::new()).await,
            Err(StoreError::NotFound)
        ));
        let (job, lease) = planned(s).await;
        let at = t0() + secs(2);
        let started = t0() + secs(1);
        s.renew(&lease, at, LEASE).await.unwrap();
        s.record(
            &lease,
            Record {
                outcome: None,
                slot: Slot {
                    attempt_started_at: Some(started),
                    ..loaded(&job.slots[0], at)
                },
                data: Some(json!({"a": 1})),
                progress: 40,
                message: "r".into(),
            },
            at,
        )
        .await
        .unwrap();
        s.record(
            &lease,
            Record {
                outcome: None,
                slot: missing(&job.slots[1], at, Some(at + secs(300))),
                data: None,
                progress: 30,
                message: "r".into(),
            },
            at,
        )
        .await
        .unwrap();
        s.finish(&lease, finish(JobStatus::Partial, true), at)
            .await
            .unwrap();
        // Refused: the lease was given back by finish.
        assert!(matches!(
            s.record(
                &lease,
                Record {
                    outcome: None,
                    slot: loaded(&job.slots[1], at),
                    data: None,
                    progress: 90,
                    message: "x".into()
                },
                at
            )
            .await,
            Err(StoreError::LeaseLost)
        ));
        s.gate_manual_retry(job.id, at, Duration::from_secs(60))
            .await
            .unwrap();
        // Refused by the throttle: nothing appended.
        s.gate_manual_retry(job.id, at, Duration::from_secs(60))
            .await
            .unwrap();
        let second = s
            .claim(job.id, "w2", at + secs(1), LEASE)
            .await
            .unwrap()
            .lease()
            .unwrap();
        s.release(&second, at + secs(2)).await.unwrap();
        // A release of a lease that is no longer current is a no-op.
        s.release(&second, at + secs(3)).await.unwrap();

        let h = s.history(job.id).await.unwrap();
        let events: Vec<HistoryEvent> = h.iter().map(|e| e.event).collect();
        assert_eq!(
            events,
            [
                HistoryEvent::Created,
                HistoryEvent::Claimed,
                HistoryEvent::Planned,
                HistoryEvent::Recorded,
                HistoryEvent::Recorded,
                HistoryEvent::Finished,
                HistoryEvent::ManualRetryRequested,
                HistoryEvent::Claimed,
                HistoryEvent::Released,
            ]
        );
        assert_eq!(
            h[0],
            HistoryEntry {
                progress: Some(0),
                ..HistoryEntry::new(t0(), HistoryEvent::Created)
            }
        );
        assert_eq!(h[1].token, Some(lease.token));
        assert_eq!(h[1].job_status, Some(JobStatus::Processing));
        assert_eq!(h[2].progress, Some(10));
        assert_eq!(
            h[3],
            HistoryEntry {
                token: Some(lease.token),
                slot: Some(job.slots[0].key().field()),
                slot_status: Some(SlotStatus::Loaded),
                attempts: Some(1),
                started_at: Some(started),
                progress: Some(40),
                completeness: Some(33),
                ..HistoryEntry::new(at, HistoryEvent::Recorded)
            }
        );
        // Progress never goes back, and the entry says what was stored.
        assert_eq!(h[4].progress, Some(40));
        assert_eq!(h[4].slot_status, Some(SlotStatus::Missing));
        assert_eq!(h[4].started_at, None);
        assert_eq!(
            h[5],
            HistoryEntry {
                token: Some(lease.token),
                job_status: Some(JobStatus::Partial),
                progress: Some(100),
                completeness: Some(33),
                will_auto_retry: Some(true),
                ..HistoryEntry::new(at, HistoryEvent::Finished)
            }
        );
        assert_eq!(h[7].token, Some(second.token));
        assert!(second.token > lease.token);
        assert_eq!(h[7].job_status, Some(JobStatus::Partial));
        assert_eq!(
            h[8],
            HistoryEntry {
                token: Some(second.token),
                job_status: Some(JobStatus::Partial),
                ..HistoryEntry::new(at + secs(2), HistoryEvent::Released)
            }
        );
        fx.done().await;
    }

    /// The history keeps the newest entries only, up to its limit.
    pub async fn history_is_bounded(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let (job, lease) = planned(s).await;
        let limit = care_report::store::HISTORY_LIMIT;
        let mut slot = job.slots[0].clone();
        for i in 0..limit {
            let at = t0() + chrono::Duration::milliseconds(i64::try_from(i).unwrap());
            slot = missing(&slot, at, Some(at + secs(300)));
            s.record(
                &lease,
                Record {
                    outcome: None,
                    slot: slot.clone(),
                    data: None,
                    progress: 20,
                    message: "r".into(),
                },
                at,
            )
            .await
            .unwrap();
        }
        let h = s.history(job.id).await.unwrap();
        assert_eq!(h.len(), limit);
        // The three oldest (created, claimed, planned) made room for the
        // last three records.
        assert_eq!(h[0].event, HistoryEvent::Recorded);
        assert_eq!(h[0].attempts, Some(1));
        assert_eq!(h[limit - 1].attempts, u32::try_from(limit).ok());
        fx.done().await;
    }

    /// Creates one job per status, created one second apart from `at`:
    /// pending, processing, completed, partial (auto-retrying), failed.
    async fn one_per_status(s: &Arc<dyn JobStore>, at: DateTime<Utc>) -> Vec<Job> {
        let mut jobs = Vec::new();
        for (i, status) in STATUSES.iter().enumerate() {
            let now = at + secs(i64::try_from(i).unwrap());
            let job = create(s, now).await;
            if *status != JobStatus::Pending {
                let lease = s
                    .claim(job.id, "w", now, LEASE)
                    .await
                    .unwrap()
                    .lease()
                    .unwrap();
                if matches!(
                    status,
                    JobStatus::Completed | JobStatus::Partial | JobStatus::Failed
                ) {
                    s.finish(&lease, finish(*status, true), now).await.unwrap();
                }
            }
            jobs.push(s.get(job.id).await.unwrap().unwrap());
        }
        jobs
    }

    fn query(
        status: Option<JobStatus>,
        prefix: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> ListQuery {
        ListQuery {
            status,
            id_prefix: prefix.map(str::to_owned),
            offset,
            limit,
        }
    }

    /// The operators' index files each job under its status in the step
    /// that sets it; the counts are the index's sizes; lists are newest
    /// first and paged; an id prefix finds a job.
    pub async fn ops_index_follows_every_status(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let ops = s.ops().expect("both stores keep the operators' facts");
        let jobs = one_per_status(s, t0()).await;
        let counts = ops.counts().await.unwrap();
        assert_eq!(
            counts,
            STATUSES.iter().map(|st| (*st, 1)).collect::<Vec<_>>()
        );
        for job in &jobs {
            let page = ops
                .list(&query(Some(job.status), None, 0, 10))
                .await
                .unwrap();
            assert_eq!(page.total, 1, "{}", job.status);
            assert_eq!(page.rows, vec![job.summary()]);
        }
        // All, newest first, paged two at a time.
        let newest: Vec<JobId> = jobs.iter().rev().map(|j| j.id).collect();
        let first = ops.list(&query(None, None, 0, 2)).await.unwrap();
        assert_eq!(first.total, 5);
        assert_eq!(
            first.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            newest[..2]
        );
        let last = ops.list(&query(None, None, 4, 2)).await.unwrap();
        assert_eq!(
            last.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            newest[4..]
        );
        // By id prefix: the whole id, or its first characters.
        let target = &jobs[3];
        let id = target.id.to_string();
        for prefix in [id.as_str(), &id[..8]] {
            let page = ops.list(&query(None, Some(prefix), 0, 10)).await.unwrap();
            assert!(page.rows.iter().any(|r| r.id == target.id), "{prefix}");
            assert!(page
                .rows
                .iter()
                .all(|r| r.id.to_string().starts_with(prefix)));
        }
        let wrong_status = ops
            .list(&query(Some(JobStatus::Pending), Some(&id), 0, 10))
            .await
            .unwrap();
        assert!(wrong_status.rows.is_empty());
        let mut indexed = ops.indexed().await.unwrap();
        indexed.sort_by_key(|(id, _)| *id);
        let mut expected: Vec<(JobId, JobStatus)> = jobs.iter().map(|j| (j.id, j.status)).collect();
        expected.sort_by_key(|(id, _)| *id);
        assert_eq!(indexed, expected);
        fx.done().await;
    }

    /// Erasure removes a job from every index in the same step.
    pub async fn ops_erase_leaves_every_index(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let ops = s.ops().unwrap();
        let jobs = one_per_status(s, t0()).await;
        let partial = &jobs[3];
        s.erasure().unwrap().erase(partial.id).await.unwrap();
        let counts = ops.counts().await.unwrap();
        assert!(counts.contains(&(JobStatus::Partial, 0)), "{counts:?}");
        assert!(counts.contains(&(JobStatus::Completed, 1)), "{counts:?}");
        let all = ops.list(&query(None, None, 0, 10)).await.unwrap();
        assert_eq!(all.total, 4);
        assert!(all.rows.iter().all(|r| r.id != partial.id));
        let found = ops
            .list(&query(None, Some(&partial.id.to_string()), 0, 10))
            .await
            .unwrap();
        assert!(found.rows.is_empty());
        assert!(ops
            .indexed()
            .await
            .unwrap()
            .iter()
            .all(|(id, _)| *id != partial.id));
        if let Some(prefix) = &fx.redis_prefix {
            let id = partial.id.to_string();
            let left: Vec<String> = test_redis::keys(prefix)
                .await
                .into_iter()
                .filter(|k| k.contains(&id))
                .collect();
            assert!(left.is_empty(), "{left:?}");
        }
        fx.done().await;
    }

    /// `record` counts each committed attempt's outcome in its hour;
    /// a refused record counts nothing. The sweep log keeps the newest.
    pub async fn ops_hourly_outcomes_and_sweep_log(b: Backend) {
        let fx = b.open().await;
        let s = &fx.store;
        let ops = s.ops().unwrap();
        let (job, lease) = planned(s).await;
        // A lease long enough to record in two hours.
        let lease = s
            .renew(&lease, t0(), Duration::from_secs(3 * 3600))
            .await
            .unwrap();
        let cqc = &job.slots[0];
        let at = t0() + secs(10);
        let outcomes = [
            (cqc, Outcome::Transient, at),
            (cqc, Outcome::Transient, at + secs(1)),
            (cqc, Outcome::Loaded, at + secs(3600)),
            (&job.slots[1], Outcome::NotFound, at + secs(3600)),
        ];
        for (slot, outcome, when) in outcomes {
            let next = match outcome {
                Outcome::Loaded => loaded(slot, when),
                _ => missing(slot, when, None),
            };
            s.record(
                &lease,
                Record {
                    slot: next,
                    data: None,
                    progress: 20,
                    message: "r".into(),
                    outcome: Some(outcome),
                },
                when,
            )
            .await
            .unwrap();
        }
        // Refused (a stale token): not counted.
        let stale = Lease {
            token: lease.token + 7,
            ..lease.clone()
        };
        let refused = Record {
            slot: loaded(cqc, at),
            data: None,
            progress: 20,
            message: "r".into(),
            outcome: Some(Outcome::Permanent),
        };
        assert!(s.record(&stale, refused, at).await.is_err());
        let h0 = hour_of(at);
        let hours = ops.hours(h0 - 3_600_000, h0 + 3_600_000).await.unwrap();
        assert_eq!(hours.len(), 2, "{hours:?}");
        assert_eq!(hours[0].hour.timestamp_millis(), h0);
        assert_eq!(hours[0].counts.get("src:cqc:transient"), Some(&2));
        assert_eq!(hours[0].counts.len(), 1, "{hours:?}");
        assert_eq!(hours[1].counts.get("src:cqc:loaded"), Some(&1));
        assert_eq!(hours[1].counts.get("src:fsa:not_found"), Some(&1));
        for i in 0..SWEEP_LOG_LIMIT + 2 {
            let log = SweepLog {
                at: t0() + secs(i64::try_from(i).unwrap()),
                report: json!({"checked": i}),
            };
            ops.log_sweep(log).await.unwrap();
        }
        let sweeps = ops.sweeps().await.unwrap();
        assert_eq!(sweeps.len(), SWEEP_LOG_LIMIT);
        assert_eq!(sweeps[0].report, json!({"checked": SWEEP_LOG_LIMIT + 1}));
        fx.done().await;
    }

    /// A job whose keys expired leaves the index at the next prune; a live
    /// one stays.
    pub async fn ops_prune_drops_expired_jobs(b: Backend) {
        let fx = b
            .open_with(Retention {
                ttl_after_update: Duration::from_millis(100),
                margin_after_deadline: Duration::ZERO,
            })
            .await;
        let s = &fx.store;
        let ops = s.ops().unwrap();
        let now = Utc::now();
        let mut short = new_job(now);
        short.deadline_at = now;
        s.create(short, Duration::ZERO).await.unwrap();
        let keep = create(s, now).await;
        assert_eq!(ops.prune(Utc::now()).await.unwrap(), 0);
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(ops.prune(Utc::now()).await.unwrap(), 1);
        assert_eq!(
            ops.indexed().await.unwrap(),
            vec![(keep.id, JobStatus::Pending)]
        );
        assert!(ops
            .counts()
            .await
            .unwrap()
            .contains(&(JobStatus::Pending, 1)));
        assert_eq!(ops.prune(Utc::now()).await.unwrap(), 0);
        fx.done().await;
    }
}

macro_rules! contract_suite {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::cases::$case(super::Backend::Memory).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::cases::$case(super::Backend::Redis).await;
                }
            )*
        }
        mod redis_tls {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::cases::$case(super::Backend::RedisTls).await;
                }
            )*
        }
    };
}

contract_suite!(
    create_and_get,
    idempotency_keys,
    concurrent_idempotent_creates_make_one_job,
    claim_rules,
    fifty_claimers_one_winner,
    stale_tokens_are_rejected,
    renew_extends_and_moves_due,
    plan_and_record,
    progress_is_monotonic_under_concurrency,
    finish_refiles_the_due_index,
    release_makes_work_due,
    due_is_ordered_and_limited,
    manual_retry_gate,
    expired_jobs_vanish_and_leave_the_due_index,
    summary_matches_the_job,
    history_records_every_committed_transition,
    history_is_bounded,
    ops_index_follows_every_status,
    ops_erase_leaves_every_index,
    ops_hourly_outcomes_and_sweep_log,
    ops_prune_drops_expired_jobs,
);

/// Runs one job's life through every transition on a store.
async fn full_life(s: &Arc<dyn JobStore>, id: JobId) -> Job {
    let new = NewJob {
        client: None,
        id,
        idempotency: Some(Idempotency {
            key: format!("life-{id}"),
            fingerprint: "fp".into(),
        }),
        ..new_job(t0())
    };
    s.create(new, GRACE).await.unwrap();
    let l = s
        .claim(id, "w", t0(), LEASE)
        .await
        .unwrap()
        .lease()
        .unwrap();
    let l = s.renew(&l, t0() + secs(1), LEASE).await.unwrap();
    let job = s
        .save_plan(
            &l,
            SavePlan {
                plan: json!({"homes": ["H1", "H2"]}),
                slots: plan_slots(),
                progress: 10,
                message: "p".into(),
            },
            t0(),
        )
        .await
        .unwrap();
    let at = t0() + secs(2);
    s.record(
        &l,
        Record {
            outcome: None,
            slot: loaded(&job.slots[0], at),
            data: Some(json!({"a": 1})),
            progress: 40,
            message: "r".into(),
        },
        at,
    )
    .await
    .unwrap();
    s.record(
        &l,
        Record {
            outcome: None,
            slot: missing(&job.slots[1], at, Some(at + secs(300))),
            data: None,
            progress: 60,
            message: "r".into(),
        },
        at,
    )
    .await
    .unwrap();
    s.finish(&l, finish(JobStatus::Partial, true), at)
        .await
        .unwrap();
    s.gate_manual_retry(id, at, Duration::from_secs(60))
        .await
        .unwrap();
    let l = s
        .claim(id, "m", at + secs(1), LEASE)
        .await
        .unwrap()
        .lease()
        .unwrap();
    s.release(&l, at + secs(2)).await.unwrap();
    s.due(at + secs(3600), 10).await.unwrap();
    s.get(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn both_stores_return_identical_jobs() {
    let memory = Backend::Memory.open().await;
    let redis = Backend::Redis.open().await;
    let id = JobId::new();
    let a = full_life(&memory.store, id).await;
    let b = full_life(&redis.store, id).await;
    assert_eq!(a, b);
    assert_eq!(
        memory.store.source_data(id).await.unwrap(),
        redis.store.source_data(id).await.unwrap()
    );
    assert_eq!(
        memory.store.history(id).await.unwrap(),
        redis.store.history(id).await.unwrap()
    );
    assert_eq!(
        memory.store.due(t0() + secs(3600), 10).await.unwrap(),
        redis.store.due(t0() + secs(3600), 10).await.unwrap()
    );
    memory.done().await;
    redis.done().await;
}

#[tokio::test]
async fn redis_every_key_has_a_ttl_after_every_transition() {
    let store = test_redis::store(Retention::default()).await;
    let prefix = store.prefix().to_owned();
    let s: Arc<dyn JobStore> = Arc::new(store);
    for _ in 0..3 {
        full_life(&s, JobId::new()).await;
    }
    let keys = test_redis::keys(&prefix).await;
    // job, slots, data, history and idempotency key per job, plus the due
    // index and the operators' index (every job, by id, by expiry, and the
    // status the three jobs ended in: partial).
    assert_eq!(keys.len(), 3 * 5 + 1 + 4, "{keys:?}");
    assert_eq!(
        test_redis::keys_without_ttl(&prefix).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn redis_down_is_an_error_not_a_fallback() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = care_report::store::RedisConfig {
        connection_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    match RedisStore::connect(&url, config).await {
        Err(StoreError::Unavailable(msg)) => assert!(!msg.contains("hunter2"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

const WRITER_ENV: &str = "CARE_REPORT_TEST_RESTART_WRITER";

/// The writer half of `redis_job_survives_a_restart_of_its_writer`, run in
/// a child process (the test binary itself, with `WRITER_ENV` set to
/// `prefix job_id`).
async fn restart_writer(spec: &str) {
    let (prefix, id) = spec.split_once(' ').expect("prefix and id");
    let id = JobId::parse(id).expect("job id");
    let s = test_redis::store_with_prefix(prefix, Retention::default()).await;
    s.create(
        NewJob {
            client: None,
            id,
            ..new_job(t0())
        },
        GRACE,
    )
    .await
    .unwrap();
    let l = s
        .claim(id, "child", t0(), LEASE)
        .await
        .unwrap()
        .lease()
        .unwrap();
    let job = s
        .save_plan(
            &l,
            SavePlan {
                plan: json!({"homes": ["H1"]}),
                slots: plan_slots(),
                progress: 10,
                message: "p".into(),
            },
            t0(),
        )
        .await
        .unwrap();
    s.record(
        &l,
        Record {
            outcome: None,
            slot: loaded(&job.slots[0], t0()),
            data: Some(json!({"kept": true})),
            progress: 30,
            message: "r".into(),
        },
        t0(),
    )
    .await
    .unwrap();
}

/// One test, two processes: run normally it is the reader, and it starts
/// itself (`--exact` this test) with `WRITER_ENV` set as the writer. So no
/// test passes by doing nothing when a variable is unset.
#[tokio::test]
async fn redis_job_survives_a_restart_of_its_writer() {
    if let Ok(spec) = std::env::var(WRITER_ENV) {
        return restart_writer(&spec).await;
    }
    let url = test_redis::url();
    let prefix = test_redis::unique_prefix();
    let id = JobId::new();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "contract::redis_job_survives_a_restart_of_its_writer",
            "--exact",
            "--test-threads",
            "1",
        ])
        .env(test_redis::ENV_TEST_REDIS_URL, &url)
        .env(WRITER_ENV, format!("{prefix} {id}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "writer process failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The filter matched this very test (a rename would run nothing).
    assert!(stdout.contains("1 passed"), "{stdout}");
    // A new process-side store (new connection, new script cache) reads it.
    let s = test_redis::store_with_prefix(&prefix, Retention::default()).await;
    let job = s.get(id).await.unwrap().expect("job survived");
    assert_eq!(job.status, JobStatus::Processing);
    assert_eq!(job.progress, 30);
    assert_eq!(job.slots[0].status, SlotStatus::Loaded);
    assert_eq!(job.lease.as_ref().map(|l| l.owner.as_str()), Some("child"));
    assert_eq!(
        s.source_data(id).await.unwrap(),
        vec![(SlotKey::new("H1", SourceType::Cqc), json!({"kept": true}))]
    );
    // Its lease is still fencing: the survivor resumes only after expiry.
    assert!(matches!(
        s.claim(id, "parent", t0(), LEASE).await.unwrap(),
        Claim::Held { .. }
    ));
    assert!(s
        .claim(id, "parent", t0() + secs(120), LEASE)
        .await
        .unwrap()
        .lease()
        .is_some());
    assert!(test_redis::keys_without_ttl(&prefix).await.is_empty());
}
