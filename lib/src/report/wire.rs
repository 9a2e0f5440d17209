//! The report in the client's shape: `ProfessionalReportData` of the
//! original frontend's `types.ts`, as serde structs.
//!
//! Why typed: the page has no error boundary, so one wrong type (a numeric
//! `distance`, a null `matchScore`, a missing factor `category`) or one
//! half-filled section blanks the whole app. Structs make each field's type
//! a compile-time fact and let `skip_serializing_if` leave out what the
//! service does not hold: an absent fact is an absent field, never `null`,
//! an empty object or a guess. Inner field names of the source blocks are
//! the client's (`fsaDetailed.rating_date`, `googlePlaces.user_ratings_total`);
//! they are mapped from what the adapters store (`sources/*.rs`), by name, so
//! fields an adapter adds later are simply not shown until mapped here.
//!
//! The service's own facts (`jobId`, `isPartial`, `completeness`,
//! `missingDataSources`, per-home `dataSources`, `directory`, `search`) sit
//! beside the client's fields in the same camelCase; the client ignores
//! fields it does not know. Analysis sections (risk, negotiation, funding…)
//! are built elsewhere (`judgement`) and attach as further `Option` fields of
//! [`ProfessionalReport`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::facts;
use crate::judgement;
use crate::model::MissingSource;

/// `ProfessionalReportData`: the whole report.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfessionalReport {
    /// The report's id (a UUID).
    pub report_id: String,
    /// The job that built it.
    pub job_id: String,
    /// The person the report is for.
    pub client_name: String,
    /// The city searched around.
    pub city: String,
    /// The postcode searched around, when the questionnaire gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// The needs the questionnaire states, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_needs: Option<ClientNeeds>,
    /// How much was analysed.
    pub analysis_summary: AnalysisSummary,
    /// The weights applied, under the client's names where the meaning
    /// matches.
    pub applied_weights: AppliedWeights,
    /// The adjustments applied (`dementia`, `high_fall_risk`, …).
    pub applied_conditions: Vec<String>,
    /// The chosen homes, best first.
    pub care_homes: Vec<CareHome>,
    /// When the report was (last) assembled.
    pub generated_at: DateTime<Utc>,
    /// When the homes were chosen.
    pub created_at: DateTime<Utc>,
    /// Which directory the homes came from.
    pub directory: String,
    /// Where and how wide the search was.
    pub search: Search,
    /// Whether some sources are still missing.
    pub is_partial: bool,
    /// Share of expected (home, source) pairs answered, in percent.
    pub completeness: u8,
    /// Every (home, source) pair still missing or not yet attempted, in the
    /// shape the `missing-sources` view uses.
    pub missing_data_sources: Vec<MissingSource>,
    /// `executiveSummary`: the summary's text fields (judgement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executive_summary: Option<judgement::ExecutiveSummary>,
    /// `riskAssessment`: red flags and warnings per home (judgement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_assessment: Option<judgement::RiskAssessment>,
    /// `comparativeAnalysis`: the homes side by side (judgement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparative_analysis: Option<judgement::ComparativeAnalysis>,
    /// `negotiationStrategy`: the market rate and each home's position
    /// against it (judgement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negotiation_strategy: Option<judgement::NegotiationStrategy>,
    /// `nextSteps`: the ordered plan and the questions per home (judgement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_steps: Option<judgement::NextSteps>,
    /// `fundingGuidance` (England): the funding routes that apply, with the
    /// public figures they rest on. Our own shape: the client's
    /// `fundingOptimization` needs eligibility odds and cost projections
    /// that would have to be invented from savings, property and income the
    /// service never holds, so it is never sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding_guidance: Option<judgement::FundingGuidance>,
    /// `fairCostGapAnalysis`: each home's fee against its council's rate,
    /// only when the operator provides council rates and fees are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fair_cost_gap_analysis: Option<judgement::FairCostGapAnalysis>,
}

