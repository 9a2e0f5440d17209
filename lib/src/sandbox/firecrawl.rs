//! The fake Firecrawl API: `POST /v2/scrape` behind the bearer token, the
//! home's site as markdown (its care, fee, activities and visiting), an
//! unknown site answered as real Firecrawl answers an unresolvable one,
//! and the quirks of failed, blocked and blocklisted pages.

use http::Method;
use serde_json::{json, Value};

use super::data::{demo_quirk, h};
use super::faults::Quirk;
use super::{
    counted, huge_name, not_found_route, quirk_answer, reply, uncounted, Api, Reply, Req, Routed,
    State,
};
use crate::directory::Home;
use crate::model::SourceType;

/// The route: counted under the home whose site was asked for (else the URL).
pub(super) fn route(state: &State, req: &Req) -> Routed {
    if req.method != Method::POST || req.segments.first().map(String::as_str) != Some("scrape") {
        return uncounted(not_found_route(Api::Firecrawl));
    }
    let url = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .and_then(|v| v.get("url").and_then(Value::as_str).map(str::to_owned));
    let Some(url) = url else {
        return uncounted(reply(
            400,
            &json!({"success": false, "error": "Bad Request: url is required"}),
        ));
    };
    let home = state.homes.iter().find(|h| {
        h.website
            .as_deref()
            .is_some_and(|w| site_key(w) == site_key(&url))
    });
    let key = home.map_or_else(|| url.clone(), |h| h.id.clone());
    let authorised = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(state.keys.firecrawl.as_str());
    let answer = if !authorised {
        reply(
            401,
            &json!({"success": false, "error": "Unauthorized: Invalid token"}),
        )
    } else {
        let demo = home.and_then(|h| {
            demo_quirk(h, |q| {
                matches!(q, Quirk::ScrapeError(_) | Quirk::PageStatus(_))
            })
        });
        match (home, demo) {
            // A demo home whose domain does not resolve, or behind a bot wall.
            (Some(h), Some(q)) => quirk_answer(Api::Firecrawl, state, &h.id, &q)
                .unwrap_or_else(|| reply(200, &scrape(h, &url))),
            (Some(h), None) => reply(200, &scrape(h, &url)),
            // A site nobody serves: real Firecrawl cannot resolve it and
            // answers 500 SCRAPE_DNS_RESOLUTION_ERROR ([FC] `v1/scrape.ts`,
            // `scrapeURL/error.ts`), not a 200 page.
            (None, _) => reply(
                500,
                &json!({"success": false, "code": "SCRAPE_DNS_RESOLUTION_ERROR",
                        "error": "Specified URL is failing to load in the browser. Error code: ERR_NAME_NOT_RESOLVED"}),
            ),
        }
    };
    counted(SourceType::Firecrawl, key, answer)
}

/// Site identity for matching URLs: host without `www.`, path without trailing `/`.
fn site_key(url: &str) -> String {
    let s = url.trim().to_lowercase();
    let s = s
        .split_once("://")
        .map_or(s.as_str(), |(_, r)| r)
        .to_owned();
    let s = s.strip_prefix("www.").unwrap_or(&s);
    s.trim_end_matches('/').to_owned()
}

/// Firecrawl's quirks: a failed scrape, a blocked or blocklisted page, or a
/// huge title.
pub(super) fn quirk(home: Option<&Home>, quirk: &Quirk) -> Option<Reply> {
    match quirk {
        Quirk::ScrapeError(code) => Some(reply(
            500,
            &json!({"success": false, "code": code,
                    "error": format!("Specified URL is failing to load in the browser. Error code: {code}")}),
        )),
        Quirk::PageStatus(status) => home.map(|h| {
            let url = h.website.clone().unwrap_or_default();
            let mut v = scrape(h, &url);
            v["data"]["markdown"] = json!("# Access denied\n\nPlease verify you are a human.");
            v["data"]["metadata"]["statusCode"] = json!(status);
            v["data"]["metadata"]["title"] = json!("Just a moment...");
            reply(200, &v)
        }),
        Quirk::Blocklisted => Some(reply(
            403,
            &json!({"success": false, "error": "This website is no longer supported, please reach out to help@firecrawl.com for more info on how to activate it on your account."}),
        )),
        Quirk::HugeString => home.map(|h| {
            let url = h.website.clone().unwrap_or_default();
            let mut v = scrape(h, &url);
            v["data"]["metadata"]["title"] = json!(huge_name());
            reply(200, &v)
        }),
        _ => None,
    }
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
fn scrape(home: &Home, url: &str) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_is_its_host_without_www_and_its_path() {
        assert_eq!(site_key("https://www.Oak.co.uk/"), "oak.co.uk");
    }
}
