//! The home's surroundings: postcodes.io for the area (district, ward,
//! LSOA, coordinates), then OpenStreetMap Overpass for amenities within
//! walking distance (GP, pharmacy, parks, shops, bus stops...).
//!
//! postcodes.io is asked first because directory coordinates are sometimes
//! missing or rough; when it does not know the postcode, the directory's
//! coordinates are used instead, and only a home with neither is "not
//! found". One fetch therefore makes one or two upstream calls; a failure
//! of either fails the fetch (the engine retries the whole source).
//!
//! Both halves go through the shared source cache on their own: the
//! postcode's area per postcode, the amenities per point rounded to three
//! decimals (about 110 m), asked for with a radius [`ROUND_MARGIN_M`]
//! larger and cut to [`RADIUS_M`] around the home's own point, so homes
//! that share a rounded point share one Overpass answer and distances stay
//! exact.
//!
//! Overpass, as its operator runs it (`drolbr/Overpass-API`, issue #791;
//! https://dev.overpass-api.de/overpass-doc/en/preface/commons.html):
//! - **one request in flight** across every instance of this service: a
//!   lease per Overpass host in the store ([`super::cached::Shared::acquire_lease`]);
//! - a **runtime error** (query timeout, out of memory) arrives as **HTTP
//!   200** with `"remark": "runtime error: ..."` after empty or partial
//!   `elements` (the JSON header is written before the query runs:
//!   `src/overpass_api/dispatch/web_query.cc:102`, the remark in
//!   `output_formats/output_json.cc` `write_footer`): a transient failure,
//!   never "no amenities";
//! - **429 and 504** come as text/html with **no `Retry-After`**
//!   (`web_query.cc:140-160`, `frontend/basic_formats.cc:38-50`); the
//!   operator's rule is "when getting a 429, wait at least 30s": the lease
//!   then cools down for [`MIN_429_PAUSE`] (or a longer `Retry-After`);
//! - **406 without a User-Agent** (since about 2026-04-18): permanent, fix
//!   `SOURCES_USER_AGENT`;
//! - the query's `[timeout:20]` is below the client timeout (30 s), so the
//!   server's own timeout answers first;
//! - further instances (`OVERPASS_BASE_URLS`) are tried in order after a
//!   transient failure of the one before, each under its own lease.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::cached::{stamp, Lookup, Shared};
use super::config::{SourceConfig, SourcesConfig};
use super::http::{
    cut, endpoint, haversine_m, json_body, normalise_postcode, send, send_json, str_at, transient,
    Body, Call, MAX_FIELD_CHARS,
};
use super::{FailureKind, SourceFailure, SourceOutcome};
use crate::directory::Home;
use crate::facts::{to_stored, Area};

/// Walking distance, in metres.
pub const RADIUS_M: u32 = 1000;
/// How much wider than [`RADIUS_M`] Overpass is asked around the rounded
/// point: more than the farthest a home can lie from it (half of 0.001°
/// of latitude and of longitude is under 70 m in the UK).
pub(crate) const ROUND_MARGIN_M: u32 = 100;
/// Nearest places listed per category.
const NEAREST_PER_CATEGORY: usize = 3;
/// The least pause after an Overpass 429 without a `Retry-After`
/// ([OVP-791]: "When getting a 429, wait at least 30s").
pub(crate) const MIN_429_PAUSE: Duration = Duration::from_secs(30);
/// The longest a fetch waits for another request's Overpass lease before
/// failing transient (the sweep retries it): keeps a fetch's own time near
/// its client timeout.
pub(crate) const LEASE_MAX_WAIT: Duration = Duration::from_secs(10);
/// The query's own time budget, in seconds (below the client timeout).
pub(crate) const QUERY_TIMEOUT_SECS: u32 = 20;

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
    let mut q = format!("[out:json][timeout:{QUERY_TIMEOUT_SECS}];\n(\n");
    for (_, key, values) in CATEGORIES {
        q.push_str(&format!(
            "  nwr({around})[\"{key}\"~\"^({})$\"];\n",
            values.join("|")
        ));
    }
    q.push_str(");\nout center tags;\n");
    q
}

/// A point rounded to three decimals: the Overpass cache key and the
/// centre of the query.
pub fn rounded_point(lat: f64, lon: f64) -> (f64, f64) {
    (
        (lat * 1000.0).round() / 1000.0,
        (lon * 1000.0).round() / 1000.0,
    )
}