impl ProfessionalReport {
    /// Adds the judgement's sections, and each home's `matchReason` and
    /// `category_labels` from it (the judgement names the facts behind
    /// them). A section the judgement could not build stays absent.
    pub(crate) fn with_judgement(mut self, j: judgement::Judgement) -> Self {
        for summary in j.home_summaries {
            if let Some(home) = self.care_homes.iter_mut().find(|h| h.id == summary.home_id) {
                home.set_fee(summary.fee);
                home.match_reason = Some(summary.match_reason);
                home.category_labels = summary
                    .category_labels
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
            }
        }
        self.executive_summary = j.executive_summary;
        self.risk_assessment = j.risk_assessment;
        self.comparative_analysis = j.comparative_analysis;
        self.negotiation_strategy = j.negotiation_strategy;
        self.next_steps = j.next_steps;
        self.funding_guidance = j.funding_guidance;
        self
    }
}

/// A fee as a home's website states it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeQuote {
    /// The sentence, as written.
    pub sentence: String,
    /// The page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl CareHome {
    /// The fee the judgement read: its source, and for a website fee (the
    /// directory had none) the amount, the quote and the budget position.
    fn set_fee(&mut self, fee: Option<(f64, judgement::FeeSource, Option<bool>)>) {
        let Some((amount, source, over)) = fee else {
            return;
        };
        match source {
            judgement::FeeSource::Directory => self.weekly_price_source = Some("directory"),
            judgement::FeeSource::Website { sentence, url, .. } => {
                self.weekly_price = Some(amount);
                self.over_budget = over;
                self.weekly_price_source = Some("website");
                self.weekly_price_quote = Some(FeeQuote { sentence, url });
            }
        }
    }
}

/// `clientNeeds`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientNeeds {
    /// q9, in words (e.g. `Dementia or Alzheimer's`).
    pub medical_conditions: Vec<String>,
    /// q10, in words.
    pub mobility_level: String,
    /// q8, in words.
    pub care_requirements: Vec<String>,
    /// q11, in words.
    pub medication: String,
    /// q14, in words (empty: none stated).
    pub allergies: Vec<String>,
    /// q15, in words.
    pub dietary_requirements: Vec<String>,
}

/// `analysisSummary`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisSummary {
    /// Homes inside the final radius that passed the filters and were scored.
    pub total_homes_analyzed: usize,
    /// Category scores computed: [`FACTOR_CATEGORIES`] per scored home.
    pub factors_analyzed: usize,
    /// From choosing the homes to this assembly, e.g. `42 seconds`.
    pub analysis_time: String,
}

/// `appliedWeights`. The client's `ScoringWeights` has eight keys; the
/// service scores five categories, shown under the keys that mean the same:
/// `medical` (medical care and safety together), `cqc` (quality, from the
/// CQC ratings), `location`, `financial`, `social` (lifestyle: home size for
/// the personality, comfort facilities). `safety`, `staff` and `services`
/// have no score of their own here and are left out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppliedWeights {
    /// Medical & safety.
    pub medical: f64,
    /// Quality (CQC ratings).
    pub cqc: f64,
    /// Location.
    pub location: f64,
    /// Cost.
    pub financial: f64,
    /// Lifestyle.
    pub social: f64,
}

/// `search`: the service's own account of the search.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Search {
    /// What was located, e.g. `Birmingham`.
    pub origin: String,
    /// Its latitude.
    pub latitude: f64,
    /// Its longitude.
    pub longitude: f64,
    /// The radius finally used, km.
    pub radius_km: f64,
    /// The radius asked for, km (absent: distance not important).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_radius_km: Option<f64>,
    /// Homes inside the radius that passed the filters.
    pub homes_considered: usize,
    /// Why fewer than 5 homes, or why some are over budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The category names of `factorScores`, in the order the matcher scores them.
pub(crate) const FACTOR_CATEGORIES: [&str; 5] = [
    "Medical & Safety",
    "Quality of Care",
    "Location & Access",
    "Cost & Value",
    "Lifestyle & Comfort",
];

