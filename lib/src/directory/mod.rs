//! The care-home directory: the candidates a report chooses from.
//!
//! Operators keep their homes in a `care_homes` table and hand us its CSV
//! export (95 columns, several holding JSON text). Real exports are ragged:
//! empty cells, ratings spelt `Requires Improvement` or `Requires improvement`,
//! missing coordinates. The importer therefore reads cells leniently (a bad
//! cell becomes "unknown"), skips only rows it cannot use at all (no id, no
//! name, wrong field count, duplicate id) and counts them, and refuses a file
//! that is not that export at all, so a wrong path fails loudly rather than
//! producing an empty directory.
//!
//! The embedded demo directory is a small file in the same format (a subset
//! of the columns), read by the same importer, so the service runs with no
//! set-up and the import path is exercised on every start. Its homes are
//! fictional: ids `DEMO-0001`…, names `Demo: …`, `.example` websites.
//!
//! What a row means is decided here, once: the CQC registration (who the
//! home may care for, [`registration`]), which columns were never collected
//! ([`coverage`]: they are unknown, not "no"), the same home registered
//! twice ([`merge`]: one entry, the current registration) and telephone
//! numbers a family can dial ([`phone`]).

pub mod council_rates;
mod coverage;
mod merge;
mod phone;
mod registration;

pub use council_rates::{CouncilRate, CouncilRates, CouncilRatesError};
pub use coverage::ColumnCoverage;
pub use merge::PastRegistration;
pub(crate) use phone::uk_national as uk_phone;
pub use registration::{Band, Registration};

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The embedded demo directory: 54 fictional homes around Birmingham,
/// Manchester, Leeds and Bristol.
const DEMO_CSV: &str = include_str!("demo_homes.csv");

/// The environment variable naming a `care_homes` CSV export to load.
pub(crate) const CSV_ENV: &str = "CARE_HOMES_CSV";

/// How many skip reasons an [`ImportReport`] keeps.
const MAX_REASONS: usize = 10;

/// Columns without which a file is not a `care_homes` export.
const REQUIRED_COLUMNS: [&str; 10] = [
    "cqc_location_id",
    "name",
    "city",
    "postcode",
    "latitude",
    "longitude",
    "care_residential",
    "care_nursing",
    "care_dementia",
    "cqc_rating_overall",
];

/// A CQC rating, compared case-insensitively when parsed
/// (`Requires Improvement` and `Requires improvement` are the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CqcRating {
    /// Inadequate.
    Inadequate,
    /// Requires improvement.
    RequiresImprovement,
    /// Good.
    Good,
    /// Outstanding.
    Outstanding,
}

impl CqcRating {
    /// Parses a rating as CQC and exports spell it, ignoring case, spaces,
    /// hyphens and underscores. `Not rated`, empty and unknown text are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let key: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Some(match key.as_str() {
            "outstanding" => Self::Outstanding,
            "good" => Self::Good,
            "requiresimprovement" => Self::RequiresImprovement,
            "inadequate" => Self::Inadequate,
            _ => return None,
        })
    }

    /// The rating as CQC prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Outstanding => "Outstanding",
            Self::Good => "Good",
            Self::RequiresImprovement => "Requires improvement",
            Self::Inadequate => "Inadequate",
        }
    }
}

/// CQC ratings per key question; any may be unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CqcRatings {
    /// Overall.
    pub overall: Option<CqcRating>,
    /// Safe.
    pub safe: Option<CqcRating>,
    /// Effective.
    pub effective: Option<CqcRating>,
    /// Caring.
    pub caring: Option<CqcRating>,
    /// Responsive.
    pub responsive: Option<CqcRating>,
    /// Well-led.
    pub well_led: Option<CqcRating>,
}

/// Care the home is registered for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareFlags {
    /// Residential (personal) care.
    pub residential: bool,
    /// Nursing care.
    pub nursing: bool,
    /// Dementia care.
    pub dementia: bool,
    /// Respite stays: `None` when the export does not say (the operators'
    /// export never fills `care_respite`).
    #[serde(default)]
    pub respite: Option<bool>,
}

/// Weekly fees in pounds, where known.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fees {
    /// Residential care from.
    pub residential_from: Option<f64>,
    /// Nursing care from.
    pub nursing_from: Option<f64>,
    /// Dementia care from.
    pub dementia_from: Option<f64>,
    /// Respite from.
    pub respite_from: Option<f64>,
}

