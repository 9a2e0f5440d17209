//! The councils' rates for care homes, when the operator provides them.
//!
//! The Department of Health and Social Care publishes what each council
//! pays care homes, by care type and year (the Market Sustainability and
//! Improvement Fund returns, on GOV.UK under the Open Government Licence).
//! The operator turns the figures they need into a CSV file and points
//! `COUNCIL_RATES_CSV` at it; nothing is fetched. Its columns, in any
//! order, with a header row:
//!
//! | column | meaning |
//! |---|---|
//! | `council` | the local authority as the directory names it (`Birmingham`) |
//! | `care_type` | `residential`, `nursing`, `dementia` or `respite` (the care compared, as matching names it) |
//! | `weekly_rate` | pounds a week (`£1,050.00` and `1050` both read) |
//! | `year` | the year the rate is for, as published (`2024-25`) |
//! | `source_url` | where the figure was published (an http(s) URL) |
//! | `figures` | optional: `example` for figures that are not real (they are then said to be examples wherever shown); anything else or empty is a published figure |
//!
//! A row that cannot be read is refused with the line and the reason:
//! rates are money, so a half-read file is not used.

use std::path::{Path, PathBuf};

/// One council's weekly rate for one care type.
#[derive(Clone, Debug, PartialEq)]
pub struct CouncilRate {
    /// The council, as written in the file.
    pub council: String,
    /// `residential`, `nursing`, `dementia` or `respite`.
    pub care_type: String,
    /// Pounds a week.
    pub weekly_rate: f64,
    /// The year, as published.
    pub year: String,
    /// Where it was published.
    pub source_url: String,
    /// Whether these are example figures, not real ones.
    pub example: bool,
}

/// The operator's council rates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CouncilRates {
    rates: Vec<CouncilRate>,
}

/// Why a council rates file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CouncilRatesError {
    /// The file could not be read.
    #[error("cannot read council rates {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A column is missing or a row is wrong.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        reason: String,
    },
}

const CARE_TYPES: [&str; 4] = ["residential", "nursing", "dementia", "respite"];

impl CouncilRates {
    /// Reads the file at `path`.
    pub fn from_path(path: &Path) -> Result<CouncilRates, CouncilRatesError> {
        let bytes = std::fs::read(path).map_err(|source| CouncilRatesError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&bytes).map_err(|reason| CouncilRatesError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses the CSV text; `Err` names the line and what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<CouncilRates, String> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = reader.headers().map_err(|e| e.to_string())?.clone();
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let mut index = [0usize; 5];
        for (i, name) in ["council", "care_type", "weekly_rate", "year", "source_url"]
            .iter()
            .enumerate()
        {
            index[i] = col(name).ok_or_else(|| format!("no {name} column"))?;
        }
        let figures = col("figures");
        let mut rates = Vec::new();
        for (n, row) in reader.records().enumerate() {
            let row = row.map_err(|e| format!("line {}: {e}", n + 2))?;
            let get = |i: usize| row.get(i).unwrap_or("").to_owned();
            let rate = CouncilRate {
                council: get(index[0]),
                care_type: get(index[1]).to_ascii_lowercase(),
                weekly_rate: parse_pounds(&get(index[2])).unwrap_or(f64::NAN),
                year: get(index[3]),
                source_url: get(index[4]),
                example: figures.is_some_and(|i| get(i).eq_ignore_ascii_case("example")),
            };
            check(&rate).map_err(|why| format!("line {}: {why}", n + 2))?;
            rates.push(rate);
        }
        Ok(CouncilRates { rates })
    }

    /// The newest rate of `council` for `care_type` (names compared
    /// without case or surrounding space).
    pub fn find(&self, council: &str, care_type: &str) -> Option<&CouncilRate> {
        self.rates
            .iter()
            .filter(|r| {
                r.council.trim().eq_ignore_ascii_case(council.trim()) && r.care_type == care_type
            })
            .max_by(|a, b| a.year.cmp(&b.year))
    }

    /// How many rates the file holds.
    pub fn len(&self) -> usize {
        self.rates.len()
    }

    /// Whether the file holds none.
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }
}

fn check(r: &CouncilRate) -> Result<(), String> {
    if r.council.is_empty() {
        return Err("no council".into());
    }
    if !CARE_TYPES.contains(&r.care_type.as_str()) {
        return Err(format!(
            "care_type {:?} is not one of {}",
            r.care_type,
            CARE_TYPES.join(", ")
        ));
    }
    if !(r.weekly_rate.is_finite() && r.weekly_rate > 0.0 && r.weekly_rate < 100_000.0) {
        return Err("weekly_rate is not a positive amount of pounds".into());
    }
    if r.year.is_empty() {
        return Err("no year".into());
    }
    let url_ok = url::Url::parse(&r.source_url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !url_ok {
        return Err("source_url is not an http(s) URL".into());
    }
    Ok(())
}

/// `£1,050.00` → 1050.0.
fn parse_pounds(s: &str) -> Option<f64> {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, '£' | ',' | ' '))
        .collect();
    cleaned.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "council,care_type,weekly_rate,year,source_url,figures\n\
        Birmingham,residential,\"£1,050.00\",2024-25,https://www.gov.uk/x,example\n\
        Birmingham,residential,990,2023-24,https://www.gov.uk/x,example\n\
        Leeds,nursing,1210,2024-25,https://www.gov.uk/y,\n";

    #[test]
    fn reads_rates_and_finds_the_newest() {
        let r = CouncilRates::parse(OK.as_bytes()).unwrap();
        assert_eq!(r.len(), 3);
        let b = r.find(" birmingham ", "residential").unwrap();
        assert_eq!(b.weekly_rate, 1050.0);
        assert_eq!(b.year, "2024-25");
        assert!(b.example);
        assert!(!r.find("Leeds", "nursing").unwrap().example);
        assert!(r.find("Leeds", "residential").is_none());
    }

    #[test]
    fn a_bad_row_is_refused_with_its_line() {
        for (bad, why) in [
            ("Leeds,spa,100,2024-25,https://x.example", "care_type"),
            (
                "Leeds,nursing,free,2024-25,https://x.example",
                "weekly_rate",
            ),
            ("Leeds,nursing,-5,2024-25,https://x.example", "weekly_rate"),
            ("Leeds,nursing,900,,https://x.example", "year"),
            ("Leeds,nursing,900,2024-25,not a url", "source_url"),
            (",nursing,900,2024-25,https://x.example", "council"),
        ] {
            let text = format!("council,care_type,weekly_rate,year,source_url\n{bad}\n");
            let err = CouncilRates::parse(text.as_bytes()).unwrap_err();
            assert!(err.contains("line 2") && err.contains(why), "{bad}: {err}");
        }
        let err = CouncilRates::parse(b"council,care_type,year\n").unwrap_err();
        assert!(err.contains("weekly_rate"), "{err}");
    }

    /// The example file shipped for the demo directory's councils loads,
    /// and every row of it is marked as example figures.
    #[test]
    fn the_shipped_example_is_marked_as_example_figures() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/examples/council_rates.EXAMPLE.csv"
        );
        let r = CouncilRates::from_path(Path::new(path)).unwrap();
        assert!(!r.is_empty());
        assert!(r.rates.iter().all(|r| r.example));
        assert!(r.find("Birmingham", "residential").is_some());
    }
}
