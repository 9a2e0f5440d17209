//! Google Places API (New): the home's public rating and recent reviews.
//!
//! One billed call per home: `POST {base}/places:searchText` whose field
//! mask asks for the rating, review count and reviews too, so no details
//! call is needed (the search and details field masks name the same
//! `Place` fields, `places.`-prefixed for the search: `googleapis/googleapis`
//! `google/maps/places/v1/places_service.proto`). When the place id is
//! already known (the shared source cache keeps place ids, which Google's
//! terms exempt from caching limits, and nothing else of Google's content:
//! https://developers.google.com/maps/documentation/places/web-service/policies),
//! the one call is `GET {base}/places/{id}` instead. Both carry the key in
//! `X-Goog-Api-Key` and a field mask in `X-Goog-FieldMask` (the API refuses
//! requests without one, and bills by the fields asked for). The key is only
//! ever put in that header: it is not in the URL, and no message we produce
//! quotes a URL or an upstream body.
//!
//! Real display names carry the operator's brand ("Barchester - Westgate
//! House Care Home", "Trowbridge Oaks Care Home - Bupa": seed
//! `GOOGLE_PLACES_TEST_RESULTS.md`), so a place whose name *contains* every
//! significant word of the home's name is accepted even when the word-set
//! similarity is low. Review author attribution (name, `uri`, `photoUri`),
//! which Google's policy requires to be shown with a review, is kept.

use serde_json::{json, Value};

use super::config::SourceConfig;
use super::http::{
    endpoint, name_contains, name_similarity, normalise_postcode, send_json, str_at, text_at,
    transient, Body, Call, MAX_TEXT_CHARS,
};
use super::SourceOutcome;
use crate::directory::Home;
use crate::facts::google::{Place, Review};
use crate::facts::to_stored;

/// Header carrying the key.
pub(crate) const KEY_HEADER: &str = "X-Goog-Api-Key";
/// Header carrying the field mask.
pub(crate) const FIELD_MASK_HEADER: &str = "X-Goog-FieldMask";

/// The search's field mask: identity and everything the report shows.
pub(crate) const SEARCH_FIELDS: &str = "places.id,places.displayName,places.formattedAddress,places.rating,places.userRatingCount,places.reviews,places.googleMapsUri,places.websiteUri";
/// The details call's field mask (same fields, no prefix).
pub(crate) const DETAIL_FIELDS: &str =
    "id,displayName,formattedAddress,rating,userRatingCount,reviews,googleMapsUri,websiteUri";
/// Reviews kept per home (the API returns at most five).
const MAX_REVIEWS: usize = 5;

