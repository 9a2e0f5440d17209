//! `comparativeAnalysis`: the homes side by side, rankings per category,
//! the price comparison, key differentiators and a recommendation.
//!
//! Cells for facts the service does not hold are left out (the client shows
//! `N/A`), never filled with a guess.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::rules;
use super::{
    round1, round2, CqcRating, Evidence, HomeFacts, JudgementInput, Trace, WinnerCategory,
};

/// One cell (client `ComparisonTableRow.homes[id]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    /// Shown value.
    pub value: Value,
    /// Best in the row.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub highlight: bool,
    /// For sorting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_value: Option<f64>,
    /// `excellent`, `good`, `fair`, `poor`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub badge: Option<&'static str>,
    /// The value is a list.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_list: bool,
}

impl Cell {
    fn text(value: impl Into<Value>) -> Cell {
        Cell {
            value: value.into(),
            highlight: false,
            sort_value: None,
            badge: None,
            is_list: false,
        }
    }
}

/// Client `ComparisonTableRow`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// Group (`Basic Information`, `Match Score`, `CQC Ratings`, …).
    pub category: &'static str,
    /// Row label.
    pub metric: &'static str,
    /// Cells by home id (a home without the fact has no cell), in rank
    /// order.
    pub homes: RankedCells,
}

/// A row's cells by home id, kept in the homes' rank order. The client
/// takes its columns, and labels them `#1`…`#5`, from the first row's key
/// order, so a map sorted by id would put the wrong home under `#1`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RankedCells(pub Vec<(String, Cell)>);

impl RankedCells {
    /// The cell of `home_id`.
    pub fn get(&self, home_id: &str) -> Option<&Cell> {
        self.0.iter().find(|(id, _)| id == home_id).map(|(_, c)| c)
    }

    /// How many homes have a cell.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no home has a cell.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The home ids with a cell, in rank order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(id, _)| id)
    }
}

impl Serialize for RankedCells {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (id, cell) in &self.0 {
            map.serialize_entry(id, cell)?;
        }
        map.end()
    }
}

/// Client `MatchScoreRanking`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranking {
    /// 1 = best.
    pub rank: usize,
    /// Id.
    pub home_id: String,
    /// Name.
    pub home_name: String,
    /// Score.
    pub match_score: f64,
    /// Points behind the top.
    pub score_difference_from_top: f64,
    /// Share of the other homes it scores at least as well as, percent.
    pub percentile: f64,
}

/// Client `MatchScoreRankings.statistics`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScoreStatistics {
    /// Highest.
    pub highest_score: f64,
    /// Lowest.
    pub lowest_score: f64,
    /// Mean.
    pub average_score: f64,
    /// Highest − lowest.
    pub score_range: f64,
    /// Population variance.
    pub score_variance: f64,
}

/// One tier.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tier {
    /// How many homes.
    pub count: usize,
    /// Their names.
    pub homes: Vec<String>,
    /// The score range, e.g. `85-100`.
    pub range: &'static str,
}

/// Client `tier_analysis`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierAnalysis {
    /// 85–100.
    pub tier_1_excellent: Tier,
    /// 75–84.9.
    pub tier_2_very_good: Tier,
    /// 65–74.9.
    pub tier_3_good: Tier,
    /// Below 65.
    pub tier_4_fair: Tier,
}

/// Client `MatchScoreRankings`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rankings {
    /// By match score.
    pub rankings: Vec<Ranking>,
    /// Statistics.
    pub statistics: ScoreStatistics,
    /// Tiers.
    pub tier_analysis: TierAnalysis,
}

/// Client `PriceComparisonItem`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceItem {
    /// Rank by price, 1 = cheapest.
    pub rank: usize,
    /// Id.
    pub home_id: String,
    /// Name.
    pub home_name: String,
    /// Weekly fee.
    pub weekly_price: f64,
    /// Weekly × 52.
    pub annual_price: f64,
    /// Above the cheapest, weekly.
    pub price_difference_from_lowest: f64,
    /// Above the cheapest, percent.
    pub price_percent_difference: f64,
    /// Match score per £100 a week.
    pub value_score: f64,
}

