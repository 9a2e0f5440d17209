//! The store's suites, one test binary (one link instead of three; each
//! suite its own module, each test on its own key prefix of the private
//! test Redis, which this process starts once for all of them):
//!
//! - [`contract`]: the job store contract on memory, Redis and Redis over
//!   TLS;
//! - [`source_cache`]: the source cache and upstream lease contract on both
//!   stores, then whole jobs through the engine;
//! - [`upstash`]: the Redis store against Upstash's differences.

mod contract;
mod source_cache;
mod upstash;
