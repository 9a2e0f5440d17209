//! The values every fake upstream's answers are built from, derived
//! deterministically from the directory's homes (same home, same body,
//! every run), so reports built in the sandbox look like real ones: stable
//! numbers and dates per home, the point of a home without coordinates,
//! and the demo homes' standing quirks. Each upstream's bodies, in its
//! real shape, are in its own file.

use super::faults::{hash_parts, Quirk};
use crate::directory::Home;

/// A stable number for (home, purpose).
pub(crate) fn h(home_id: &str, salt: &str) -> u64 {
    hash_parts(&[home_id.as_bytes(), salt.as_bytes()])
}

/// A stable value in `[0, 1)`.
fn unit(home_id: &str, salt: &str) -> f64 {
    (h(home_id, salt) >> 11) as f64 / (1u64 << 53) as f64
}

/// The home's coordinates, or a stable point in England when unknown.
pub(crate) fn coords(home: &Home) -> (f64, f64) {
    match home.latitude.zip(home.longitude) {
        Some(p) => p,
        None => (
            51.3 + unit(&home.id, "lat") * 2.2,
            -2.5 + unit(&home.id, "lon") * 2.4,
        ),
    }
}

pub(super) fn date_days_ago(home: &Home, salt: &str, max_days: u64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap_or_default();
    let days = h(&home.id, salt) % max_days.max(1);
    (base - chrono::Days::new(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The real misbehaviours some demo homes always show (the demo directory's
/// Carlisle homes, `DEMO-0055`..`DEMO-0059`), so a sandbox report meets
/// them without a fault plan.
pub(crate) fn demo_quirks(home: &Home) -> Vec<Quirk> {
    match home.id.as_str() {
        "DEMO-0055" => vec![Quirk::SafOnly],
        "DEMO-0056" => vec![Quirk::Deregistered],
        "DEMO-0057" => vec![Quirk::Branded],
        // FSA knows it under its operator's name; its site's domain is dead.
        "DEMO-0058" => vec![Quirk::ScrapeError("SCRAPE_DNS_RESOLUTION_ERROR".to_owned())],
        // A newer, worse SAF rating; its site sits behind a bot wall.
        "DEMO-0059" => vec![Quirk::SafNewer, Quirk::PageStatus(403)],
        _ => Vec::new(),
    }
}

/// The demo quirk of `home` that `pick` selects.
pub(crate) fn demo_quirk(home: &Home, pick: impl Fn(&Quirk) -> bool) -> Option<Quirk> {
    demo_quirks(home).into_iter().find(|q| pick(q))
}