/// Client `PriceComparison.statistics`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceStatistics {
    /// Highest weekly.
    pub highest_weekly: f64,
    /// Lowest weekly.
    pub lowest_weekly: f64,
    /// Mean weekly.
    pub average_weekly: f64,
    /// Highest − lowest weekly.
    pub price_range: f64,
    /// Highest annual.
    pub highest_annual: f64,
    /// Lowest annual.
    pub lowest_annual: f64,
    /// Mean annual.
    pub average_annual: f64,
}

/// Client `PriceComparison.best_value`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BestValue {
    /// Id.
    pub home_id: String,
    /// Name.
    pub home_name: String,
    /// Match score per £100 a week.
    pub value_score: f64,
    /// Match score.
    pub match_score: f64,
    /// Weekly fee.
    pub weekly_price: f64,
    /// Rule, evidence, threshold.
    #[serde(flatten)]
    pub trace: Trace,
}

/// Client `PriceComparison`; only homes with a known fee are in it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceComparison {
    /// In rank order of the homes.
    pub comparison: Vec<PriceItem>,
    /// Cheapest first.
    pub sorted_by_price: Vec<PriceItem>,
    /// Statistics (zeros when no fee is known: the client then shows
    /// "Price data not available").
    pub statistics: PriceStatistics,
    /// Best match score per pound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_value: Option<BestValue>,
}

/// Client `KeyDifferentiator`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Differentiator {
    /// `quality`, `price`, `location`, `reputation`, `value`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Title.
    pub title: &'static str,
    /// Statement.
    pub description: String,
    /// Which home.
    pub home_name: String,
    /// The deciding value.
    pub value: Value,
    /// `high`, `medium`, `low`.
    pub importance: &'static str,
    /// Rule, evidence, threshold.
    #[serde(flatten)]
    pub trace: Trace,
}

/// Client `ComparativeAnalysis.summary`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparisonSummary {
    /// Homes compared.
    pub total_homes_compared: usize,
    /// Highest − lowest match score.
    pub match_score_range: f64,
    /// Highest − lowest weekly fee (0 with fewer than two fees).
    pub price_range_weekly: f64,
    /// The same, annual.
    pub price_range_annual: f64,
    /// One paragraph.
    pub recommendation: String,
}

/// A home's place in one category.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CategoryRank {
    /// 1 = best.
    pub rank: usize,
    /// Id.
    pub home_id: String,
    /// Name.
    pub home_name: String,
    /// The value ranked on.
    pub value: Value,
}

/// Client `ComparativeAnalysis`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparativeAnalysis {
    /// The table.
    pub comparison_table: Vec<ComparisonRow>,
    /// By match score.
    pub rankings: Rankings,
    /// By price.
    pub price_comparison: PriceComparison,
    /// What sets homes apart.
    pub key_differentiators: Vec<Differentiator>,
    /// Summary.
    pub summary: ComparisonSummary,
    /// When.
    pub generated_at: String,
    /// Rankings per category (`cqc`, `price`, `distance`, `google`, `fsa`);
    /// homes without the fact are left out of that ranking.
    #[serde(rename = "categoryRankings")]
    pub category_rankings: BTreeMap<&'static str, Vec<CategoryRank>>,
    /// Sources not yet in.
    #[serde(rename = "missingInputs")]
    pub missing_inputs: Vec<String>,
}

/// Reads one rating of a CQC record.
type RatingOf = fn(&super::CqcFacts) -> Option<CqcRating>;

fn rating_points(r: Option<CqcRating>) -> Option<f64> {
    r.map(|r| match r {
        CqcRating::Outstanding => 4.0,
        CqcRating::Good => 3.0,
        CqcRating::RequiresImprovement => 2.0,
        CqcRating::Inadequate => 1.0,
    })
}

fn rating_badge(r: CqcRating) -> &'static str {
    match r {
        CqcRating::Outstanding => "excellent",
        CqcRating::Good => "good",
        CqcRating::RequiresImprovement => "warning",
        CqcRating::Inadequate => "poor",
    }
}

/// Match score per £100 a week.
pub(crate) fn value_score(score: f64, weekly: f64) -> f64 {
    round2(score / (weekly / 100.0))
}