pub(crate) async fn fetch(
    client: &reqwest::Client,
    config: &SourcesConfig,
    shared: &Shared,
    home: &Home,
) -> SourceOutcome {
    let located = match locate(client, &config.postcodes, shared, home).await {
        Ok(located) => located,
        Err(failure) => return SourceOutcome::Failed(failure),
    };
    let mut cached_at = located.cached_at;
    let Some((lat, lon)) = located
        .point
        .filter(|(a, o)| a.is_finite() && o.is_finite())
    else {
        return SourceOutcome::NotFound;
    };
    let places = match places_near(client, config, shared, lat, lon).await {
        Ok((v, Some(at))) => {
            cached_at = Some(cached_at.map_or(at, |c| c.min(at)));
            v
        }
        Ok((v, None)) => v,
        Err(failure) => return SourceOutcome::Failed(failure),
    };
    let amenities = summarise_places(lat, lon, places.as_array().map_or(&[][..], Vec::as_slice));
    // Both halves may come from the cache, which keeps them as JSON.
    let area = Area {
        latitude: Some(lat),
        longitude: Some(lon),
        area: serde_json::from_value(located.area).ok(),
        radius_meters: Some(u64::from(RADIUS_M)),
        amenities: serde_json::from_value(amenities).ok(),
        cached_at: cached_at.map(stamp),
    };
    SourceOutcome::Loaded(to_stored(&area))
}

/// Where a home is, for its surroundings.
struct Located {
    /// postcodes.io's area (null without a known postcode).
    area: Value,
    /// postcodes.io's point, else the directory's.
    point: Option<(f64, f64)>,
    /// On a cache hit, when the area was fetched.
    cached_at: Option<DateTime<Utc>>,
}

/// The home's area and point: its postcode looked up (through the cache)
/// first, since directory coordinates are sometimes missing or rough.
async fn locate(
    client: &reqwest::Client,
    postcodes: &SourceConfig,
    shared: &Shared,
    home: &Home,
) -> Result<Located, SourceFailure> {
    let mut located = Located {
        area: Value::Null,
        point: home.latitude.zip(home.longitude),
        cached_at: None,
    };
    let Some(pc) = home
        .postcode
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    else {
        return Ok(located);
    };
    let (v, at) = through_cache(
        shared,
        "postcodes",
        &normalise_postcode(pc),
        fill_ttl(postcodes),
        shared.settings().postcodes,
        lookup_postcode(client, postcodes, pc),
    )
    .await?;
    located.cached_at = at;
    if let Some(p) = v
        .get("lat")
        .and_then(Value::as_f64)
        .zip(v.get("lon").and_then(Value::as_f64))
    {
        located.point = Some(p);
    }
    located.area = v.get("area").cloned().unwrap_or(Value::Null);
    Ok(located)
}

/// The compact amenities around the point rounded from `(lat, lon)`
/// (through the cache, so homes sharing it share one Overpass answer), and
/// on a cache hit when they were fetched.
async fn places_near(
    client: &reqwest::Client,
    config: &SourcesConfig,
    shared: &Shared,
    lat: f64,
    lon: f64,
) -> Result<(Value, Option<DateTime<Utc>>), SourceFailure> {
    let (rlat, rlon) = rounded_point(lat, lon);
    through_cache(
        shared,
        "overpass",
        &format!("{rlat:.3},{rlon:.3}"),
        fill_ttl(&config.overpass),
        shared.settings().overpass,
        overpass(client, config, shared, rlat, rlon),
    )
    .await
}

/// One half of a fetch through the source cache under `source` and `key`:
/// the cached value and when it was fetched, or else `miss`'s value, kept
/// for `ttl` (a failure is not kept).
async fn through_cache(
    shared: &Shared,
    source: &'static str,
    key: &str,
    fill_ttl: Duration,
    ttl: Duration,
    miss: impl Future<Output = Result<Value, SourceFailure>>,
) -> Result<(Value, Option<DateTime<Utc>>), SourceFailure> {
    match shared.lookup(source, key, fill_ttl).await {
        Lookup::Hit(v, at) => Ok((v, Some(at))),
        Lookup::Miss(fill) => {
            let answer = miss.await;
            shared.finish(fill, answer.as_ref().ok(), ttl).await;
            answer.map(|v| (v, None))
        }
    }
}

