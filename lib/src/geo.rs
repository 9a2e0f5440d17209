//! Where the client wants to be: the questionnaire's city or postcode turned
//! into coordinates.
//!
//! Cities come from a built-in table (the demo directory's cities and the
//! large towns of England, plus the biggest elsewhere in the UK), so a report
//! never depends on a network call just to know where Birmingham is. A
//! postcode is more precise and is looked up on postcodes.io when a base URL
//! is configured; any failure there falls back to the city, because a
//! slightly less precise centre is better than no report.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a postcode lookup may take before we fall back to the city.
const POSTCODE_TIMEOUT: Duration = Duration::from_secs(5);

/// A resolved place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// What was resolved, e.g. `Birmingham` or `postcode B15 2TT`.
    pub label: String,
}

/// Why a place could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum GeoError {
    /// The city is not in the built-in table (and no postcode resolved).
    #[error("unknown city '{0}': give one of the UK's larger towns or a postcode")]
    UnknownCity(String),
}

/// Resolves cities and postcodes.
#[derive(Clone, Debug)]
pub struct Geocoder {
    client: reqwest::Client,
    postcodes_base: Option<url::Url>,
}

impl Geocoder {
    /// A geocoder; `postcodes_base` (e.g. `https://api.postcodes.io`) enables
    /// postcode lookups, `None` uses the city table only.
    pub fn new(client: reqwest::Client, postcodes_base: Option<url::Url>) -> Self {
        Self {
            client,
            postcodes_base,
        }
    }

    /// The postcode's coordinates when it can be looked up, otherwise the
    /// city's from the built-in table.
    pub(crate) async fn resolve(
        &self,
        city: &str,
        postcode: Option<&str>,
    ) -> Result<Location, GeoError> {
        if let (Some(base), Some(postcode)) = (&self.postcodes_base, postcode) {
            match self.lookup_postcode(base, postcode).await {
                Ok(location) => return Ok(location),
                // The postcode is personal-ish data: log only that it failed.
                Err(reason) => tracing::warn!(%reason, "postcode lookup failed; using the city"),
            }
        }
        city_location(city).ok_or_else(|| GeoError::UnknownCity(city.trim().to_owned()))
    }

    async fn lookup_postcode(&self, base: &url::Url, postcode: &str) -> Result<Location, String> {
        let postcode = postcode.trim().to_ascii_uppercase();
        if postcode.is_empty() || postcode.len() > 10 {
            return Err("not a postcode".to_owned());
        }
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|_| "postcodes base cannot take a path".to_owned())?
            .pop_if_empty()
            .push("postcodes")
            .push(&postcode);
        let response = self
            .client
            .get(url)
            .timeout(POSTCODE_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("request failed: {}", e.without_url()))?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("bad body: {}", e.without_url()))?;
        let result = &body["result"];
        match (result["latitude"].as_f64(), result["longitude"].as_f64()) {
            (Some(lat), Some(lon)) => Ok(Location {
                lat,
                lon,
                label: format!("postcode {postcode}"),
            }),
            _ => Err("no coordinates in answer".to_owned()),
        }
    }
}

/// Great-circle distance in km between two (lat, lon) points.
pub(crate) fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0088;
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// The built-in city table: (name, lat, lon). Centres are the usual city
/// centre points, good to a kilometre or so.
const CITIES: &[(&str, f64, f64)] = &[
    // Demo directory cities.
    ("Birmingham", 52.4862, -1.8904),
    ("Manchester", 53.4808, -2.2426),
    ("Leeds", 53.8008, -1.5491),
    ("Bristol", 51.4545, -2.5879),
    // England's larger cities and towns.
    ("London", 51.5074, -0.1278),
    ("Liverpool", 53.4084, -2.9916),
    ("Sheffield", 53.3811, -1.4701),
    ("Newcastle upon Tyne", 54.9783, -1.6178),
    ("Nottingham", 52.9548, -1.1581),
    ("Leicester", 52.6369, -1.1398),
    ("Coventry", 52.4068, -1.5197),
    ("Bradford", 53.7950, -1.7594),
    ("Wolverhampton", 52.5870, -2.1288),
    ("Stoke-on-Trent", 53.0027, -2.1794),
    ("Derby", 52.9225, -1.4746),
    ("Southampton", 50.9097, -1.4044),
    ("Portsmouth", 50.8198, -1.0880),
    ("Plymouth", 50.3755, -4.1427),
    ("Reading", 51.4543, -0.9781),
    ("Milton Keynes", 52.0406, -0.7594),
    ("Northampton", 52.2405, -0.9027),
    ("Luton", 51.8787, -0.4200),
    ("Brighton", 50.8225, -0.1372),
    ("Hull", 53.7676, -0.3274),
    ("Kingston upon Hull", 53.7676, -0.3274),
    ("Sunderland", 54.9069, -1.3838),
    ("Middlesbrough", 54.5742, -1.2350),
    ("York", 53.9591, -1.0815),
    ("Oxford", 51.7520, -1.2577),
    ("Cambridge", 52.2053, 0.1218),
    ("Norwich", 52.6309, 1.2974),
    ("Exeter", 50.7184, -3.5339),
    ("Bath", 51.3811, -2.3590),
    ("Gloucester", 51.8642, -2.2382),
    ("Worcester", 52.1920, -2.2200),
    ("Preston", 53.7632, -2.7031),
    ("Blackpool", 53.8175, -3.0357),
    ("Bolton", 53.5769, -2.4282),
    ("Stockport", 53.4106, -2.1575),
    ("Salford", 53.4875, -2.2901),
    ("Wakefield", 53.6833, -1.4977),
    ("Huddersfield", 53.6458, -1.7850),
    ("Doncaster", 53.5228, -1.1285),
    ("Walsall", 52.5860, -1.9829),
    ("Solihull", 52.4118, -1.7776),
    ("Sutton Coldfield", 52.5700, -1.8240),
    ("Dudley", 52.5123, -2.0811),
    ("West Bromwich", 52.5187, -1.9945),
    ("Ipswich", 52.0567, 1.1482),
    ("Peterborough", 52.5695, -0.2405),
    ("Swindon", 51.5558, -1.7797),
    ("Bournemouth", 50.7192, -1.8808),
    ("Southend-on-Sea", 51.5459, 0.7077),
    ("Chelmsford", 51.7356, 0.4685),
    ("Colchester", 51.8959, 0.8919),
    ("Canterbury", 51.2802, 1.0789),
    ("Carlisle", 54.8925, -2.9329),
    ("Lincoln", 53.2307, -0.5406),
    // Largest elsewhere in the UK.
    ("Glasgow", 55.8642, -4.2518),
    ("Edinburgh", 55.9533, -3.1883),
    ("Aberdeen", 57.1497, -2.0943),
    ("Dundee", 56.4620, -2.9707),
    ("Cardiff", 51.4816, -3.1791),
    ("Swansea", 51.6214, -3.9436),
    ("Newport", 51.5842, -2.9977),
    ("Belfast", 54.5973, -5.9301),
];