fn row(
    homes: &[HomeFacts],
    category: &'static str,
    metric: &'static str,
    cell: impl Fn(&HomeFacts) -> Option<Cell>,
    best_is_max: Option<bool>,
) -> ComparisonRow {
    let mut ranked: Vec<&HomeFacts> = homes.iter().collect();
    ranked.sort_by_key(|h| h.rank);
    let mut cells: Vec<(String, Cell)> = ranked
        .into_iter()
        .filter_map(|h| cell(h).map(|c| (h.id.clone(), c)))
        .collect();
    if let Some(max) = best_is_max {
        let sorts: Vec<f64> = cells.iter().filter_map(|(_, c)| c.sort_value).collect();
        let best = if max {
            sorts.iter().copied().reduce(f64::max)
        } else {
            sorts.iter().copied().reduce(f64::min)
        };
        if sorts.len() > 1 {
            for (_, c) in &mut cells {
                c.highlight = c.sort_value.is_some() && c.sort_value == best;
            }
        }
    }
    ComparisonRow {
        category,
        metric,
        homes: RankedCells(cells),
    }
}

fn table(homes: &[HomeFacts]) -> Vec<ComparisonRow> {
    let mut rows = basic_rows(homes);
    rows.push(row(
        homes,
        "Match Score",
        "Match Score",
        |h| h.score.map(|s| number_cell(round1(s))),
        Some(true),
    ));
    rows.extend(cqc_rows(homes));
    rows.push(row(
        homes,
        "Food Hygiene",
        "FSA Rating",
        |h| h.fsa.as_ref().and_then(|f| f.rating).map(fsa_cell),
        Some(true),
    ));
    rows.extend(review_rows(homes));
    rows.extend(pricing_rows(homes));
    rows
}

/// A number shown as it is and sorted on.
fn number_cell(v: f64) -> Cell {
    Cell {
        sort_value: Some(v),
        ..Cell::text(v)
    }
}

/// A CQC rating with its badge, sorted on its points.
fn rating_cell(r: Option<CqcRating>) -> Option<Cell> {
    r.map(|r| Cell {
        sort_value: rating_points(Some(r)),
        badge: Some(rating_badge(r)),
        ..Cell::text(r.label())
    })
}

/// An FSA rating out of 5 with its badge, sorted on the rating.
fn fsa_cell(r: u8) -> Cell {
    Cell {
        sort_value: Some(f64::from(r)),
        badge: Some(match r {
            5 => "excellent",
            4 => "good",
            3 => "fair",
            _ => "poor",
        }),
        ..Cell::text(format!("{r}/5"))
    }
}

/// The `Basic Information` rows: name, location, distance and care types.
fn basic_rows(homes: &[HomeFacts]) -> Vec<ComparisonRow> {
    vec![
        // The client takes the home keys from the first row: every home has a name.
        row(
            homes,
            "Basic Information",
            "Name",
            |h| Some(Cell::text(h.name.clone())),
            None,
        ),
        row(
            homes,
            "Basic Information",
            "Location",
            |h| Some(Cell::text(h.location.clone())),
            None,
        ),
        row(
            homes,
            "Basic Information",
            "Distance",
            |h| {
                h.distance_km.map(|d| Cell {
                    sort_value: Some(d),
                    ..Cell::text(format!("{d:.1} km"))
                })
            },
            Some(false),
        ),
        row(
            homes,
            "Basic Information",
            "Care Types",
            |h| {
                (!h.care_offered.is_empty()).then(|| Cell {
                    is_list: true,
                    ..Cell::text(h.care_offered.join(", "))
                })
            },
            None,
        ),
    ]
}

