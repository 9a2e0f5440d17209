//! Test support shared by the test suites (hidden from the docs).

pub mod child;
pub mod http;
pub mod invariants;
pub mod redis;
