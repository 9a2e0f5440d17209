//! The operators' console, in process, on both stores: every page and
//! action through the API's router (the shared app rig), against the sandbox's fake
//! sources with injected faults, checked against what the store and the
//! sandbox saw.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use care_report::engine::ManualClock;
use care_report::http::limits::LimitsConfig;
use care_report::http::ops::access::{Environment, OpsConfig};
use care_report::http::{App, HttpConfig};
use care_report::model::{JobId, JobStatus, SourceType};
use care_report::sandbox::{FaultPlan, Sandbox};
use care_report::sources::CacheConfig;
use care_report::store::source_cache::MemorySourceCache;
use care_report::store::{Finish, JobStore, MemoryStore, Retention};
use care_report_testing::app::{Spawned, TestApp};
use care_report_testing::redis as test_redis;
use care_report_testing::rig::EngineRig;
use http::{header, HeaderMap, Method, Request, StatusCode};
use serde_json::Value;

const ADMIN: &str = "admin-token-for-tests-0123";
const READER: &str = "read-only-token-for-tests-0123";
const BUDGET: u64 = 500;

#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    Redis,
}

struct Console {
    app: App,
    api: TestApp,
    store: Arc<dyn JobStore>,
    sandbox: Arc<Sandbox>,
    clock: Arc<ManualClock>,
    redis_prefix: Option<String>,
}

fn questionnaire() -> Value {
    serde_json::from_str(include_str!("fixtures/questionnaire.json")).unwrap()
}

async fn console(b: Backend, faults: &str, ops: OpsConfig) -> Console {
    let (store, cache, prefix): (Arc<dyn JobStore>, _, _) = match b {
        Backend::Memory => {
            let store = MemoryStore::new(Retention::default());
            let cache = Arc::new(MemorySourceCache::new().with_ops(store.ops_counters()));
            (Arc::new(store), (cache.clone() as _, cache as _), None)
        }
        Backend::Redis => {
            let store = test_redis::store(Retention::default()).await;
            let prefix = store.prefix().to_owned();
            let shared = Arc::new(store);
            (
                shared.clone(),
                (shared.clone() as _, shared as _),
                Some(prefix),
            )
        }
    };
    let Spawned {
        api,
        sandbox,
        clock,
    } = TestApp::builder(
        EngineRig::new(store.clone())
            .faults(FaultPlan::parse(faults).unwrap())
            .cache(cache.0, cache.1, CacheConfig::default()),
    )
    .limits(LimitsConfig {
        daily_paid_calls: Some(BUDGET),
        ..LimitsConfig::default()
    })
    .ops(ops)
    .build()
    .await;
    Console {
        app: api.app().clone(),
        api,
        store,
        sandbox,
        clock,
        redis_prefix: prefix,
    }
}

fn on() -> OpsConfig {
    OpsConfig {
        token: Some(ADMIN.into()),
        read_token: Some(READER.into()),
        environment: Environment::Preview,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn location(&self) -> String {
        self.headers[header::LOCATION].to_str().unwrap().to_owned()
    }
}

fn basic(pass: &str) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("ops:{pass}"));
    format!("Basic {enc}")
}

impl Console {
    async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        json: bool,
        form: &str,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "console.test");
        if let Some(pass) = auth {
            req = req.header(header::AUTHORIZATION, basic(pass));
        }
        if json {
            req = req.header(header::ACCEPT, "application/json");
        }
        if !form.is_empty() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = req.body(Bytes::from(form.to_owned())).unwrap();
        let resp = self.api.send(req).await;
        let (parts, body) = resp.into_parts();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, Some(ADMIN), false, "").await
    }

    async fn get_json(&self, path: &str) -> Value {
        let a = self.send(Method::GET, path, Some(ADMIN), true, "").await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        a.json()["view"].clone()
    }

    async fn csrf(&self) -> String {
        let a = self
            .send(Method::GET, "/api/ops", Some(ADMIN), true, "")
            .await;
        a.json()["csrf"].as_str().unwrap().to_owned()
    }

    async fn post(&self, path: &str, pass: &str, form: &str) -> Answer {
        self.send(Method::POST, path, Some(pass), false, form).await
    }

    /// A new job, processed once (its first round).
    async fn job(&self) -> JobId {
        let id = self
            .app
            .engine
            .submit(questionnaire(), None)
            .await
            .unwrap()
            .job()
            .id;
        self.app.engine.process(id).await.unwrap();
        id
    }

    async fn done(self) {
        if let Some(prefix) = self.redis_prefix {
            let bare = test_redis::keys_without_ttl(&prefix).await;
            assert!(bare.is_empty(), "keys without TTL: {bare:?}");
        }
    }
}

