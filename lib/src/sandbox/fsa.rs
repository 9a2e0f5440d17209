//! The fake FSA food hygiene API: `GET /Establishments` by name and
//! address (decoys first, so only a best match finds the home) or by
//! point and distance (the adapter's fallback), answering only requests
//! with `x-api-version: 2`, as the real API does.

use http::Method;
use serde_json::{json, Value};

use super::data::{coords, date_days_ago, h};
use super::faults::Quirk;
use super::{counted, html, not_found_route, reply, uncounted, Api, Reply, Req, Routed, State};
use crate::directory::Home;
use crate::model::SourceType;
use crate::sources::http::{name_similarity, normalise_postcode, outward_code};

/// The route: a name search counted under the home it was made for; the
/// geo fallback uncounted (its fetch was counted at the name search).
pub(super) fn route(state: &State, req: &Req) -> Routed {
    if req.method != Method::GET
        || req.segments.first().map(String::as_str) != Some("Establishments")
    {
        return uncounted(not_found_route(Api::Fsa));
    }
    // Without `x-api-version: 2` the real API gives a "misleading 404"
    // (https://apify.com/devilscrapes/uk-food-hygiene-ratings-scraper).
    let versioned = req.header("x-api-version") == Some("2");
    let geo = req
        .query
        .get("latitude")
        .zip(req.query.get("longitude"))
        .and_then(|(a, o)| a.parse::<f64>().ok().zip(o.parse::<f64>().ok()));
    if let Some(point) = geo {
        // Uncounted: the fetch was counted at its name search.
        let answer = if versioned {
            reply(200, &fsa_nearby(&fsa_near(state, req, point)))
        } else {
            fsa_unversioned()
        };
        return uncounted(answer);
    }
    let (key, registered) = fsa_named(state, req);
    let answer = if !versioned {
        fsa_unversioned()
    } else {
        reply(200, &fsa_search(registered))
    };
    counted(SourceType::Fsa, key, answer)
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim()) || name_similarity(a, b) >= 0.999
}

/// FSA's quirk: the HTML block page of a query it finds too expensive.
pub(super) fn quirk(quirk: &Quirk) -> Option<Reply> {
    (*quirk == Quirk::Html403).then(|| {
        html(
            403,
            "This is a CPU intensive query. Access to this resource is forbidden.",
        )
    })
}

/// FSA's "misleading 404" to a request without `x-api-version: 2`.
fn fsa_unversioned() -> Reply {
    reply(
        404,
        &json!({"Message": "No HTTP resource was found that matches the request URI."}),
    )
}

/// The geo search (the adapter's fallback): care premises within
/// `maxDistanceLimit` miles of `(lat, lon)`.
fn fsa_near<'a>(state: &'a State, req: &Req, (lat, lon): (f64, f64)) -> Vec<&'a Home> {
    let miles: f64 = req
        .query
        .get("maxDistanceLimit")
        .and_then(|m| m.parse().ok())
        .unwrap_or(1.0);
    let type_ok = req.query.get("businessTypeId").is_none_or(|t| t == "5");
    state
        .homes
        .iter()
        .filter(|h| {
            let (hl, ho) = coords(h);
            type_ok && crate::sources::http::haversine_m(lat, lon, hl, ho) <= miles * 1609.344
        })
        .collect()
}

/// The name search: the key the fetch counts under, and the home whose
/// registered name and place match (what FSA answers with).
fn fsa_named<'a>(state: &'a State, req: &Req) -> (String, Option<&'a Home>) {
    let name = req.query.get("name").cloned().unwrap_or_default();
    let address = req.query.get("address").cloned().unwrap_or_default();
    let same_place = |h: &Home| match h.postcode.as_deref() {
        Some(pc) if !pc.trim().is_empty() => normalise_postcode(pc) == normalise_postcode(&address),
        _ => h.city.eq_ignore_ascii_case(address.trim()),
    };
    // FSA matches its registered name; the fetch is counted under the
    // directory home it was made for.
    let registered = state
        .homes
        .iter()
        .find(|h| same_name(&fsa_name(h), &name) && same_place(h));
    let asked_for = state
        .homes
        .iter()
        .find(|h| same_name(&h.name, &name) && same_place(h));
    let key = asked_for
        .or(registered)
        .map_or_else(|| format!("{name}|{address}"), |h| h.id.clone());
    (key, registered)
}