/// The `CQC Ratings` rows: overall, each key question, the last inspection.
fn cqc_rows(homes: &[HomeFacts]) -> Vec<ComparisonRow> {
    let questions: [(&'static str, RatingOf); 6] = [
        ("Overall", |c| c.overall),
        ("Safe", |c| c.safe),
        ("Effective", |c| c.effective),
        ("Caring", |c| c.caring),
        ("Responsive", |c| c.responsive),
        ("Well-led", |c| c.well_led),
    ];
    let mut rows: Vec<ComparisonRow> = questions
        .into_iter()
        .map(|(metric, get)| {
            row(
                homes,
                "CQC Ratings",
                metric,
                |h| rating_cell(h.cqc.as_ref().and_then(get)),
                Some(true),
            )
        })
        .collect();
    rows.push(row(
        homes,
        "CQC Ratings",
        "Last Inspection",
        |h| {
            h.cqc
                .as_ref()
                .and_then(|c| c.last_inspection)
                .map(|d| Cell::text(d.to_string()))
        },
        None,
    ));
    rows
}

/// The `Reviews` rows: Google's rating and how many reviews it is over.
fn review_rows(homes: &[HomeFacts]) -> Vec<ComparisonRow> {
    vec![
        row(
            homes,
            "Reviews",
            "Google Rating",
            |h| h.google.as_ref().and_then(|g| g.rating).map(number_cell),
            Some(true),
        ),
        row(
            homes,
            "Reviews",
            "Review Count",
            |h| {
                h.google
                    .as_ref()
                    .and_then(|g| g.review_count)
                    .map(|c| number_cell(c as f64))
            },
            None,
        ),
    ]
}

/// The `Pricing` rows: the weekly and the annual fee, cheapest best.
fn pricing_rows(homes: &[HomeFacts]) -> Vec<ComparisonRow> {
    vec![
        row(
            homes,
            "Pricing",
            "Weekly Price",
            |h| {
                h.weekly_fee.map(|f| Cell {
                    sort_value: Some(f),
                    ..Cell::text(super::pounds(f))
                })
            },
            Some(false),
        ),
        row(
            homes,
            "Pricing",
            "Annual Price",
            |h| {
                h.weekly_fee.map(|f| Cell {
                    sort_value: Some(f * 52.0),
                    ..Cell::text(super::pounds(f * 52.0))
                })
            },
            Some(false),
        ),
    ]
}

fn rankings(homes: &[HomeFacts]) -> Rankings {
    let mut scored: Vec<(&HomeFacts, f64)> = homes
        .iter()
        .filter_map(|h| h.score.map(|s| (h, round1(s))))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.rank.cmp(&b.0.rank)));
    let scores: Vec<f64> = scored.iter().map(|s| s.1).collect();
    Rankings {
        rankings: ranking_list(&scored),
        statistics: score_statistics(&scores),
        tier_analysis: tier_analysis(&scored),
    }
}

/// Each scored home, best first, with its gap to the top and percentile.
fn ranking_list(scored: &[(&HomeFacts, f64)]) -> Vec<Ranking> {
    let n = scored.len();
    let top = scored.first().map_or(0.0, |s| s.1);
    scored
        .iter()
        .enumerate()
        .map(|(i, (h, s))| {
            let beaten = scored
                .iter()
                .filter(|(_, o)| o <= s)
                .count()
                .saturating_sub(1);
            Ranking {
                rank: i + 1,
                home_id: h.id.clone(),
                home_name: h.name.clone(),
                match_score: *s,
                score_difference_from_top: round1(top - s),
                percentile: if n > 1 {
                    round1(beaten as f64 * 100.0 / (n - 1) as f64)
                } else {
                    100.0
                },
            }
        })
        .collect()
}

/// The scores' range, mean and population variance (zeros without scores).
fn score_statistics(scores: &[f64]) -> ScoreStatistics {
    let n = scores.len();
    let (hi, lo) = (
        scores.iter().copied().reduce(f64::max).unwrap_or(0.0),
        scores.iter().copied().reduce(f64::min).unwrap_or(0.0),
    );
    let mean = if n > 0 {
        scores.iter().sum::<f64>() / n as f64
    } else {
        0.0
    };
    let variance = if n > 0 {
        scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n as f64
    } else {
        0.0
    };
    ScoreStatistics {
        highest_score: hi,
        lowest_score: lo,
        average_score: round1(mean),
        score_range: round1(hi - lo),
        score_variance: round2(variance),
    }
}

/// The scored homes by tier of match score.
fn tier_analysis(scored: &[(&HomeFacts, f64)]) -> TierAnalysis {
    let tier = |range: &'static str, test: &dyn Fn(f64) -> bool| {
        let names: Vec<String> = scored
            .iter()
            .filter(|(_, s)| test(*s))
            .map(|(h, _)| h.name.clone())
            .collect();
        Tier {
            count: names.len(),
            homes: names,
            range,
        }
    };
    TierAnalysis {
        tier_1_excellent: tier("85-100", &|s| s >= 85.0),
        tier_2_very_good: tier("75-84.9", &|s| (75.0..85.0).contains(&s)),
        tier_3_good: tier("65-74.9", &|s| (65.0..75.0).contains(&s)),
        tier_4_fair: tier("0-64.9", &|s| s < 65.0),
    }
}

