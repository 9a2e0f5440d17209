//! The sandbox's answers: realistic bodies in each API's real shape,
//! generated deterministically from the directory's homes (same home, same
//! body, every run), so reports built in the sandbox look like real ones.

use serde_json::{json, Value};

use super::faults::{hash_parts, Quirk};
use crate::directory::{CqcRating, Home};
use crate::sources::http::{normalise_postcode, outward_code};

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

fn rating_name(r: CqcRating) -> &'static str {
    match r {
        CqcRating::Outstanding => "Outstanding",
        CqcRating::Good => "Good",
        CqcRating::RequiresImprovement => "Requires improvement",
        CqcRating::Inadequate => "Inadequate",
    }
}

fn date_days_ago(home: &Home, salt: &str, max_days: u64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap_or_default();
    let days = h(&home.id, salt) % max_days.max(1);
    (base - chrono::Days::new(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn link_id(home: &Home, salt: &str) -> String {
    let a = h(&home.id, salt);
    let b = h(&home.id, &format!("{salt}2"));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) | 0x8000,
        b & 0xffff_ffff_ffff
    )
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

/// The name FSA registered a home's kitchen under: the directory's name,
/// except for a home registered under its operator's company name (then
/// only the geo fallback finds it).
pub(crate) fn fsa_name(home: &Home) -> String {
    if home.id == "DEMO-0058" {
        format!(
            "{} Residential Home Ltd",
            home.name.trim_start_matches("Demo: ")
        )
    } else {
        home.name.clone()
    }
}

/// `GET /public/v1/locations/{id}`.
pub(crate) fn cqc_location(home: &Home) -> Value {
    let quirk = demo_quirk(home, |q| {
        matches!(q, Quirk::SafOnly | Quirk::SafNewer | Quirk::Deregistered)
    });
    cqc_location_as(home, quirk.as_ref())
}

/// A SAF assessment block rating the home `rating` on `date`.
fn saf_assessment(home: &Home, rating: &str, date: &str) -> Value {
    let kq: Vec<Value> = ["Safe", "Effective", "Caring", "Responsive", "Well-led"]
        .iter()
        .map(|n| json!({"name": n, "rating": rating, "status": "Current"}))
        .collect();
    json!([{
        "assessmentPlanId": link_id(home, "plan"),
        "title": "Assessment",
        "assessmentPlanPublishedDateTime": format!("{date}T09:00:00Z"),
        "ratings": {"asgRatings": [{
            "assessmentPlanId": link_id(home, "plan"),
            "rating": rating, "status": "Current", "assessmentPlanStatus": "Active",
            "assessmentDate": date, "keyQuestionRatings": kq,
        }]},
    }])
}

/// A location record, showing `quirk` when given.
pub(crate) fn cqc_location_as(home: &Home, quirk: Option<&Quirk>) -> Value {
    let mut v = cqc_location_plain(home);
    match quirk {
        // The SAF spells it "Requires Improvement".
        Some(Quirk::SafOnly) => {
            let rating = home
                .ratings
                .overall
                .map_or("Good", rating_name)
                .replace("improvement", "Improvement");
            v["assessment"] = saf_assessment(home, &rating, "2025-03-10");
            if let Some(obj) = v.as_object_mut() {
                obj.remove("currentRatings");
            }
        }
        Some(Quirk::SafNewer) => {
            v["assessment"] = saf_assessment(home, "Requires Improvement", "2025-04-22");
            v["currentRatings"]["overall"]["reportDate"] = json!("2019-06-01");
        }
        Some(Quirk::Deregistered) => {
            v["registrationStatus"] = json!("Deregistered");
            v["deregistrationDate"] = json!("2024-11-30");
        }
        _ => {}
    }
    v
}

fn cqc_location_plain(home: &Home) -> Value {
    let inspected = home
        .last_inspection
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| date_days_ago(home, "inspection", 900));
    let report_id = link_id(home, "report");
    let (lat, lon) = coords(home);
    let current = current_ratings(home, &inspected, &report_id);
    // The earlier inspection: 1 to 3 years before the last one.
    let older = chrono::NaiveDate::parse_from_str(&inspected, "%Y-%m-%d")
        .ok()
        .map(|d| (d - chrono::Days::new(365 + h(&home.id, "older") % 730)).to_string())
        .unwrap_or_else(|| date_days_ago(home, "older", 1500));
    let mut v = json!({
        "locationId": home.id,
        "providerId": format!("1-{}", 100_000_000 + h(&home.id, "provider") % 900_000_000),
        "organisationType": "Location",
        "type": "Social Care Org",
        "name": home.name,
        "registrationStatus": "Registered",
        "registrationDate": "2012-04-01",
        "website": home.website,
        "postalAddressLine1": home.address,
        "postalAddressTownCity": home.city,
        "postalCode": home.postcode,
        "localAuthority": home.local_authority,
        "onspdLatitude": lat,
        "onspdLongitude": lon,
        "careHome": "Y",
        "numberOfBeds": home.beds,
        "mainPhoneNumber": format!("0113{:07}", h(&home.id, "phone") % 10_000_000),
        "gacServiceTypes": [{"name": "Care home service with nursing", "description": "Care home service with nursing"}],
        "specialisms": if home.care.dementia { json!([{"name": "Dementia"}, {"name": "Caring for adults over 65 yrs"}]) } else { json!([{"name": "Caring for adults over 65 yrs"}]) },
        "currentRatings": current,
        "historicRatings": historic_ratings(home, &older),
        "regulatedActivities": [{
            "name": "Accommodation for persons who require nursing or personal care",
            "code": "RA2",
            "contacts": manager_contacts(home),
        }],
        "lastInspection": {"date": inspected},
        "reports": [
            {"linkId": link_id(home, "old-report"), "reportDate": older, "reportUri": format!("/reports/{}", link_id(home, "old-report")), "firstVisitDate": older, "reportType": "Location"},
            {"linkId": report_id, "reportDate": inspected, "reportUri": format!("/reports/{report_id}"), "firstVisitDate": inspected, "reportType": "Location"}
        ],
    });
    if manager_absent(home) {
        v["registeredManagerAbsentDate"] = json!(date_days_ago(home, "manager", 400));
    }
    v
}

/// The earlier rating CQC keeps in `historicRatings[]`: one step better
/// than the current one, the same, or one step worse, picked per home (so
/// the demo shows each trend).
fn historic_ratings(home: &Home, date: &str) -> Value {
    let Some(now) = home.ratings.overall else {
        return json!([]);
    };
    let scale = [
        CqcRating::Inadequate,
        CqcRating::RequiresImprovement,
        CqcRating::Good,
        CqcRating::Outstanding,
    ];
    let i = scale.iter().position(|r| *r == now).unwrap_or(2);
    let before = match h(&home.id, "trend") % 3 {
        0 => scale[(i + 1).min(3)],
        1 => now,
        _ => scale[i.saturating_sub(1)],
    };
    json!([{
        "reportDate": date,
        "reportLinkId": link_id(home, "old-report"),
        "organisationId": home.id,
        "overall": {"rating": rating_name(before), "keyQuestionRatings": []},
    }])
}

/// The registered manager as CQC lists one (a fictional name: the adapter
/// keeps none), or none for about one home in seven, which then carries
/// `registeredManagerAbsentDate` (see `cqc_location_plain`).
fn manager_contacts(home: &Home) -> Value {
    if manager_absent(home) {
        return json!([]);
    }
    json!([{"personTitle": "Mx", "personGivenName": "Sam", "personFamilyName": "Example (fictional)",
            "personRoles": ["Registered Manager"]}])
}

fn manager_absent(home: &Home) -> bool {
    h(&home.id, "manager") % 7 == 0
}

/// A location's `currentRatings`: the overall rating with its key
/// questions, when the home has one.
fn current_ratings(home: &Home, inspected: &str, report_id: &str) -> Value {
    let r = &home.ratings;
    let key_questions: Vec<Value> = [
        ("Safe", r.safe),
        ("Effective", r.effective),
        ("Caring", r.caring),
        ("Responsive", r.responsive),
        ("Well-led", r.well_led),
    ]
    .into_iter()
    .filter_map(|(name, rating)| {
        rating.map(|rt| {
            json!({"name": name, "rating": rating_name(rt), "reportDate": inspected,
                   "reportLinkId": report_id})
        })
    })
    .collect();
    let mut current = json!({"reportDate": inspected});
    if let Some(overall) = r.overall {
        current["overall"] = json!({
            "rating": rating_name(overall),
            "reportDate": inspected,
            "reportLinkId": report_id,
            "keyQuestionRatings": key_questions,
        });
    }
    current
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
pub(crate) fn fsa_search(home: Option<&Home>) -> Value {
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
pub(crate) fn fsa_nearby(homes: &[&Home]) -> Value {
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

/// The sandbox's Google place id of a home.
pub(crate) fn place_id(home: &Home) -> String {
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
pub(crate) fn places_search(home: Option<&Home>) -> Value {
    let quirk = home.and_then(|h| demo_quirk(h, |q| matches!(q, Quirk::Branded)));
    places_search_as(home, quirk.as_ref())
}

/// The search, showing `quirk` (a brand around the name) when given.
pub(crate) fn places_search_as(home: Option<&Home>, quirk: Option<&Quirk>) -> Value {
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
pub(crate) fn place_details(home: &Home) -> Value {
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

/// `GET /postcodes/{postcode}`.
pub(crate) fn postcode_result(home: &Home, postcode: &str) -> Value {
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
pub(crate) fn overpass_elements(lat: f64, lon: f64) -> Value {
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

/// The care a home's site says it offers, as a phrase ("residential care"
/// when the directory lists none).
fn care_offered(home: &Home) -> String {
    let mut care = Vec::new();
    if home.care.residential {
        care.push("residential care");
    }
    if home.care.nursing {
        care.push("nursing care");
    }
    if home.care.dementia {
        care.push("specialist dementia care");
    }
    if home.care.respite == Some(true) {
        care.push("respite stays");
    }
    if care.is_empty() {
        care.push("residential care");
    }
    care.join(", ")
}

/// `POST /v1/scrape` for a home's site.
pub(crate) fn scrape(home: &Home, url: &str) -> Value {
    let fee = home
        .fees
        .residential_from
        .or(home.fees.nursing_from)
        .map(|f| format!("Weekly fees start from £{:.0}. ", f))
        .unwrap_or_default();
    let domain = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_owned())
        })
        .unwrap_or_else(|| "example.co.uk".to_owned());
    let activities = [
        "music and singing",
        "gardening club",
        "arts and crafts",
        "chair exercise",
        "day trips",
        "baking",
        "pet therapy",
    ];
    let a = (h(&home.id, "act") % 4) as usize;
    let markdown = format!(
        "# Welcome to {name}\n\n{name} in {city} offers {care}. \
         {fee}Our rooms are en-suite and we have a landscaped garden and a hair salon.\n\n\
         ## Activities\n\nOur activity coordinator plans a full week: {a1}, {a2} and {a3}.\n\n\
         ## Visiting\n\nWe have open visiting: visitors are welcome at any time, apart from \
         protected mealtimes. Book a visit to see the home.\n\n\
         ## Contact\n\nCall us on 0113 496 {phone:04} or email info@{domain}.\n",
        name = home.name,
        city = home.city,
        care = care_offered(home),
        a1 = activities[a],
        a2 = activities[a + 1],
        a3 = activities[a + 3],
        phone = h(&home.id, "ph") % 10_000,
    );
    json!({"success": true, "data": {
        "markdown": markdown,
        "metadata": {"title": format!("{} | Care home in {}", home.name, home.city),
                     "description": format!("{} care home in {}", home.name, home.city),
                     "language": "en", "sourceURL": url, "url": url, "statusCode": 200},
    }})
}
