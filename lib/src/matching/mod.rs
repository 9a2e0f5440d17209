//! Matching: which homes fit the questionnaire, and how well (docs/ARCHITECTURE.md "How it works" and `matching.rs`).
//!
//! Every rule is a small pure function of the questionnaire and a home, so
//! each can be tested alone and the whole is deterministic. The pipeline:
//!
//! 1. **Suitability** ([`suitability`]). The home must be registered for
//!    older people and be a care home, offer every care type asked for
//!    ([`CareNeed`]; `medical_nursing` means nursing care, and dementia as a
//!    condition requires dementia care even when not ticked as a care type),
//!    take the client's funding and have coordinates. What the directory
//!    does not say (respite, facilities, bands) is unknown and never fails a
//!    filter. Specialist services and nursing-only homes for a residential
//!    need are fallbacks: proposed only when too few suited homes are in
//!    reach, and ranked after them. Every home left out within the radius
//!    is counted under its reason.
//!    The budget ([`weekly_band`]: each monthly `q7_budget` band becomes a
//!    weekly one; `need_budget_guidance` filters nothing) removes homes whose
//!    known fee is above the band; unknown fees pass, as real exports rarely
//!    carry them.
//! 2. **Radius.** Start at the requested distance (50 km when distance is
//!    "not important") and widen through 5, 10, 15, 30, 50, 75, 100 km until at
//!    least 5 homes are inside. If even 100 km gives fewer than 5 within the
//!    budget, over-budget homes are admitted (they score low on cost) and the
//!    outcome's note says so; fewer than 5 after that is also explained.
//! 3. **Scores.** Five categories scored 0–100 each, combined with weights
//!    that start at medical & safety 35, quality 25, location 15, financial 15,
//!    lifestyle 10 ([`Weights::BASE`]), are blended half-and-half with the
//!    family's own priority weights when section 6 gives them, get extra
//!    points for high fall risk, dementia, complex or fully administered
//!    medication and urgent
//!    placement, and are renormalised to sum to 100.
//! 4. **Top 5** by match score (ties: nearer first, then id) and the
//!    category winners, awarded only when earned: the winner leads by
//!    [`AWARD_MARGIN`] on a factor whose data is known (no "Best Value"
//!    without fees); the best overall match must lead by [`TIE_MARGIN`].
//!
//! CQC ratings arrive already parsed case-insensitively
//! ([`crate::directory::CqcRating::parse`]).

mod suitability;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

pub(crate) use suitability::suits_an_older_person;
use suitability::Fit;
pub use suitability::{Exclusion, Fallback};

use crate::directory::{CqcRating, Home};
use crate::geo::{haversine_km, Location};
use crate::questionnaire::{
    Budget, CareType, Diet, MedicalCondition, Mobility, Priority, PriorityRanking, Questionnaire,
    Social,
};

/// How many homes a report shows.
pub(crate) const TOP_N: usize = 5;

/// The radius steps (km) tried in turn when too few homes are inside.
pub(crate) const RADIUS_STEPS_KM: [f64; 7] = [5.0, 10.0, 15.0, 30.0, 50.0, 75.0, 100.0];

/// Where the search starts when the family says distance is not important.
pub(crate) const NOT_IMPORTANT_START_KM: f64 = 50.0;

/// Weeks per month, for turning monthly budgets into weekly fees.
pub(crate) const WEEKS_PER_MONTH: f64 = 52.0 / 12.0;

/// Match scores closer than this (points out of 100) are a tie: no home
/// is called the best of them.
pub(crate) const TIE_MARGIN: f64 = 1.0;

/// A category award ("Best Value", "Best Medical & Safety") needs the
/// winner to lead the runner-up by this many points on that category.
pub(crate) const AWARD_MARGIN: f64 = 5.0;

/// Category weights, in points summing to 100.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Medical care and safety.
    pub medical_safety: f64,
    /// Quality of care (CQC ratings).
    pub quality: f64,
    /// Location (distance).
    pub location: f64,
    /// Cost against the budget.
    pub financial: f64,
    /// Lifestyle fit (size, facilities).
    pub lifestyle: f64,
}

impl Weights {
    /// The default weights (docs/ARCHITECTURE.md "How it works" and `matching.rs`).
    pub(crate) const BASE: Weights = Weights {
        medical_safety: 35.0,
        quality: 25.0,
        location: 15.0,
        financial: 15.0,
        lifestyle: 10.0,
    };

    fn as_array(self) -> [f64; 5] {
        [
            self.medical_safety,
            self.quality,
            self.location,
            self.financial,
            self.lifestyle,
        ]
    }

    fn from_array(a: [f64; 5]) -> Self {
        Weights {
            medical_safety: a[0],
            quality: a[1],
            location: a[2],
            financial: a[3],
            lifestyle: a[4],
        }
    }

    /// Sum of the weights.
    pub fn total(self) -> f64 {
        self.as_array().iter().sum()
    }

    /// Scaled to sum to exactly 100, in tenths of a point (largest-remainder
    /// rounding, so the displayed weights add up). All-zero gives the base.
    pub(crate) fn renormalised(self) -> Weights {
        let total = self.total();
        if !(total.is_finite() && total > 0.0) {
            return Self::BASE;
        }
        let exact: Vec<f64> = self
            .as_array()
            .iter()
            .map(|w| w.max(0.0) / total * 1000.0)
            .collect();
        let mut tenths: Vec<i64> = exact.iter().map(|e| e.floor() as i64).collect();
        let mut short = 1000 - tenths.iter().sum::<i64>();
        let mut order: Vec<usize> = (0..5).collect();
        order.sort_by(|&a, &b| {
            let ra = exact[a] - exact[a].floor();
            let rb = exact[b] - exact[b].floor();
            rb.total_cmp(&ra).then(a.cmp(&b))
        });
        for i in order {
            if short <= 0 {
                break;
            }
            tenths[i] += 1;
            short -= 1;
        }
        let mut out = [0.0; 5];
        for (o, t) in out.iter_mut().zip(tenths) {
            *o = t as f64 / 10.0;
        }
        Self::from_array(out)
    }
}

/// One home's score per category, each 0–100.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactorScores {
    /// Medical care and safety.
    pub medical_safety: f64,
    /// Quality of care.
    pub quality: f64,
    /// Location.
    pub location: f64,
    /// Financial.
    pub financial: f64,
    /// Lifestyle.
    pub lifestyle: f64,
}

impl FactorScores {
    /// The weighted match score out of 100, to one decimal.
    pub(crate) fn weighted(&self, w: &Weights) -> f64 {
        let total = w.total();
        if total <= 0.0 {
            return 0.0;
        }
        let sum = self.medical_safety * w.medical_safety
            + self.quality * w.quality
            + self.location * w.location
            + self.financial * w.financial
            + self.lifestyle * w.lifestyle;
        round1(sum / total)
    }
}

/// A candidate with its scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoredHome {
    /// The home.
    pub home: Home,
    /// Distance from the search origin, km (one decimal).
    pub distance_km: f64,
    /// Weighted score out of 100.
    pub match_score: f64,
    /// Per-category scores.
    pub factor_scores: FactorScores,
    /// Whether its known fee is above the budget band (only when the budget
    /// filter had to be relaxed).
    #[serde(default)]
    pub over_budget: bool,
    /// The weekly fee for the care the person needs ([`relevant_fee`]),
    /// when the directory gives it.
    #[serde(default)]
    pub weekly_fee: Option<f64>,
    /// Why the home was proposed only as a fallback, when it was.
    #[serde(default)]
    pub fallback: Option<Fallback>,
}

/// Homes within the radius left out for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// Why.
    pub reason: Exclusion,
    /// How many homes.
    pub count: usize,
}

/// A category winner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Winner {
    /// The home's id.
    pub home_id: String,
    /// Its name.
    pub name: String,
    /// The score it won with.
    pub score: f64,
}