/// Facilities the directory records; `None` is unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facilities {
    /// Step-free, wheelchair-accessible building.
    pub wheelchair_access: Option<bool>,
    /// En-suite rooms.
    pub ensuite_rooms: Option<bool>,
    /// A secure garden (matters for dementia).
    pub secure_garden: Option<bool>,
    /// Wi-Fi for residents.
    pub wifi: Option<bool>,
    /// On-site parking for visitors.
    pub parking: Option<bool>,
}

/// One care home.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Home {
    /// CQC location id (e.g. `1-10016894058`), or `DEMO-…` in the demo directory.
    pub id: String,
    /// Name.
    pub name: String,
    /// Street address, when known.
    pub address: Option<String>,
    /// Town or city.
    pub city: String,
    /// Postcode, when known.
    pub postcode: Option<String>,
    /// Local authority.
    pub local_authority: Option<String>,
    /// Latitude, when known.
    pub latitude: Option<f64>,
    /// Longitude, when known.
    pub longitude: Option<f64>,
    /// Registered care.
    pub care: CareFlags,
    /// Registered beds.
    pub beds: Option<u32>,
    /// CQC ratings.
    pub ratings: CqcRatings,
    /// Last CQC inspection date.
    pub last_inspection: Option<NaiveDate>,
    /// Weekly fees.
    pub fees: Fees,
    /// Accepts local-authority funded residents, when known.
    pub accepts_local_authority: Option<bool>,
    /// Accepts self-funded residents, when known.
    pub accepts_self_funding: Option<bool>,
    /// Website, when known.
    pub website: Option<String>,
    /// Provider name.
    pub provider: Option<String>,
    /// The provider's Companies House number, 8 characters as Companies
    /// House writes it (`03885446`, `SC123456`): the export stores it as an
    /// integer inside `source_metadata`, so leading zeros are restored.
    #[serde(default)]
    pub provider_company_number: Option<String>,
    /// Who CQC registered the home to care for.
    #[serde(default)]
    pub registration: Registration,
    /// Earlier registrations of the same home (another provider ran it),
    /// newest first: their ratings are history, not the current rating.
    #[serde(default)]
    pub previous_registrations: Vec<PastRegistration>,
    /// Facilities, where recorded.
    #[serde(default)]
    pub facilities: Facilities,
    /// Link to the latest CQC report, when known.
    #[serde(default)]
    pub cqc_report_url: Option<String>,
    /// The home's telephone number as the export holds it (often an
    /// integer that lost its leading 0): read it through [`Home::phone`].
    /// The provider's number is not used: it rings a head office, often in
    /// another county.
    #[serde(default)]
    pub telephone: Option<String>,
    /// The home's e-mail address, when the export has one.
    #[serde(default)]
    pub email: Option<String>,
    /// What the kitchen caters for, as the export's `dietary_options`
    /// column states it (every string found in its JSON, e.g.
    /// `Vegetarian`, `Diabetic`). Empty: the export says nothing, which
    /// matching treats as unknown, never as "no".
    #[serde(default)]
    pub dietary_options: Vec<String>,
}

impl Home {
    /// The telephone number in UK national format (`0121 707 7921`), when
    /// the export's cell is a valid UK number: the report's `contact.phone`.
    pub fn phone(&self) -> Option<String> {
        self.telephone.as_deref().and_then(phone::uk_national)
    }

    /// Coordinates, when both are known.
    pub(crate) fn coordinates(&self) -> Option<(f64, f64)> {
        Some((self.latitude?, self.longitude?))
    }
}

/// Why a directory could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The file could not be read.
    #[error("cannot read care-home directory {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is CSV but not a `care_homes` export (or not CSV at all).
    #[error("{path} is not a care_homes export: {reason}")]
    NotCareHomesExport {
        /// The file.
        path: PathBuf,
        /// What is wrong, e.g. the missing columns.
        reason: String,
    },
    /// The file is an export but no row was usable.
    #[error("{path} has no usable care homes ({skipped} rows skipped)")]
    Empty {
        /// The file.
        path: PathBuf,
        /// Rows skipped.
        skipped: usize,
    },
}

/// What an import loaded and skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Homes loaded.
    pub loaded: usize,
    /// Rows skipped.
    pub skipped: usize,
    /// Why rows were skipped (the first few), e.g. `row 12: no cqc_location_id`.
    pub reasons: Vec<String>,
    /// Homes loaded without usable coordinates (they cannot be matched by distance).
    pub without_coordinates: usize,
    /// Homes registered more than once, merged into one entry each: one
    /// line per home, `name (postcode): current id, earlier ids`.
    #[serde(default)]
    pub merged: Vec<String>,
    /// Each column's coverage, by name, over the rows read.
    #[serde(default)]
    pub coverage: Vec<ColumnCoverage>,
    /// Well-formed rows read (before registrations of one home were merged).
    #[serde(default)]
    pub rows: usize,
}