fn prices(homes: &[HomeFacts]) -> PriceComparison {
    let priced: Vec<(&HomeFacts, f64)> = homes
        .iter()
        .filter_map(|h| h.weekly_fee.map(|f| (h, f)))
        .filter(|(_, f)| *f > 0.0)
        .collect();
    let statistics = price_statistics(&priced);
    let lowest = statistics.lowest_weekly;
    let mut by_price = priced.clone();
    by_price.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.rank.cmp(&b.0.rank)));
    let item = |h: &HomeFacts, fee: f64| PriceItem {
        rank: by_price
            .iter()
            .position(|(o, _)| o.id == h.id)
            .map_or(0, |i| i + 1),
        home_id: h.id.clone(),
        home_name: h.name.clone(),
        weekly_price: fee,
        annual_price: round2(fee * 52.0),
        price_difference_from_lowest: round2(fee - lowest),
        price_percent_difference: if lowest > 0.0 {
            round1((fee - lowest) * 100.0 / lowest)
        } else {
            0.0
        },
        value_score: h.score.map_or(0.0, |s| value_score(s, fee)),
    };
    PriceComparison {
        comparison: priced.iter().map(|(h, f)| item(h, *f)).collect(),
        sorted_by_price: by_price.iter().map(|(h, f)| item(h, *f)).collect(),
        statistics,
        best_value: best_value(&priced),
    }
}

/// The weekly and annual range and mean of the fees (zeros without fees).
fn price_statistics(priced: &[(&HomeFacts, f64)]) -> PriceStatistics {
    let lowest = priced.iter().map(|p| p.1).reduce(f64::min).unwrap_or(0.0);
    let highest = priced.iter().map(|p| p.1).reduce(f64::max).unwrap_or(0.0);
    let mean = if priced.is_empty() {
        0.0
    } else {
        priced.iter().map(|p| p.1).sum::<f64>() / priced.len() as f64
    };
    PriceStatistics {
        highest_weekly: highest,
        lowest_weekly: lowest,
        average_weekly: round2(mean),
        price_range: round2(highest - lowest),
        highest_annual: round2(highest * 52.0),
        lowest_annual: round2(lowest * 52.0),
        average_annual: round2(mean * 52.0),
    }
}

/// The home with the most match score per pound (ties to the better rank).
fn best_value(priced: &[(&HomeFacts, f64)]) -> Option<BestValue> {
    priced
        .iter()
        .filter_map(|(h, fee)| h.score.map(|s| (h, *fee, s, value_score(s, *fee))))
        .max_by(|a, b| a.3.total_cmp(&b.3).then(b.0.rank.cmp(&a.0.rank)))
        .map(|(h, fee, score, value)| BestValue {
            home_id: h.id.clone(),
            home_name: h.name.clone(),
            value_score: value,
            match_score: round1(score),
            weekly_price: fee,
            trace: Trace::new(
                "comparative.best_value",
                vec![
                    Evidence::new("home", h.name.clone()),
                    Evidence::new("match_score", round1(score)),
                    Evidence::new("weekly_fee", super::pounds(fee)),
                    Evidence::new("value_score", value),
                ],
            ),
        })
}

/// The differentiators, each from its rule (see the tests for thresholds).
pub(crate) fn differentiators(homes: &[HomeFacts]) -> Vec<Differentiator> {
    top_cqc(homes)
        .into_iter()
        .chain(lowest_fee(homes))
        .chain(nearest(homes))
        .chain(strong_reputations(homes))
        .collect()
}

/// A differentiator for one home from the rule with this id.
fn differentiator(
    kind: &'static str,
    rule_id: &'static str,
    h: &HomeFacts,
    value: Value,
    importance: &'static str,
    ev: Vec<Evidence>,
) -> Differentiator {
    let trace = Trace::new(rule_id, ev);
    Differentiator {
        kind,
        title: rules::rule(rule_id).title,
        description: trace.statement(),
        home_name: h.name.clone(),
        value,
        importance,
        trace,
    }
}

