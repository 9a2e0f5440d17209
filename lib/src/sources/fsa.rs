//! FSA Food Hygiene Rating Scheme: the home kitchen's hygiene rating.
//!
//! `GET {base}/Establishments?name=…&address=…` with `x-api-version: 2`.
//! The search is fuzzy and returns neighbours and namesakes (branches of the
//! same group, the café next door), so the adapter picks the *best* match
//! rather than the first: the same postcode weighs most, then the name. A
//! result that matches neither well enough is treated as "no record" so a
//! stranger's rating never lands in a report.
//!
//! When the name search finds no acceptable match and the home's
//! coordinates are known, a second search asks for care premises near the
//! home (`latitude`, `longitude`, `maxDistanceLimit`, `businessTypeId=5`,
//! "Hospitals/Childcare/Caring Premises"; parameters in
//! https://api.ratings.food.gov.uk/Help/Api/GET-Establishments_name_address_longitude_latitude_maxDistanceLimit_businessTypeId_schemeTypeKey_ratingKey_ratingOperatorKey_localAuthorityId_countryId_sortOptionKey_pageNumber_pageSize),
//! as the original system did (`tryvailo/RCH-playground`
//! `api-testing-suite/backend/services/fsa_enrichment_service.py:180-235`):
//! the registered `BusinessName` often differs from the directory's name
//! ("… Care Home" missing, the operator's company name). The seed then
//! fetched `/Establishments/{FHRSID}`; the search items already carry every
//! field the report keeps (same help pages), so that third call is not made.
//!
//! FSA takes no key, so a 403 (an HTML block page under load, or its "CPU
//! intensive query" refusal: `FSA_API_ERRORS_ANALYSIS.md` §1 of the seed,
//! https://apify.com/loudtzu/uk-food-hygiene-ratings) is transient, never
//! "check the API key" (`http::classify`).

use serde_json::Value;

use super::config::SourceConfig;
use super::http::{
    endpoint, name_similarity, normalise_postcode, outward_code, send_json, str_at, transient,
    Body, Call,
};
use super::SourceOutcome;
use crate::directory::Home;
use crate::facts::fsa::{Fsa, Scores};
use crate::facts::to_stored;

/// How sure we must be before taking a name-only match (no postcode match).
const NAME_ONLY_THRESHOLD: f64 = 0.8;
/// Name similarity still required when the postcode matches exactly.
const SAME_POSTCODE_THRESHOLD: f64 = 0.3;
/// The FSA business type of care homes ("Hospitals/Childcare/Caring
/// Premises"), as real care-home records carry it (seed
/// `FSA_TEST_RESULTS.md`).
pub(crate) const CARING_PREMISES_TYPE_ID: u32 = 5;
/// Radius of the geo fallback, in miles (FSA's unit for `maxDistanceLimit`).
const GEO_RADIUS_MILES: &str = "0.3";
/// Name similarity a geo-fallback candidate needs (it is a care premises
/// within a few hundred metres, so a partial name is convincing).
const GEO_THRESHOLD: f64 = 0.3;