impl ImportReport {
    /// The columns treated as unknown (never collected).
    pub fn unknown_columns(&self) -> Vec<&str> {
        self.coverage
            .iter()
            .filter(|c| c.unknown)
            .map(|c| c.column.as_str())
            .collect()
    }
}

/// A loaded directory and where it came from, with the councils' rates
/// when the operator provides them ([`council_rates`]).
#[derive(Clone, Debug)]
pub struct Directory {
    label: String,
    homes: Vec<Home>,
    council_rates: Option<CouncilRates>,
}

impl Directory {
    /// The embedded demo directory of fictional homes.
    pub fn demo() -> Directory {
        // The embedded file is tested to load completely; an empty directory
        // is the harmless result should that ever break.
        let homes = parse_export(DEMO_CSV.as_bytes(), Path::new("demo_homes.csv"))
            .map(|(homes, _)| homes)
            .unwrap_or_default();
        Directory {
            label: "demo (fictional homes)".to_owned(),
            homes,
            council_rates: None,
        }
    }

    /// Loads a `care_homes` CSV export.
    pub fn from_csv_path(path: &Path) -> Result<(Directory, ImportReport), DirectoryError> {
        let bytes = std::fs::read(path).map_err(|source| DirectoryError::Io {
            path: path.to_owned(),
            source,
        })?;
        let (homes, report) = parse_export(&bytes, path)?;
        if homes.is_empty() {
            return Err(DirectoryError::Empty {
                path: path.to_owned(),
                skipped: report.skipped,
            });
        }
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let label = format!(
            "csv:{file} ({} homes, {} rows skipped)",
            report.loaded, report.skipped
        );
        Ok((
            Directory {
                label,
                homes,
                council_rates: None,
            },
            report,
        ))
    }

    /// The directory the settings ask for: the export at `csv` (the
    /// `CARE_HOMES_CSV` variable), or the demo directory when it is `None`.
    pub fn load(csv: Option<&Path>) -> Result<Directory, DirectoryError> {
        match csv {
            Some(path) => {
                let (directory, report) = Self::from_csv_path(path)?;
                tracing::info!(
                    directory = %directory.label,
                    loaded = report.loaded,
                    skipped = report.skipped,
                    without_coordinates = report.without_coordinates,
                    reasons = ?report.reasons,
                    merged = ?report.merged,
                    "care-home directory loaded"
                );
                log_coverage(&report);
                Ok(directory)
            }
            None => Ok(Self::demo()),
        }
    }

    /// A directory of the given homes (for tests and embedding callers).
    #[cfg(test)]
    pub(crate) fn from_homes(label: impl Into<String>, homes: Vec<Home>) -> Directory {
        Directory {
            label: label.into(),
            homes,
            council_rates: None,
        }
    }

    /// The same directory with the councils' rates.
    pub fn with_council_rates(mut self, rates: Option<CouncilRates>) -> Directory {
        self.council_rates = rates;
        self
    }

    /// The councils' rates, when the operator provided them.
    pub fn council_rates(&self) -> Option<&CouncilRates> {
        self.council_rates.as_ref()
    }

    /// Which directory this is, for the report.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Its homes.
    pub fn homes(&self) -> &[Home] {
        &self.homes
    }

    /// The home with this id.
    pub fn find(&self, id: &str) -> Option<&Home> {
        self.homes.iter().find(|h| h.id == id)
    }
}

/// Logs, at start, how each column is filled and which ones are read as
/// unknown (column names and counts only: no cell is logged).
fn log_coverage(report: &ImportReport) {
    for c in &report.coverage {
        tracing::debug!(
            column = %c.column,
            filled = c.filled,
            constant = ?c.constant,
            unknown = c.unknown,
            "directory column coverage"
        );
    }
    let partly: Vec<String> = report
        .coverage
        .iter()
        .filter(|c| !c.unknown && c.filled < report.rows)
        .map(|c| format!("{} {}/{}", c.column, c.filled, report.rows))
        .collect();
    tracing::info!(
        unknown = ?report.unknown_columns(),
        partly_filled = ?partly,
        "directory columns treated as unknown (empty, or one yes/no answer in every row)"
    );
}