/// The named category winners among the chosen homes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Winners {
    /// Highest match score.
    pub best_overall: Option<Winner>,
    /// Best care: medical & safety and quality combined 35:25.
    pub best_care: Option<Winner>,
    /// Best value: financial score (ties: the better match).
    pub best_value: Option<Winner>,
}

/// What matching produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct MatchOutcome {
    /// At most 5 homes, best first.
    pub homes: Vec<ScoredHome>,
    /// The radius finally used, km.
    pub radius_km: f64,
    /// The radius asked for (`None`: distance not important).
    pub requested_radius_km: Option<f64>,
    /// How many homes inside the radius passed the filters and were scored.
    pub considered: usize,
    /// Why fewer than 5 homes, or why some are over budget.
    pub note: Option<String>,
    /// The weights applied.
    pub weights: Weights,
    /// The adjustments applied, e.g. `high_fall_risk`, `dementia`,
    /// `urgent_placement`, `client_priorities`.
    pub conditions: Vec<String>,
    /// Category winners.
    pub winners: Winners,
    /// Homes within the radius left out, by reason (most first).
    pub left_out: Vec<LeftOut>,
}

/// The care a home must offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareNeed {
    /// Residential care (met by residential or nursing homes).
    pub residential: bool,
    /// Nursing care.
    pub nursing: bool,
    /// Dementia care.
    pub dementia: bool,
    /// A respite (short) stay: `temporary_respite`.
    pub respite: bool,
}

impl CareNeed {
    /// From the questionnaire: q8's care types, plus dementia care whenever
    /// dementia is among the conditions.
    pub fn of(q: &Questionnaire) -> CareNeed {
        let types = &q.medical.care_types;
        CareNeed {
            residential: types.contains(&CareType::GeneralResidential),
            nursing: types.contains(&CareType::MedicalNursing),
            dementia: q.needs_dementia_care(),
            respite: types.contains(&CareType::TemporaryRespite),
        }
    }

    /// Whether the home offers all of it. A respite stay needs a home that
    /// takes respite residents: only a directory that says it does not
    /// (`care_respite` false, and no respite fee published) rules a home
    /// out. When the directory does not say, the home stays in and the
    /// report asks the family to confirm respite with it
    /// ([`CareNeed::respite_unconfirmed`]).
    pub(crate) fn met_by(&self, home: &Home) -> bool {
        (!self.nursing || home.care.nursing)
            && (!self.dementia || home.care.dementia)
            && (!self.residential || home.care.residential || home.care.nursing)
            && (!self.respite
                || home.care.respite != Some(false)
                || home.fees.respite_from.is_some())
    }

    /// Whether respite is needed and the directory does not say the home
    /// offers it (the family must confirm it with the home).
    pub(crate) fn respite_unconfirmed(&self, home: &Home) -> bool {
        self.respite && home.care.respite != Some(true) && home.fees.respite_from.is_none()
    }

    /// The care type fees are compared on: the costliest that applies
    /// (nursing, then dementia, then respite, then residential), as the
    /// client spells `care_type`.
    pub(crate) fn market_care_type(&self) -> &'static str {
        if self.nursing {
            "nursing"
        } else if self.dementia {
            "dementia"
        } else if self.respite && !self.residential {
            "respite"
        } else {
            "residential"
        }
    }

    /// A plain description, e.g. `nursing and dementia care`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.nursing {
            parts.push("nursing");
        } else if self.residential {
            parts.push("residential");
        }
        if self.dementia {
            parts.push("dementia");
        }
        if self.respite {
            parts.push("respite");
        }
        if parts.is_empty() {
            "care".to_owned()
        } else {
            format!("{} care", parts.join(" and "))
        }
    }
}

/// A weekly fee band in pounds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct BudgetBand {
    /// Lower end.
    pub min_weekly: f64,
    /// Upper end (`None`: no upper limit).
    pub max_weekly: Option<f64>,
}

/// The weekly band of a monthly `q7_budget` answer; `None` for
/// `need_budget_guidance` (no budget filter). Bands: under £3,000 a month is
/// up to £692 a week, £3,000–5,000 is £692–1,154, £5,000–7,000 is
/// £1,154–1,615, over £7,000 is £1,615 and up.
pub(crate) fn weekly_band(budget: Budget) -> Option<BudgetBand> {
    let weekly = |monthly: f64| (monthly / WEEKS_PER_MONTH).round();
    let (min, max) = match budget {
        Budget::Under3000Self | Budget::Under3000Local => (0.0, Some(3000.0)),
        Budget::From3000To5000Self | Budget::From3000To5000Local => (3000.0, Some(5000.0)),
        Budget::From5000To7000Self | Budget::From5000To7000Local => (5000.0, Some(7000.0)),
        Budget::Over7000Self | Budget::Over7000Local => (7000.0, None),
        Budget::NeedGuidance => return None,
    };
    Some(BudgetBand {
        min_weekly: weekly(min),
        max_weekly: max.map(weekly),
    })
}

/// Whether the budget is local-authority funded (`_local`).
pub(crate) fn is_local_authority_funded(budget: Budget) -> bool {
    matches!(
        budget,
        Budget::Under3000Local
            | Budget::From3000To5000Local
            | Budget::From5000To7000Local
            | Budget::Over7000Local
    )
}

/// Whether the home takes the client's funding; unknown counts as yes.
pub(crate) fn accepts_funding(home: &Home, budget: Budget) -> bool {
    match budget {
        Budget::NeedGuidance => true,
        b if is_local_authority_funded(b) => home.accepts_local_authority != Some(false),
        _ => home.accepts_self_funding != Some(false),
    }
}

/// The weekly fee that applies to this need: the highest known of the
/// relevant "from" fees (dementia or nursing care cost more), `None` if none
/// is known.
pub(crate) fn relevant_fee(home: &Home, need: &CareNeed) -> Option<f64> {
    let f = &home.fees;
    let mut relevant = Vec::new();
    if need.nursing {
        relevant.push(f.nursing_from);
    }
    if need.dementia {
        relevant.push(f.dementia_from);
    }
    if relevant.is_empty() && need.respite {
        relevant.push(f.respite_from);
    }
    if relevant.is_empty() {
        relevant.push(f.residential_from.or(f.nursing_from));
    }
    relevant.into_iter().flatten().reduce(f64::max)
}

/// Whether the home's fee fits the band; unknown fees and open bands pass.
pub(crate) fn within_budget(fee: Option<f64>, band: Option<BudgetBand>) -> bool {
    match (fee, band.and_then(|b| b.max_weekly)) {
        (Some(fee), Some(max)) => fee <= max,
        _ => true,
    }
}

/// Radii to try, starting at the requested one (or
/// [`NOT_IMPORTANT_START_KM`]) and continuing through the larger steps.
pub(crate) fn radius_steps(requested_km: Option<f64>) -> Vec<f64> {
    let start = requested_km.unwrap_or(NOT_IMPORTANT_START_KM);
    let mut steps = vec![start];
    steps.extend(RADIUS_STEPS_KM.iter().copied().filter(|r| *r > start));
    steps
}

/// The first radius with at least [`TOP_N`] of the distances inside, or
/// the last step when none has.
pub(crate) fn widen_radius(distances: &[f64], steps: &[f64]) -> f64 {
    for &r in steps {
        if distances.iter().filter(|d| **d <= r).count() >= TOP_N {
            return r;
        }
    }
    steps.last().copied().unwrap_or(NOT_IMPORTANT_START_KM)
}

/// Points for a CQC rating; unknown is neutral.
pub(crate) fn rating_points(rating: Option<CqcRating>) -> f64 {
    match rating {
        Some(CqcRating::Outstanding) => 100.0,
        Some(CqcRating::Good) => 80.0,
        Some(CqcRating::RequiresImprovement) => 40.0,
        Some(CqcRating::Inadequate) => 0.0,
        None => 50.0,
    }
}

