//! CQC public API: the home's location record (ratings per key question,
//! inspection dates, latest report).
//!
//! `GET {base}/locations/{locationId}` with the `Ocp-Apim-Subscription-Key`
//! header. The directory id of a real home *is* its CQC location id, so no
//! search is needed; an unknown id (a demo home) is a 404, which means "no
//! record", not a failure.
//!
//! What the real API does that this adapter handles (evidence in
//! `docs`-style short-hands of the project's API audit):
//! - **Deregistered locations answer 200**, with `registrationStatus:
//!   "Deregistered"` and a `deregistrationDate` (Skills for Care's
//!   `NMDSdevopsServiceAdm/DataEngineering`
//!   `schemas/cqc_locations_schema_polars.py` carries `deregistrationDate`;
//!   a project that ran the API live fetched "one deregistered" location and
//!   notes the list "includes deregistered locations"). Such a record is
//!   loaded with `deregistered: true` and its date, and its ratings are
//!   moved to `historicalRatings`: `overallRating` and `keyQuestionRatings`
//!   stay empty, because a closed home has no current rating.
//! - **Single Assessment Framework** ratings live under
//!   `assessment[].ratings.asgRatings[]` (`rating`, `status: "Current"` or
//!   `assessmentPlanStatus: "Active"`, `assessmentDate`,
//!   `keyQuestionRatings[]`), sometimes with no `currentRatings` at all, or
//!   with an older one (same sources; the NMDS pipeline flattens
//!   `asgRatings` next to `overall`). The newer of the two wins, and
//!   `ratingSource` says which one it was.
//! - **History**: `historicRatings[]` holds earlier ratings
//!   (`reportDate`, `reportLinkId`, `overall.{rating, keyQuestionRatings}`;
//!   the NMDS polars schema above). The newest one dated before the
//!   rating in force gives `ratingTrend` (improved, declined or unchanged,
//!   since the current rating's date).
//! - **Registered manager**: `registeredManagerAbsentDate` is set while a
//!   location has no registered manager (same schema; read as "no
//!   registered manager since" by public clients of the API), and
//!   `regulatedActivities[].contacts[].personRoles[]` lists
//!   `Registered Manager` when one is in post. Only whether one is in post
//!   is kept, never a name (`registeredManager`).
//! - **Reports**: `reports[].{linkId, reportDate, reportUri, reportType}`;
//!   the newest is `latestReport`, with the location's public reports page.
//! - **Spelling** varies ("Requires Improvement" under the SAF, "Requires
//!   improvement" otherwise): ratings are normalised to CQC's printed form
//!   (`CqcRating::label`); texts that are not one of the four ratings
//!   ("Inspected but not rated", "Insufficient evidence to rate") are kept
//!   as sent.

use serde_json::Value;

use super::config::SourceConfig;
use super::http::{endpoint, send_json, str_at, transient, Body, Call};
use super::SourceOutcome;
use crate::directory::{CqcRating, Home};
use crate::facts::cqc::{
    Cqc, HistoricalRatings, KeyQuestionRatings, LatestReport, PastRating, RatingTrend,
    RegisteredManager,
};
use crate::facts::to_stored;

/// Header carrying the subscription key.
pub(crate) const KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";

/// The report's CQC keys for the API's key-question names.
const KEY_QUESTIONS: [(&str, &str); 5] = [
    ("safe", "safe"),
    ("effective", "effective"),
    ("caring", "caring"),
    ("responsive", "responsive"),
    ("well-led", "wellLed"),
];

pub(crate) async fn fetch(
    client: &reqwest::Client,
    settings: &SourceConfig,
    home: &Home,
) -> SourceOutcome {
    let Some(key) = settings.key() else {
        return SourceOutcome::NotConfigured;
    };
    let url = endpoint(&settings.base_url, &["locations", home.id.trim()]);
    let request = client
        .get(url)
        .header(KEY_HEADER, key)
        .header(reqwest::header::ACCEPT, "application/json");
    match send_json(request, &Call::new("CQC", settings, true)).await {
        Ok(Body::NotFound) => SourceOutcome::NotFound,
        Ok(Body::Json(body)) => match summarise(&body) {
            Some(record) => SourceOutcome::Loaded(to_stored(&record)),
            None => SourceOutcome::Failed(transient("CQC sent an unexpected location record")),
        },
        Err(failure) => SourceOutcome::Failed(failure),
    }
}

