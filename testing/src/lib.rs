//! Test support for the care-report workspace: a private `redis-server`,
//! a guard for real binaries, a JSON client, the store's invariant checker
//! and a rig that builds engines against the sandbox.
//!
//! It is its own crate so that none of it (process spawning, `cargo build`,
//! kills) is compiled into the function binaries: the library's packages
//! take it as a dev-dependency only (the bench, a tool, as a dependency).
//!
//! - [`app`]: [`app::TestApp`], the API's router over an app, driven in-process.
//! - [`redis`]: a private Redis for tests (`TEST_REDIS_URL` or a
//!   `redis-server` of its own on a free port), stores under fresh prefixes.
//! - [`child`]: [`child::ChildGuard`] and helpers to build and start binaries.
//! - [`export`]: the real-export trap fixture and a questionnaire to run it with.
//! - [`http`]: a JSON client for a served binary.
//! - [`logs`]: every log line of a test binary, captured.
//! - [`invariants`]: the store's invariants checked against each job's history.
//! - [`rig`]: [`rig::EngineRig`], an engine with sandbox sources and a test clock.
//! - [`tls_redis`]: a private Redis over TLS with a CA made for the run.
//! - [`sync_report`]: the synchronous route's client and contract check.
//! - [`upstash`]: a RESP proxy answering like Upstash where it differs.

#![warn(missing_docs)]

pub mod app;
pub mod child;
pub mod export;
pub mod http;
pub mod invariants;
pub mod logs;
pub mod redis;
pub mod rig;
pub mod sync_report;
pub mod tls_redis;
pub mod upstash;
