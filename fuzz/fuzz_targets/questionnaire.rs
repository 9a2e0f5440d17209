//! Fuzzes the questionnaire parser the way `POST /start` feeds it: any
//! bytes → `serde_json` → `Questionnaire::parse`.
//!
//! It must never panic, and a refusal must stay an answer a client can be
//! sent: at least one problem, a bounded number of them (lists are capped
//! by their allowed values, so a flood is one problem, not one per item),
//! each with a short path and message (rejected values are quoted
//! truncated, keys never echoed whole).
//!
//! Run from the repository root (nightly):
//! `cargo +nightly fuzz run questionnaire -- -max_total_time=60`
#![no_main]

use care_report::questionnaire::Questionnaire;
use libfuzzer_sys::fuzz_target;

/// More problems than a questionnaire has places for.
const MAX_PROBLEMS: usize = 100;
/// Longer than any message the parser writes (expected values included).
const MAX_MESSAGE_BYTES: usize = 512;
/// Longer than any path (section, question, index).
const MAX_PATH_BYTES: usize = 128;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Err(invalid) = Questionnaire::parse(&value) {
        assert!(!invalid.errors.is_empty(), "a refusal without a problem");
        assert!(
            invalid.errors.len() <= MAX_PROBLEMS,
            "{} problems",
            invalid.errors.len()
        );
        for e in &invalid.errors {
            assert!(
                e.path.len() <= MAX_PATH_BYTES,
                "{} bytes of path",
                e.path.len()
            );
            assert!(
                e.message.len() <= MAX_MESSAGE_BYTES,
                "{}: {} bytes of message",
                e.path,
                e.message.len()
            );
        }
    }
});