pub(crate) async fn fetch(
    client: &reqwest::Client,
    settings: &SourceConfig,
    home: &Home,
) -> SourceOutcome {
    let call = Call::new("FSA", settings, false);
    let address = home
        .postcode
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(&home.city);
    let mut url = endpoint(&settings.base_url, &["Establishments"]);
    url.query_pairs_mut()
        .append_pair("name", home.name.trim())
        .append_pair("address", address.trim())
        .append_pair("pageSize", "20");
    match search(client, url, &call).await {
        Ok(Some(list)) => {
            if let Some((est, score)) = best_match(home, &list) {
                return SourceOutcome::Loaded(to_stored(&summarise(est, score, "name")));
            }
        }
        Ok(None) => {}
        Err(failure) => return SourceOutcome::Failed(failure),
    }
    let Some((lat, lon)) = home
        .latitude
        .zip(home.longitude)
        .filter(|(a, o)| a.is_finite() && o.is_finite())
    else {
        return SourceOutcome::NotFound;
    };
    let mut url = endpoint(&settings.base_url, &["Establishments"]);
    url.query_pairs_mut()
        .append_pair("latitude", &format!("{lat:.6}"))
        .append_pair("longitude", &format!("{lon:.6}"))
        .append_pair("maxDistanceLimit", GEO_RADIUS_MILES)
        .append_pair("businessTypeId", &CARING_PREMISES_TYPE_ID.to_string())
        .append_pair("sortOptionKey", "distance")
        .append_pair("pageSize", "20");
    match search(client, url, &call).await {
        Ok(Some(list)) => match geo_match(home, &list) {
            Some((est, score)) => {
                SourceOutcome::Loaded(to_stored(&summarise(est, score, "nearby")))
            }
            None => SourceOutcome::NotFound,
        },
        Ok(None) => SourceOutcome::NotFound,
        Err(failure) => SourceOutcome::Failed(failure),
    }
}

/// One search: the establishments, `None` for a 404.
async fn search(
    client: &reqwest::Client,
    url: url::Url,
    call: &Call<'_>,
) -> Result<Option<Vec<Value>>, super::SourceFailure> {
    let request = client
        .get(url)
        .header("x-api-version", "2")
        .header(reqwest::header::ACCEPT, "application/json");
    match send_json(request, call).await? {
        Body::NotFound => Ok(None),
        Body::Json(body) => match body.get("establishments").and_then(Value::as_array) {
            Some(list) => Ok(Some(list.clone())),
            None => Err(transient("FSA sent an unexpected search result")),
        },
    }
}