/// The name FSA registered a home's kitchen under: the directory's name,
/// except for a home registered under its operator's company name (then
/// only the geo fallback finds it).
fn fsa_name(home: &Home) -> String {
    if home.id == "DEMO-0058" {
        format!(
            "{} Residential Home Ltd",
            home.name.trim_start_matches("Demo: ")
        )
    } else {
        home.name.clone()
    }
}

fn establishment(id: u64, name: &str, postcode: &str, home: &Home, salt: &str) -> Value {
    let rating = 3 + h(&home.id, salt) % 3;
    let score = |k: &str| [0, 5, 5, 10][(h(&home.id, &format!("{salt}{k}")) % 4) as usize];
    let (lat, lon) = coords(home);
    json!({
        "FHRSID": id,
        "LocalAuthorityBusinessID": format!("PI/{:06}", id % 1_000_000),
        "BusinessName": name,
        "BusinessType": "Hospitals/Childcare/Caring Premises",
        "BusinessTypeID": 5,
        "AddressLine1": home.address.clone().unwrap_or_default(),
        "AddressLine2": home.city,
        "AddressLine3": "",
        "AddressLine4": "",
        "PostCode": postcode,
        "Phone": "",
        "RatingValue": rating.to_string(),
        "RatingKey": format!("fhrs_{rating}_en-gb"),
        "RatingDate": format!("{}T00:00:00", date_days_ago(home, salt, 700)),
        "LocalAuthorityCode": "413",
        "LocalAuthorityName": home.local_authority.clone().unwrap_or_else(|| home.city.clone()),
        "scores": {"Hygiene": score("h"), "Structural": score("s"), "ConfidenceInManagement": score("c")},
        "SchemeType": "FHRS",
        "geocode": {"longitude": format!("{lon:.6}"), "latitude": format!("{lat:.6}")},
        "RightToReply": "",
        "Distance": null,
        "NewRatingPending": false,
        "meta": {"dataSource": null, "extractDate": "0001-01-01T00:00:00", "itemCount": 0, "returncode": null, "totalCount": 0, "totalPages": 0, "pageSize": 0, "pageNumber": 0},
        "links": [{"rel": "self", "href": format!("https://api.ratings.food.gov.uk/establishments/{id}")}],
    })
}

/// `GET /Establishments`: decoys first (a namesake elsewhere, a neighbour at
/// the same postcode), then the home itself, so only a best-match search
/// finds it.
fn fsa_search(home: Option<&Home>) -> Value {
    let mut list = Vec::new();
    if let Some(home) = home {
        let base = 1_000_000 + h(&home.id, "fhrs") % 900_000;
        let pc = home.postcode.clone().unwrap_or_default();
        let npc = normalise_postcode(&pc);
        if !npc.is_empty() {
            let elsewhere = ["YO1 7HH", "BS1 4DJ", "NE1 4ST"]
                .into_iter()
                .find(|p| outward_code(&normalise_postcode(p)) != outward_code(&npc))
                .unwrap_or("YO1 7HH");
            list.push(establishment(
                base + 1,
                &home.name,
                elsewhere,
                home,
                "namesake",
            ));
            list.push(establishment(
                base + 2,
                &format!("{} Pharmacy", home.city),
                &pc,
                home,
                "neighbour",
            ));
        }
        list.push(establishment(base, &fsa_name(home), &pc, home, "fsa"));
    }
    let n = list.len();
    json!({
        "establishments": list,
        "meta": {"dataSource": "Lucene", "extractDate": "2025-06-01T00:00:00", "itemCount": n,
                 "returncode": "OK", "totalCount": n, "totalPages": 1, "pageSize": 20, "pageNumber": 1},
        "links": [],
    })
}

/// `GET /Establishments?latitude&longitude&maxDistanceLimit&businessTypeId`:
/// the care premises of `homes` (already filtered by distance).
fn fsa_nearby(homes: &[&Home]) -> Value {
    let list: Vec<Value> = homes
        .iter()
        .map(|home| {
            let base = 1_000_000 + h(&home.id, "fhrs") % 900_000;
            let pc = home.postcode.clone().unwrap_or_default();
            establishment(base, &fsa_name(home), &pc, home, "fsa")
        })
        .collect();
    let n = list.len();
    json!({
        "establishments": list,
        "meta": {"dataSource": "Lucene", "extractDate": "2025-06-01T00:00:00", "itemCount": n,
                 "returncode": "OK", "totalCount": n, "totalPages": 1, "pageSize": 20, "pageNumber": 1},
        "links": [],
    })
}