/// Yes 1, unknown ½, no 0.
fn facility(v: Option<bool>) -> f64 {
    match v {
        Some(true) => 1.0,
        None => 0.5,
        Some(false) => 0.0,
    }
}

/// The words that say a kitchen caters for a diet (lower case).
fn diet_words(diet: Diet) -> &'static [&'static str] {
    match diet {
        Diet::DiabeticDiet => &["diabet", "low sugar", "sugar free", "sugar-free"],
        Diet::PureedSoftFood => &[
            "puree", "purée", "soft", "texture", "modified", "iddsi", "minced",
        ],
        Diet::VegetarianVegan => &["vegetarian", "vegan", "plant-based", "plant based"],
        Diet::NoSpecialRequirements => &[],
    }
}

/// How well the directory says the kitchen covers the person's diets: the
/// share of their special diets its `dietary_options` name. `None` (the
/// factor is left out, neutral) when the person has no special diet or the
/// directory says nothing about the home's kitchen: an unknown is never
/// scored as a "no". The home's website, when scraped, is shown in the
/// report; it arrives after the homes are chosen, so it cannot move them.
pub(crate) fn dietary_fit(home: &Home, diets: &[Diet]) -> Option<f64> {
    let needs: Vec<Diet> = diets
        .iter()
        .copied()
        .filter(|d| *d != Diet::NoSpecialRequirements)
        .collect();
    if needs.is_empty() || home.dietary_options.is_empty() {
        return None;
    }
    let options: Vec<String> = home
        .dietary_options
        .iter()
        .map(|o| o.to_lowercase())
        .collect();
    let met = needs
        .iter()
        .filter(|d| {
            diet_words(**d)
                .iter()
                .any(|w| options.iter().any(|o| o.contains(w)))
        })
        .count();
    Some(met as f64 / needs.len() as f64)
}

/// Medical & safety: the CQC "safe" and "effective" ratings, and how well
/// the home covers the person's particular needs (nurses on site for complex
/// or fully administered medication, heart conditions, permanent wheelchair
/// use or high fall risk; wheelchair access for mobility problems; a secure
/// garden for dementia; the diets they need, where the directory says what
/// the kitchen caters for).
pub(crate) fn medical_safety_score(home: &Home, q: &Questionnaire) -> f64 {
    let m = &q.medical;
    let mut checks = Vec::new();
    let wants_nurses = m.medication.needs_nursing_oversight()
        || m.conditions.contains(&MedicalCondition::HeartConditions)
        || m.mobility == Mobility::WheelchairPermanent
        || q.safety.fall_history.is_high_risk();
    if wants_nurses {
        checks.push(if home.care.nursing { 1.0 } else { 0.0 });
    }
    let wheelchair = matches!(
        m.mobility,
        Mobility::WheelchairSometimes | Mobility::WheelchairPermanent
    ) || m.conditions.contains(&MedicalCondition::MobilityProblems);
    if wheelchair {
        checks.push(facility(home.facilities.wheelchair_access));
    }
    if q.needs_dementia_care() {
        checks.push(facility(home.facilities.secure_garden));
    }
    if let Some(fit) = dietary_fit(home, &q.safety.dietary) {
        checks.push(fit);
    }
    let fit = if checks.is_empty() {
        1.0
    } else {
        checks.iter().sum::<f64>() / checks.len() as f64
    };
    round1(
        0.5 * rating_points(home.ratings.safe)
            + 0.2 * rating_points(home.ratings.effective)
            + 30.0 * fit,
    )
}

/// Quality: CQC overall, caring, responsive and well-led.
pub(crate) fn quality_score(home: &Home) -> f64 {
    let r = &home.ratings;
    round1(
        0.4 * rating_points(r.overall)
            + 0.2 * rating_points(r.caring)
            + 0.15 * rating_points(r.responsive)
            + 0.25 * rating_points(r.well_led),
    )
}

/// Location: 100 at the door, 60 at the requested radius, falling to 0 at
/// three times it (homes the widening brought in score less).
pub(crate) fn location_score(distance_km: f64, requested_km: Option<f64>) -> f64 {
    let r = requested_km.unwrap_or(NOT_IMPORTANT_START_KM).max(1.0);
    let d = distance_km.max(0.0);
    let s = if d <= r {
        100.0 - 40.0 * d / r
    } else {
        60.0 - 60.0 * (d - r) / (2.0 * r)
    };
    round1(s.clamp(0.0, 100.0))
}

/// Financial: within a capped band, cheaper is better (100 down to 70 at the
/// cap); above the cap 40 falling fast; open bands 80; with no budget given,
/// cheaper is better on an absolute scale; unknown fees 50.
pub(crate) fn financial_score(fee: Option<f64>, budget: Budget) -> f64 {
    let Some(fee) = fee else { return 50.0 };
    let s = match weekly_band(budget) {
        Some(BudgetBand {
            max_weekly: Some(max),
            ..
        }) if max > 0.0 => {
            if fee <= max {
                100.0 - 30.0 * fee / max
            } else {
                40.0 - 100.0 * (fee - max) / max
            }
        }
        Some(_) => 80.0,
        None => 100.0 - 60.0 * (fee - 700.0) / 900.0,
    };
    round1(s.clamp(0.0, 100.0))
}

/// Lifestyle: home size against the social personality (sociable people do
/// better in larger homes, quiet ones in small), and comfort facilities.
pub(crate) fn lifestyle_score(home: &Home, social: Social) -> f64 {
    let size = match (home.beds, social) {
        (None, _) => 60.0,
        (Some(b), Social::VerySociable) if b >= 40 => 100.0,
        (Some(b), Social::VerySociable) if b >= 25 => 70.0,
        (Some(_), Social::VerySociable) => 40.0,
        (Some(b), Social::ModeratelySociable) if (20..=60).contains(&b) => 100.0,
        (Some(_), Social::ModeratelySociable) => 70.0,
        (Some(b), Social::PrefersQuiet) if b <= 30 => 100.0,
        (Some(b), Social::PrefersQuiet) if b <= 50 => 70.0,
        (Some(_), Social::PrefersQuiet) => 40.0,
    };
    let f = &home.facilities;
    let comfort =
        (facility(f.ensuite_rooms) + facility(f.secure_garden) + facility(f.wifi)) / 3.0 * 100.0;
    round1(0.6 * size + 0.4 * comfort)
}

/// All five category scores for a home at a distance.
pub(crate) fn factor_scores(home: &Home, q: &Questionnaire, distance_km: f64) -> FactorScores {
    let need = CareNeed::of(q);
    FactorScores {
        medical_safety: medical_safety_score(home, q),
        quality: quality_score(home),
        location: location_score(distance_km, q.location.max_distance.km()),
        financial: financial_score(relevant_fee(home, &need), q.location.budget),
        lifestyle: lifestyle_score(home, q.safety.social),
    }
}

/// The family's priorities as weights summing to 100: each priority gets its
/// share of the stated weights; `location_social` is split between location
/// and lifestyle 60:40, as the base weights split them 15:10.
pub fn priority_weights(ranking: &PriorityRanking) -> Option<Weights> {
    let total: u32 = ranking.weights.iter().sum();
    if total == 0 {
        return None;
    }
    let mut w = [0.0; 5];
    for (p, weight) in ranking.order.iter().zip(&ranking.weights) {
        let share = f64::from(*weight) * 100.0 / f64::from(total);
        match p {
            Priority::MedicalSafety => w[0] += share,
            Priority::QualityReputation => w[1] += share,
            Priority::CostFinancial => w[3] += share,
            Priority::LocationSocial => {
                w[2] += share * 0.6;
                w[4] += share * 0.4;
            }
            // Rooms, facilities and food are what the lifestyle score weighs.
            Priority::ComfortAmenities => w[4] += share,
        }
    }
    Some(Weights::from_array(w))
}

