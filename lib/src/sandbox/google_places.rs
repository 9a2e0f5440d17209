//! The fake Google Places API (New): `POST /v1/places:searchText` (a
//! similarly named decoy first) and `GET /v1/places/{id}`, behind the API
//! key and a required field mask, with the branded-name and huge-name
//! quirks.

use http::Method;
use serde_json::{json, Value};

use super::data::{date_days_ago, demo_quirk, h};
use super::faults::Quirk;
use super::{
    counted, huge_name, not_found_route, reply, uncounted, Api, Reply, Req, Routed, State,
};
use crate::directory::Home;
use crate::model::SourceType;

/// The route: the text search counted under the home its query names, the
/// details call under the home of the place id.
pub(super) fn route(state: &State, req: &Req) -> Routed {
    match (&req.method, req.segments.as_slice()) {
        (&Method::POST, [search]) if search == "places:searchText" => {
            let query = serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|v| {
                    v.get("textQuery")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            let Some(query) = query else {
                let r = reply(
                    400,
                    &json!({"error": {"code": 400, "message": "Invalid JSON payload: textQuery is required.", "status": "INVALID_ARGUMENT"}}),
                );
                return uncounted(r);
            };
            let lower = query.to_lowercase();
            // The adapter asks for "<name>, <postcode or town>"; the name
            // must end at a word boundary ("Home 1" is not "Home 11").
            let home = state.homes.iter().find(|h| {
                let name = h.name.trim().to_lowercase();
                lower
                    .strip_prefix(&name)
                    .is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_alphanumeric()))
            });
            let key = home.map_or_else(|| query.clone(), |h| h.id.clone());
            let answer =
                google_auth(state, req).unwrap_or_else(|| reply(200, &places_search(home)));
            counted(SourceType::GooglePlaces, key, answer)
        }
        (&Method::GET, [places, id]) if places == "places" => {
            // Counted: with a cached place id this is a fetch's only call.
            let home = state.homes.iter().find(|h| place_id(h) == *id);
            let answer = google_auth(state, req).unwrap_or_else(|| match home {
                Some(home) => reply(200, &place_details(home)),
                None => reply(404, &json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}})),
            });
            let key = home.map_or_else(|| id.clone(), |h| h.id.clone());
            counted(SourceType::GooglePlaces, key, answer)
        }
        _ => uncounted(not_found_route(Api::Google)),
    }
}

fn google_auth(state: &State, req: &Req) -> Option<Reply> {
    match req.header("X-Goog-Api-Key") {
        None => Some(reply(
            403,
            &json!({"error": {"code": 403, "message": "The request is missing a valid API key.", "status": "PERMISSION_DENIED"}}),
        )),
        Some(k) if k != state.keys.google_places => Some(reply(
            400,
            &json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}),
        )),
        Some(_)
            if req
                .header("X-Goog-FieldMask")
                .is_none_or(|m| m.trim().is_empty()) =>
        {
            Some(reply(
                400,
                &json!({"error": {"code": 400, "message": "FieldMask is a required parameter. See https://cloud.google.com/apis/docs/system-parameters on how to provide it.", "status": "INVALID_ARGUMENT"}}),
            ))
        }
        Some(_) => None,
    }
}

/// Google's quirks: a branded name, or a huge one.
pub(super) fn quirk(home: Option<&Home>, quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::Branded => home.map(|h| reply(200, &places_search_as(Some(h), Some(quirk)))),
        Quirk::HugeString => home.map(|h| {
            let mut v = places_search(Some(h));
            v["places"][1]["displayName"]["text"] = json!(format!("{} {}", h.name, huge_name()));
            reply(200, &v)
        }),
        _ => None,
    }
}

/// The sandbox's Google place id of a home.
fn place_id(home: &Home) -> String {
    format!("ChIJsbx{:016x}", h(&home.id, "place"))
}

fn address_line(home: &Home) -> String {
    [
        home.address.as_deref(),
        Some(home.city.as_str()),
        home.postcode.as_deref(),
        Some("UK"),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// `POST /v1/places:searchText`: a similarly named decoy first, then the
/// home with every field the search's mask asks for.
pub(super) fn places_search(home: Option<&Home>) -> Value {
    let quirk = home.and_then(|h| demo_quirk(h, |q| matches!(q, Quirk::Branded)));
    places_search_as(home, quirk.as_ref())
}

/// The search, showing `quirk` (a brand around the name) when given.
fn places_search_as(home: Option<&Home>, quirk: Option<&Quirk>) -> Value {
    let Some(home) = home else {
        // The real API answers an empty object when nothing matches.
        return json!({});
    };
    let mut place = place_details(home);
    if quirk == Some(&Quirk::Branded) {
        // As real names read: "Barchester - Westgate House Care Home".
        place["displayName"]["text"] =
            json!(format!("Lakeland Care Group - {} Care Home", home.name));
    }
    json!({"places": [
        {"id": format!("ChIJdecoy{:012x}", h(&home.id, "decoy") & 0xffff_ffff_ffff),
         "displayName": {"text": format!("{} Day Centre", home.name), "languageCode": "en"},
         "formattedAddress": format!("1 High Street, {}, UK", home.city)},
        place,
    ]})
}

const REVIEW_TEXTS: [&str; 6] = [
    "The staff are kind and patient, and Mum is always clean and well dressed when we visit.",
    "Lovely garden and plenty of activities. Communication from the office could be better.",
    "Dad settled in quickly. The food is home-cooked and the carers know him by name.",
    "Visiting is easy and we are always offered a cup of tea. Some staff turnover lately.",
    "Excellent dementia care; the nurses explained everything to us.",
    "Clean, calm and friendly. Parking can be difficult at weekends.",
];

/// `GET /v1/places/{id}`.
fn place_details(home: &Home) -> Value {
    let rating = (35 + h(&home.id, "g-rating") % 16) as f64 / 10.0;
    let count = 8 + h(&home.id, "g-count") % 140;
    let reviews: Vec<Value> = (0..3u64)
        .map(|i| {
            let pick = (h(&home.id, &format!("review{i}")) % REVIEW_TEXTS.len() as u64) as usize;
            let stars = 3 + h(&home.id, &format!("stars{i}")) % 3;
            let text = REVIEW_TEXTS[pick];
            json!({
                "name": format!("places/{}/reviews/r{i}", place_id(home)),
                "relativePublishTimeDescription": format!("{} months ago", i * 2 + 1),
                "rating": stars,
                "text": {"text": text, "languageCode": "en"},
                "originalText": {"text": text, "languageCode": "en"},
                "authorAttribution": {"displayName": format!("Reviewer {}", h(&home.id, &format!("a{i}")) % 1000),
                                      "uri": format!("https://www.google.com/maps/contrib/{}", h(&home.id, &format!("c{i}")) % 1_000_000_000),
                                      "photoUri": format!("https://lh3.googleusercontent.com/a/sandbox-{}", h(&home.id, &format!("ph{i}")) % 1_000_000)},
                "googleMapsUri": format!("https://www.google.com/maps/reviews/sandbox-{}-{i}", h(&home.id, "rv") % 1_000_000),
                "publishTime": format!("{}T10:00:00Z", date_days_ago(home, &format!("p{i}"), 400)),
            })
        })
        .collect();
    json!({
        "id": place_id(home),
        "displayName": {"text": home.name, "languageCode": "en"},
        "formattedAddress": address_line(home),
        "rating": rating,
        "userRatingCount": count,
        "googleMapsUri": format!("https://maps.google.com/?cid={}", h(&home.id, "cid") % 10_000_000_000_000),
        "websiteUri": home.website,
        "reviews": reviews,
    })
}