/// Aliases people write for table entries.
const ALIASES: &[(&str, &str)] = &[
    ("newcastle", "Newcastle upon Tyne"),
    ("stoke", "Stoke-on-Trent"),
    ("brighton and hove", "Brighton"),
    ("southend", "Southend-on-Sea"),
    ("greater manchester", "Manchester"),
    ("city of london", "London"),
    ("greater london", "London"),
];

/// Lower-case letters and digits only, so `Stoke on Trent`, `stoke-on-trent`
/// and ` STOKE ON TRENT ` compare equal.
fn city_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The built-in table's entry for a city, case- and space-insensitive.
pub fn city_location(city: &str) -> Option<Location> {
    let key = city_key(city);
    if key.is_empty() {
        return None;
    }
    let name = ALIASES
        .iter()
        .find(|(alias, _)| city_key(alias) == key)
        .map(|(_, name)| *name);
    CITIES
        .iter()
        .find(|(n, _, _)| match name {
            Some(name) => *n == name,
            None => city_key(n) == key,
        })
        .map(|(n, lat, lon)| Location {
            lat: *lat,
            lon: *lon,
            label: (*n).to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn haversine_matches_known_distances() {
        // Birmingham to Manchester is about 113 km as the crow flies.
        let d = haversine_km((52.4862, -1.8904), (53.4808, -2.2426));
        assert!((d - 113.0).abs() < 3.0, "{d}");
        assert_eq!(haversine_km((52.0, -1.0), (52.0, -1.0)), 0.0);
    }

    #[test]
    fn cities_resolve_case_and_space_insensitively() {
        for name in ["Birmingham", " birmingham ", "BIRMINGHAM"] {
            assert_eq!(city_location(name).unwrap().label, "Birmingham");
        }
        assert_eq!(
            city_location("stoke on trent").unwrap().label,
            "Stoke-on-Trent"
        );
        assert_eq!(
            city_location("Newcastle").unwrap().label,
            "Newcastle upon Tyne"
        );
        assert!(city_location("Atlantis").is_none());
        assert!(city_location("").is_none());
        for city in [
            "Birmingham",
            "Manchester",
            "Leeds",
            "Bristol",
            "London",
            "Liverpool",
            "Sheffield",
        ] {
            assert!(city_location(city).is_some(), "{city}");
        }
    }

    /// A one-shot HTTP server answering every request with `body`.
    async fn fake_postcodes(status: &'static str, body: &'static str) -> url::Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                // Echo the path in a header-less way by checking it here.
                let ok_path = request.starts_with("GET /postcodes/B15%202TT ");
                let (status, body) = if ok_path {
                    (status, body)
                } else {
                    ("404 Not Found", "{}")
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        url::Url::parse(&format!("http://{addr}")).unwrap()
    }

    #[tokio::test]
    async fn postcode_uses_postcodes_io_and_falls_back_to_the_city() {
        let base = fake_postcodes(
            "200 OK",
            r#"{"status":200,"result":{"postcode":"B15 2TT","latitude":52.45,"longitude":-1.93}}"#,
        )
        .await;
        let geo = Geocoder::new(reqwest::Client::new(), Some(base));
        let loc = geo.resolve("Birmingham", Some("b15 2tt")).await.unwrap();
        assert_eq!((loc.lat, loc.lon), (52.45, -1.93));
        assert_eq!(loc.label, "postcode B15 2TT");
        // Unknown postcode: the city.
        let loc = geo.resolve("Birmingham", Some("ZZ1 1ZZ")).await.unwrap();
        assert_eq!(loc.label, "Birmingham");

        let broken = fake_postcodes("500 Internal Server Error", "oops").await;
        let geo = Geocoder::new(reqwest::Client::new(), Some(broken));
        assert_eq!(
            geo.resolve("Leeds", Some("B15 2TT")).await.unwrap().label,
            "Leeds"
        );

        let offline = Geocoder::new(reqwest::Client::new(), None);
        assert_eq!(
            offline
                .resolve("Leeds", Some("B15 2TT"))
                .await
                .unwrap()
                .label,
            "Leeds"
        );
        assert_eq!(
            offline.resolve("Atlantis", None).await,
            Err(GeoError::UnknownCity("Atlantis".into()))
        );
    }
}