/// How long a fill lock for one call to `settings` may live.
fn fill_ttl(settings: &SourceConfig) -> Duration {
    settings.timeout * 2 + Duration::from_secs(5)
}

/// postcodes.io's area for `pc`, in the cached form `{area, lat, lon}`
/// (`area` null and no point for an unknown postcode: the directory's
/// coordinates are used then).
async fn lookup_postcode(
    client: &reqwest::Client,
    postcodes: &SourceConfig,
    pc: &str,
) -> Result<Value, SourceFailure> {
    let request = client
        .get(endpoint(&postcodes.base_url, &["postcodes", pc]))
        .header(reqwest::header::ACCEPT, "application/json");
    match send_json(request, &Call::new("postcodes.io", postcodes, false)).await? {
        Body::Json(v) => {
            let Some(result) = v.get("result").filter(|r| r.is_object()) else {
                return Err(transient("postcodes.io sent an unexpected body"));
            };
            Ok(json!({
                "lat": result.get("latitude").and_then(Value::as_f64),
                "lon": result.get("longitude").and_then(Value::as_f64),
                "area": {
                    "postcode": str_at(result, "/postcode"),
                    "adminDistrict": str_at(result, "/admin_district"),
                    "adminWard": str_at(result, "/admin_ward"),
                    "region": str_at(result, "/region"),
                    "country": str_at(result, "/country"),
                    "lsoa": str_at(result, "/lsoa"),
                    "parliamentaryConstituency": str_at(result, "/parliamentary_constituency"),
                },
            }))
        }
        // Unknown postcode: fall back to the directory's coordinates.
        Body::NotFound => Ok(json!({"area": null})),
    }
}

/// The amenities around the rounded point, compact (`[category, name, lat,
/// lon]` per place), from the first Overpass instance that answers.
async fn overpass(
    client: &reqwest::Client,
    config: &SourcesConfig,
    shared: &Shared,
    lat: f64,
    lon: f64,
) -> Result<Value, SourceFailure> {
    let settings = &config.overpass;
    let call = Call::new("Overpass", settings, false);
    let query = overpass_query(lat, lon, RADIUS_M + ROUND_MARGIN_M);
    let mut last = transient("no Overpass instance configured");
    for base in std::iter::once(&settings.base_url).chain(config.overpass_mirrors.iter()) {
        match ask_instance(client, shared, &call, base, &query).await {
            Ok(Body::Json(v)) => match read_elements(&v) {
                Ok(places) => return Ok(places),
                Err(f) => last = f,
            },
            // The interpreter endpoint itself missing is a broken deployment.
            Ok(Body::NotFound) => last = transient("Overpass endpoint not found"),
            Err(f) if f.kind == FailureKind::Permanent => return Err(f),
            Err(f) => last = f,
        }
    }
    Err(last)
}

/// Sends `query` to the Overpass instance at `base` under its lease, and
/// cools the lease down after a 429.
async fn ask_instance(
    client: &reqwest::Client,
    shared: &Shared,
    call: &Call<'_>,
    base: &url::Url,
    query: &str,
) -> Result<Body, SourceFailure> {
    let name = base.host_str().unwrap_or("overpass").to_owned();
    let lease_ttl = call.timeout + Duration::from_secs(5);
    let token = match shared.acquire_lease(&name, lease_ttl, LEASE_MAX_WAIT).await {
        Ok(token) => token,
        Err(left) => {
            return Err(SourceFailure {
                kind: FailureKind::Transient,
                retry_after: Some(left),
                message: "Overpass busy or cooling down after a 429 (one request at a time)"
                    .to_owned(),
            })
        }
    };
    let request = client
        .post(endpoint(base, &["interpreter"]))
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[("data", query)]);
    let answer = send(request, call).await;
    let cooldown = match &answer {
        Ok(a) if a.status == 429 => a.retry_after.unwrap_or_default().max(MIN_429_PAUSE),
        _ => Duration::ZERO,
    };
    shared.release_lease(&name, token, cooldown).await;
    answer.and_then(|a| {
        if a.status == 406 {
            return Err(SourceFailure {
                kind: FailureKind::Permanent,
                retry_after: None,
                message: "Overpass answered HTTP 406: it refuses requests without an identifying User-Agent (set SOURCES_CONTACT)".to_owned(),
            });
        }
        let status = a.status;
        json_body(a, call).map_err(|mut f| {
            if status == 429 {
                f.retry_after = Some(cooldown);
            }
            f
        })
    })
}