/// The best CQC rating, when one home alone holds it.
fn top_cqc(homes: &[HomeFacts]) -> Option<Differentiator> {
    let rated: Vec<(&HomeFacts, CqcRating)> = homes
        .iter()
        .filter_map(|h| h.cqc.as_ref().and_then(|c| c.overall).map(|r| (h, r)))
        .collect();
    let best = rated.iter().map(|(_, r)| *r).max()?;
    let holders: Vec<&&HomeFacts> = rated
        .iter()
        .filter(|(_, r)| *r == best)
        .map(|(h, _)| h)
        .collect();
    (holders.len() == 1 && homes.len() > 1).then(|| {
        let h = holders[0];
        differentiator(
            "quality",
            "comparative.top_cqc",
            h,
            best.label().into(),
            "high",
            vec![
                Evidence::new("home", h.name.clone()),
                Evidence::new("overall", best.label()),
            ],
        )
    })
}

/// The lowest fee, when at least two fees are known and not all equal.
fn lowest_fee(homes: &[HomeFacts]) -> Option<Differentiator> {
    let priced: Vec<(&HomeFacts, f64)> = homes
        .iter()
        .filter_map(|h| h.weekly_fee.map(|f| (h, f)))
        .collect();
    if priced.len() < 2 {
        return None;
    }
    let (cheap, low) = priced.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let high = priced.iter().map(|p| p.1).reduce(f64::max).unwrap_or(low);
    (high > low).then(|| {
        differentiator(
            "price",
            "comparative.lowest_fee",
            cheap,
            low.into(),
            "high",
            vec![
                Evidence::new("home", cheap.name.clone()),
                Evidence::new("weekly_fee", super::pounds(low)),
                Evidence::new("saving", super::pounds(high - low)),
            ],
        )
    })
}

/// The closest home, when at least two homes have a distance.
fn nearest(homes: &[HomeFacts]) -> Option<Differentiator> {
    let placed: Vec<(&HomeFacts, f64)> = homes
        .iter()
        .filter_map(|h| h.distance_km.map(|d| (h, d)))
        .collect();
    if placed.len() < 2 {
        return None;
    }
    let (h, d) = placed.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(differentiator(
        "location",
        "comparative.nearest",
        h,
        d.into(),
        "medium",
        vec![
            Evidence::new("home", h.name.clone()),
            Evidence::new("distance_km", d),
        ],
    ))
}

/// Each home with a strong public reputation: a high Google rating over
/// enough reviews.
fn strong_reputations(homes: &[HomeFacts]) -> impl Iterator<Item = Differentiator> + '_ {
    homes.iter().filter_map(|h| {
        let g = h.google.as_ref()?;
        let (r, n) = (g.rating?, g.review_count?);
        (r >= rules::GOOGLE_STRONG_RATING && n >= rules::GOOGLE_MIN_REVIEWS).then(|| {
            differentiator(
                "reputation",
                "comparative.strong_reputation",
                h,
                r.into(),
                "medium",
                vec![
                    Evidence::new("home", h.name.clone()),
                    Evidence::new("google_rating", r),
                    Evidence::new("review_count", n),
                ],
            )
        })
    })
}

fn category_rankings(homes: &[HomeFacts]) -> BTreeMap<&'static str, Vec<CategoryRank>> {
    BTreeMap::from([
        (
            "cqc",
            rank_by(homes, true, |h| {
                let r = h.cqc.as_ref()?.overall?;
                Some((rating_points(Some(r))?, Value::from(r.label())))
            }),
        ),
        (
            "price",
            rank_by(homes, false, |h| h.weekly_fee.map(|f| (f, f.into()))),
        ),
        (
            "distance",
            rank_by(homes, false, |h| h.distance_km.map(|d| (d, d.into()))),
        ),
        (
            "google",
            rank_by(homes, true, |h| {
                h.google.as_ref()?.rating.map(|r| (r, r.into()))
            }),
        ),
        (
            "fsa",
            rank_by(homes, true, |h| {
                h.fsa.as_ref()?.rating.map(|r| (f64::from(r), r.into()))
            }),
        ),
    ])
}

