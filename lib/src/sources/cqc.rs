//! CQC public API: the home's location record (ratings per key question,
//! inspection dates, latest report).
//!
//! `GET {base}/locations/{locationId}` with the `Ocp-Apim-Subscription-Key`
//! header. The directory id of a real home *is* its CQC location id, so no
//! search is needed; a demo id (or a deregistered one) is a 404, which means
//! "no record", not a failure.

use serde_json::{json, Map, Value};

use super::config::SourceSettings;
use super::http::{endpoint, send_json, str_at, transient, Body};
use super::SourceOutcome;
use crate::directory::Home;

/// Header carrying the subscription key.
pub const KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";

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
    settings: &SourceSettings,
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
    match send_json(request, settings.timeout, "CQC").await {
        Ok(Body::NotFound) => SourceOutcome::NotFound,
        Ok(Body::Json(body)) => match summarise(&body) {
            Some(data) => SourceOutcome::Loaded(data),
            None => SourceOutcome::Failed(transient("CQC sent an unexpected location record")),
        },
        Err(failure) => SourceOutcome::Failed(failure),
    }
}

/// The useful part of a location record; `None` when it is not one.
pub(crate) fn summarise(body: &Value) -> Option<Value> {
    let location_id = str_at(body, "/locationId")?;
    let overall = body.pointer("/currentRatings/overall");

    let mut key_questions = Map::new();
    let list = overall
        .and_then(|o| o.get("keyQuestionRatings"))
        .or_else(|| body.pointer("/currentRatings/keyQuestionRatings"))
        .and_then(Value::as_array);
    for item in list.into_iter().flatten() {
        let (Some(name), Some(rating)) = (str_at(item, "/name"), str_at(item, "/rating")) else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if let Some((_, key)) = KEY_QUESTIONS.iter().find(|(n, _)| *n == name) {
            key_questions.insert((*key).to_owned(), json!(rating));
        }
    }

    let latest_report = body
        .get("reports")
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
            json!({
                "linkId": str_at(r, "/linkId"),
                "reportDate": str_at(r, "/reportDate"),
                "reportType": str_at(r, "/reportType"),
            })
        });

    Some(json!({
        "locationId": location_id,
        "name": str_at(body, "/name"),
        "postcode": str_at(body, "/postalCode"),
        "registrationStatus": str_at(body, "/registrationStatus"),
        "numberOfBeds": body.get("numberOfBeds").and_then(Value::as_u64),
        "overallRating": overall.and_then(|o| str_at(o, "/rating")),
        "ratingDate": overall.and_then(|o| str_at(o, "/reportDate")),
        "keyQuestionRatings": key_questions,
        "lastInspectionDate": str_at(body, "/lastInspection/date"),
        "latestReport": latest_report,
        "reportCount": body.get("reports").and_then(Value::as_array).map_or(0, Vec::len),
        "profileUrl": format!("https://www.cqc.org.uk/location/{location_id}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn odd_bodies_are_not_records() {
        assert!(summarise(&json!([])).is_none());
        assert!(summarise(&json!({"name": "x"})).is_none());
        assert!(summarise(&json!({"locationId": 5})).is_none());
        // A bare record still summarises.
        assert!(summarise(&json!({"locationId": "1-1", "reports": "x"})).is_some());
    }
}