/// One entry of `factorScores`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FactorScore {
    /// One of [`FACTOR_CATEGORIES`].
    pub category: String,
    /// 0 to `max_score`.
    pub score: f64,
    /// Always 100: every category is scored out of 100.
    pub max_score: f64,
    /// The category's weight in the match score, points of 100.
    pub weight: f64,
}

/// `contact`. Always present (the page reads `contact.phone` unguarded in
/// places); each field only when the directory or the home's website gives it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Contact {
    /// Telephone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `ProfessionalCareHome`: one chosen home.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CareHome {
    /// Directory id (CQC location id).
    pub id: String,
    /// Name.
    pub name: String,
    /// Rank, 1 = best.
    pub rank: usize,
    /// Town or city (with the local authority when it differs).
    pub location: String,
    /// Postcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// Street address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// CQC overall rating as CQC prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cqc_rating: Option<String>,
    /// Distance from the search centre, e.g. `9.1 km` (a string: the page
    /// parses it).
    pub distance: String,
    /// The same, as a number of km.
    pub distance_km: f64,
    /// The weekly fee for the care the person needs (absent: not known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly_price: Option<f64>,
    /// Whether that fee is above the budget; absent when the fee is not
    /// known or the budget has no upper limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_budget: Option<bool>,
    /// Where `weeklyPrice` comes from: `directory`, or `website` (the
    /// home's own page, quoted in `weeklyPriceQuote`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly_price_source: Option<&'static str>,
    /// The sentence of the home's website that states the fee, and the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly_price_quote: Option<FeeQuote>,
    /// Weighted match score out of 100.
    pub match_score: f64,
    /// Per-category scores.
    pub factor_scores: Vec<FactorScore>,
    /// Why it ranks where it does, in one sentence of facts (from the
    /// judgement, which traces it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_reason: Option<String>,
    /// The categories it wins among the chosen homes (the client spells
    /// this one in snake case).
    #[serde(rename = "category_labels", skip_serializing_if = "Vec::is_empty")]
    pub category_labels: Vec<String>,
    /// How to reach it.
    pub contact: Contact,
    /// Last CQC inspection (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_audited: Option<String>,
    /// Registered beds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beds_total: Option<u32>,
    /// Website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Latest CQC report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cqc_report_url: Option<String>,
    /// The sources that answered, by their human names (the client's
    /// `dataSource`).
    pub data_source: Vec<String>,
    /// Each source's status (`loaded`, `not_found`, `not_configured`,
    /// `missing`, `pending`), by source type.
    pub data_sources: BTreeMap<&'static str, &'static str>,
    /// When each source answered from the shared source cache was fetched
    /// upstream (RFC 3339), by source type; sources fetched for this report
    /// are not listed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cached_at: BTreeMap<&'static str, String>,
    /// Registered care, from the directory.
    pub medical_care: MedicalCare,
    /// Food hygiene (FSA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fsa_detailed: Option<FsaDetailed>,
    /// Google Places.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_places: Option<GooglePlaces>,
    /// CQC location record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cqc_deep_dive: Option<CqcDeepDive>,
    /// Amenities around the home (OpenStreetMap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbourhood: Option<Neighbourhood>,
    /// Named places near the home, by kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_map: Option<AreaMap>,
    /// What the home's own website says (the service's block; the client
    /// has no field for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website_insights: Option<Value>,
    /// The provider company's Companies House record, as the adapter
    /// summarises it (the service's block; the client has no field for it),
    /// written as the adapter stored it.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_stored")]
    pub provider_company: Option<facts::Company>,
}