/// The weights for this questionnaire and the adjustments applied.
///
/// Section 6, when present, is blended half-and-half with the base weights:
/// the family's ranking matters, but it should not be able to make medical
/// safety nearly irrelevant for someone at high risk. Then the adjustments
/// add points: high fall risk medical +10 and quality +5; dementia medical +5
/// and quality +5; complex or fully administered medication medical +5
/// (nurses manage those regimes); urgent placement location
/// +10 (a nearby place the family can reach and visit quickly). Finally the
/// weights are renormalised to 100.
pub(crate) fn adjusted_weights(q: &Questionnaire) -> (Weights, Vec<String>) {
    let mut conditions = Vec::new();
    let mut w = Weights::BASE.as_array();
    if let Some(client) = q.priorities.as_ref().and_then(priority_weights) {
        for (b, c) in w.iter_mut().zip(client.as_array()) {
            *b = 0.5 * *b + 0.5 * c;
        }
        conditions.push("client_priorities".to_owned());
    }
    if q.safety.fall_history.is_high_risk() {
        w[0] += 10.0;
        w[1] += 5.0;
        conditions.push("high_fall_risk".to_owned());
    }
    if q.needs_dementia_care() {
        w[0] += 5.0;
        w[1] += 5.0;
        conditions.push("dementia".to_owned());
    }
    if q.medical.medication.needs_nursing_oversight() {
        w[0] += 5.0;
        conditions.push("complex_medication".to_owned());
    }
    if q.is_urgent() {
        w[2] += 10.0;
        conditions.push("urgent_placement".to_owned());
    }
    (Weights::from_array(w).renormalised(), conditions)
}

/// Best first: suited homes before fallbacks, then score, then distance,
/// then id (deterministic).
fn rank(a: &ScoredHome, b: &ScoredHome) -> Ordering {
    a.fallback
        .is_some()
        .cmp(&b.fallback.is_some())
        .then(b.match_score.total_cmp(&a.match_score))
        .then(a.distance_km.total_cmp(&b.distance_km))
        .then(a.home.id.cmp(&b.home.id))
}

/// The home that leads on `key` by at least `margin` over every other,
/// among the homes for which `known` holds (at least `min_known` of them).
fn leader(
    homes: &[ScoredHome],
    key: &dyn Fn(&ScoredHome) -> f64,
    known: &dyn Fn(&ScoredHome) -> bool,
    margin: f64,
    min_known: usize,
) -> Option<Winner> {
    let mut ranked: Vec<&ScoredHome> = homes.iter().filter(|h| known(h)).collect();
    if ranked.len() < min_known {
        return None;
    }
    ranked.sort_by(|a, b| key(b).total_cmp(&key(a)).then(rank(a, b)));
    let first = ranked.first()?;
    let earned = ranked
        .get(1)
        .is_none_or(|second| key(first) - key(second) >= margin);
    earned.then(|| Winner {
        home_id: first.home.id.clone(),
        name: first.home.name.clone(),
        score: round1(key(first)),
    })
}

/// The category winners among `homes`, each only when earned: the best
/// overall match leads by [`TIE_MARGIN`]; the best care leads on medical &
/// safety and quality (35:25) by [`AWARD_MARGIN`], among homes with a known
/// CQC rating; the best value leads on cost by [`AWARD_MARGIN`], among at
/// least two homes with a known fee (with one fee, nothing is compared).
pub fn winners(homes: &[ScoredHome]) -> Winners {
    let care = |h: &ScoredHome| {
        (35.0 * h.factor_scores.medical_safety + 25.0 * h.factor_scores.quality) / 60.0
    };
    let rated = |h: &ScoredHome| h.home.ratings.overall.is_some() || h.home.ratings.safe.is_some();
    Winners {
        best_overall: leader(homes, &|h| h.match_score, &|_| true, TIE_MARGIN, 1),
        best_care: leader(homes, &care, &rated, AWARD_MARGIN, 1),
        best_value: leader(
            homes,
            &|h| h.factor_scores.financial,
            &|h| h.weekly_fee.is_some(),
            AWARD_MARGIN,
            2,
        ),
    }
}

/// Sorts, tiers, widens, scores and ranks the directory's homes for `q`
/// around `origin`.
pub(crate) fn match_homes(q: &Questionnaire, homes: &[Home], origin: &Location) -> MatchOutcome {
    let need = CareNeed::of(q);
    let requested = q.location.max_distance.km();
    let (weights, conditions) = adjusted_weights(q);
    let sorted = sort_homes(homes, origin, &need, q.location.budget);
    let reach = reach(&sorted, requested, &need, q.location.budget);

    let mut scored: Vec<ScoredHome> = sorted
        .iter()
        .filter(|c| c.distance <= reach.radius && reach.admits(c))
        .map(|c| score(c, q, &need, &weights))
        .collect();
    let considered = scored.len();
    scored.sort_by(rank);
    scored.truncate(TOP_N);

    let mut note = reach.note.clone();
    if scored.len() < TOP_N {
        let why = shortfall(scored.len(), &need, reach.max_radius, origin);
        note = Some(match note {
            Some(n) => format!("{why} {n}"),
            None => why,
        });
    }

    MatchOutcome {
        winners: winners(&scored),
        left_out: left_out(&sorted, &reach),
        homes: scored,
        radius_km: reach.radius,
        requested_radius_km: requested,
        considered,
        note,
        weights,
        conditions,
    }
}

/// A candidate scored.
fn score(c: &Candidate<'_>, q: &Questionnaire, need: &CareNeed, weights: &Weights) -> ScoredHome {
    let factor_scores = factor_scores(c.home, q, c.distance);
    ScoredHome {
        home: c.home.clone(),
        distance_km: round1(c.distance),
        match_score: factor_scores.weighted(weights),
        factor_scores,
        over_budget: !c.in_budget,
        weekly_fee: relevant_fee(c.home, need),
        fallback: match c.fit {
            Fit::Fallback(f) => Some(f),
            _ => None,
        },
    }
}

/// A home with a position: its distance in km, its tier and whether its
/// fee for the care needed is within the budget.
struct Candidate<'h> {
    home: &'h Home,
    distance: f64,
    fit: Fit,
    in_budget: bool,
}

/// Every home with a position, tiered for the person. Homes without a
/// position have no distance; they cannot be in reach and are not counted.
fn sort_homes<'h>(
    homes: &'h [Home],
    origin: &Location,
    need: &CareNeed,
    budget: Budget,
) -> Vec<Candidate<'h>> {
    let band = weekly_band(budget);
    homes
        .iter()
        .filter_map(|h| {
            let d = haversine_km((origin.lat, origin.lon), h.coordinates()?);
            d.is_finite().then(|| Candidate {
                home: h,
                distance: d,
                fit: suitability::fit(h, need, budget),
                in_budget: within_budget(relevant_fee(h, need), band),
            })
        })
        .collect()
}

/// How far the search reaches, and which homes come in.
struct Reach {
    /// The radius searched, km.
    radius: f64,
    /// The widest radius the search may reach, km.
    max_radius: f64,
    /// Whether homes over the budget are included.
    relax_budget: bool,
    /// Whether fallback homes are included.
    with_fallbacks: bool,
    /// Why homes over the budget are included, when they are.
    note: Option<String>,
}

impl Reach {
    /// Whether the candidate is admitted at this reach (the radius aside).
    fn admits(&self, c: &Candidate<'_>) -> bool {
        let tier = match c.fit {
            Fit::Suited => true,
            Fit::Fallback(_) => self.with_fallbacks,
            Fit::Excluded(_) => false,
        };
        tier && (c.in_budget || self.relax_budget)
    }
}

