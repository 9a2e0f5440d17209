//! The fake CQC API: `GET /public/v1/locations/{id}` behind the
//! subscription key, a location record built from the directory's home
//! (current and historic ratings, SAF assessments, reports, the registered
//! manager), with the demo homes' and the fault plan's quirks (SAF only, a
//! newer SAF rating, deregistered, a huge name).

use http::Method;
use serde_json::{json, Value};

use super::data::{coords, date_days_ago, demo_quirk, h};
use super::faults::Quirk;
use super::{
    counted, huge_name, not_found_route, reply, uncounted, Api, Reply, Req, Routed, State,
};
use crate::directory::{CqcRating, Home};
use crate::model::SourceType;

/// The route: counted under the location id.
pub(super) fn route(state: &State, req: &Req) -> Routed {
    let [first, id] = req.segments.as_slice() else {
        return uncounted(not_found_route(Api::Cqc));
    };
    if req.method != Method::GET || first != "locations" {
        return uncounted(not_found_route(Api::Cqc));
    }
    let answer = if req.header("Ocp-Apim-Subscription-Key") != Some(state.keys.cqc.as_str()) {
        reply(
            401,
            &json!({"statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}),
        )
    } else {
        match state.homes.iter().find(|h| h.id == *id) {
            Some(home) => reply(200, &cqc_location(home)),
            None => reply(
                404,
                &json!({"statusCode": 404, "message": "Resource not found"}),
            ),
        }
    };
    counted(SourceType::Cqc, id.clone(), answer)
}

/// CQC's quirks: a location answered differently, or a huge name.
pub(super) fn quirk(home: Option<&Home>, quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::SafOnly | Quirk::SafNewer | Quirk::Deregistered => {
            home.map(|h| reply(200, &cqc_location_as(h, Some(quirk))))
        }
        Quirk::HugeString => home.map(|h| {
            let mut v = cqc_location(h);
            v["name"] = json!(huge_name());
            reply(200, &v)
        }),
        _ => None,
    }
}

/// `GET /public/v1/locations/{id}`.
pub(super) fn cqc_location(home: &Home) -> Value {
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
fn cqc_location_as(home: &Home, quirk: Option<&Quirk>) -> Value {
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

fn rating_name(r: CqcRating) -> &'static str {
    match r {
        CqcRating::Outstanding => "Outstanding",
        CqcRating::Good => "Good",
        CqcRating::RequiresImprovement => "Requires improvement",
        CqcRating::Inadequate => "Inadequate",
    }
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