/// `medicalCare`: the care the home is registered for. The lists are the
/// specialisms its website mentions; absent when there are none.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MedicalCare {
    /// Residential care.
    pub care_residential: bool,
    /// Nursing care.
    pub care_nursing: bool,
    /// Dementia care.
    pub care_dementia: bool,
    /// Respite stays (a service fact beside the client's three); absent
    /// when the directory does not say (ask the home).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub care_respite: Option<bool>,
    /// Specialisms named on the home's website.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub medical_specialisms: Vec<String>,
}

/// `fsaDetailed`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FsaDetailed {
    /// Food hygiene rating 0–5 (absent for `Exempt`, `AwaitingInspection`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// The rating as the FSA writes it (`5`, `Exempt`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_value: Option<String>,
    /// When it was rated (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_date: Option<String>,
    /// FHRS id, as a string (the client's type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fhrs_id: Option<String>,
    /// Name on the FSA register.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// Postcode on the register.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// Inspection scores (penalty points; lower is better).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown_scores: Option<FsaBreakdown>,
    /// Always `fsa_api`: the block exists only when the FSA answered.
    pub data_source: &'static str,
    /// Always true, for the same reason.
    pub data_available: bool,
}

/// `fsaDetailed.breakdown_scores`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FsaBreakdown {
    /// Hygiene, 0–25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hygiene: Option<u64>,
    /// Structural, 0–25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structural: Option<u64>,
    /// Confidence in management, 0–30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence_in_management: Option<u64>,
}

/// `googlePlaces`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GooglePlaces {
    /// Place id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place_id: Option<String>,
    /// Average rating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    /// How many ratings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_ratings_total: Option<u64>,
    /// Reviews Google returned (at most five).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<PlaceReview>,
    /// How many reviews are shown.
    pub reviews_count: usize,
    /// Link to the place on Google Maps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_maps_uri: Option<String>,
}

/// One review in `googlePlaces.reviews`. Google's policy requires the
/// author's attribution (name, profile link, photo) shown with the review:
/// https://developers.google.com/maps/documentation/places/web-service/policies
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlaceReview {
    /// Author's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// Author's Google Maps profile (`authorAttribution.uri`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_url: Option<String>,
    /// Author's photo (`authorAttribution.photoUri`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_photo_url: Option<String>,
    /// The review on Google Maps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_url: Option<String>,
    /// 1–5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// When published (RFC 3339), or Google's relative description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// `cqcDeepDive`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CqcDeepDive {
    /// Overall rating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overall_rating: Option<String>,
    /// The same (the client reads either name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_rating: Option<String>,
    /// Rating per key question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_ratings: Option<DetailedRatings>,
    /// Last inspection (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_inspection_date: Option<String>,
    /// Days from the last inspection to the report's assembly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_since_inspection: Option<i64>,
    /// When the current rating was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_date: Option<String>,
    /// `Registered`, `Deregistered`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_status: Option<String>,
    /// When a deregistered location left the register (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deregistration_date: Option<String>,
    /// Where the current ratings come from: `currentRatings` (the older
    /// framework) or `assessment` (the Single Assessment Framework).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_source: Option<String>,
    /// A deregistered location's last ratings, which describe a service
    /// that no longer runs there: never shown as current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub historical_overall_rating: Option<String>,
    /// The CQC page of the location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// The overall rating against the one before it, as the client reads
    /// it: `improved`, `declined` or `unchanged`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_trend: Option<String>,
    /// The same in words, with since when (`Declining since 1 March
    /// 2025`): the client colours it by "improving" and "declining".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<String>,
    /// Earlier overall ratings, newest first: `{date, rating,
    /// overall_rating}` (the client's `historical_ratings`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub historical_ratings: Option<Vec<Value>>,
    /// The change to the rating in force: `{date, from_rating, to_rating}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_changes: Option<Vec<RatingChange>>,
    /// Whether a registered manager is in post: `{inPost, absentSince}`
    /// (never a name); only when CQC's record says either way.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_stored")]
    pub registered_manager: Option<facts::cqc::RegisteredManager>,
    /// The latest report: `{linkId, reportDate, reportType, reportUri}`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_stored")]
    pub latest_report: Option<facts::cqc::LatestReport>,
    /// The location's page of inspection reports on CQC's site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reports_url: Option<String>,
}

