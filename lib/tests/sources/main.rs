//! The source adapters' suites, one test binary (one link instead of
//! four), each suite its own module:
//!
//! - [`sandbox`]: every outcome of every source against the sandbox, one
//!   test per fault kind;
//! - [`real_behaviours`]: one test per real misbehaviour of the services;
//! - [`companies_house`]: the sixth source, its cache and its fixture;
//! - [`real_export`]: the report on a directory like the operators' export.
//!
//! Two suites keep their own binaries on purpose: `bounded_memory` reads
//! the process's peak memory, and `polite_sources` reads the process-wide
//! log capture, which other suites' lines would pollute.

mod companies_house;
mod real_behaviours;
mod real_export;
mod sandbox;