/// The homes holding a fact, ranked on its number (ties by match rank),
/// each shown with the fact's value; homes without it are left out.
fn rank_by(
    homes: &[HomeFacts],
    best_is_max: bool,
    fact: impl Fn(&HomeFacts) -> Option<(f64, Value)>,
) -> Vec<CategoryRank> {
    let mut v: Vec<(&HomeFacts, f64, Value)> = homes
        .iter()
        .filter_map(|h| fact(h).map(|(key, value)| (h, key, value)))
        .collect();
    v.sort_by(|a, b| {
        let o = if best_is_max {
            b.1.total_cmp(&a.1)
        } else {
            a.1.total_cmp(&b.1)
        };
        o.then(a.0.rank.cmp(&b.0.rank))
    });
    v.into_iter()
        .enumerate()
        .map(|(i, (h, _, value))| CategoryRank {
            rank: i + 1,
            home_id: h.id.clone(),
            home_name: h.name.clone(),
            value,
        })
        .collect()
}

fn recommendation(homes: &[HomeFacts], prices: &PriceComparison, red_flags: usize) -> String {
    let Some(top) = homes.iter().min_by_key(|h| h.rank) else {
        return String::new();
    };
    let score = top
        .score
        .map_or(String::new(), |s| format!(" ({:.1}/100)", s));
    let mut text = if top.winner_of.contains(&WinnerCategory::BestOverall) {
        format!(
            "On the data held, {} is the strongest match{score}.",
            top.name
        )
    } else {
        format!(
            "On the data held, no home leads clearly: {} is listed first{score}, but the top scores are within {:.0} point of each other.",
            top.name,
            crate::matching::TIE_MARGIN
        )
    };
    if let Some(c) = top.cqc.as_ref().and_then(|c| c.overall) {
        text.push_str(&format!(" CQC rates it {}.", c.label()));
    }
    if let Some(bv) = &prices.best_value {
        if bv.home_id != top.id {
            text.push_str(&format!(
                " {} gives the most match score per pound at {} a week.",
                bv.home_name,
                super::pounds(bv.weekly_price)
            ));
        } else {
            text.push_str(
                " It is also the best value for money of the homes with a published fee.",
            );
        }
    }
    if homes.len() > 1 {
        text.push_str(" Visit at least two of the homes the next steps propose before deciding");
        text.push_str(if red_flags > 0 {
            ", and read their red flags in the Risk Assessment first."
        } else {
            "."
        });
    }
    text
}