/// `cqcDeepDive.detailed_ratings`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DetailedRatings {
    /// Safe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safe: Option<KeyQuestion>,
    /// Effective.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective: Option<KeyQuestion>,
    /// Caring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caring: Option<KeyQuestion>,
    /// Responsive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsive: Option<KeyQuestion>,
    /// Well-led.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub well_led: Option<KeyQuestion>,
}

/// One key question's rating.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyQuestion {
    /// As CQC prints it.
    pub rating: String,
}

/// `neighbourhood` (the client's `NeighbourhoodData`): what is within the
/// search radius of the home. No scores: the service does not rate areas.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Neighbourhood {
    /// Where the home is.
    pub coordinates: Coordinates,
    /// Amenity counts.
    pub walkability: Walkability,
    /// How far around the home was searched, metres.
    pub radius_meters: u64,
    /// Local authority district (postcodes.io), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_authority: Option<String>,
}

/// `neighbourhood.coordinates`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coordinates {
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
}

/// `neighbourhood.walkability`: only the amenity counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Walkability {
    /// Counts by kind.
    pub amenities_nearby: AmenitiesNearby,
}

/// `walkability.amenitiesNearby`, in the client's object form.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AmenitiesNearby {
    /// GPs, clinics, pharmacies and hospitals.
    pub healthcare: AmenityCount,
    /// Supermarkets and convenience shops.
    pub shops: AmenityCount,
    /// Cafés, restaurants and pubs.
    pub restaurants: AmenityCount,
    /// Parks, gardens and nature reserves.
    pub parks: AmenityCount,
    /// Bus stops.
    pub transport: AmenityCount,
    /// All of the above and places of worship, libraries, community centres.
    pub total: AmenityCount,
}

/// One kind's count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AmenityCount {
    /// How many.
    pub count: u64,
    /// The nearest, metres (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest_m: Option<u64>,
}

/// `areaMap`: named places near the home. Lists may be empty (the page
/// checks their length); unnamed places are left out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AreaMap {
    /// GP surgeries and clinics.
    pub nearby_gps: Vec<Place>,
    /// Parks.
    pub nearby_parks: Vec<Place>,
    /// Shops.
    pub nearby_shops: Vec<Place>,
    /// Pharmacies.
    pub nearby_pharmacies: Vec<Place>,
    /// The nearest named hospital.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest_hospital: Option<Place>,
    /// The nearest named bus stop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest_bus_stop: Option<Place>,
}

/// A named place and its distance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Place {
    /// Name.
    pub name: String,
    /// Distance from the home, km, to 0.1 (the page prints one decimal).
    pub distance: f64,
}

/// A stored text, trimmed, when it has more than blanks.
fn s(text: &Option<String>) -> Option<String> {
    facts::text(text.as_deref())
}

impl FsaDetailed {
    /// From the FSA record (`facts::Fsa`).
    pub(crate) fn from_record(v: &facts::Fsa) -> Self {
        let breakdown = FsaBreakdown {
            hygiene: v.scores.hygiene,
            structural: v.scores.structural,
            confidence_in_management: v.scores.confidence_in_management,
        };
        let has_breakdown = breakdown.hygiene.is_some()
            || breakdown.structural.is_some()
            || breakdown.confidence_in_management.is_some();
        Self {
            rating: v
                .rating
                .and_then(|r| u8::try_from(r).ok())
                .filter(|r| *r <= 5),
            rating_value: s(&v.rating_value),
            rating_date: s(&v.rating_date),
            fhrs_id: v.fhrs_id.map(|id| id.to_string()),
            business_name: s(&v.business_name),
            postcode: s(&v.postcode),
            breakdown_scores: has_breakdown.then_some(breakdown),
            data_source: "fsa_api",
            data_available: true,
        }
    }
}