fn source<'a>(overview: &'a Value, name: &str) -> &'a Value {
    overview["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == name)
        .unwrap()
}

fn count(overview: &Value, status: &str) -> u64 {
    overview["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0] == status)
        .map(|c| c[1].as_u64().unwrap())
        .unwrap()
}

fn assert_secure(a: &Answer) {
    let csp = a.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(a.headers[header::X_FRAME_OPTIONS], "DENY");
}

mod cases {
    use super::*;

    /// Without `OPS_TOKEN` every console path is an unknown route.
    pub async fn off_without_a_token(b: Backend) {
        let c = console(b, "", OpsConfig::default()).await;
        for path in ["/api/ops", "/api/ops/jobs", "/api/ops/jobs/x/erase"] {
            let a = c.send(Method::GET, path, Some(ADMIN), false, "").await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(a.json()["error"]["code"], "route_not_found");
        }
        c.done().await;
    }

    /// No credentials: 401 with a Basic challenge; wrong ones: 401; every
    /// answer carries the console's security headers and the banner.
    pub async fn credentials_are_required(b: Backend) {
        let c = console(b, "", on()).await;
        let a = c.send(Method::GET, "/api/ops", None, false, "").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let challenge = a.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
        assert_secure(&a);
        let a = c
            .send(
                Method::GET,
                "/api/ops",
                Some("not-the-token-at-all"),
                true,
                "",
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.json()["error"]["code"], "unauthorized");
        let a = c.get("/api/ops").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_secure(&a);
        assert!(a.body.contains("environment: preview"), "{}", a.body);
        let a = c
            .send(Method::GET, "/api/ops", Some(READER), false, "")
            .await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body.contains("read-only") && !a.body.contains("<form method=\"post\""));
        c.done().await;
    }

    /// Failed logins are limited per client: past the limit even the
    /// right password waits.
    pub async fn failed_logins_are_limited(b: Backend) {
        let c = console(b, "", on()).await;
        for _ in 0..care_report::http::ops::access::LOGIN_FAILURES {
            let a = c
                .send(
                    Method::GET,
                    "/api/ops",
                    Some("wrong-password-guess"),
                    true,
                    "",
                )
                .await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        }
        let a = c.send(Method::GET, "/api/ops", Some(ADMIN), true, "").await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
        assert_eq!(a.json()["error"]["code"], "too_many_failed_logins");
        assert!(a.headers.contains_key(header::RETRY_AFTER));
        c.done().await;
    }

    /// Counts follow jobs in each status.
    pub async fn counts_follow_jobs_in_each_status(b: Backend) {
        let c = console(b, "google_places", on()).await;
        let before = c.get_json("/api/ops").await;
        assert!(["pending", "processing", "completed", "partial", "failed"]
            .iter()
            .all(|s| count(&before, s) == 0));
        // Partial (Google fails for every home), then pending (never
        // processed), processing (claimed, not finished) and failed (no
        // home matches).
        c.job().await;
        c.app.engine.submit(questionnaire(), None).await.unwrap();
        let claimed = c
            .app
            .engine
            .submit(questionnaire(), None)
            .await
            .unwrap()
            .job()
            .id;
        c.store
            .claim(
                claimed,
                "w",
                c.app.engine.now(),
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap();
        let failed = c
            .app
            .engine
            .submit(questionnaire(), None)
            .await
            .unwrap()
            .job()
            .id;
        let now = c.app.engine.now();
        let lease = c
            .store
            .claim(failed, "w", now, std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .lease()
            .unwrap();
        let end = Finish::Failed {
            message: "no home".into(),
            error: "no candidate homes".into(),
        };
        c.store.finish(&lease, end, now).await.unwrap();
        let v = c.get_json("/api/ops").await;
        assert_eq!(count(&v, "partial"), 1, "{v}");
        assert_eq!(count(&v, "pending"), 1, "{v}");
        assert_eq!(count(&v, "processing"), 1, "{v}");
        assert_eq!(count(&v, "failed"), 1, "{v}");
        assert_eq!(count(&v, "completed"), 0, "{v}");
        let failed_page = c.get_json("/api/ops/jobs?status=failed").await;
        assert_eq!(failed_page["rows"][0]["id"], failed.to_string());
        let jobs = c.get_json("/api/ops/jobs").await;
        let total: u64 = ["pending", "processing", "completed", "partial", "failed"]
            .iter()
            .map(|s| count(&v, s))
            .sum();
        assert_eq!(jobs["total"].as_u64().unwrap(), total);
        c.done().await;
    }

    /// A partial job is listed with its missing sources, the error and its
    /// next retry; its page shows the questionnaire, the five homes with
    /// every slot, and the history.
    pub async fn partial_jobs_show_why(b: Backend) {
        let c = console(b, "google_places", on()).await;
        let id = c.job().await;
        let v = c.get_json("/api/ops").await;
        let p = &v["partial"][0];
        assert_eq!(p["id"], id.to_string());
        let missing = p["missing"].as_array().unwrap();
        assert!(
            !missing.is_empty() && missing.iter().all(|m| m["source"] == "google_places"),
            "{p}"
        );
        assert!(
            missing
                .iter()
                .all(|m| m["error"].as_str().is_some_and(|e| !e.is_empty())),
            "{p}"
        );
        assert!(p["next_retry_at"].is_string(), "{p}");
        assert!(p["window_left_secs"].as_i64().unwrap() > 0);
        let html = c.get("/api/ops").await.body;
        assert!(html.contains(&id.to_string()) && html.contains("google_places"));
        let d = c.get_json(&format!("/api/ops/jobs/{id}")).await;
        assert_eq!(d["homes"].as_array().unwrap().len(), 5, "{d}");
        assert!(d["homes"].as_array().unwrap().iter().all(|h| h["slots"]
            .as_array()
            .unwrap()
            .len()
            == SourceType::ALL.len()));
        assert_eq!(
            d["questionnaire"],
            c.store.get(id).await.unwrap().unwrap().questionnaire
        );
        assert_eq!(d["history"][0]["event"], "created");
        let page = c.get(&format!("/api/ops/jobs/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Questionnaire as stored") && page.body.contains("History"));
        c.done().await;
    }

    /// Per-source figures follow the injected faults; the budget follows
    /// the paid calls the sandbox saw; the cache's hits follow a second
    /// identical job.
    pub async fn rates_budget_and_cache_follow_the_calls(b: Backend) {
        let c = console(b, "google_places", on()).await;
        c.job().await;
        let v = c.get_json("/api/ops").await;
        let google = source(&v, "google_places");
        assert_eq!(google["loaded"], 0, "{google}");
        assert!(google["transient"].as_u64().unwrap() >= 5, "{google}");
        assert_eq!(google["failure_rate_percent"], 100);
        let cqc = source(&v, "cqc");
        assert_eq!(cqc["failure_rate_percent"], 0, "{cqc}");
        assert_eq!(
            cqc["loaded"].as_u64().unwrap() + cqc["not_found"].as_u64().unwrap(),
            5
        );
        let paid = c.sandbox.requests(SourceType::GooglePlaces)
            + c.sandbox.requests(SourceType::Firecrawl);
        assert!(paid > 0);
        assert_eq!(v["budget"]["used"].as_u64().unwrap(), paid, "{v}");
        assert_eq!(v["budget"]["limit"], BUDGET);
        assert_eq!(cqc["cache_hits"], 0);
        let misses = cqc["cache_misses"].as_u64().unwrap();
        assert_eq!(misses, 5, "{cqc}");
        let cqc_calls = c.sandbox.requests(SourceType::Cqc);
        c.job().await;
        let v = c.get_json("/api/ops").await;
        let cqc = source(&v, "cqc");
        assert_eq!(cqc["cache_hits"].as_u64().unwrap(), 5, "{cqc}");
        assert_eq!(cqc["cache_misses"].as_u64().unwrap(), misses);
        assert_eq!(cqc["cache_hit_rate_percent"], 50);
        assert_eq!(c.sandbox.requests(SourceType::Cqc), cqc_calls);
        c.done().await;
    }

    /// The list filters by status, finds by id or prefix, pages; bad
    /// parameters are 400s with a code.
    pub async fn job_list_filters_finds_and_pages(b: Backend) {
        let c = console(b, "", on()).await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(
                c.app
                    .engine
                    .submit(questionnaire(), None)
                    .await
                    .unwrap()
                    .job()
                    .id,
            );
        }
        let v = c.get_json("/api/ops/jobs?status=pending").await;
        assert_eq!(v["total"], 3);
        assert_eq!(
            c.get_json("/api/ops/jobs?status=completed").await["total"],
            0
        );
        let id = ids[1].to_string();
        let v = c.get_json(&format!("/api/ops/jobs?q={}", &id[..6])).await;
        assert!(
            v["rows"].as_array().unwrap().iter().any(|r| r["id"] == id),
            "{v}"
        );
        let v = c.get_json(&format!("/api/ops/jobs?q={id}")).await;
        assert_eq!(v["rows"].as_array().unwrap().len(), 1);
        let html = c.get(&format!("/api/ops/jobs?q={}", &id[..6])).await;
        assert!(html.body.contains(&id));
        for (path, code) in [
            ("/api/ops/jobs?status=lost", "invalid_status"),
            ("/api/ops/jobs?q=%3Cscript%3E", "invalid_query"),
            ("/api/ops/jobs?page=0", "invalid_page"),
            ("/api/ops/jobs/not-an-id", "invalid_job_id"),
        ] {
            let a = c.send(Method::GET, path, Some(ADMIN), true, "").await;
            assert_eq!(
                (a.status, a.json()["error"]["code"].as_str().unwrap()),
                (StatusCode::BAD_REQUEST, code),
                "{path}"
            );
        }
        let a = c
            .send(
                Method::GET,
                &format!("/api/ops/jobs/{}", JobId::new()),
                Some(ADMIN),
                true,
                "",
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        let a = c
            .send(Method::DELETE, "/api/ops/jobs", Some(ADMIN), true, "")
            .await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
        c.done().await;
    }

    /// Retry a job's missing sources: a redirect to its page, which shows
    /// the result; then the job is complete once the source heals.
    pub async fn retry_a_job_from_the_console(b: Backend) {
        let c = console(b, "google_places", on()).await;
        let id = c.job().await;
        c.sandbox.set_faults(FaultPlan::none());
        c.clock.advance(std::time::Duration::from_secs(60));
        let csrf = c.csrf().await;
        let a = c
            .post(
                &format!("/api/ops/jobs/{id}/retry"),
                ADMIN,
                &format!("csrf={csrf}"),
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert!(
            a.location()
                .starts_with(&format!("/api/ops/jobs/{id}?notice=retried")),
            "{}",
            a.location()
        );
        let page = c.get(&a.location()).await;
        assert!(page.body.contains("now have their answer"), "{}", page.body);
        assert_eq!(
            c.store.get(id).await.unwrap().unwrap().status,
            JobStatus::Completed
        );
        let v = c.get_json("/api/ops").await;
        assert_eq!((count(&v, "partial"), count(&v, "completed")), (0, 1));
        c.done().await;
    }

    /// Erase needs its confirmation step; afterwards the store holds
    /// nothing of the job (on Redis: no key names it).
    pub async fn erase_from_the_console(b: Backend) {
        let c = console(b, "google_places", on()).await;
        let id = c.job().await;
        let confirm = c.get(&format!("/api/ops/jobs/{id}/erase")).await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.body.contains("Type the job id"));
        let csrf = c.csrf().await;
        let path = format!("/api/ops/jobs/{id}/erase");
        let a = c
            .post(&path, ADMIN, &format!("csrf={csrf}&confirm=wrong"))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(c.store.get(id).await.unwrap().is_some());
        let a = c
            .post(&path, ADMIN, &format!("csrf={csrf}&confirm={id}"))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.location(), "/api/ops/jobs?notice=erased");
        assert!(c
            .get(&a.location())
            .await
            .body
            .contains("The job was erased."));
        assert!(c.store.get(id).await.unwrap().is_none());
        let v = c.get_json("/api/ops").await;
        assert_eq!(count(&v, "partial"), 0);
        assert_eq!(
            c.get_json(&format!("/api/ops/jobs?q={id}")).await["total"],
            0
        );
        if let Some(prefix) = &c.redis_prefix {
            let left: Vec<String> = test_redis::keys(prefix)
                .await
                .into_iter()
                .filter(|k| k.contains(&id.to_string()))
                .collect();
            assert!(left.is_empty(), "{left:?}");
            for index in [
                "ops:jobs",
                "ops:ids",
                "ops:expiry",
                "ops:status:partial",
                "due",
            ] {
                let key = format!("{prefix}{index}");
                let members = test_redis::zrange(&key).await;
                assert!(!members.contains(&id.to_string()), "{key}: {members:?}");
            }
        }
        c.done().await;
    }

    /// Retry every partial job's slots of one source after an outage.
    pub async fn retry_one_source_across_partial_jobs(b: Backend) {
        let c = console(b, "google_places", on()).await;
        let (a, b2) = (c.job().await, c.job().await);
        c.sandbox.set_faults(FaultPlan::none());
        let csrf = c.csrf().await;
        let before = c.sandbox.requests(SourceType::Cqc);
        let r = c
            .post(
                "/api/ops/sources/google_places/retry",
                ADMIN,
                &format!("csrf={csrf}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(
            r.location()
                .starts_with("/api/ops?notice=source_retried&source=google_places&jobs=2"),
            "{}",
            r.location()
        );
        let page = c.get(&r.location()).await;
        assert!(
            page.body
                .contains("Retried google_places on 2 partial jobs"),
            "{}",
            page.body
        );
        for id in [a, b2] {
            assert_eq!(
                c.store.get(id).await.unwrap().unwrap().status,
                JobStatus::Completed
            );
        }
        // Only that source was fetched.
        assert_eq!(c.sandbox.requests(SourceType::Cqc), before);
        let bad = c
            .post(
                "/api/ops/sources/nowhere/retry",
                ADMIN,
                &format!("csrf={csrf}"),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        c.done().await;
    }

    /// The read-only token reads every page and is refused every action.
    pub async fn read_only_is_refused_every_action(b: Backend) {
        let c = console(b, "google_places", on()).await;
        let id = c.job().await;
        let csrf = c.csrf().await;
        for path in [
            "/api/ops".to_owned(),
            "/api/ops/jobs".to_owned(),
            format!("/api/ops/jobs/{id}"),
        ] {
            let a = c.send(Method::GET, &path, Some(READER), false, "").await;
            assert_eq!(a.status, StatusCode::OK, "{path}");
        }
        let a = c
            .send(
                Method::GET,
                &format!("/api/ops/jobs/{id}/erase"),
                Some(READER),
                false,
                "",
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        for path in [
            format!("/api/ops/jobs/{id}/retry"),
            format!("/api/ops/jobs/{id}/erase"),
            "/api/ops/sources/cqc/retry".to_owned(),
        ] {
            let a = c
                .post(&path, READER, &format!("csrf={csrf}&confirm={id}"))
                .await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
            assert!(a.body.contains("read-only token cannot act"), "{path}");
        }
        assert!(c.store.get(id).await.unwrap().is_some());
        let v = c
            .send(Method::GET, "/api/ops", Some(READER), true, "")
            .await
            .json();
        assert_eq!(
            (v["read_only"].as_bool(), v["csrf"].is_null()),
            (Some(true), true)
        );
        c.done().await;
    }

    /// A sweep that found work is kept (newest first) and shown; an idle
    /// one writes nothing.
    pub async fn sweeps_that_found_work_are_kept(b: Backend) {
        let c = console(b, "google_places", on()).await;
        c.app.engine.sweep().await.unwrap();
        assert_eq!(
            c.get_json("/api/ops").await["sweeps"],
            Value::Array(Vec::new())
        );
        c.job().await;
        // Past every first retry: the sweep retries Google for the job.
        c.clock.advance(std::time::Duration::from_secs(3600));
        let report = c.app.engine.sweep().await.unwrap();
        assert!(report.checked >= 1 && report.retried >= 1, "{report:?}");
        let v = c.get_json("/api/ops").await;
        let sweeps = v["sweeps"].as_array().unwrap();
        assert_eq!(sweeps.len(), 1, "{v}");
        assert_eq!(sweeps[0]["report"]["retried"], report.retried);
        assert!(c
            .get("/api/ops")
            .await
            .body
            .contains("Sweeps that found work"));
        c.done().await;
    }

    /// A missing, wrong or cross-site CSRF token is refused; nothing runs.
    pub async fn csrf_is_required(b: Backend) {
        let c = console(b, "google_places", on()).await;
        let id = c.job().await;
        let path = format!("/api/ops/jobs/{id}/erase");
        for form in [format!("confirm={id}"), format!("csrf=0000&confirm={id}")] {
            let a = c.post(&path, ADMIN, &form).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{form}");
            assert!(a.body.contains("out of date"), "{}", a.body);
        }
        let csrf = c.csrf().await;
        let req = Request::builder()
            .method(Method::POST)
            .uri(&path)
            .header(header::HOST, "console.test")
            .header(header::ORIGIN, "https://evil.example")
            .header(header::AUTHORIZATION, basic(ADMIN))
            .body(Bytes::from(format!("csrf={csrf}&confirm={id}")))
            .unwrap();
        let a = c.api.send(req).await;
        assert_eq!(a.status(), StatusCode::FORBIDDEN);
        assert!(c.store.get(id).await.unwrap().is_some());
        c.done().await;
    }

    /// The console's routes: each path with its methods (`HEAD` as `GET`,
    /// a trailing slash ignored, a sub-path also as vercel.json's rewrite
    /// hands it over in `?path=`), 405 with the path's `Allow` for any
    /// other method, 404 for any other path, all behind the credentials
    /// and with the console's headers; an oversized body is 413 there too.
    pub async fn routes_by_method_and_path(b: Backend) {
        let c = console(b, "", on()).await;
        for path in [
            "/api/ops",
            "/api/ops/",
            "/api/ops/jobs/",
            "/api/ops?path=jobs",
        ] {
            let a = c.send(Method::GET, path, Some(ADMIN), true, "").await;
            assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        }
        let list = c
            .send(Method::GET, "/api/ops?path=jobs/", Some(ADMIN), true, "")
            .await;
        assert!(list.json()["view"]["rows"].is_array(), "{}", list.body);
        let a = c
            .send(Method::HEAD, "/api/ops/jobs", Some(ADMIN), false, "")
            .await;
        assert_eq!(a.status, StatusCode::OK);
        // A route reached reads its id: 400, not a refused path.
        let csrf = c.csrf().await;
        let form = format!("csrf={csrf}&confirm=a");
        for (method, path) in [
            (Method::GET, "/api/ops/jobs/a/erase"),
            (Method::POST, "/api/ops/jobs/a/erase"),
            (Method::POST, "/api/ops/jobs/a/retry/"),
            (Method::POST, "/api/ops?path=jobs/a/retry"),
        ] {
            let a = c.send(method.clone(), path, Some(ADMIN), true, &form).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{method} {path}");
            assert_eq!(a.json()["error"]["code"], "invalid_job_id", "{path}");
        }
        let a = c
            .post("/api/ops/sources/cqc/retry", ADMIN, &format!("csrf={csrf}"))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        for (method, path, allow) in [
            (Method::POST, "/api/ops", "GET"),
            (Method::OPTIONS, "/api/ops/", "GET"),
            (Method::PUT, "/api/ops/jobs/a", "GET"),
            (Method::DELETE, "/api/ops/jobs/a/erase", "GET, POST"),
            (Method::GET, "/api/ops/jobs/a/retry", "POST"),
            (Method::HEAD, "/api/ops/sources/cqc/retry", "POST"),
            (Method::GET, "/api/ops?path=sources/cqc/retry", "POST"),
        ] {
            let a = c.send(method.clone(), path, Some(ADMIN), true, "").await;
            assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(a.headers[header::ALLOW], allow, "{method} {path}");
            if method != Method::HEAD {
                assert_eq!(a.json()["error"]["code"], "method_not_allowed");
            }
            assert_secure(&a);
        }
        for path in [
            "/api/ops/nope",
            "/api/ops/jobs/a/b",
            "/api/ops/sources/cqc",
            "/api/ops?path=nope",
        ] {
            let a = c.send(Method::GET, path, Some(ADMIN), true, "").await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(a.json()["error"]["code"], "route_not_found", "{path}");
            assert_secure(&a);
            let page = c.get(path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
            assert!(page.body.contains("There is no such page."), "{path}");
        }
        // Without credentials nothing tells which paths exist.
        for (method, path) in [(Method::GET, "/api/ops/nope"), (Method::POST, "/api/ops")] {
            let a = c.send(method.clone(), path, None, true, "").await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
        let big = "x".repeat(HttpConfig::default().max_body_bytes + 1);
        let a = c.post("/api/ops/jobs/a/erase", ADMIN, &big).await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
        c.done().await;
    }
}

macro_rules! console_suite {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::cases::$case(super::Backend::Memory).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::cases::$case(super::Backend::Redis).await;
                }
            )*
        }
    };
}

console_suite!(
    off_without_a_token,
    credentials_are_required,
    failed_logins_are_limited,
    counts_follow_jobs_in_each_status,
    partial_jobs_show_why,
    rates_budget_and_cache_follow_the_calls,
    job_list_filters_finds_and_pages,
    retry_a_job_from_the_console,
    erase_from_the_console,
    retry_one_source_across_partial_jobs,
    read_only_is_refused_every_action,
    csrf_is_required,
    sweeps_that_found_work_are_kept,
    routes_by_method_and_path,
);