/// Reads an export from bytes. Only structural problems are errors; rows
/// that cannot be used are skipped and counted. Two passes: the columns
/// are measured first ([`coverage`]), so a never-collected column is read
/// as unknown in every row; then registrations of one home are merged.
fn parse_export(bytes: &[u8], path: &Path) -> Result<(Vec<Home>, ImportReport), DirectoryError> {
    // Tolerate a UTF-8 byte order mark from spreadsheet tools.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let (width, columns) = export_columns(&mut reader, path)?;
    let mut import = Import::default();
    let mut records = Vec::new();
    let mut tally = coverage::Tally::default();
    for (index, record) in reader.records().enumerate() {
        // Line 1 is the header; quoted cells may span lines, so this is the
        // record number as a spreadsheet shows it.
        let row = index + 2;
        match record {
            Ok(r) if r.iter().all(str::is_empty) => {}
            Ok(r) if r.len() != width => {
                import.skip(format!("row {row}: {} fields, expected {width}", r.len()))
            }
            Ok(r) => {
                tally.add(&r);
                records.push((row, r));
            }
            Err(e) => import.skip(format!("row {row}: unreadable ({e})")),
        }
    }
    import.report.rows = records.len();
    import.report.coverage = tally.finish(&columns);
    let unknown: HashSet<usize> = import
        .report
        .coverage
        .iter()
        .filter(|c| c.unknown)
        .filter_map(|c| columns.get(&c.column).copied())
        .collect();
    for (row, record) in &records {
        import.record(*row, record, &columns, &unknown);
    }
    Ok(import.finish())
}

/// The header's width and each column's index by lower-case name; an error
/// when the header is unreadable or lacks a required column.
fn export_columns<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    path: &Path,
) -> Result<(usize, HashMap<String, usize>), DirectoryError> {
    let not_export = |reason: String| DirectoryError::NotCareHomesExport {
        path: path.to_owned(),
        reason,
    };
    let headers = reader
        .headers()
        .map_err(|e| not_export(format!("unreadable header ({e})")))?;
    let columns: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
        .collect();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !columns.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        return Err(not_export(format!(
            "missing column(s) {}",
            missing.join(", ")
        )));
    }
    Ok((headers.len(), columns))
}

/// An export's homes as its records are read, and what was skipped.
#[derive(Default)]
struct Import {
    homes: Vec<Home>,
    /// The ids taken so far: a repeated id is skipped.
    seen: HashSet<String>,
    report: ImportReport,
}

impl Import {
    /// Counts a skipped row, keeping the first [`MAX_REASONS`] reasons.
    fn skip(&mut self, reason: String) {
        self.report.skipped += 1;
        if self.report.reasons.len() < MAX_REASONS {
            self.report.reasons.push(reason);
        }
    }

    /// Takes the home of spreadsheet row `row`, or skips the row saying why.
    fn record(
        &mut self,
        row: usize,
        record: &csv::StringRecord,
        columns: &HashMap<String, usize>,
        unknown: &HashSet<usize>,
    ) {
        match (Row {
            record,
            columns,
            unknown,
        })
        .home()
        {
            Ok(home) => {
                if !self.seen.insert(home.id.clone()) {
                    self.skip(format!("row {row}: duplicate id {}", home.id));
                    return;
                }
                if home.coordinates().is_none() {
                    self.report.without_coordinates += 1;
                }
                self.homes.push(home);
            }
            Err(reason) => self.skip(format!("row {row}: {reason}")),
        }
    }

    /// The homes taken, registrations of one home merged, and the report,
    /// with the count loaded.
    fn finish(mut self) -> (Vec<Home>, ImportReport) {
        let (homes, merged) = merge::merge_registrations(self.homes);
        self.report.merged = merged;
        self.report.loaded = homes.len();
        (homes, self.report)
    }
}

/// One record with access by column name.
struct Row<'a> {
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
    /// Columns never collected in this export: every cell reads as empty.
    unknown: &'a HashSet<usize>,
}