impl GooglePlaces {
    /// From Google's place (`facts::Place`).
    pub(crate) fn from_record(v: &facts::Place) -> Self {
        let reviews: Vec<PlaceReview> = v
            .reviews
            .iter()
            .map(|r| PlaceReview {
                author_name: s(&r.author),
                author_url: s(&r.author_uri),
                profile_photo_url: s(&r.author_photo_uri),
                review_url: s(&r.review_uri),
                rating: r.rating,
                text: s(&r.text),
                time: s(&r.publish_time).or_else(|| s(&r.relative_time)),
            })
            .filter(|r| r.text.is_some() || r.rating.is_some())
            .collect();
        Self {
            place_id: s(&v.place_id),
            rating: v.rating,
            user_ratings_total: v.user_rating_count,
            reviews_count: reviews.len(),
            reviews,
            google_maps_uri: s(&v.google_maps_uri),
        }
    }
}

impl CqcDeepDive {
    /// From CQC's record (`facts::Cqc`); `now` dates
    /// `days_since_inspection`.
    pub(crate) fn from_record(v: &facts::Cqc, now: DateTime<Utc>) -> Self {
        let kq = |rating: &Option<String>| s(rating).map(|rating| KeyQuestion { rating });
        let k = &v.key_question_ratings;
        let detailed = DetailedRatings {
            safe: kq(&k.safe),
            effective: kq(&k.effective),
            caring: kq(&k.caring),
            responsive: kq(&k.responsive),
            well_led: kq(&k.well_led),
        };
        let last = s(&v.last_inspection_date);
        let days = facts::date(last.as_deref())
            .map(|d| (now.date_naive() - d).num_days())
            .filter(|d| *d >= 0);
        let overall = s(&v.overall_rating);
        let trend = v.rating_trend.as_ref();
        Self {
            current_rating: overall.clone(),
            overall_rating: overall,
            detailed_ratings: (detailed != DetailedRatings::default()).then_some(detailed),
            last_inspection_date: last,
            days_since_inspection: days,
            rating_date: s(&v.rating_date),
            registration_status: s(&v.registration_status),
            deregistration_date: s(&v.deregistration_date),
            rating_source: s(&v.rating_source),
            historical_overall_rating: v
                .historical_ratings
                .as_ref()
                .and_then(|h| s(&h.overall_rating)),
            profile_url: s(&v.profile_url),
            rating_trend: trend.and_then(|t| s(&t.direction)),
            trend: trend.and_then(trend_words),
            historical_ratings: history(&v.rating_history),
            rating_changes: trend.and_then(rating_changes),
            registered_manager: v
                .registered_manager
                .as_ref()
                .filter(|m| m.in_post.is_some())
                .cloned(),
            latest_report: v.latest_report.clone(),
            reports_url: s(&v.reports_url),
        }
    }
}

/// `Declining since 1 March 2025` from the CQC record's trend.
fn trend_words(t: &facts::cqc::RatingTrend) -> Option<String> {
    let word = match s(&t.direction)?.as_str() {
        "improved" => "Improving",
        "declined" => "Declining",
        _ => "Stable",
    };
    Some(match facts::date(s(&t.since).as_deref()) {
        Some(d) => format!("{word} since {}", d.format("%-d %B %Y")),
        None => word.to_owned(),
    })
}

/// One entry of the client's `historical_ratings`.
#[derive(Serialize)]
struct HistoricalRating<'a> {
    date: &'a Option<String>,
    rating: &'a str,
    overall_rating: &'a str,
}

/// The client's `historical_ratings` from the record's rating history.
fn history(list: &[facts::cqc::PastRating]) -> Option<Vec<Value>> {
    let list: Vec<Value> = list
        .iter()
        .map(|h| {
            facts::to_stored(&HistoricalRating {
                date: &h.date,
                rating: &h.rating,
                overall_rating: &h.rating,
            })
        })
        .collect();
    (!list.is_empty()).then_some(list)
}