/// A rating as CQC prints it ("requires Improvement" → "Requires
/// improvement"); other texts as sent.
pub(crate) fn normalise_rating(s: &str) -> String {
    CqcRating::parse(s).map_or_else(|| s.to_owned(), |r| r.label().to_owned())
}

/// One set of ratings: overall, per key question, and its date.
#[derive(Debug, Default)]
struct Ratings {
    overall: Option<String>,
    date: Option<String>,
    key_questions: KeyQuestionRatings,
    source: &'static str,
}

fn key_questions(list: Option<&Vec<Value>>) -> KeyQuestionRatings {
    let mut out = KeyQuestionRatings::default();
    for item in list.into_iter().flatten() {
        let (Some(name), Some(rating)) = (str_at(item, "/name"), str_at(item, "/rating")) else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if let Some((_, key)) = KEY_QUESTIONS.iter().find(|(n, _)| *n == name) {
            out.set(key, normalise_rating(rating));
        }
    }
    out
}

/// The `currentRatings` block (inspection framework).
fn current_ratings(body: &Value) -> Option<Ratings> {
    let overall = body.pointer("/currentRatings/overall");
    let list = overall
        .and_then(|o| o.get("keyQuestionRatings"))
        .or_else(|| body.pointer("/currentRatings/keyQuestionRatings"))
        .and_then(Value::as_array);
    let r = Ratings {
        overall: overall
            .and_then(|o| str_at(o, "/rating"))
            .map(normalise_rating),
        date: overall
            .and_then(|o| str_at(o, "/reportDate"))
            .map(str::to_owned),
        key_questions: key_questions(list),
        source: "currentRatings",
    };
    (r.overall.is_some() || !r.key_questions.is_empty()).then_some(r)
}

/// The newest current Single Assessment Framework rating
/// (`assessment[].ratings.asgRatings[]`).
fn assessment_ratings(body: &Value) -> Option<Ratings> {
    let mut best: Option<Ratings> = None;
    for assessment in body
        .get("assessment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let published = str_at(assessment, "/assessmentPlanPublishedDateTime");
        for entry in assessment
            .pointer("/ratings/asgRatings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // A superseded or withdrawn plan is not the current rating.
            let status_ok =
                str_at(entry, "/status").is_none_or(|s| s.eq_ignore_ascii_case("current"));
            let plan_ok = str_at(entry, "/assessmentPlanStatus")
                .is_none_or(|s| s.eq_ignore_ascii_case("active"));
            let Some(rating) = str_at(entry, "/rating").filter(|_| status_ok && plan_ok) else {
                continue;
            };
            let date = str_at(entry, "/assessmentDate")
                .or(published)
                .map(|d| d.split('T').next().unwrap_or(d).to_owned());
            let candidate = Ratings {
                overall: Some(normalise_rating(rating)),
                date,
                key_questions: key_questions(
                    entry.get("keyQuestionRatings").and_then(Value::as_array),
                ),
                source: "assessment",
            };
            if best.as_ref().is_none_or(|b| {
                candidate.date.as_deref().unwrap_or("") > b.date.as_deref().unwrap_or("")
            }) {
                best = Some(candidate);
            }
        }
    }
    best
}

/// The ratings in force: the newer of `currentRatings` and the SAF
/// assessment (ISO dates compare as text; an undated one loses).
fn ratings_in_force(body: &Value) -> Option<Ratings> {
    match (current_ratings(body), assessment_ratings(body)) {
        (Some(c), Some(a)) => {
            if a.date.as_deref().unwrap_or("") > c.date.as_deref().unwrap_or("") {
                Some(a)
            } else {
                Some(c)
            }
        }
        (c, a) => c.or(a),
    }
}

