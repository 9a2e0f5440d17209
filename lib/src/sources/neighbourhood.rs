//! The home's surroundings: postcodes.io for the area (district, ward,
//! LSOA, coordinates), then OpenStreetMap Overpass for amenities within
//! walking distance (GP, pharmacy, parks, shops, bus stops...).
//!
//! postcodes.io is asked first because directory coordinates are sometimes
//! missing or rough; when it does not know the postcode, the directory's
//! coordinates are used instead, and only a home with neither is "not
//! found". One fetch therefore makes one or two upstream calls; a failure
//! of either fails the fetch (the engine retries the whole source).

use serde_json::{json, Map, Value};

use super::config::SourceSettings;
use super::http::{endpoint, haversine_m, send_json, str_at, transient, Body};
use super::SourceOutcome;
use crate::directory::Home;

/// Walking distance, in metres.
pub const RADIUS_M: u32 = 1000;
/// Nearest places listed per category.
const NEAREST_PER_CATEGORY: usize = 3;

/// Report category and the OSM tag filters that feed it.
const CATEGORIES: &[(&str, &str, &[&str])] = &[
    ("pharmacy", "amenity", &["pharmacy"]),
    ("gp", "amenity", &["doctors", "clinic"]),
    ("hospital", "amenity", &["hospital"]),
    ("park", "leisure", &["park", "garden", "nature_reserve"]),
    ("placeOfWorship", "amenity", &["place_of_worship"]),
    ("cafe", "amenity", &["cafe", "restaurant", "pub"]),
    ("shop", "shop", &["supermarket", "convenience"]),
    ("busStop", "highway", &["bus_stop"]),
    ("library", "amenity", &["library", "community_centre"]),
];

/// The Overpass QL query for amenities around a point.
pub fn overpass_query(lat: f64, lon: f64, radius_m: u32) -> String {
    let around = format!("around:{radius_m},{lat:.6},{lon:.6}");
    let mut q = String::from("[out:json][timeout:25];\n(\n");
    for (_, key, values) in CATEGORIES {
        q.push_str(&format!(
            "  nwr({around})[\"{key}\"~\"^({})$\"];\n",
            values.join("|")
        ));
    }
    q.push_str(");\nout center tags;\n");
    q
}

pub(crate) async fn fetch(
    client: &reqwest::Client,
    postcodes: &SourceSettings,
    overpass: &SourceSettings,
    home: &Home,
) -> SourceOutcome {
    let mut area = Value::Null;
    let mut point = home.latitude.zip(home.longitude);
    if let Some(pc) = home
        .postcode
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let request = client
            .get(endpoint(&postcodes.base_url, &["postcodes", pc]))
            .header(reqwest::header::ACCEPT, "application/json");
        match send_json(request, postcodes.timeout, "postcodes.io").await {
            Ok(Body::Json(v)) => {
                let Some(result) = v.get("result").filter(|r| r.is_object()) else {
                    return SourceOutcome::Failed(transient(
                        "postcodes.io sent an unexpected body",
                    ));
                };
                let lat = result.get("latitude").and_then(Value::as_f64);
                let lon = result.get("longitude").and_then(Value::as_f64);
                if let Some(p) = lat.zip(lon) {
                    point = Some(p);
                }
                area = json!({
                    "postcode": str_at(result, "/postcode"),
                    "adminDistrict": str_at(result, "/admin_district"),
                    "adminWard": str_at(result, "/admin_ward"),
                    "region": str_at(result, "/region"),
                    "country": str_at(result, "/country"),
                    "lsoa": str_at(result, "/lsoa"),
                    "parliamentaryConstituency": str_at(result, "/parliamentary_constituency"),
                });
            }
            // Unknown postcode: fall back to the directory's coordinates.
            Ok(Body::NotFound) => {}
            Err(failure) => return SourceOutcome::Failed(failure),
        }
    }
    let Some((lat, lon)) = point.filter(|(a, o)| a.is_finite() && o.is_finite()) else {
        return SourceOutcome::NotFound;
    };

    let request = client
        .post(endpoint(&overpass.base_url, &["interpreter"]))
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[("data", overpass_query(lat, lon, RADIUS_M))]);
    match send_json(request, overpass.timeout, "Overpass").await {
        Ok(Body::Json(v)) => match v.get("elements").and_then(Value::as_array) {
            Some(elements) => SourceOutcome::Loaded(json!({
                "latitude": lat,
                "longitude": lon,
                "area": area,
                "radiusMeters": RADIUS_M,
                "amenities": summarise_amenities(lat, lon, elements),
            })),
            None => SourceOutcome::Failed(transient("Overpass sent an unexpected body")),
        },
        // The interpreter endpoint itself missing is a broken deployment.
        Ok(Body::NotFound) => SourceOutcome::Failed(transient("Overpass endpoint not found")),
        Err(failure) => SourceOutcome::Failed(failure),
    }
}