/// One entry of the client's `rating_changes`: the change to the rating in
/// force.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatingChange {
    /// Since when (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// The rating before.
    pub from_rating: Option<String>,
    /// The rating in force.
    pub to_rating: Option<String>,
}

/// The client's `rating_changes`: the change to the rating in force, when
/// it changed.
fn rating_changes(t: &facts::cqc::RatingTrend) -> Option<Vec<RatingChange>> {
    if t.direction.as_deref()? == "unchanged" {
        return None;
    }
    Some(vec![RatingChange {
        date: t.since.clone(),
        from_rating: t.previous.clone(),
        to_rating: t.current.clone(),
    }])
}

/// Writes a source's record as the JSON its adapter stores (`Value`'s key
/// order), so a block read typed is answered in the very bytes it was when
/// the answer carried the stored JSON.
fn as_stored<T: Serialize, S: serde::Serializer>(
    record: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    record.as_ref().map(facts::to_stored).serialize(serializer)
}

/// The counts of the neighbourhood's categories `names`, with the nearest
/// of them.
fn count_of(v: &facts::Area, names: &[&str]) -> AmenityCount {
    let mut count = 0;
    let mut nearest: Option<u64> = None;
    for c in names.iter().filter_map(|name| v.amenities(name)) {
        count += c.count;
        let first = c.nearest.first().and_then(|p| p.distance_meters);
        nearest = match (nearest, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    AmenityCount {
        count,
        nearest_m: nearest,
    }
}

/// The named places of the neighbourhood's category `name`.
fn places(v: &facts::Area, name: &str) -> Vec<Place> {
    v.amenities(name)
        .into_iter()
        .flat_map(|c| &c.nearest)
        .filter_map(|p| {
            Some(Place {
                name: s(&p.name)?,
                distance: (p.distance_meters? as f64 / 100.0).round() / 10.0,
            })
        })
        .collect()
}

impl Neighbourhood {
    /// From the neighbourhood record (`facts::Area`); `None` when it holds
    /// no coordinates.
    pub(crate) fn from_record(v: &facts::Area) -> Option<Self> {
        Some(Self {
            coordinates: Coordinates {
                latitude: v.latitude?,
                longitude: v.longitude?,
            },
            walkability: Walkability {
                amenities_nearby: AmenitiesNearby {
                    healthcare: count_of(v, &["gp", "pharmacy", "hospital"]),
                    shops: count_of(v, &["shop"]),
                    restaurants: count_of(v, &["cafe"]),
                    parks: count_of(v, &["park"]),
                    transport: count_of(v, &["busStop"]),
                    total: count_of(
                        v,
                        &[
                            "pharmacy",
                            "gp",
                            "hospital",
                            "park",
                            "placeOfWorship",
                            "cafe",
                            "shop",
                            "busStop",
                            "library",
                        ],
                    ),
                },
            },
            radius_meters: v.radius_meters.unwrap_or(0),
            local_authority: v.area.as_ref().and_then(|a| s(&a.admin_district)),
        })
    }
}

impl AreaMap {
    /// From the neighbourhood record; `None` when it lists no amenities.
    pub(crate) fn from_record(v: &facts::Area) -> Option<Self> {
        v.amenities.as_ref()?;
        Some(Self {
            nearby_gps: places(v, "gp"),
            nearby_parks: places(v, "park"),
            nearby_shops: places(v, "shop"),
            nearby_pharmacies: places(v, "pharmacy"),
            nearest_hospital: places(v, "hospital").into_iter().next(),
            nearest_bus_stop: places(v, "busStop").into_iter().next(),
        })
    }
}

/// The first phone and e-mail the website shows.
pub(crate) fn website_contact(v: &facts::Website) -> (Option<String>, Option<String>) {
    let first = |list: &[String]| facts::text(list.first().map(String::as_str));
    (first(&v.contact.phones), first(&v.contact.emails))
}