/// The places of an Overpass answer, or why it is not one.
pub(crate) fn read_elements(v: &Value) -> Result<Value, SourceFailure> {
    if let Some(remark) = v.get("remark").and_then(Value::as_str) {
        if remark.contains("runtime error") || remark.contains("error") {
            return Err(transient(format!(
                "Overpass reported a runtime error: {}",
                cut(remark, 120)
            )));
        }
    }
    let Some(elements) = v.get("elements").and_then(Value::as_array) else {
        return Err(transient("Overpass sent an unexpected body"));
    };
    let mut places = Vec::new();
    for el in elements {
        if let Some((i, plat, plon, tags)) = classify(el) {
            places.push(json!([i, str_at(tags, "/name"), plat, plon]));
        }
    }
    Ok(Value::Array(places))
}

/// An Overpass element's category (index into [`CATEGORIES`]), position
/// (a node's own, or a way's or relation's `center`) and tags; `None` for
/// an element with no position or no category of ours.
fn classify(el: &Value) -> Option<(usize, f64, f64, &Value)> {
    let tags = el.get("tags")?;
    let plat = el
        .get("lat")
        .or_else(|| el.pointer("/center/lat"))
        .and_then(Value::as_f64)?;
    let plon = el
        .get("lon")
        .or_else(|| el.pointer("/center/lon"))
        .and_then(Value::as_f64)?;
    let category = CATEGORIES.iter().position(|(_, key, values)| {
        tags.get(*key)
            .and_then(Value::as_str)
            .is_some_and(|v| values.contains(&v))
    })?;
    Some((category, plat, plon, tags))
}

/// [`summarise_amenities`] over the compact places of [`read_elements`],
/// keeping those within [`RADIUS_M`] of the home.
pub(crate) fn summarise_places(lat: f64, lon: f64, places: &[Value]) -> Value {
    let elements: Vec<Value> = places
        .iter()
        .filter_map(|p| {
            let i = p.get(0)?.as_u64()? as usize;
            let (_, key, values) = CATEGORIES.get(i)?;
            let (plat, plon) = (p.get(2)?.as_f64()?, p.get(3)?.as_f64()?);
            if haversine_m(lat, lon, plat, plon) > f64::from(RADIUS_M) {
                return None;
            }
            let mut tags = json!({*key: values[0]});
            if let Some(name) = p.get(1).and_then(Value::as_str) {
                tags["name"] = json!(cut(name, MAX_FIELD_CHARS));
            }
            Some(json!({"lat": plat, "lon": plon, "tags": tags}))
        })
        .collect();
    summarise_amenities(lat, lon, &elements)
}

/// Per category: how many, and the nearest few with their distance.
pub(crate) fn summarise_amenities(lat: f64, lon: f64, elements: &[Value]) -> Value {
    let mut found: Vec<Vec<(f64, Option<&str>)>> = vec![Vec::new(); CATEGORIES.len()];
    for el in elements {
        if let Some((i, plat, plon, tags)) = classify(el) {
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
        assert!(q.starts_with("[out:json][timeout:20]"));
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

    #[test]
    fn a_runtime_error_remark_is_a_failure_not_zero_amenities() {
        let v = json!({"elements": [], "remark": "runtime error: Query timed out in \"query\" at line 3 after 26 seconds."});
        let f = read_elements(&v).unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
        assert!(f.message.contains("runtime error"));
        let ok = json!({"elements": [{"type": "node", "lat": 51.5, "lon": -0.12, "tags": {"amenity": "pharmacy"}}]});
        let places = read_elements(&ok).unwrap();
        assert_eq!(
            summarise_places(51.5, -0.12, places.as_array().unwrap())["pharmacy"]["count"],
            1
        );
        // Places beyond the radius of the home's own point are left out.
        assert_eq!(
            summarise_places(51.52, -0.12, places.as_array().unwrap())["pharmacy"]["count"],
            0
        );
    }
}
