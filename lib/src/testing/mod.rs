//! Test support shared by the test suites (hidden from the docs).

pub mod redis;