/// The rating in force against the newest earlier overall rating in
/// `historicRatings[]`: `{direction, current, since, previous,
/// previousDate}`; `None` without a current overall rating or an earlier
/// one.
fn rating_trend(body: &Value, current: &Ratings) -> Option<RatingTrend> {
    let now = current.overall.as_deref().and_then(CqcRating::parse)?;
    let since = current.date.as_deref().map(|d| d.get(..10).unwrap_or(d));
    let (previous, previous_date) = body
        .get("historicRatings")?
        .as_array()?
        .iter()
        .filter_map(|h| {
            let rating = CqcRating::parse(str_at(h, "/overall/rating")?)?;
            let date = str_at(h, "/reportDate").map(|d| d.get(..10).unwrap_or(d));
            Some((rating, date))
        })
        // The current rating may be listed too: only earlier ones count.
        .filter(|(_, d)| match (d, since) {
            (Some(d), Some(s)) => *d < s,
            _ => true,
        })
        .max_by(|a, b| a.1.cmp(&b.1))?;
    let direction = match now.cmp(&previous) {
        std::cmp::Ordering::Greater => "improved",
        std::cmp::Ordering::Less => "declined",
        std::cmp::Ordering::Equal => "unchanged",
    };
    Some(RatingTrend {
        direction: Some(direction.to_owned()),
        current: Some(now.label().to_owned()),
        since: since.map(str::to_owned),
        previous: Some(previous.label().to_owned()),
        previous_date: previous_date.map(str::to_owned),
    })
}

/// Every earlier overall rating in `historicRatings[]`, newest first (at
/// most ten), as `{date, rating}`.
fn rating_history(body: &Value) -> Vec<PastRating> {
    let mut list: Vec<(Option<&str>, CqcRating)> = body
        .get("historicRatings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| {
            let rating = CqcRating::parse(str_at(h, "/overall/rating")?)?;
            Some((
                str_at(h, "/reportDate").map(|d| d.get(..10).unwrap_or(d)),
                rating,
            ))
        })
        .collect();
    list.sort_by(|a, b| b.0.cmp(&a.0));
    list.truncate(10);
    list.into_iter()
        .map(|(date, rating)| PastRating {
            date: date.map(str::to_owned),
            rating: rating.label().to_owned(),
        })
        .collect()
}