impl Row<'_> {
    /// A cell with a value, in a column the export collected.
    fn text(&self, column: &str) -> Option<&str> {
        let i = *self.columns.get(column)?;
        if self.unknown.contains(&i) {
            return None;
        }
        coverage::meaningful(self.record.get(i)?)
    }

    fn string(&self, column: &str) -> Option<String> {
        self.text(column).map(str::to_owned)
    }

    fn flag(&self, column: &str) -> Option<bool> {
        parse_bool(self.text(column)?)
    }

    fn number(&self, column: &str) -> Option<f64> {
        parse_number(self.text(column)?)
    }

    fn json(&self, column: &str) -> Option<serde_json::Value> {
        serde_json::from_str(self.text(column)?).ok()
    }

    fn rating(&self, column: &str) -> Option<CqcRating> {
        CqcRating::parse(self.text(column)?)
    }

    fn home(&self) -> Result<Home, String> {
        let id = self.string("cqc_location_id").ok_or("no cqc_location_id")?;
        let name = self.string("name").ok_or("no name")?;
        let (latitude, longitude) = self.position();
        let building = self.json("building_info");
        let city = self
            .string("city")
            .or_else(|| building_text(building.as_ref(), "provider_city"))
            .unwrap_or_default();
        let last_inspection = self.text("cqc_last_inspection_date").and_then(parse_date);
        Ok(Home {
            id,
            name,
            address: building_address(building.as_ref()),
            city,
            postcode: self.string("postcode").map(|p| p.to_ascii_uppercase()),
            local_authority: self.string("local_authority"),
            latitude,
            longitude,
            care: self.care(),
            beds: self
                .number("beds_total")
                .filter(|b| *b >= 0.0 && *b < 100_000.0)
                .map(|b| b.round() as u32),
            ratings: self.ratings(),
            last_inspection,
            fees: self.fees(),
            accepts_local_authority: self.flag("accepts_local_authority"),
            accepts_self_funding: self.flag("accepts_self_funding"),
            website: self.string("website"),
            provider: self.string("provider_name"),
            provider_company_number: self
                .json("source_metadata")
                .as_ref()
                .and_then(|m| m.get("provider_companies_house_number"))
                .and_then(company_number),
            registration: self.registration(),
            previous_registrations: Vec::new(),
            facilities: self.facilities(),
            cqc_report_url: self.string("cqc_latest_report_url"),
            telephone: self.string("telephone"),
            email: self.string("email"),
            dietary_options: self.dietary_options(),
        })
    }

    /// Latitude and longitude, each only when in range.
    fn position(&self) -> (Option<f64>, Option<f64>) {
        let latitude = self
            .number("latitude")
            .filter(|v| (-90.0..=90.0).contains(v));
        let longitude = self
            .number("longitude")
            .filter(|v| (-180.0..=180.0).contains(v));
        // (0, 0) is a placeholder some exports use for "unknown".
        match (latitude, longitude) {
            (Some(a), Some(b)) if a == 0.0 && b == 0.0 => (None, None),
            other => other,
        }
    }

    /// The care registered, from the flag columns and the CQC service types.
    fn care(&self) -> CareFlags {
        // The CQC service types say "with nursing" even where the flag columns
        // were never filled in.
        let services = self
            .json_list("service_types", "services")
            .unwrap_or_default();
        let service_has = |needle: &str| {
            services
                .iter()
                .any(|s| s.to_ascii_lowercase().contains(needle))
        };
        CareFlags {
            residential: self.flag("care_residential").unwrap_or(false)
                || service_has("without nursing"),
            nursing: self.flag("care_nursing").unwrap_or(false)
                || self.flag("has_nursing_care_license").unwrap_or(false)
                || service_has("with nursing"),
            dementia: self.flag("care_dementia").unwrap_or(false)
                || self.flag("serves_dementia_band").unwrap_or(false),
            respite: self.flag("care_respite"),
        }
    }

    /// The CQC registration: bands from the list and the `serves_*` flags,
    /// service types, regulated activities and the registration's dates.
    fn registration(&self) -> Registration {
        let flags: Vec<(Band, Option<bool>)> = Band::COLUMNS
            .iter()
            .map(|(band, column)| (*band, self.flag(column)))
            .collect();
        Registration {
            bands: registration::bands(self.json_list("service_user_bands", "bands"), &flags),
            service_types: self
                .json_list("service_types", "services")
                .unwrap_or_default(),
            regulated_activities: self
                .json_list("regulated_activities", "activities")
                .unwrap_or_default(),
            registered_year: self
                .number("year_registered")
                .filter(|y| (1900.0..=2200.0).contains(y))
                .map(|y| y as i32),
            provider_since: self.text("provider_hsca_start_date").and_then(parse_date),
        }
    }

    /// The strings of a JSON cell's list under `key` (`{"bands": [...]}`),
    /// or of a bare list; `None` when the cell holds no list.
    fn json_list(&self, column: &str, key: &str) -> Option<Vec<String>> {
        let v = self.json(column)?;
        let list = v.get(key).unwrap_or(&v);
        let items = list.as_array()?;
        Some(
            items
                .iter()
                .filter_map(|i| i.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// The CQC ratings, overall and per key question.
    fn ratings(&self) -> CqcRatings {
        CqcRatings {
            overall: self.rating("cqc_rating_overall"),
            safe: self.rating("cqc_rating_safe"),
            effective: self.rating("cqc_rating_effective"),
            caring: self.rating("cqc_rating_caring"),
            responsive: self.rating("cqc_rating_responsive"),
            well_led: self.rating("cqc_rating_well_led"),
        }
    }

    /// The weekly fees from which each kind of care is offered.
    fn fees(&self) -> Fees {
        Fees {
            residential_from: self.fee("fee_residential_from"),
            nursing_from: self.fee("fee_nursing_from"),
            dementia_from: self.fee("fee_dementia_from"),
            respite_from: self.fee("fee_respite_from"),
        }
    }

    /// The facilities the export records.
    fn facilities(&self) -> Facilities {
        Facilities {
            wheelchair_access: self.flag("wheelchair_access"),
            ensuite_rooms: self.flag("ensuite_rooms"),
            secure_garden: self.flag("secure_garden"),
            wifi: self.flag("wifi_available"),
            parking: self.flag("parking_onsite"),
        }
    }

    /// The dietary options, whatever the JSON cell's layout.
    fn dietary_options(&self) -> Vec<String> {
        self.json("dietary_options")
            .map(|v| {
                let mut out = Vec::new();
                collect_strings(&v, &mut out);
                out
            })
            .unwrap_or_default()
    }

    /// A weekly fee; zero and negative amounts mean "unknown" in exports.
    fn fee(&self, column: &str) -> Option<f64> {
        self.number(column).filter(|f| *f > 0.0)
    }
}

/// A non-empty text field of the `building_info` JSON cell, trimmed.
fn building_text(building: Option<&serde_json::Value>, key: &str) -> Option<String> {
    building
        .and_then(|b| b.get(key))
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The street address from `building_info`: its two lines, joined.
fn building_address(building: Option<&serde_json::Value>) -> Option<String> {
    match (
        building_text(building, "street_address"),
        building_text(building, "address_line_2"),
    ) {
        (Some(a), Some(b)) => Some(format!("{a}, {b}")),
        (a, b) => a.or(b),
    }
}

/// Every string in a JSON cell, in order: array items, object values and
/// the keys of `true` flags (`{"vegetarian": true}`), at most 50, each at
/// most 100 characters. The column's layout varies between exports (a list,
/// lists by category, flags); its words are what matching reads.
fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    if out.len() >= 50 {
        return;
    }
    match v {
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.chars().count() <= 100 && !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                if v == &Value::Bool(true) {
                    collect_strings(&Value::String(k.clone()), out);
                } else {
                    collect_strings(v, out);
                }
            }
        }
        _ => {}
    }
}