/// Per category: how many, and the nearest few with their distance.
pub(crate) fn summarise_amenities(lat: f64, lon: f64, elements: &[Value]) -> Value {
    let mut found: Vec<Vec<(f64, Option<&str>)>> = vec![Vec::new(); CATEGORIES.len()];
    for el in elements {
        let Some(tags) = el.get("tags") else { continue };
        let plat = el
            .get("lat")
            .or_else(|| el.pointer("/center/lat"))
            .and_then(Value::as_f64);
        let plon = el
            .get("lon")
            .or_else(|| el.pointer("/center/lon"))
            .and_then(Value::as_f64);
        let Some((plat, plon)) = plat.zip(plon) else {
            continue;
        };
        let category = CATEGORIES.iter().position(|(_, key, values)| {
            tags.get(*key)
                .and_then(Value::as_str)
                .is_some_and(|v| values.contains(&v))
        });
        if let Some(i) = category {
            found[i].push((haversine_m(lat, lon, plat, plon), str_at(tags, "/name")));
        }
    }
    let mut out = Map::new();
    for ((name, _, _), mut places) in CATEGORIES.iter().zip(found) {
        places.sort_by(|a, b| a.0.total_cmp(&b.0));
        let nearest: Vec<Value> = places
            .iter()
            .take(NEAREST_PER_CATEGORY)
            .map(|(d, n)| json!({"name": n, "distanceMeters": d.round() as u64}))
            .collect();
        out.insert(
            (*name).to_owned(),
            json!({"count": places.len(), "nearest": nearest}),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_asks_for_json_around_the_point() {
        let q = overpass_query(51.5, -0.12, 800);
        assert!(q.starts_with("[out:json]"));
        assert!(q.contains("around:800,51.500000,-0.120000"));
        assert!(q.contains("\"amenity\"~\"^(pharmacy)$\""));
    }

    #[test]
    fn amenities_are_counted_and_sorted() {
        let els = vec![
            json!({"type": "node", "lat": 51.51, "lon": -0.12, "tags": {"amenity": "pharmacy", "name": "Far"}}),
            json!({"type": "node", "lat": 51.5001, "lon": -0.12, "tags": {"amenity": "pharmacy", "name": "Near"}}),
            json!({"type": "way", "center": {"lat": 51.501, "lon": -0.12}, "tags": {"leisure": "park"}}),
            json!({"type": "node", "tags": {"amenity": "pharmacy"}}),
            json!({"type": "node", "lat": 1.0, "lon": 1.0}),
        ];
        let s = summarise_amenities(51.5, -0.12, &els);
        assert_eq!(s["pharmacy"]["count"], 2);
        assert_eq!(s["pharmacy"]["nearest"][0]["name"], "Near");
        assert_eq!(s["park"]["count"], 1);
        assert_eq!(s["busStop"]["count"], 0);
    }
}