/// The section; `None` when there are no homes.
pub(crate) fn compare(
    input: &JudgementInput,
    risk: Option<&super::risk::RiskAssessment>,
    generated_at: &str,
) -> Option<ComparativeAnalysis> {
    let homes = &input.homes;
    if homes.is_empty() {
        return None;
    }
    let ranks = rankings(homes);
    let price = prices(homes);
    let summary = ComparisonSummary {
        total_homes_compared: homes.len(),
        match_score_range: ranks.statistics.score_range,
        price_range_weekly: price.statistics.price_range,
        price_range_annual: round2(price.statistics.price_range * 52.0),
        recommendation: recommendation(
            homes,
            &price,
            risk.map_or(0, |r| r.summary.total_red_flags),
        ),
    };
    Some(ComparativeAnalysis {
        comparison_table: table(homes),
        rankings: ranks,
        key_differentiators: differentiators(homes),
        price_comparison: price,
        summary,
        generated_at: generated_at.to_owned(),
        category_rankings: category_rankings(homes),
        missing_inputs: super::missing_inputs(homes, &["cqc", "fsa", "google_places"]),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{home, input};
    use super::*;

    fn diff_ids(homes: &[HomeFacts]) -> Vec<&'static str> {
        differentiators(homes)
            .iter()
            .map(|d| d.trace.rule_id)
            .collect()
    }

    #[test]
    fn best_value_is_the_most_score_per_pound() {
        let mut a = home(1);
        a.score = Some(80.0);
        a.weekly_fee = Some(1000.0);
        let mut b = home(2);
        b.score = Some(70.0);
        b.weekly_fee = Some(800.0);
        let c = compare(&input(vec![a.clone(), b]), None, "t").unwrap();
        let bv = c.price_comparison.best_value.unwrap();
        assert_eq!((bv.home_id.as_str(), bv.value_score), ("H2", 8.75));
        assert_eq!(bv.trace.rule_id, "comparative.best_value");
        // No fee anywhere: no best value, zero statistics.
        a.weekly_fee = None;
        let c = compare(&input(vec![a]), None, "t").unwrap();
        assert!(c.price_comparison.best_value.is_none());
        assert_eq!(c.price_comparison.statistics.lowest_weekly, 0.0);
    }

    #[test]
    fn top_cqc_needs_a_single_holder() {
        let mut a = home(1);
        a.cqc.as_mut().unwrap().overall = Some(CqcRating::Outstanding);
        assert!(diff_ids(&[a.clone(), home(2)]).contains(&"comparative.top_cqc"));
        let mut b = home(2);
        b.cqc.as_mut().unwrap().overall = Some(CqcRating::Outstanding);
        assert!(!diff_ids(&[a, b]).contains(&"comparative.top_cqc"));
    }

    #[test]
    fn lowest_fee_needs_two_different_fees() {
        let mut b = home(2);
        b.weekly_fee = Some(900.0);
        assert!(diff_ids(&[home(1), b]).contains(&"comparative.lowest_fee"));
        assert!(!diff_ids(&[home(1), home(2)]).contains(&"comparative.lowest_fee"));
    }

    #[test]
    fn nearest_needs_two_homes() {
        assert!(diff_ids(&[home(1), home(2)]).contains(&"comparative.nearest"));
        assert!(!diff_ids(&[home(1)]).contains(&"comparative.nearest"));
    }

    #[test]
    fn strong_reputation_fires_at_4_5_over_10_reviews() {
        let mut a = home(1);
        a.google.as_mut().unwrap().rating = Some(4.5);
        a.google.as_mut().unwrap().review_count = Some(10);
        assert!(diff_ids(&[a.clone()]).contains(&"comparative.strong_reputation"));
        a.google.as_mut().unwrap().rating = Some(4.4);
        assert!(!diff_ids(&[a.clone()]).contains(&"comparative.strong_reputation"));
        a.google.as_mut().unwrap().rating = Some(4.5);
        a.google.as_mut().unwrap().review_count = Some(9);
        assert!(!diff_ids(&[a]).contains(&"comparative.strong_reputation"));
    }

    #[test]
    fn cells_follow_the_rank_order_not_the_ids() {
        let mut first = home(1);
        first.id = "Z-LAST-BY-ID".into();
        let mut second = home(2);
        second.id = "A-FIRST-BY-ID".into();
        let c = compare(&input(vec![second, first]), None, "t").unwrap();
        let json = serde_json::to_string(&c.comparison_table[0].homes).unwrap();
        assert!(
            json.find("Z-LAST-BY-ID") < json.find("A-FIRST-BY-ID"),
            "rank 1 first: {json}"
        );
    }

    #[test]
    fn unknown_facts_have_no_cell_and_names_are_complete() {
        let mut a = home(1);
        a.fsa = None;
        let c = compare(&input(vec![a, home(2)]), None, "t").unwrap();
        assert_eq!(c.comparison_table[0].metric, "Name");
        assert_eq!(c.comparison_table[0].homes.len(), 2);
        let fsa = c
            .comparison_table
            .iter()
            .find(|r| r.metric == "FSA Rating")
            .unwrap();
        assert_eq!(fsa.homes.keys().collect::<Vec<_>>(), vec!["H2"]);
    }

    #[test]
    fn red_flag_advice_is_given_only_when_there_are_red_flags() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        let i = input(vec![home(1), home(2)]);
        let r = super::super::risk::assess(&i, today, "t");
        let text = compare(&i, r.as_ref(), "t").unwrap().summary.recommendation;
        assert!(!text.contains("red flag"), "{text}");
        let mut flagged = home(2);
        flagged.fsa.as_mut().unwrap().rating = Some(1);
        let i = input(vec![home(1), flagged]);
        let r = super::super::risk::assess(&i, today, "t");
        let text = compare(&i, r.as_ref(), "t").unwrap().summary.recommendation;
        assert!(text.contains("read their red flags"), "{text}");
    }
}