/// A Companies House number from a JSON string or number: digits are
/// zero-padded to 8 (`3885446` is `03885446`); a two-letter prefix
/// (`SC`, `NI`, `OC`, …) and six digits are kept; anything else is `None`.
fn company_number(v: &serde_json::Value) -> Option<String> {
    let raw = match v {
        serde_json::Value::String(s) => s.trim().to_ascii_uppercase(),
        serde_json::Value::Number(n) => n.as_u64()?.to_string(),
        _ => return None,
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if digits(&raw) && raw.len() <= 8 && !raw.trim_start_matches('0').is_empty() {
        return Some(format!("{raw:0>8}"));
    }
    let (prefix, rest) = raw.split_at_checked(2)?;
    (prefix.chars().all(|c| c.is_ascii_alphabetic()) && rest.len() == 6 && digits(rest))
        .then_some(raw)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Numbers as exports write them, including `£1,250.00`.
fn parse_number(s: &str) -> Option<f64> {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, '£' | ',' | ' '))
        .collect();
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `2024-09-13`, optionally followed by a time (`2024-09-13 10:06:34+00`).
fn parse_date(s: &str) -> Option<NaiveDate> {
    let day = s.get(..10)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The export's real header (95 columns).
    const HEADER: &str = "id,cqc_location_id,location_ods_code,name,name_normalized,provider_name,provider_id,brand_name,telephone,email,website,city,county,postcode,latitude,longitude,region,local_authority,beds_total,beds_available,has_availability,availability_status,availability_last_checked,year_opened,year_registered,care_residential,care_nursing,care_dementia,care_respite,has_nursing_care_license,has_personal_care_license,has_surgical_procedures_license,has_treatment_license,has_diagnostic_license,serves_older_people,serves_younger_adults,serves_mental_health,serves_physical_disabilities,serves_sensory_impairments,serves_dementia_band,serves_children,serves_learning_disabilities,serves_detained_mha,serves_substance_misuse,serves_eating_disorders,serves_whole_population,fee_residential_from,fee_nursing_from,fee_dementia_from,fee_respite_from,accepts_self_funding,accepts_local_authority,accepts_nhs_chc,accepts_third_party_topup,cqc_rating_overall,cqc_rating_safe,cqc_rating_effective,cqc_rating_caring,cqc_rating_responsive,cqc_rating_well_led,cqc_last_inspection_date,cqc_publication_date,cqc_latest_report_url,review_average_score,review_count,google_rating,wheelchair_access,ensuite_rooms,secure_garden,wifi_available,parking_onsite,is_dormant,data_quality_score,created_at,updated_at,last_scraped_at,regulated_activities,source_urls,service_types,service_user_bands,facilities,medical_specialisms,dietary_options,activities,pricing_details,staff_information,reviews_detailed,media,location_context,building_info,accreditations,source_metadata,extra,provider_telephone_number,provider_hsca_start_date";

    /// Builds an export row from (column, value) pairs; other cells empty.
    fn row(cells: &[(&str, &str)]) -> String {
        let header: Vec<&str> = HEADER.split(',').collect();
        let mut out = vec![String::new(); header.len()];
        for (column, value) in cells {
            let i = header.iter().position(|h| h == column).expect("column");
            out[i] = if value.contains(',') || value.contains('"') {
                format!("\"{}\"", value.replace('"', "\"\""))
            } else {
                (*value).to_owned()
            };
        }
        out.join(",")
    }

    fn write(name: &str, content: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "care-report-dir-test-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("export.csv");
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn demo_directory_is_fictional_and_spread_over_four_cities() {
        let d = Directory::demo();
        assert!((30..=60).contains(&d.homes().len()), "{}", d.homes().len());
        assert_eq!(d.label(), "demo (fictional homes)");
        let (_, report) = parse_export(DEMO_CSV.as_bytes(), Path::new("demo")).unwrap();
        assert_eq!(report.skipped, 0, "{:?}", report.reasons);
        assert_eq!(report.without_coordinates, 0);
        for h in d.homes() {
            assert!(h.id.starts_with("DEMO-"), "{}", h.id);
            assert!(h.name.starts_with("Demo: "), "{}", h.name);
            assert!(h.coordinates().is_some());
            assert!(h.ratings.overall.is_some());
            assert!(h.website.as_deref().unwrap_or("").ends_with(".example"));
        }
        for (city, lat, lon) in [
            ("Birmingham", 52.4862, -1.8904),
            ("Manchester", 53.4808, -2.2426),
            ("Leeds", 53.8008, -1.5491),
            ("Bristol", 51.4545, -2.5879),
        ] {
            let near = d
                .homes()
                .iter()
                .filter(|h| crate::geo::haversine_km((lat, lon), h.coordinates().unwrap()) < 40.0)
                .count();
            assert!(near >= 10, "{city}: {near}");
        }
    }

    #[test]
    fn rating_parse_ignores_case_and_spacing() {
        for s in [
            "Requires Improvement",
            "Requires improvement",
            "REQUIRES_IMPROVEMENT",
            " requires-improvement ",
        ] {
            assert_eq!(CqcRating::parse(s), Some(CqcRating::RequiresImprovement));
        }
        assert_eq!(CqcRating::parse("good"), Some(CqcRating::Good));
        assert_eq!(CqcRating::parse("Not rated"), None);
        assert_eq!(CqcRating::parse(""), None);
    }

    #[test]
    fn export_rows_load_leniently_and_bad_rows_are_counted() {
        let good = row(&[
            ("cqc_location_id", "1-100"),
            ("name", "Test Home One"),
            ("city", "Birmingham"),
            ("postcode", "b1 1aa"),
            ("latitude", "52.48"),
            ("longitude", "-1.89"),
            ("beds_total", "40"),
            ("care_residential", "true"),
            ("care_nursing", "false"),
            ("care_dementia", "true"),
            ("cqc_rating_overall", "Requires improvement"),
            ("cqc_rating_safe", "Requires Improvement"),
            ("cqc_rating_well_led", "Outstanding"),
            ("cqc_last_inspection_date", "2024-09-13"),
            ("fee_residential_from", "£1,050.50"),
            (
                "service_types",
                r#"{"services":["Care home service with nursing"]}"#,
            ),
            (
                "building_info",
                r#"{"street_address":"8 Test Road","address_line_2":null}"#,
            ),
            ("serves_older_people", "true"),
        ]);
        // Missing coordinates and garbage cells: kept, fields unknown.
        let ragged = row(&[
            ("cqc_location_id", "1-200"),
            ("name", "Test Home Two"),
            ("city", "Birmingham"),
            ("latitude", "52.5"),
            ("beds_total", "many"),
            ("care_residential", "maybe"),
            ("cqc_rating_overall", "Not rated"),
            ("building_info", "{not json"),
        ]);
        let no_id = row(&[("name", "Nameless id")]);
        let duplicate = row(&[("cqc_location_id", "1-100"), ("name", "Again")]);
        let short = "1,1-300,x";
        let csv = format!("{HEADER}\n{good}\n{ragged}\n{no_id}\n{duplicate}\n{short}\n\n");
        let path = write("lenient", &csv);
        let (d, report) = Directory::from_csv_path(&path).unwrap();
        assert_eq!(report.loaded, 2);
        assert_eq!(report.skipped, 3, "{:?}", report.reasons);
        assert_eq!(report.without_coordinates, 1);
        // Rows of the wrong width are refused while the columns are
        // measured, before any row is read as a home.
        assert!(report.reasons[0].contains("fields"));
        assert!(report.reasons[1].contains("no cqc_location_id"));
        assert!(report.reasons[2].contains("duplicate"));
        assert_eq!(d.label(), "csv:export.csv (2 homes, 3 rows skipped)");

        let one = d.find("1-100").unwrap();
        assert_eq!(one.postcode.as_deref(), Some("B1 1AA"));
        assert_eq!(one.ratings.overall, Some(CqcRating::RequiresImprovement));
        assert_eq!(one.ratings.safe, Some(CqcRating::RequiresImprovement));
        assert_eq!(one.ratings.well_led, Some(CqcRating::Outstanding));
        assert!(one.care.nursing, "nursing from service types");
        assert!(one.care.dementia && one.care.residential);
        assert_eq!(one.fees.residential_from, Some(1050.5));
        assert_eq!(one.address.as_deref(), Some("8 Test Road"));
        assert_eq!(one.beds, Some(40));
        assert_eq!(one.last_inspection, NaiveDate::from_ymd_opt(2024, 9, 13));

        let two = d.find("1-200").unwrap();
        assert_eq!(two.coordinates(), None);
        assert_eq!(two.beds, None);
        assert!(!two.care.residential);
        assert_eq!(two.ratings.overall, None);
        assert_eq!(two.address, None);
    }

    #[test]
    fn a_file_that_is_not_an_export_is_a_clear_error() {
        let path = write("wrong", "a,b,c\n1,2,3\n");
        let err = Directory::from_csv_path(&path).unwrap_err();
        assert!(matches!(err, DirectoryError::NotCareHomesExport { .. }));
        assert!(err.to_string().contains("cqc_location_id"), "{err}");

        let path = write("empty-file", "");
        assert!(matches!(
            Directory::from_csv_path(&path),
            Err(DirectoryError::NotCareHomesExport { .. })
        ));

        let path = write(
            "only-bad",
            &format!("{HEADER}\n{}\n", row(&[("name", "x")])),
        );
        assert!(matches!(
            Directory::from_csv_path(&path),
            Err(DirectoryError::Empty { skipped: 1, .. })
        ));

        let missing = Path::new("/nonexistent/care-report/none.csv");
        assert!(matches!(
            Directory::from_csv_path(missing),
            Err(DirectoryError::Io { .. })
        ));
    }

    #[test]
    fn companies_house_numbers_get_their_leading_zeros_back() {
        use serde_json::json;
        assert_eq!(
            company_number(&json!("3885446")).as_deref(),
            Some("03885446")
        );
        assert_eq!(company_number(&json!(3885446)).as_deref(), Some("03885446"));
        assert_eq!(
            company_number(&json!("12345678")).as_deref(),
            Some("12345678")
        );
        assert_eq!(
            company_number(&json!("sc123456")).as_deref(),
            Some("SC123456")
        );
        for bad in [
            json!("123456789"),
            json!("0"),
            json!(""),
            json!("SC12"),
            json!(null),
            json!(-5),
        ] {
            assert_eq!(company_number(&bad), None, "{bad}");
        }
    }
}