/// The radius to search and who comes in: the first of four ever wider
/// pools (suited within the budget; suited at any fee; with fallbacks
/// within the budget; with fallbacks at any fee) that has [`TOP_N`] homes
/// within the widest radius, widened until they are inside; the last pool
/// when none has. Admitting homes over the budget is said in the note.
fn reach(
    candidates: &[Candidate<'_>],
    requested: Option<f64>,
    need: &CareNeed,
    budget: Budget,
) -> Reach {
    let steps = radius_steps(requested);
    let max_radius = steps.last().copied().unwrap_or(NOT_IMPORTANT_START_KM);
    let pools = [(false, false), (false, true), (true, false), (true, true)];
    let mut reach = Reach {
        radius: max_radius,
        max_radius,
        relax_budget: true,
        with_fallbacks: true,
        note: None,
    };
    for (with_fallbacks, relax_budget) in pools {
        let trial = Reach {
            with_fallbacks,
            relax_budget,
            ..reach
        };
        let distances: Vec<f64> = candidates
            .iter()
            .filter(|c| trial.admits(c))
            .map(|c| c.distance)
            .collect();
        let radius = widen_radius(&distances, &steps);
        reach = Reach { radius, ..trial };
        if distances.iter().filter(|d| **d <= max_radius).count() >= TOP_N {
            break;
        }
    }
    if reach.relax_budget {
        reach.note = over_budget_note(candidates, &reach, need, budget);
    }
    reach
}

/// The note when homes above the budget were let in; `None` when none of
/// the admitted homes is above it.
fn over_budget_note(
    candidates: &[Candidate<'_>],
    reach: &Reach,
    need: &CareNeed,
    budget: Budget,
) -> Option<String> {
    let admitted = |c: &&Candidate<'_>| c.distance <= reach.radius && reach.admits(c);
    if candidates.iter().filter(admitted).all(|c| c.in_budget) {
        return None;
    }
    let in_budget = candidates
        .iter()
        .filter(admitted)
        .filter(|c| c.in_budget)
        .count();
    let max = weekly_band(budget)
        .and_then(|b| b.max_weekly)
        .unwrap_or_default();
    let found = match in_budget {
        0 => "No home".to_owned(),
        n => format!("Only {n} home(s)"),
    };
    Some(format!(
        "{found} offering {} within the budget (up to £{max:.0} a week) found within {:.0} km; homes above the budget are included and score lower on cost.",
        need.describe(),
        reach.max_radius
    ))
}

/// The homes within the radius that were not admitted, counted by reason
/// (most first, then the reason's order).
fn left_out(candidates: &[Candidate<'_>], reach: &Reach) -> Vec<LeftOut> {
    let mut counts: std::collections::BTreeMap<Exclusion, usize> = Default::default();
    for c in candidates.iter().filter(|c| c.distance <= reach.radius) {
        let reason = match c.fit {
            Fit::Excluded(e) => e,
            Fit::Fallback(f) if !reach.with_fallbacks => Exclusion::FallbackNotNeeded(f),
            _ if !c.in_budget && !reach.relax_budget => Exclusion::AboveBudget,
            _ => continue,
        };
        *counts.entry(reason).or_default() += 1;
    }
    let mut out: Vec<LeftOut> = counts
        .into_iter()
        .map(|(reason, count)| LeftOut { reason, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    out
}

/// Why fewer than [`TOP_N`] homes were chosen: `found` of them within
/// `max_radius` of the origin.
fn shortfall(found: usize, need: &CareNeed, max_radius: f64, origin: &Location) -> String {
    if found == 0 {
        format!(
            "No home offering {} within {max_radius:.0} km of {} in the directory.",
            need.describe(),
            origin.label
        )
    } else {
        format!(
            "Only {found} home(s) offering {} within {max_radius:.0} km of {} in the directory.",
            need.describe(),
            origin.label
        )
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::directory::{CareFlags, CqcRatings, Fees};
    use crate::questionnaire::tests::sample;
    use crate::questionnaire::{FallHistory, Timeline};
    use serde_json::json;

    pub(crate) fn q_with(edit: impl FnOnce(&mut serde_json::Value)) -> Questionnaire {
        let mut v = sample();
        edit(&mut v);
        Questionnaire::parse(&v).unwrap()
    }

    fn home(id: &str, lat: f64, lon: f64) -> Home {
        Home {
            id: id.into(),
            name: format!("Test {id}"),
            city: "Birmingham".into(),
            latitude: Some(lat),
            longitude: Some(lon),
            care: CareFlags {
                residential: true,
                ..CareFlags::default()
            },
            ratings: CqcRatings {
                overall: Some(CqcRating::Good),
                ..CqcRatings::default()
            },
            ..Home::default()
        }
    }

    fn birmingham() -> Location {
        crate::geo::city_location("Birmingham").unwrap()
    }

    #[test]
    fn medical_nursing_means_nursing_care() {
        let q = q_with(|v| {
            v["section_3_medical_needs"]["q8_care_types"] = json!(["medical_nursing"]);
            v["section_3_medical_needs"]["q9_medical_conditions"] = json!(["diabetes"]);
        });
        let need = CareNeed::of(&q);
        assert!(need.nursing && !need.dementia);
        let mut h = home("a", 52.0, -1.0);
        assert!(
            !need.met_by(&h),
            "a residential-only home does not offer nursing"
        );
        h.care.nursing = true;
        assert!(need.met_by(&h));
    }

    #[test]
    fn dementia_as_condition_requires_dementia_care() {
        let q = q_with(|v| {
            v["section_3_medical_needs"]["q8_care_types"] = json!(["general_residential"]);
            v["section_3_medical_needs"]["q9_medical_conditions"] = json!(["dementia_alzheimers"]);
        });
        let need = CareNeed::of(&q);
        assert!(need.dementia && need.residential);
        let mut h = home("a", 52.0, -1.0);
        assert!(!need.met_by(&h));
        h.care.dementia = true;
        assert!(need.met_by(&h));
        // Residential need is met by a nursing home too.
        let mut n = home("n", 52.0, -1.0);
        n.care = CareFlags {
            nursing: true,
            dementia: true,
            ..CareFlags::default()
        };
        assert!(need.met_by(&n));
    }

    #[test]
    fn every_budget_value_maps_to_a_weekly_band() {
        for b in Budget::ALL {
            let band = weekly_band(*b);
            match b {
                Budget::NeedGuidance => assert_eq!(band, None),
                Budget::Over7000Self | Budget::Over7000Local => {
                    assert_eq!(band.unwrap().max_weekly, None);
                    assert_eq!(band.unwrap().min_weekly, 1615.0);
                }
                _ => {
                    let band = band.unwrap();
                    assert!(band.max_weekly.unwrap() > band.min_weekly, "{b}");
                }
            }
        }
        assert_eq!(
            weekly_band(Budget::Under3000Self).unwrap().max_weekly,
            Some(692.0)
        );
        assert_eq!(
            weekly_band(Budget::From3000To5000Local).unwrap().max_weekly,
            Some(1154.0)
        );
        assert_eq!(
            weekly_band(Budget::From5000To7000Self).unwrap().max_weekly,
            Some(1615.0)
        );
        // The filter: unknown fees and open bands pass.
        let band = weekly_band(Budget::Under3000Self);
        assert!(within_budget(Some(650.0), band));
        assert!(!within_budget(Some(700.0), band));
        assert!(within_budget(None, band));
        assert!(within_budget(
            Some(5000.0),
            weekly_band(Budget::Over7000Self)
        ));
        assert!(within_budget(
            Some(5000.0),
            weekly_band(Budget::NeedGuidance)
        ));
    }

    #[test]
    fn funding_source_filter() {
        let mut h = home("a", 52.0, -1.0);
        h.accepts_local_authority = Some(false);
        assert!(!accepts_funding(&h, Budget::Under3000Local));
        assert!(accepts_funding(&h, Budget::Under3000Self));
        h.accepts_local_authority = None;
        assert!(accepts_funding(&h, Budget::Under3000Local));
    }

    #[test]
    fn relevant_fee_follows_the_care_needed() {
        let mut h = home("a", 52.0, -1.0);
        h.fees = Fees {
            residential_from: Some(800.0),
            nursing_from: Some(1100.0),
            dementia_from: Some(1200.0),
            respite_from: None,
        };
        let res = CareNeed {
            residential: true,
            ..CareNeed::default()
        };
        let nursing = CareNeed {
            nursing: true,
            ..CareNeed::default()
        };
        let both = CareNeed {
            nursing: true,
            dementia: true,
            ..CareNeed::default()
        };
        assert_eq!(relevant_fee(&h, &res), Some(800.0));
        assert_eq!(relevant_fee(&h, &nursing), Some(1100.0));
        assert_eq!(relevant_fee(&h, &both), Some(1200.0));
        h.fees = Fees::default();
        assert_eq!(relevant_fee(&h, &both), None);
    }

    #[test]
    fn ratings_compare_case_insensitively() {
        let a = CqcRating::parse("Requires Improvement");
        let b = CqcRating::parse("requires improvement");
        assert_eq!(rating_points(a), rating_points(b));
        assert_eq!(rating_points(a), 40.0);
        assert!(
            rating_points(CqcRating::parse("OUTSTANDING"))
                > rating_points(CqcRating::parse("good"))
        );
        assert_eq!(rating_points(None), 50.0);
    }

    #[test]
    fn radius_widens_in_steps_until_five_homes() {
        assert_eq!(
            radius_steps(Some(5.0)),
            vec![5.0, 10.0, 15.0, 30.0, 50.0, 75.0, 100.0]
        );
        assert_eq!(
            radius_steps(Some(20.0)),
            vec![20.0, 30.0, 50.0, 75.0, 100.0]
        );
        assert_eq!(radius_steps(None), vec![50.0, 75.0, 100.0]);
        let steps = radius_steps(Some(5.0));
        assert_eq!(widen_radius(&[1.0, 2.0, 3.0, 4.0, 4.9], &steps), 5.0);
        assert_eq!(widen_radius(&[1.0, 2.0, 3.0, 4.0, 12.0], &steps), 15.0);
        assert_eq!(widen_radius(&[1.0, 2.0, 3.0, 4.0, 60.0], &steps), 75.0);
        assert_eq!(widen_radius(&[1.0], &steps), 100.0);

        // End to end: four homes near, the fifth 25 km away → 30 km.
        let origin = birmingham();
        let mut homes: Vec<Home> = (0..4)
            .map(|i| {
                home(
                    &format!("near{i}"),
                    origin.lat + 0.01 * f64::from(i),
                    origin.lon,
                )
            })
            .collect();
        homes.push(home("far", origin.lat + 0.225, origin.lon)); // ~25 km north
        let q = q_with(|v| {
            v["section_2_location_budget"]["q6_max_distance"] = json!("5km");
            v["section_3_medical_needs"]["q8_care_types"] = json!(["general_residential"]);
            v["section_3_medical_needs"]["q9_medical_conditions"] = json!(["no_serious_medical"]);
        });
        let out = match_homes(&q, &homes, &origin);
        assert_eq!(out.radius_km, 30.0);
        assert_eq!(out.homes.len(), 5);
        assert_eq!(out.note, None);
        assert!(out.homes.iter().any(|h| h.home.id == "far"));
    }

    #[test]
    fn fewer_than_five_says_why() {
        let origin = birmingham();
        let homes = vec![
            home("only", origin.lat, origin.lon),
            home("leeds", 53.8, -1.55),
        ];
        let q = q_with(|v| {
            v["section_3_medical_needs"]["q8_care_types"] = json!(["general_residential"]);
            v["section_3_medical_needs"]["q9_medical_conditions"] = json!(["diabetes"]);
        });
        let out = match_homes(&q, &homes, &origin);
        assert_eq!(out.homes.len(), 1);
        assert_eq!(out.radius_km, 100.0);
        assert!(out
            .note
            .unwrap()
            .contains("Only 1 home(s) offering residential care"));
    }

    #[test]
    fn budget_is_relaxed_only_when_too_few_homes_fit_and_that_is_said() {
        let origin = birmingham();
        let mut homes = Vec::new();
        for i in 0..6 {
            let mut h = home(
                &format!("h{i}"),
                origin.lat + 0.005 * f64::from(i),
                origin.lon,
            );
            h.fees.residential_from = Some(if i < 2 { 650.0 } else { 900.0 });
            homes.push(h);
        }
        let q = q_with(|v| {
            v["section_2_location_budget"]["q7_budget"] = json!("under_3000_self");
            v["section_3_medical_needs"]["q8_care_types"] = json!(["general_residential"]);
            v["section_3_medical_needs"]["q9_medical_conditions"] = json!(["no_serious_medical"]);
        });
        let out = match_homes(&q, &homes, &origin);
        assert_eq!(out.homes.len(), 5);
        assert!(out.note.as_deref().unwrap().contains("Only 2 home(s)"));
        // Within-budget homes rank above over-budget ones here (same ratings).
        assert!(!out.homes[0].over_budget && !out.homes[1].over_budget);
        assert!(out.homes[2].over_budget);

        // need_budget_guidance: no budget filter at all, no note.
        let q = q_with(|v| {
            v["section_2_location_budget"]["q7_budget"] = json!("need_budget_guidance");
            v["section_3_medical_needs"]["q8_care_types"] = json!(["general_residential"]);
            v["section_3_medical_needs"]["q9_medical_conditions"] = json!(["no_serious_medical"]);
        });
        let out = match_homes(&q, &homes, &origin);
        assert_eq!(out.homes.len(), 5);
        assert_eq!(out.note, None);
        assert!(out.homes.iter().all(|h| !h.over_budget));
    }

    fn assert_sums_to_100(w: &Weights) {
        assert!((w.total() - 100.0).abs() < 1e-9, "{w:?}");
    }

    fn plain() -> Questionnaire {
        q_with(|v| {
            v.as_object_mut().unwrap().remove("section_6_priorities");
            v["section_3_medical_needs"]["q8_care_types"] = json!(["general_residential"]);
            v["section_3_medical_needs"]["q9_medical_conditions"] = json!(["no_serious_medical"]);
            v["section_3_medical_needs"]["q11_medication_management"] = json!("simple_1_2");
            v["section_4_safety_special_needs"]["q13_fall_history"] = json!("no_falls_occurred");
            v["section_5_timeline"]["q17_placement_timeline"] = json!("planning_2_3_months");
        })
    }

    #[test]
    fn base_weights_without_adjustments() {
        let (w, conditions) = adjusted_weights(&plain());
        assert_eq!(w, Weights::BASE);
        assert!(conditions.is_empty());
    }

    #[test]
    fn high_fall_risk_shifts_weight_to_medical_and_quality_renormalised() {
        let mut q = plain();
        q.safety.fall_history = FallHistory::HighRisk;
        let (w, conditions) = adjusted_weights(&q);
        assert_eq!(conditions, vec!["high_fall_risk"]);
        assert_sums_to_100(&w);
        // 45/115, 30/115, 15/115, 15/115, 10/115
        assert_eq!(w.medical_safety, 39.1);
        assert_eq!(w.quality, 26.1);
        assert!(w.location < Weights::BASE.location);
        q.safety.fall_history = FallHistory::ThreePlusOrSerious;
        assert_eq!(adjusted_weights(&q).0, w);
    }

    #[test]
    fn dementia_shifts_weight_to_medical_and_quality() {
        let mut q = plain();
        q.medical.conditions = vec![MedicalCondition::DementiaAlzheimers];
        let (w, conditions) = adjusted_weights(&q);
        assert_eq!(conditions, vec!["dementia"]);
        assert_sums_to_100(&w);
        assert!(w.medical_safety > 35.0 && w.quality > 25.0);
    }

    #[test]
    fn urgent_placement_shifts_weight_to_location_renormalised() {
        let mut q = plain();
        q.timeline = Timeline::Urgent2Weeks;
        let (w, conditions) = adjusted_weights(&q);
        assert_eq!(conditions, vec!["urgent_placement"]);
        assert_sums_to_100(&w);
        // 25/110
        assert_eq!(w.location, 22.7);
        assert!(w.medical_safety < 35.0);
    }

    #[test]
    fn all_adjustments_together_still_sum_to_100() {
        let q = q_with(|v| {
            v["section_3_medical_needs"]["q11_medication_management"] =
                json!("many_complex_routine");
            v["section_4_safety_special_needs"]["q13_fall_history"] = json!("high_risk_of_falling");
            v["section_5_timeline"]["q17_placement_timeline"] = json!("urgent_2_weeks");
        });
        let (w, conditions) = adjusted_weights(&q);
        assert_sums_to_100(&w);
        assert_eq!(
            conditions,
            vec![
                "client_priorities",
                "high_fall_risk",
                "dementia",
                "complex_medication",
                "urgent_placement"
            ]
        );
    }

    #[test]
    fn section_6_priorities_are_blended_with_the_base() {
        let mut q = plain();
        q.priorities = Some(PriorityRanking {
            order: vec![
                Priority::CostFinancial,
                Priority::LocationSocial,
                Priority::MedicalSafety,
                Priority::QualityReputation,
            ],
            weights: vec![60, 20, 15, 5],
        });
        let client = priority_weights(q.priorities.as_ref().unwrap()).unwrap();
        assert_eq!(client.financial, 60.0);
        assert_eq!(client.location, 12.0);
        assert_eq!(client.lifestyle, 8.0);
        let (w, conditions) = adjusted_weights(&q);
        assert_eq!(conditions, vec!["client_priorities"]);
        assert_sums_to_100(&w);
        assert_eq!(w.financial, 37.5); // (15 + 60) / 2
        assert_eq!(w.medical_safety, 25.0); // (35 + 15) / 2
        assert_eq!(w.quality, 15.0); // (25 + 5) / 2
    }

    #[test]
    fn renormalise_rounds_to_tenths_summing_to_100() {
        let w = Weights::from_array([1.0, 1.0, 1.0, 0.0, 0.0]).renormalised();
        assert_sums_to_100(&w);
        assert_eq!(w.medical_safety, 33.4);
        assert_eq!(Weights::from_array([0.0; 5]).renormalised(), Weights::BASE);
    }

    #[test]
    fn category_scores_follow_their_rules() {
        assert_eq!(location_score(0.0, Some(10.0)), 100.0);
        assert_eq!(location_score(10.0, Some(10.0)), 60.0);
        assert_eq!(location_score(30.0, Some(10.0)), 0.0);
        assert!(location_score(12.0, Some(10.0)) < 60.0);

        assert_eq!(financial_score(None, Budget::Under3000Self), 50.0);
        assert!(
            financial_score(Some(600.0), Budget::Under3000Self)
                > financial_score(Some(690.0), Budget::Under3000Self)
        );
        assert!(financial_score(Some(800.0), Budget::Under3000Self) < 40.0);
        assert_eq!(financial_score(Some(2000.0), Budget::Over7000Local), 80.0);
        assert!(
            financial_score(Some(700.0), Budget::NeedGuidance)
                > financial_score(Some(1500.0), Budget::NeedGuidance)
        );

        let mut big = home("big", 52.0, -1.0);
        big.beds = Some(70);
        let mut small = home("small", 52.0, -1.0);
        small.beds = Some(20);
        assert!(
            lifestyle_score(&big, Social::VerySociable)
                > lifestyle_score(&small, Social::VerySociable)
        );
        assert!(
            lifestyle_score(&small, Social::PrefersQuiet)
                > lifestyle_score(&big, Social::PrefersQuiet)
        );

        let mut good = home("g", 52.0, -1.0);
        good.ratings.safe = CqcRating::parse("Outstanding");
        let mut poor = home("p", 52.0, -1.0);
        poor.ratings.safe = CqcRating::parse("inadequate");
        let q = plain();
        assert!(medical_safety_score(&good, &q) > medical_safety_score(&poor, &q));
        // A fall-risk client prefers nurses on site.
        let mut risky = plain();
        risky.safety.fall_history = FallHistory::HighRisk;
        let mut nursing = good.clone();
        nursing.care.nursing = true;
        assert!(medical_safety_score(&nursing, &risky) > medical_safety_score(&good, &risky));
    }

    fn scored(id: &str, score: f64, financial: f64, fee: Option<f64>) -> ScoredHome {
        let mut h = home(id, 52.0, -1.0);
        h.ratings.overall = Some(CqcRating::Good);
        ScoredHome {
            home: h,
            distance_km: 1.0,
            match_score: score,
            factor_scores: FactorScores {
                medical_safety: score,
                quality: score,
                location: 50.0,
                financial,
                lifestyle: 50.0,
            },
            over_budget: false,
            weekly_fee: fee,
            fallback: None,
        }
    }

    #[test]
    fn the_best_overall_match_must_lead_by_the_tie_margin() {
        let w = winners(&[scored("a", 80.0, 50.0, None), scored("b", 79.0, 50.0, None)]);
        assert_eq!(w.best_overall.unwrap().home_id, "a");
        let w = winners(&[scored("a", 80.0, 50.0, None), scored("b", 79.1, 50.0, None)]);
        assert!(w.best_overall.is_none(), "a tie is not a win");
        assert!(winners(&[]).best_overall.is_none());
        assert_eq!(
            winners(&[scored("a", 60.0, 50.0, None)])
                .best_overall
                .unwrap()
                .home_id,
            "a"
        );
    }

    #[test]
    fn best_care_needs_a_rating_and_the_award_margin() {
        let w = winners(&[scored("a", 85.0, 50.0, None), scored("b", 80.0, 50.0, None)]);
        assert_eq!(w.best_care.unwrap().home_id, "a");
        let w = winners(&[scored("a", 84.9, 50.0, None), scored("b", 80.0, 50.0, None)]);
        assert!(w.best_care.is_none(), "just below the margin");
        let mut unrated = scored("a", 95.0, 50.0, None);
        unrated.home.ratings.overall = None;
        let w = winners(&[unrated, scored("b", 80.0, 50.0, None)]);
        assert_eq!(
            w.best_care.unwrap().home_id,
            "b",
            "only rated homes compete"
        );
    }

    #[test]
    fn best_value_needs_two_known_fees_and_the_award_margin() {
        // No fee anywhere: the constant neutral cost score wins nothing.
        let none = [scored("a", 80.0, 50.0, None), scored("b", 70.0, 50.0, None)];
        assert!(winners(&none).best_value.is_none());
        let one = [
            scored("a", 80.0, 90.0, Some(700.0)),
            scored("b", 70.0, 50.0, None),
        ];
        assert!(
            winners(&one).best_value.is_none(),
            "one fee compares nothing"
        );
        let two = [
            scored("a", 80.0, 70.0, Some(900.0)),
            scored("b", 70.0, 75.0, Some(800.0)),
        ];
        assert_eq!(winners(&two).best_value.unwrap().home_id, "b");
        let close = [
            scored("a", 80.0, 70.1, Some(900.0)),
            scored("b", 70.0, 75.0, Some(800.0)),
        ];
        assert!(
            winners(&close).best_value.is_none(),
            "just below the margin"
        );
    }

    #[test]
    fn fallbacks_come_in_only_when_too_few_suited_homes_are_in_reach_and_rank_after_them() {
        use crate::directory::Band;
        let origin = birmingham();
        let at = |id: &str, km: f64| home(id, origin.lat + km / 111.0, origin.lon);
        let mut specialist = at("mh", 0.5);
        specialist.registration.bands = Some(vec![Band::OlderPeople, Band::MentalHealth]);
        specialist.ratings.overall = Some(CqcRating::Outstanding);
        let mut nursing_only = at("nursing", 0.6);
        nursing_only.care = CareFlags {
            nursing: true,
            ..CareFlags::default()
        };
        let mut homes = vec![specialist, nursing_only];
        homes.extend((0..3).map(|i| at(&format!("ok{i}"), 2.0 + f64::from(i))));

        // Three suited homes within 100 km: the two fallbacks fill the five,
        // after the suited ones, with what they are.
        let out = match_homes(&plain(), &homes, &origin);
        let ids: Vec<&str> = out.homes.iter().map(|h| h.home.id.as_str()).collect();
        assert_eq!(&ids[..3], ["ok0", "ok1", "ok2"]);
        let fallbacks: Vec<Option<Fallback>> = out.homes[3..].iter().map(|h| h.fallback).collect();
        assert!(fallbacks.contains(&Some(Fallback::Specialist(Band::MentalHealth))));
        assert!(fallbacks.contains(&Some(Fallback::NursingOnly)));
        assert!(out.left_out.is_empty());

        // Five suited homes: no fallback proposed, both counted as left out.
        homes.extend((3..5).map(|i| at(&format!("ok{i}"), 2.0 + f64::from(i))));
        let out = match_homes(&plain(), &homes, &origin);
        assert!(out.homes.iter().all(|h| h.fallback.is_none()));
        assert_eq!(out.left_out.len(), 2, "{:?}", out.left_out);
    }

    #[test]
    fn homes_without_coordinates_or_for_younger_adults_are_skipped() {
        let origin = birmingham();
        let mut nowhere = home("nowhere", 0.0, 0.0);
        nowhere.latitude = None;
        let mut young = home("young", origin.lat, origin.lon);
        young.registration.bands = Some(vec![crate::directory::Band::YoungerAdults]);
        let out = match_homes(&plain(), &[nowhere, young], &origin);
        assert!(out.homes.is_empty());
        assert!(out.note.unwrap().starts_with("No home"));
        assert_eq!(
            out.left_out,
            vec![LeftOut {
                reason: Exclusion::NotForOlderPeople,
                count: 1
            }]
        );
    }

    #[test]
    fn temporary_respite_is_confirmed_with_homes_unless_the_directory_says_no() {
        let q = q_with(|v| {
            v["section_3_medical_needs"]["q8_care_types"] = json!(["temporary_respite"]);
            v["section_3_medical_needs"]["q9_medical_conditions"] = json!(["no_serious_medical"]);
        });
        let need = CareNeed::of(&q);
        assert!(need.respite && !need.nursing && !need.dementia);
        assert_eq!(need.describe(), "respite care");
        let mut h = home("a", 52.0, -1.0);
        assert!(need.met_by(&h), "unknown respite is not a no");
        assert!(need.respite_unconfirmed(&h));
        h.care.respite = Some(true);
        assert!(need.met_by(&h) && !need.respite_unconfirmed(&h));
        h.care.respite = Some(false);
        assert!(!need.met_by(&h), "the directory says it takes none");
        // A published respite fee says it does, and is the fee that applies.
        let mut priced = home("b", 52.0, -1.0);
        priced.care.respite = Some(false);
        priced.fees.respite_from = Some(950.0);
        priced.fees.residential_from = Some(800.0);
        assert!(need.met_by(&priced) && !need.respite_unconfirmed(&priced));
        assert_eq!(relevant_fee(&priced, &need), Some(950.0));

        // End to end: with respite unknown everywhere, homes are still found;
        // the ones that say no are left out and counted.
        let origin = birmingham();
        let mut homes: Vec<Home> = (0..8)
            .map(|i| {
                home(
                    &format!("h{i}"),
                    origin.lat + 0.005 * f64::from(i),
                    origin.lon,
                )
            })
            .collect();
        for h in homes.iter_mut().take(2) {
            h.care.respite = Some(false);
        }
        let out = match_homes(&q, &homes, &origin);
        assert_eq!(out.homes.len(), 5);
        assert!(out.homes.iter().all(|s| s.home.care.respite.is_none()));
        assert!(out
            .left_out
            .iter()
            .any(|l| l.reason == Exclusion::NoRespite));
    }

    #[test]
    fn the_medication_scale_weighs_nursing() {
        let mut nursing = home("n", 52.0, -1.0);
        nursing.care.nursing = true;
        let residential = home("r", 52.0, -1.0);
        for (value, heavy) in [
            ("none", false),
            ("independent", false),
            ("reminders_needed", false),
            ("simple_1_2", false),
            ("several_simple_routine", false),
            ("many_complex_routine", true),
            ("full_administration_required", true),
        ] {
            let mut q = plain();
            q.medical.medication = crate::questionnaire::Medication::parse(value).unwrap();
            let (w, conditions) = adjusted_weights(&q);
            assert_eq!(
                conditions.contains(&"complex_medication".to_owned()),
                heavy,
                "{value}"
            );
            assert_eq!(
                w.medical_safety > Weights::BASE.medical_safety,
                heavy,
                "{value}"
            );
            let gap = medical_safety_score(&nursing, &q) - medical_safety_score(&residential, &q);
            assert_eq!(
                gap > 0.0,
                heavy,
                "{value}: nurses on site count only when needed"
            );
        }
    }

    #[test]
    fn dietary_needs_count_only_where_the_directory_says_what_the_kitchen_caters_for() {
        let diets =
            |v: &[&str]| -> Vec<Diet> { v.iter().map(|d| Diet::parse(d).unwrap()).collect() };
        let mut h = home("a", 52.0, -1.0);
        // The directory is silent: neutral, whatever the need.
        assert_eq!(dietary_fit(&h, &diets(&["vegetarian_vegan"])), None);
        h.dietary_options = vec!["Vegetarian".into(), "Halal".into()];
        assert_eq!(dietary_fit(&h, &diets(&["no_special_requirements"])), None);
        assert_eq!(dietary_fit(&h, &diets(&["vegetarian_vegan"])), Some(1.0));
        assert_eq!(
            dietary_fit(&h, &diets(&["vegetarian_vegan", "pureed_soft_food"])),
            Some(0.5)
        );
        h.dietary_options = vec!["Texture-modified (IDDSI)".into(), "Diabetic".into()];
        assert_eq!(
            dietary_fit(&h, &diets(&["diabetic_diet", "pureed_soft_food"])),
            Some(1.0)
        );

        // In the score: a kitchen that says it caters beats one that says it
        // does not; one that says nothing scores as if diet were not asked.
        let mut q = plain();
        q.safety.dietary = diets(&["vegetarian_vegan"]);
        let mut caters = home("c", 52.0, -1.0);
        caters.dietary_options = vec!["Vegan".into()];
        let mut does_not = home("d", 52.0, -1.0);
        does_not.dietary_options = vec!["Halal".into()];
        let silent = home("s", 52.0, -1.0);
        assert!(medical_safety_score(&caters, &q) > medical_safety_score(&does_not, &q));
        assert_eq!(
            medical_safety_score(&silent, &q),
            medical_safety_score(&silent, &plain())
        );
    }

    #[test]
    fn comfort_amenities_priority_weighs_lifestyle() {
        let mut q = plain();
        q.priorities = Some(PriorityRanking {
            order: vec![Priority::ComfortAmenities, Priority::QualityReputation],
            weights: vec![80, 20],
        });
        let client = priority_weights(q.priorities.as_ref().unwrap()).unwrap();
        assert_eq!(client.lifestyle, 80.0);
        let (w, _) = adjusted_weights(&q);
        assert!(w.lifestyle > Weights::BASE.lifestyle);
    }
}
