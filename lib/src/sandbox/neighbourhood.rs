//! The neighbourhood's two fake upstreams: postcodes.io
//! (`GET /postcodes/{postcode}`, where a fetch is counted) and Overpass
//! (`/api/interpreter`, amenities around the home's rounded point; refusing
//! a request without a User-Agent, as the public instance does), with
//! their quirks (a runtime-error remark, the HTML 429 page, a huge ward).

use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};

use super::data::{coords, h};
use super::faults::{FaultAnswer, Quirk};
use super::{
    counted, full, html, huge_name, not_found_route, quirk_answer, reply, uncounted, Api, Reply,
    Req, Routed, State,
};
use crate::directory::Home;
use crate::model::SourceType;
use crate::sources::http::normalise_postcode;

/// postcodes.io's route: counted under the home with that postcode.
pub(super) fn postcodes(state: &State, req: &Req) -> Routed {
    let [first, pc] = req.segments.as_slice() else {
        return uncounted(not_found_route(Api::Postcodes));
    };
    if req.method != Method::GET || first != "postcodes" {
        return uncounted(not_found_route(Api::Postcodes));
    }
    let wanted = normalise_postcode(pc);
    let home = state.homes.iter().find(|h| {
        h.postcode
            .as_deref()
            .is_some_and(|p| !wanted.is_empty() && normalise_postcode(p) == wanted)
    });
    let (key, answer) = match home {
        Some(h) => {
            let shown = h.postcode.as_deref().unwrap_or(pc).trim().to_uppercase();
            (h.id.clone(), reply(200, &postcode_result(h, &shown)))
        }
        None => (
            format!("postcode:{wanted}"),
            reply(404, &json!({"status": 404, "error": "Postcode not found"})),
        ),
    };
    counted(SourceType::Neighbourhood, key, answer)
}

/// Overpass' route: counted at the home asked around unless its
/// postcodes.io lookup counted the fetch already.
pub(super) fn overpass(state: &State, req: &Req) -> Routed {
    if req.segments.first().map(String::as_str) != Some("interpreter") {
        return uncounted(not_found_route(Api::Overpass));
    }
    // Since about 2026-04-18 the public instance refuses requests without
    // a User-Agent with 406 ([OVP-791]; DinoTools/python-overpy#133).
    if req
        .header("user-agent")
        .is_none_or(|ua| ua.trim().is_empty())
    {
        return uncounted(html(
            406,
            "Not Acceptable: please send an identifying User-Agent.",
        ));
    }
    let from_body = url::form_urlencoded::parse(&req.body)
        .find(|(k, _)| k == "data")
        .map(|(_, v)| v.into_owned());
    let query = from_body
        .or_else(|| req.query.get("data").cloned())
        .unwrap_or_default();
    let (Some((lat, lon)), true) = (parse_around(&query), query.contains("[out:json]")) else {
        let mut r = reply(400, &Value::Null);
        *r.body_mut() = full(Bytes::from_static(
            b"<?xml version=\"1.0\"?><osm><remark>Error: static error: bad query</remark></osm>",
        ));
        return uncounted(r);
    };
    overpass_counted(state, lat, lon, reply(200, &overpass_elements(lat, lon)))
}

/// postcodes.io's quirk: a huge ward name.
pub(super) fn postcodes_quirk(home: Option<&Home>, quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::HugeString => home.map(|h| {
            let pc = h.postcode.clone().unwrap_or_default();
            let mut v = postcode_result(h, &pc);
            v["result"]["admin_ward"] = json!(huge_name());
            reply(200, &v)
        }),
        _ => None,
    }
}

/// `around:R,lat,lon` of an Overpass QL query.
fn parse_around(query: &str) -> Option<(f64, f64)> {
    let start = query.find("around:")? + "around:".len();
    let rest = &query[start..];
    let end = rest.find(')')?;
    let mut parts = rest[..end].split(',').map(str::trim);
    let _radius: f64 = parts.next()?.parse().ok()?;
    let lat = parts.next()?.parse().ok()?;
    let lon = parts.next()?.parse().ok()?;
    Some((lat, lon))
}

/// Ties an Overpass answer around `(lat, lon)` to the home it was asked
/// for: counted, or (when postcodes.io counted the fetch) with that
/// attempt's Overpass quirk applied.
fn overpass_counted(state: &State, lat: f64, lon: f64, answer: Reply) -> Routed {
    // The adapter asks around the home's point rounded to 3 decimals.
    let nearest = state.homes.iter().find(|h| {
        let (hl, ho) = coords(h);
        let (rl, ro) = crate::sources::neighbourhood_rounded_point(hl, ho);
        (rl - lat).abs() < 1e-6 && (ro - lon).abs() < 1e-6
    });
    match nearest {
        // Counted at its postcodes.io lookup earlier in the same fetch; the
        // neighbourhood's Overpass quirks still apply here, to that attempt.
        Some(h) if h.postcode.as_deref().is_some_and(|p| !p.trim().is_empty()) => {
            let attempt = state.attempts(SourceType::Neighbourhood, &h.id);
            let quirk = state
                .fault(SourceType::Neighbourhood, &h.id, attempt)
                .and_then(|f| match f.answer {
                    FaultAnswer::Quirk(q @ (Quirk::Remark | Quirk::Html429 | Quirk::Endless)) => {
                        Some(q)
                    }
                    _ => None,
                });
            match quirk.and_then(|q| quirk_answer(Api::Overpass, state, &h.id, &q)) {
                Some(r) => uncounted(r),
                None => uncounted(answer),
            }
        }
        Some(h) => counted(SourceType::Neighbourhood, h.id.clone(), answer),
        None => counted(
            SourceType::Neighbourhood,
            format!("point:{lat:.5},{lon:.5}"),
            answer,
        ),
    }
}

