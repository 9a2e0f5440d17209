//! Google Places API (New): the home's public rating and recent reviews.
//!
//! Two calls: `POST {base}/places:searchText` finds the place id from the
//! home's name and postcode, then `GET {base}/places/{id}` reads rating,
//! review count and reviews. Both carry the key in `X-Goog-Api-Key` and a
//! field mask in `X-Goog-FieldMask` (the API refuses requests without one,
//! and bills by the fields asked for). The key is only ever put in that
//! header: it is not in the URL, and no message we produce quotes a URL or
//! an upstream body.

use serde_json::{json, Value};

use super::config::SourceSettings;
use super::http::{
    endpoint, name_similarity, normalise_postcode, send_json, str_at, transient, Body,
};
use super::SourceOutcome;
use crate::directory::Home;

/// Header carrying the key.
pub const KEY_HEADER: &str = "X-Goog-Api-Key";
/// Header carrying the field mask.
pub const FIELD_MASK_HEADER: &str = "X-Goog-FieldMask";

const SEARCH_FIELDS: &str = "places.id,places.displayName,places.formattedAddress";
const DETAIL_FIELDS: &str =
    "id,displayName,formattedAddress,rating,userRatingCount,reviews,googleMapsUri,websiteUri";
/// Reviews kept per home (the API returns at most five).
const MAX_REVIEWS: usize = 5;

pub(crate) async fn fetch(
    client: &reqwest::Client,
    settings: &SourceSettings,
    home: &Home,
) -> SourceOutcome {
    let Some(key) = settings.key() else {
        return SourceOutcome::NotConfigured;
    };
    let locality = home
        .postcode
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(&home.city);
    let body = json!({
        "textQuery": format!("{}, {}", home.name.trim(), locality.trim()),
        "regionCode": "GB",
        "pageSize": 5,
    });
    let search = client
        .post(endpoint(&settings.base_url, &["places:searchText"]))
        .header(KEY_HEADER, key)
        .header(FIELD_MASK_HEADER, SEARCH_FIELDS)
        .json(&body);
    let places = match send_json(search, settings.timeout, "Google Places").await {
        Ok(Body::Json(v)) if v.is_object() => v,
        Ok(Body::Json(_)) => {
            return SourceOutcome::Failed(transient(
                "Google Places sent an unexpected search result",
            ))
        }
        Ok(Body::NotFound) => return SourceOutcome::NotFound,
        Err(failure) => return SourceOutcome::Failed(failure),
    };
    // No match is an empty object, not an empty list.
    let candidates = places
        .get("places")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(place_id) = pick_place(home, &candidates) else {
        return SourceOutcome::NotFound;
    };

    let details = client
        .get(endpoint(&settings.base_url, &["places", &place_id]))
        .header(KEY_HEADER, key)
        .header(FIELD_MASK_HEADER, DETAIL_FIELDS);
    match send_json(details, settings.timeout, "Google Places").await {
        Ok(Body::Json(v)) if v.is_object() => SourceOutcome::Loaded(summarise(&place_id, &v)),
        Ok(Body::Json(_)) => {
            SourceOutcome::Failed(transient("Google Places sent unexpected place details"))
        }
        Ok(Body::NotFound) => SourceOutcome::NotFound,
        Err(failure) => SourceOutcome::Failed(failure),
    }
}

/// The search result that is this home: Google ranks by relevance, so the
/// first with a similar name wins, and one in the home's postcode beats it.
pub(crate) fn pick_place(home: &Home, places: &[Value]) -> Option<String> {
    let home_pc = home
        .postcode
        .as_deref()
        .map(normalise_postcode)
        .filter(|p| !p.is_empty());
    let mut best: Option<(f64, &str)> = None;
    for place in places {
        let (Some(id), Some(name)) = (str_at(place, "/id"), str_at(place, "/displayName/text"))
        else {
            continue;
        };
        let similarity = name_similarity(&home.name, name);
        if similarity < 0.5 {
            continue;
        }
        let same_postcode = match (&home_pc, str_at(place, "/formattedAddress")) {
            (Some(pc), Some(addr)) => normalise_postcode(addr).contains(pc.as_str()),
            _ => false,
        };
        let score = similarity + if same_postcode { 1.0 } else { 0.0 };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, id));
        }
    }
    best.map(|(_, id)| id.to_owned())
}

fn summarise(place_id: &str, v: &Value) -> Value {
    let reviews: Vec<Value> = v
        .get("reviews")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_REVIEWS)
        .map(|r| {
            json!({
                "rating": r.get("rating").and_then(Value::as_f64),
                "text": str_at(r, "/text/text").or_else(|| str_at(r, "/originalText/text")),
                "publishTime": str_at(r, "/publishTime"),
                "relativeTime": str_at(r, "/relativePublishTimeDescription"),
                "author": str_at(r, "/authorAttribution/displayName"),
            })
        })
        .collect();
    json!({
        "placeId": str_at(v, "/id").unwrap_or(place_id),
        "name": str_at(v, "/displayName/text"),
        "address": str_at(v, "/formattedAddress"),
        "rating": v.get("rating").and_then(Value::as_f64),
        "userRatingCount": v.get("userRatingCount").and_then(Value::as_u64),
        "googleMapsUri": str_at(v, "/googleMapsUri"),
        "websiteUri": str_at(v, "/websiteUri"),
        "reviews": reviews,
    })
}