/// Whether a registered manager is in post: no (with the date) when CQC
/// records one absent, yes when a contact has the role, else unknown.
/// Never a name.
fn registered_manager(body: &Value) -> RegisteredManager {
    let absent_since =
        str_at(body, "/registeredManagerAbsentDate").map(|d| d.get(..10).unwrap_or(d).to_owned());
    let named = body
        .get("regulatedActivities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("contacts").and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("personRoles").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .any(|role| role.trim().eq_ignore_ascii_case("registered manager"));
    let in_post = if absent_since.is_some() {
        Some(false)
    } else if named {
        Some(true)
    } else {
        None
    };
    RegisteredManager {
        in_post,
        absent_since,
    }
}

/// The newest report with a link id, as `{linkId, reportDate, reportType,
/// reportUri}`.
fn latest_report(body: &Value) -> Option<LatestReport> {
    body.get("reports")
        .and_then(Value::as_array)
        .and_then(|reports| {
            reports
                .iter()
                .filter(|r| str_at(r, "/linkId").is_some())
                .max_by(|a, b| {
                    str_at(a, "/reportDate")
                        .unwrap_or("")
                        .cmp(str_at(b, "/reportDate").unwrap_or(""))
                })
        })
        .map(|r| {
            let text = |p: &str| str_at(r, p).map(str::to_owned);
            LatestReport {
                link_id: text("/linkId"),
                report_date: text("/reportDate"),
                report_type: text("/reportType"),
                report_uri: text("/reportUri"),
            }
        })
}

/// The registered beds: typed Int32 by one public schema, "string" by
/// another.
fn beds(body: &Value) -> Option<u64> {
    let b = body.get("numberOfBeds")?;
    b.as_u64()
        .or_else(|| b.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The useful part of a location record; `None` when it is not one.
pub(crate) fn summarise(body: &Value) -> Option<Cqc> {
    let location_id = str_at(body, "/locationId")?;
    let text = |p: &str| str_at(body, p).map(str::to_owned);
    let registration_status = text("/registrationStatus");
    let deregistered = registration_status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("deregistered"))
        || str_at(body, "/deregistrationDate").is_some();
    let ratings = ratings_in_force(body).unwrap_or_default();
    let trend = (!deregistered)
        .then(|| rating_trend(body, &ratings))
        .flatten();
    let rated = ratings.overall.is_some() || !ratings.key_questions.is_empty();
    let source = rated.then(|| ratings.source.to_owned());
    // A deregistered home's ratings describe a service that no longer
    // runs: they are kept, marked historical, never shown as current.
    let (current, historical) = if deregistered {
        let historical = rated.then_some(HistoricalRatings {
            overall_rating: ratings.overall,
            rating_date: ratings.date,
            key_question_ratings: ratings.key_questions,
            rating_source: source,
        });
        (Ratings::default(), historical)
    } else {
        (ratings, None)
    };
    Some(Cqc {
        location_id: Some(location_id.to_owned()),
        name: text("/name"),
        postcode: text("/postalCode"),
        registration_status,
        deregistered: Some(deregistered),
        deregistration_date: text("/deregistrationDate"),
        number_of_beds: beds(body),
        rating_source: (!deregistered && rated).then(|| current.source.to_owned()),
        overall_rating: current.overall,
        rating_date: current.date,
        key_question_ratings: current.key_questions,
        historical_ratings: historical,
        last_inspection_date: text("/lastInspection/date"),
        latest_report: latest_report(body),
        report_count: Some(
            body.get("reports")
                .and_then(Value::as_array)
                .map_or(0, Vec::len) as u64,
        ),
        profile_url: Some(format!("https://www.cqc.org.uk/location/{location_id}")),
        reports_url: Some(format!(
            "https://www.cqc.org.uk/location/{location_id}/reports"
        )),
        rating_trend: trend,
        rating_history: rating_history(body),
        registered_manager: Some(registered_manager(body)),
        cached_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The record as it is stored.
    fn summarise(body: &Value) -> Option<Value> {
        super::summarise(body).map(|record| to_stored(&record))
    }

    #[test]
    fn summarises_a_location_record() {
        let body = json!({
            "locationId": "1-123",
            "name": "Oak Lodge",
            "postalCode": "AB1 2CD",
            "registrationStatus": "Registered",
            "numberOfBeds": 40,
            "currentRatings": {"overall": {
                "rating": "Good", "reportDate": "2024-01-02",
                "keyQuestionRatings": [
                    {"name": "Safe", "rating": "Requires improvement"},
                    {"name": "Well-led", "rating": "Good"},
                    {"name": "Odd", "rating": "Good"},
                    {"rating": "Good"}
                ]
            }},
            "lastInspection": {"date": "2023-12-01"},
            "reports": [
                {"linkId": "a", "reportDate": "2022-01-01"},
                {"linkId": "b", "reportDate": "2024-01-02", "reportType": "Location"}
            ]
        });
        let s = summarise(&body).unwrap();
        assert_eq!(s["overallRating"], "Good");
        assert_eq!(s["keyQuestionRatings"]["safe"], "Requires improvement");
        assert_eq!(s["keyQuestionRatings"]["wellLed"], "Good");
        assert_eq!(s["keyQuestionRatings"].as_object().unwrap().len(), 2);
        assert_eq!(s["latestReport"]["linkId"], "b");
        assert_eq!(s["reportCount"], 2);
    }

    #[test]
    fn a_newer_saf_assessment_wins_and_spelling_is_normalised() {
        let body = json!({
            "locationId": "1-5",
            "currentRatings": {"overall": {"rating": "Good", "reportDate": "2019-05-01",
                "keyQuestionRatings": [{"name": "Safe", "rating": "Good"}]}},
            "assessment": [{
                "assessmentPlanPublishedDateTime": "2024-11-02T09:00:00Z",
                "ratings": {"asgRatings": [
                    {"rating": "Requires Improvement", "status": "Current",
                     "assessmentDate": "2024-10-20",
                     "keyQuestionRatings": [{"name": "Safe", "rating": "INADEQUATE"}]},
                    {"rating": "Outstanding", "status": "Superseded", "assessmentDate": "2025-01-01"}
                ]}
            }]
        });
        let s = summarise(&body).unwrap();
        assert_eq!(s["overallRating"], "Requires improvement");
        assert_eq!(s["ratingDate"], "2024-10-20");
        assert_eq!(s["ratingSource"], "assessment");
        assert_eq!(s["keyQuestionRatings"]["safe"], "Inadequate");
        // An older assessment loses to a newer inspection.
        let mut older = body.clone();
        older["currentRatings"]["overall"]["reportDate"] = json!("2025-02-01");
        let s = summarise(&older).unwrap();
        assert_eq!(s["overallRating"], "Good");
        assert_eq!(s["ratingSource"], "currentRatings");
        // SAF only.
        let saf_only = json!({"locationId": "1-6", "assessment": body["assessment"]});
        assert_eq!(
            summarise(&saf_only).unwrap()["overallRating"],
            "Requires improvement"
        );
    }

    #[test]
    fn deregistered_ratings_are_historical() {
        let body = json!({
            "locationId": "1-7", "registrationStatus": "Deregistered",
            "deregistrationDate": "2023-08-31", "numberOfBeds": "30",
            "currentRatings": {"overall": {"rating": "Good", "reportDate": "2021-01-01"}}
        });
        let s = summarise(&body).unwrap();
        assert_eq!(s["deregistered"], true);
        assert_eq!(s["deregistrationDate"], "2023-08-31");
        assert!(s["overallRating"].is_null());
        assert!(s["keyQuestionRatings"].as_object().unwrap().is_empty());
        assert_eq!(s["historicalRatings"]["overallRating"], "Good");
        assert_eq!(s["numberOfBeds"], 30);
    }

    #[test]
    fn the_trend_compares_with_the_newest_earlier_rating() {
        let body = |historic: Value| {
            json!({
                "locationId": "1-9",
                "currentRatings": {"overall": {"rating": "Requires improvement", "reportDate": "2025-03-01"}},
                "historicRatings": historic,
            })
        };
        let s = summarise(&body(json!([
            {"reportDate": "2025-03-01", "overall": {"rating": "Requires improvement"}},
            {"reportDate": "2022-06-10", "overall": {"rating": "Good"}},
            {"reportDate": "2019-01-01", "overall": {"rating": "Inadequate"}}
        ])))
        .unwrap();
        assert_eq!(s["ratingTrend"]["direction"], "declined");
        assert_eq!(s["ratingTrend"]["previous"], "Good");
        assert_eq!(s["ratingTrend"]["previousDate"], "2022-06-10");
        assert_eq!(s["ratingTrend"]["since"], "2025-03-01");
        assert_eq!(
            s["ratingHistory"][1],
            json!({"date": "2022-06-10", "rating": "Good"})
        );
        let up = summarise(&body(
            json!([{"reportDate": "2022-06-10", "overall": {"rating": "Inadequate"}}]),
        ))
        .unwrap();
        assert_eq!(up["ratingTrend"]["direction"], "improved");
        let same = summarise(&body(
            json!([{"reportDate": "2022-06-10", "overall": {"rating": "Requires Improvement"}}]),
        ))
        .unwrap();
        assert_eq!(same["ratingTrend"]["direction"], "unchanged");
        // No earlier rating: no trend.
        assert!(summarise(&body(json!([]))).unwrap()["ratingTrend"].is_null());
    }

    #[test]
    fn the_registered_manager_is_in_post_absent_or_unknown_never_named() {
        let named = json!({"locationId": "1-1", "regulatedActivities": [{"name": "Accommodation",
            "contacts": [{"personGivenName": "Alex", "personFamilyName": "Example",
                          "personRoles": ["Registered Manager"]}]}]});
        let s = summarise(&named).unwrap();
        assert_eq!(s["registeredManager"]["inPost"], true);
        assert!(!s.to_string().contains("Alex"));
        let absent = json!({"locationId": "1-1", "registeredManagerAbsentDate": "2025-11-03"});
        let s = summarise(&absent).unwrap();
        assert_eq!(s["registeredManager"]["inPost"], false);
        assert_eq!(s["registeredManager"]["absentSince"], "2025-11-03");
        let unknown = summarise(&json!({"locationId": "1-1"})).unwrap();
        assert!(unknown["registeredManager"]["inPost"].is_null());
    }

    #[test]
    fn odd_bodies_are_not_records() {
        assert!(summarise(&json!([])).is_none());
        assert!(summarise(&json!({"name": "x"})).is_none());
        assert!(summarise(&json!({"locationId": 5})).is_none());
        // A bare record still summarises.
        assert!(summarise(&json!({"locationId": "1-1", "reports": "x"})).is_some());
    }
}