/// Overpass' quirks: a runtime-error remark, or its HTML 429 page.
pub(super) fn overpass_quirk(quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::Remark => Some(reply(
            200,
            &json!({"version": 0.6, "generator": "Overpass API (care-report sandbox)",
                    "osm3s": {"timestamp_osm_base": "2025-06-01T00:00:00Z"},
                    "elements": [],
                    "remark": "runtime error: Query timed out in \"query\" at line 3 after 21 seconds."}),
        )),
        Quirk::Html429 => Some(html(
            429,
            "Error: rate_limited: Please check /api/status for the quota of your IP address.",
        )),
        _ => None,
    }
}

/// `GET /postcodes/{postcode}`.
fn postcode_result(home: &Home, postcode: &str) -> Value {
    let (lat, lon) = coords(home);
    let district = home
        .local_authority
        .clone()
        .unwrap_or_else(|| home.city.clone());
    json!({"status": 200, "result": {
        "postcode": postcode,
        "quality": 1,
        "eastings": 400_000 + h(&home.id, "e") % 100_000,
        "northings": 300_000 + h(&home.id, "n") % 200_000,
        "country": "England",
        "nhs_ha": "NHS England",
        "longitude": lon,
        "latitude": lat,
        "european_electoral_region": "Sandbox",
        "primary_care_trust": district,
        "region": "Sandbox Region",
        "lsoa": format!("{} {:03}A", home.city, h(&home.id, "lsoa") % 100),
        "msoa": format!("{} {:03}", home.city, h(&home.id, "msoa") % 100),
        "incode": postcode.split_whitespace().last().unwrap_or(""),
        "outcode": postcode.split_whitespace().next().unwrap_or(""),
        "parliamentary_constituency": format!("{} Central", home.city),
        "admin_district": district,
        "parish": format!("{}, unparished area", home.city),
        "admin_county": null,
        "admin_ward": format!("{} Ward {}", home.city, 1 + h(&home.id, "ward") % 9),
        "ced": null,
        "ccg": district,
        "nuts": home.city,
        "codes": {"admin_district": format!("E0800{:04}", h(&home.id, "ad") % 10_000),
                   "admin_ward": format!("E0500{:04}", h(&home.id, "aw") % 10_000)},
    }})
}

/// Overpass elements around a point (stable per rounded point).
fn overpass_elements(lat: f64, lon: f64) -> Value {
    let key = format!("{:.4},{:.4}", lat, lon);
    let kinds: [(&str, &str, &str, u64); 9] = [
        ("amenity", "pharmacy", "Boots Pharmacy", 2),
        ("amenity", "doctors", "Parkside Medical Centre", 1),
        ("amenity", "hospital", "General Hospital", 1),
        ("leisure", "park", "Memorial Park", 2),
        ("amenity", "place_of_worship", "St Mary's Church", 2),
        ("amenity", "cafe", "Corner Café", 3),
        ("shop", "supermarket", "Co-op Food", 2),
        ("highway", "bus_stop", "High Street", 4),
        ("amenity", "library", "Community Library", 1),
    ];
    let mut elements = Vec::new();
    for (k, (tag, value, name, max)) in kinds.iter().enumerate() {
        let n = h(&key, &format!("n{k}")) % (max + 1);
        for i in 0..n {
            let salt = format!("{k}-{i}");
            // Within ~900 m.
            let dlat = ((h(&key, &format!("{salt}la")) % 1600) as f64 - 800.0) / 111_000.0;
            let dlon = ((h(&key, &format!("{salt}lo")) % 1600) as f64 - 800.0) / 70_000.0;
            let id = 1_000_000_000 + h(&key, &salt) % 9_000_000_000;
            let tags = json!({*tag: value, "name": if i == 0 { (*name).to_owned() } else { format!("{name} {}", i + 1) }});
            if *value == "park" || *value == "hospital" {
                elements.push(json!({"type": "way", "id": id, "center": {"lat": lat + dlat, "lon": lon + dlon}, "tags": tags}));
            } else {
                elements.push(json!({"type": "node", "id": id, "lat": lat + dlat, "lon": lon + dlon, "tags": tags}));
            }
        }
    }
    json!({
        "version": 0.6,
        "generator": "Overpass API (care-report sandbox)",
        "osm3s": {"timestamp_osm_base": "2025-06-01T00:00:00Z",
                  "copyright": "The data included in this document is from www.openstreetmap.org. The data is made available under ODbL."},
        "elements": elements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_point_of_an_around_filter() {
        assert_eq!(
            parse_around("nwr(around:800,51.5,-0.1)[x]"),
            Some((51.5, -0.1))
        );
        assert_eq!(parse_around("nwr(around:800)"), None);
    }
}