/// The nearby care premises that is this home: a similar name, the same
/// postcode counting extra. The list is FSA's, already filtered to care
/// premises around the home.
pub(crate) fn geo_match<'a>(home: &Home, establishments: &'a [Value]) -> Option<(&'a Value, f64)> {
    let home_pc = home.postcode.as_deref().map(normalise_postcode);
    establishments
        .iter()
        .filter_map(|est| {
            let similarity = name_similarity(&home.name, str_at(est, "/BusinessName")?);
            let same_pc =
                home_pc.is_some() && str_at(est, "/PostCode").map(normalise_postcode) == home_pc;
            (similarity >= GEO_THRESHOLD)
                .then_some(similarity * 0.9 + if same_pc { 0.5 } else { 0.0 })
                .map(|score| (est, score))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The establishment that is this home, with its match score, if any is
/// close enough.
pub(crate) fn best_match<'a>(home: &Home, establishments: &'a [Value]) -> Option<(&'a Value, f64)> {
    let home_pc = home
        .postcode
        .as_deref()
        .map(normalise_postcode)
        .filter(|p| !p.is_empty());
    establishments
        .iter()
        .filter_map(|est| {
            let name = str_at(est, "/BusinessName")?;
            let similarity = name_similarity(&home.name, name);
            let est_pc = str_at(est, "/PostCode").map(normalise_postcode);
            let score = match (&home_pc, &est_pc) {
                (Some(h), Some(e)) if h == e => {
                    (similarity >= SAME_POSTCODE_THRESHOLD).then_some(1.0 + similarity)
                }
                // Same area, clearly the same name (the postcode may be
                // mistyped in one of the registers).
                (Some(h), Some(e)) if outward_code(h) == outward_code(e) => {
                    (similarity >= NAME_ONLY_THRESHOLD).then_some(similarity * 0.9)
                }
                (Some(_), _) => None,
                (None, _) => (similarity >= NAME_ONLY_THRESHOLD).then_some(similarity * 0.8),
            }?;
            Some((est, score))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn summarise(est: &Value, score: f64, matched_by: &str) -> Fsa {
    let text = |p: &str| str_at(est, p).map(str::to_owned);
    let rating = text("/RatingValue").or_else(|| {
        est.get("RatingValue")
            .and_then(Value::as_u64)
            .map(|n| n.to_string())
    });
    let numeric = rating.as_deref().and_then(|r| r.parse::<u8>().ok());
    let score_of = |k: &str| est.pointer(&format!("/scores/{k}")).and_then(Value::as_u64);
    Fsa {
        fhrs_id: est.get("FHRSID").and_then(Value::as_u64),
        business_name: text("/BusinessName"),
        business_type: text("/BusinessType"),
        postcode: text("/PostCode"),
        rating_value: rating,
        rating: numeric.map(u64::from),
        rating_date: str_at(est, "/RatingDate")
            .map(|d| d.split('T').next().unwrap_or(d).to_owned()),
        scheme_type: text("/SchemeType"),
        local_authority: text("/LocalAuthorityName"),
        // FSA sub-scores are penalty points: lower is better.
        scores: Scores {
            hygiene: score_of("Hygiene"),
            structural: score_of("Structural"),
            confidence_in_management: score_of("ConfidenceInManagement"),
        },
        new_rating_pending: est.get("NewRatingPending").and_then(Value::as_bool),
        match_confidence: Some((score.min(2.0) / 2.0 * 100.0).round() / 100.0),
        // "name" (the name + postcode search) or "nearby" (the geo fallback).
        matched_by: Some(matched_by.to_owned()),
        cached_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn home(name: &str, postcode: Option<&str>) -> Home {
        serde_json::from_value(json!({
            "id": "h1", "name": name, "address": null, "city": "Leeds",
            "postcode": postcode, "local_authority": null, "latitude": null,
            "longitude": null, "care": {"residential": true, "nursing": false,
            "dementia": false, "respite": false}, "beds": null,
            "ratings": {"overall": null, "safe": null, "effective": null,
            "caring": null, "responsive": null, "well_led": null},
            "last_inspection": null, "fees": {"residential_from": null,
            "nursing_from": null, "dementia_from": null, "respite_from": null},
            "accepts_local_authority": null, "accepts_self_funding": null,
            "website": null, "provider": null
        }))
        .unwrap()
    }

    fn est(id: u64, name: &str, pc: &str) -> Value {
        json!({"FHRSID": id, "BusinessName": name, "PostCode": pc, "RatingValue": "5"})
    }

    #[test]
    fn prefers_the_same_postcode_over_the_first_result() {
        let h = home("Oak Lodge Care Home", Some("LS1 4AB"));
        let list = vec![
            est(1, "Oak Lodge Care Home", "YO1 7HH"),
            est(2, "Oak Lodge Cafe", "LS1 4AD"),
            est(3, "OAK LODGE", "ls14ab"),
        ];
        assert_eq!(best_match(&h, &list).unwrap().0["FHRSID"], 3);
    }

    #[test]
    fn rejects_strangers() {
        let h = home("Oak Lodge", Some("LS1 4AB"));
        // Same postcode but a different business.
        assert!(best_match(&h, &[est(1, "Tesco Express", "LS1 4AB")]).is_none());
        // Same name far away.
        assert!(best_match(&h, &[est(1, "Oak Lodge", "YO1 7HH")]).is_none());
        assert!(best_match(&h, &[json!({"x": 1})]).is_none());
        // Without a postcode only a strong name match counts.
        let h = home("Oak Lodge", None);
        assert_eq!(
            best_match(&h, &[est(9, "Oak Lodge", "YO1 7HH")]).unwrap().0["FHRSID"],
            9
        );
    }

    #[test]
    fn summary_keeps_text_ratings() {
        let s = summarise(
            &json!({"FHRSID": 1, "BusinessName": "X", "RatingValue": "Exempt",
                    "RatingDate": "2024-03-01T00:00:00", "scores": {"Hygiene": 5}}),
            2.0,
            "name",
        );
        assert_eq!(s.rating_value.as_deref(), Some("Exempt"));
        assert_eq!(s.rating, None);
        assert_eq!(s.rating_date.as_deref(), Some("2024-03-01"));
        assert_eq!(s.scores.hygiene, Some(5));
    }
}