/// Asks about `home`; with `known_place_id`, reads that place directly
/// (one details call) instead of searching.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    settings: &SourceConfig,
    home: &Home,
    known_place_id: Option<&str>,
) -> SourceOutcome {
    let Some(key) = settings.key() else {
        return SourceOutcome::NotConfigured;
    };
    let call = Call::new("Google Places", settings, true);
    if let Some(id) = known_place_id {
        return read_place(client, &call, settings, key, id).await;
    }
    let places = match search(client, &call, settings, key, home).await {
        Ok(places) => places,
        Err(outcome) => return outcome,
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
    match candidates
        .iter()
        .find(|p| str_at(p, "/id") == Some(place_id.as_str()))
    {
        Some(place) => SourceOutcome::Loaded(to_stored(&summarise(&place_id, place))),
        None => SourceOutcome::NotFound,
    }
}

/// The one details call for a place id the cache knew.
async fn read_place(
    client: &reqwest::Client,
    call: &Call<'_>,
    settings: &SourceConfig,
    key: &str,
    id: &str,
) -> SourceOutcome {
    let details = client
        .get(endpoint(&settings.base_url, &["places", id]))
        .header(KEY_HEADER, key)
        .header(FIELD_MASK_HEADER, DETAIL_FIELDS);
    match send_json(details, call).await {
        Ok(Body::Json(v)) if v.is_object() => SourceOutcome::Loaded(to_stored(&summarise(id, &v))),
        Ok(Body::Json(_)) => {
            SourceOutcome::Failed(transient("Google Places sent unexpected place details"))
        }
        // The place is gone (closed, merged): no record.
        Ok(Body::NotFound) => SourceOutcome::NotFound,
        Err(failure) => SourceOutcome::Failed(failure),
    }
}

/// The text search for the home by name and postcode (or town): its
/// answer, or the outcome that ends the fetch.
async fn search(
    client: &reqwest::Client,
    call: &Call<'_>,
    settings: &SourceConfig,
    key: &str,
    home: &Home,
) -> Result<Value, SourceOutcome> {
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
    match send_json(search, call).await {
        Ok(Body::Json(v)) if v.is_object() => Ok(v),
        Ok(Body::Json(_)) => Err(SourceOutcome::Failed(transient(
            "Google Places sent an unexpected search result",
        ))),
        Ok(Body::NotFound) => Err(SourceOutcome::NotFound),
        Err(failure) => Err(SourceOutcome::Failed(failure)),
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
        // A branded name contains the home's name: count it as a match.
        let similarity = if name_contains(name, &home.name) {
            name_similarity(&home.name, name).max(0.75)
        } else {
            name_similarity(&home.name, name)
        };
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

fn summarise(place_id: &str, v: &Value) -> Place {
    let text = |v: &Value, p: &str| str_at(v, p).map(str::to_owned);
    let reviews = v
        .get("reviews")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_REVIEWS)
        .map(|r| Review {
            rating: r.get("rating").and_then(Value::as_f64),
            text: text_at(r, "/text/text", MAX_TEXT_CHARS)
                .or_else(|| text_at(r, "/originalText/text", MAX_TEXT_CHARS))
                .map(str::to_owned),
            publish_time: text(r, "/publishTime"),
            relative_time: text(r, "/relativePublishTimeDescription"),
            author: text(r, "/authorAttribution/displayName"),
            // Attribution Google's policy requires to be shown.
            author_uri: text(r, "/authorAttribution/uri"),
            author_photo_uri: text(r, "/authorAttribution/photoUri"),
            review_uri: text(r, "/googleMapsUri"),
        })
        .collect();
    Place {
        place_id: Some(str_at(v, "/id").unwrap_or(place_id).to_owned()),
        name: text(v, "/displayName/text"),
        address: text(v, "/formattedAddress"),
        rating: v.get("rating").and_then(Value::as_f64),
        user_rating_count: v.get("userRatingCount").and_then(Value::as_u64),
        google_maps_uri: text(v, "/googleMapsUri"),
        website_uri: text(v, "/websiteUri"),
        reviews,
        cached_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(name: &str) -> Home {
        Home {
            id: "h".into(),
            name: name.into(),
            city: "Bath".into(),
            postcode: Some("BA1 2AB".into()),
            ..Home::default()
        }
    }

    #[test]
    fn branded_names_match_and_strangers_do_not() {
        let places = vec![
            json!({"id": "decoy", "displayName": {"text": "Westgate Day Centre"}}),
            json!({"id": "real", "displayName": {"text": "Barchester Healthcare - Westgate House Care Home"},
                   "formattedAddress": "1 Road, Bath BA1 2AB, UK"}),
        ];
        assert_eq!(
            pick_place(&home("Westgate House"), &places).as_deref(),
            Some("real")
        );
        let bupa =
            vec![json!({"id": "b", "displayName": {"text": "Trowbridge Oaks Care Home - Bupa"}})];
        assert_eq!(
            pick_place(&home("Trowbridge Oaks"), &bupa).as_deref(),
            Some("b")
        );
        let other = vec![json!({"id": "x", "displayName": {"text": "Oak Tree Surgery"}})];
        assert_eq!(pick_place(&home("Trowbridge Oaks"), &other), None);
    }

    #[test]
    fn attribution_is_kept_and_texts_are_cut() {
        let long = "x".repeat(10_000);
        let v = json!({"id": "p", "reviews": [{"text": {"text": long},
            "authorAttribution": {"displayName": "A", "uri": "https://maps/contrib/1", "photoUri": "https://photo/1"}}]});
        let s = summarise("p", &v);
        let review = &s.reviews[0];
        assert_eq!(review.author_uri.as_deref(), Some("https://maps/contrib/1"));
        assert_eq!(review.author_photo_uri.as_deref(), Some("https://photo/1"));
        assert_eq!(
            review.text.as_deref().map(|t| t.chars().count()),
            Some(MAX_TEXT_CHARS)
        );
    }
}
