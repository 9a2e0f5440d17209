//! `negotiationStrategy`: each home's fee against the local market, what
//! that implies, a contract checklist and the questions to ask at a visit.
//!
//! The market is the directory's own fees for the same care type: within the
//! search radius ("regional" in the client's words) and over the whole
//! directory (shown where the client says "UK average": it is the directory's
//! average, not a national statistic, and the insights say so). Positions
//! compare each fee with the local median. No discount percentage is
//! promised: the service holds no record of what homes have agreed.
//!
//! The section is present whenever there are homes, even when no fee is
//! known anywhere (the operators' real export lists none): the market part
//! then says so plainly and invents no number (the client's required numeric
//! fields are 0 and `feesKnown` is false), while the contract checklist, the
//! visit and fee questions and the e-mail templates, which need no fee, stay.

use std::collections::BTreeMap;

use serde::Serialize;

use super::comparative::value_score;
use super::risk::RiskAssessment;
use super::rules;
use super::{
    pounds, round1, Evidence, FeeStats, HomeFacts, JudgementInput, MarketFacts, Trace, Urgency,
};

/// Client `negotiation_potential`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NegotiationPotential {
    /// `high`, `medium`, `low`.
    pub potential: &'static str,
    /// In words; a pound figure only where it is the gap to the median.
    pub discount_range: String,
    /// The statement of the rule.
    pub reasoning: String,
    /// What to say.
    pub recommended_approach: String,
}

/// One home against the market (client `price_comparison[]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarketPosition {
    /// Name.
    pub home_name: String,
    /// Weekly fee.
    pub weekly_price: f64,
    /// Percent above (+) or below (−) the local median.
    pub vs_regional_average: f64,
    /// Percent against the directory median.
    pub vs_uk_average: f64,
    /// `Premium - Well Above Market`, `Above Market`, `At Market Rate`, `Below market`.
    pub positioning: &'static str,
    /// What it implies.
    pub negotiation_potential: NegotiationPotential,
    /// Rule, evidence, threshold.
    #[serde(flatten)]
    pub trace: Trace,
}

/// Client `market_price_range`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceRange {
    /// Lowest.
    pub minimum: f64,
    /// Highest.
    pub maximum: f64,
    /// Mean.
    pub average: f64,
    /// Median (extra).
    pub median: f64,
    /// How many fees (extra).
    pub sample_size: usize,
}

impl From<&FeeStats> for PriceRange {
    fn from(s: &FeeStats) -> PriceRange {
        PriceRange {
            minimum: s.min,
            maximum: s.max,
            average: s.mean,
            median: s.median,
            sample_size: s.count,
        }
    }
}

/// Client `value_positioning.best_value`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValuePick {
    /// Name.
    pub home_name: String,
    /// Match score.
    pub match_score: f64,
    /// Weekly fee.
    pub weekly_price: f64,
    /// Match score per £100 a week.
    pub value_score: f64,
}

/// Client premium and budget options.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceOption {
    /// Name.
    pub home_name: String,
    /// Weekly fee.
    pub weekly_price: f64,
    /// Match score.
    pub match_score: f64,
}

/// Client `value_positioning`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValuePositioning {
    /// Most score per pound; `null` with no fee (the client's type is
    /// `… | null` and it shows the block only when it is set: an object of
    /// nulls would reach `weekly_price.toLocaleString()` and blank the page).
    pub best_value: Option<ValuePick>,
    /// Homes ≥ 5% above the local median.
    pub premium_options: Vec<PriceOption>,
    /// Homes ≥ 5% below it.
    pub budget_options: Vec<PriceOption>,
    /// Local mean.
    pub market_average: f64,
}

/// Client `market_rate_analysis`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarketRateAnalysis {
    /// The directory's mean fee for this care type (not a national figure).
    pub uk_average_weekly: f64,
    /// The local mean fee.
    pub regional_average_weekly: f64,
    /// The area, e.g. `within 15 km of Leeds`.
    pub region: String,
    /// Care type compared.
    pub care_type: &'static str,
    /// Local range.
    pub market_price_range: PriceRange,
    /// Each home with a fee.
    pub price_comparison: Vec<MarketPosition>,
    /// Value positioning.
    pub value_positioning: ValuePositioning,
    /// Plain statements with the numbers.
    pub market_insights: Vec<String>,
    /// The whole directory's range (extra).
    #[serde(
        rename = "directoryPriceRange",
        skip_serializing_if = "Option::is_none"
    )]
    pub directory_price_range: Option<PriceRange>,
    /// Which directory (extra).
    pub directory: String,
    /// Whether any fee for the care type is known (extra): when false, the
    /// numbers above are 0 and not fees.
    #[serde(rename = "feesKnown")]
    pub fees_known: bool,
}

/// Client `available_discounts[]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiscountPoint {
    /// Kind.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Title.
    pub title: String,
    /// What.
    pub description: String,
    /// The gap to the local median, as the most a market argument supports.
    pub potential_discount: String,
    /// The rule's statement.
    pub reasoning: String,
    /// How.
    pub how_to_negotiate: String,
    /// Priority.
    pub priority: &'static str,
}

/// Client `total_potential_discount`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TotalDiscount {
    /// Lower end.
    pub conservative_range: String,
    /// Upper end.
    pub optimistic_range: String,
    /// What to expect.
    pub realistic_expectation: String,
    /// Caveat.
    pub note: String,
}

/// Client `negotiation_strategy`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approach {
    /// Opening moves.
    pub opening_strategy: Vec<String>,
    /// Points with numbers.
    pub key_talking_points: Vec<String>,
    /// When.
    pub timing: String,
    /// How.
    pub approach: String,
    /// The homes' red flags to raise.
    pub red_flags: Vec<String>,
}

/// Client `discount_negotiation_points`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiscountNegotiation {
    /// Market-based points, per home above the median.
    pub available_discounts: Vec<DiscountPoint>,
    /// Totals in words.
    pub total_potential_discount: TotalDiscount,
    /// Approach.
    pub negotiation_strategy: Approach,
}

/// Client `essential_terms[]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContractTerm {
    /// Term.
    pub term: &'static str,
    /// What to check.
    pub what_to_check: &'static str,
    /// Warning signs.
    pub red_flags: Vec<&'static str>,
}

/// Client `negotiation_leverage_points[]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Leverage {
    /// Name.
    pub home_name: String,
    /// The fact.
    pub leverage: String,
    /// What to ask.
    pub suggestion: String,
}

/// Client `contract_review_checklist`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContractChecklist {
    /// Terms to check.
    pub essential_terms: Vec<ContractTerm>,
    /// To ask for in writing.
    pub recommended_additions: Vec<&'static str>,
    /// Per home.
    pub negotiation_leverage_points: Vec<Leverage>,
    /// Where the checklist comes from (extra).
    pub source: &'static str,
}

/// Client email template.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmailTemplate {
    /// Text with `[placeholders]`.
    pub template: String,
    /// When.
    pub when_to_use: &'static str,
    /// Notes.
    pub customization_notes: &'static str,
}

/// Client `email_templates`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmailTemplates {
    /// First contact.
    pub initial_inquiry: EmailTemplate,
    /// After a visit.
    pub negotiation_followup: EmailTemplate,
    /// Before signing.
    pub contract_clarification: EmailTemplate,
}

/// Client `questions_to_ask_at_visit`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VisitQuestions {
    /// By category, from the family's needs.
    pub questions_by_category: BTreeMap<&'static str, Vec<String>>,
    /// The first to ask.
    pub priority_questions: Vec<String>,
    /// From the homes' red flags.
    pub red_flag_questions: Vec<String>,
}

/// Client `NegotiationStrategy`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NegotiationStrategy {
    /// Market.
    pub market_rate_analysis: MarketRateAnalysis,
    /// Discounts.
    pub discount_negotiation_points: DiscountNegotiation,
    /// Contract.
    pub contract_review_checklist: ContractChecklist,
    /// Emails.
    pub email_templates: EmailTemplates,
    /// Visit questions.
    pub questions_to_ask_at_visit: VisitQuestions,
    /// When.
    pub generated_at: String,
    /// Inputs not yet in (extra).
    #[serde(rename = "missingInputs")]
    pub missing_inputs: Vec<String>,
}

/// A fee's position against the local median: (rule id, positioning,
/// potential, percent).
pub(crate) fn position(fee: f64, median: f64) -> (&'static str, &'static str, &'static str, f64) {
    let pct = (fee - median) * 100.0 / median;
    if pct >= rules::MARKET_HIGH_PCT {
        (
            "negotiation.well_above_market",
            "Premium - Well Above Market",
            "high",
            pct,
        )
    } else if pct >= rules::MARKET_NEAR_PCT {
        ("negotiation.above_market", "Above Market", "medium", pct)
    } else if pct > -rules::MARKET_NEAR_PCT {
        ("negotiation.at_market", "At Market Rate", "low", pct)
    } else {
        ("negotiation.below_market", "Below market", "low", pct)
    }
}

fn home_position(h: &HomeFacts, fee: f64, local: &FeeStats, all: &FeeStats) -> MarketPosition {
    let (rule_id, positioning, potential, pct) = position(fee, local.median);
    let trace = Trace::new(
        rule_id,
        vec![
            Evidence::new("home", h.name.clone()),
            Evidence::new("weekly_fee", pounds(fee)),
            Evidence::new("local_median", pounds(local.median)),
            Evidence::new("local_count", local.count),
            Evidence::new(
                if pct <= -rules::MARKET_NEAR_PCT {
                    "pct_below_local"
                } else {
                    "pct_vs_local"
                },
                round1(pct.abs()),
            ),
        ],
    );
    let gap = fee - local.median;
    let (discount_range, approach) = match potential {
        "high" | "medium" => (
            format!("up to {} a week (the gap to the local median)", pounds(gap)),
            format!(
                "Say that comparable homes nearby charge a median of {} and ask {} to explain the difference or move towards it.",
                pounds(local.median),
                h.name
            ),
        ),
        _ if gap > 0.0 || pct > -rules::MARKET_NEAR_PCT => (
            "little room: the fee is at the local median".to_owned(),
            "Negotiate on what is included (activities, laundry, hairdressing) rather than the fee.".to_owned(),
        ),
        _ => (
            "unlikely: the fee is already below the local median".to_owned(),
            "Check what is not included, and ask for the fee to be fixed for the first year.".to_owned(),
        ),
    };
    MarketPosition {
        home_name: h.name.clone(),
        weekly_price: fee,
        vs_regional_average: round1(pct),
        vs_uk_average: round1((fee - all.median) * 100.0 / all.median),
        positioning,
        negotiation_potential: NegotiationPotential {
            potential,
            discount_range,
            reasoning: trace.statement(),
            recommended_approach: approach,
        },
        trace,
    }
}

const CONTRACT_SOURCE: &str = "Competition and Markets Authority, consumer law advice for care homes (UK), https://www.gov.uk/government/publications/care-homes-consumer-law-advice-for-providers";

fn essential_terms() -> Vec<ContractTerm> {
    vec![
        ContractTerm {
            term: "Fees and what they include",
            what_to_check:
                "The weekly fee in writing, what it covers, and every extra with its price.",
            red_flags: vec![
                "'Extras' priced only on request",
                "A fee quoted only verbally",
            ],
        },
        ContractTerm {
            term: "Fee increases",
            what_to_check:
                "How often and how much fees can rise, on what basis, and the notice given.",
            red_flags: vec![
                "Increases at the home's discretion",
                "No notice period for increases",
            ],
        },
        ContractTerm {
            term: "Deposits and upfront payments",
            what_to_check: "How much, what for, and when it is returned.",
            red_flags: vec!["Non-refundable deposits", "Large upfront fees"],
        },
        ContractTerm {
            term: "Trial period and notice",
            what_to_check: "Whether there is a trial period and the notice either side must give.",
            red_flags: vec!["The home may end the contract without a clear reason"],
        },
        ContractTerm {
            term: "Absence and fees after death",
            what_to_check: "What is charged during hospital stays, and for how long after a death.",
            red_flags: vec!["Full fees charged for weeks after a death"],
        },
        ContractTerm {
            term: "Third-party top-ups (council-funded places)",
            what_to_check: "Who pays any top-up, how much, and how it can change.",
            red_flags: vec![
                "A top-up demanded directly by the home without the council's agreement",
            ],
        },
    ]
}

fn emails(needs_care: &str, fees_known: bool) -> EmailTemplates {
    let followup = if fees_known {
        "Your weekly fee of £[fee] is above the median of £[local median] for comparable homes in the area."
    } else {
        "Your weekly fee of £[fee] is above the £[other fee] a week quoted by [other home] for the same care."
    };
    EmailTemplates {
        initial_inquiry: EmailTemplate {
            template: format!(
                "Dear [Manager's name],\n\nWe are looking for {needs_care} for [relative's name] from [date]. Could you tell us whether you have a room available, your weekly fee for this care and what it includes, and when we could visit?\n\nKind regards,\n[Your name]\n[Phone]"
            ),
            when_to_use: "First contact with each shortlisted home.",
            customization_notes: "Add the needs that matter most (for example dementia, falls or a special diet).",
        },
        negotiation_followup: EmailTemplate {
            template: format!("Dear [Manager's name],\n\nThank you for showing us around. {followup} Before we decide, could you tell us whether there is flexibility on the fee, or what it includes that other homes do not?\n\nKind regards,\n[Your name]"),
            when_to_use: "After a visit, for a home whose fee is above what comparable homes charge.",
            customization_notes: "Use the figures from the market rate analysis, or the other homes' written quotes.",
        },
        contract_clarification: EmailTemplate {
            template: "Dear [Manager's name],\n\nBefore signing, could you confirm in writing: the weekly fee and everything it includes; how and when fees can increase; the notice period and any trial period; and what is charged during hospital stays and after a death?\n\nKind regards,\n[Your name]".to_owned(),
            when_to_use: "Before signing a contract.",
            customization_notes: "Attach the contract and mark the clauses you want explained.",
        },
    }
}

/// The section; `None` when there are no homes. When the directory holds
/// no fee for the care type, the market part says so and gives no numbers
/// (the client's required numeric fields are 0, explained in the insights
/// and by `feesKnown: false`); the contract checklist, the questions and
/// the e-mails stay.
pub(crate) fn strategy(
    input: &JudgementInput,
    risk: Option<&RiskAssessment>,
    generated_at: &str,
) -> Option<NegotiationStrategy> {
    if input.homes.is_empty() {
        return None;
    }
    let market = input
        .market
        .as_ref()
        .and_then(|m| Some((m, m.all.as_ref().or(m.local.as_ref())?)));
    let local = market.map(|(m, all)| m.local.as_ref().unwrap_or(all));
    let analysis = match market {
        Some((m, all)) => with_fees(input, m, all),
        None => without_fees(input),
    };
    let missing_inputs = match local {
        Some(_) => Vec::new(),
        None => vec![format!(
            "fees: none in the directory for {} care",
            analysis.care_type
        )],
    };
    Some(NegotiationStrategy {
        discount_negotiation_points: discount_negotiation(
            input,
            risk,
            &analysis.price_comparison,
            local,
            analysis.market_insights.clone(),
        ),
        contract_review_checklist: contract_checklist(&analysis.price_comparison),
        market_rate_analysis: analysis,
        email_templates: emails(&input.needs.care.describe(), local.is_some()),
        questions_to_ask_at_visit: visit_questions(input, risk),
        generated_at: generated_at.to_owned(),
        missing_inputs,
    })
}

/// The market part when the directory holds fees for the care type.
fn with_fees(input: &JudgementInput, market: &MarketFacts, all: &FeeStats) -> MarketRateAnalysis {
    let (local, region) = match &market.local {
        Some(l) => (l, market.area.clone()),
        None => (
            all,
            format!("the whole directory (no fee within {})", market.area),
        ),
    };
    let positions: Vec<MarketPosition> = input
        .homes
        .iter()
        .filter_map(|h| h.weekly_fee.map(|f| home_position(h, f, local, all)))
        .collect();
    MarketRateAnalysis {
        uk_average_weekly: all.mean,
        regional_average_weekly: local.mean,
        care_type: market.care_type,
        market_price_range: local.into(),
        value_positioning: value_positioning(&input.homes, local),
        price_comparison: positions,
        market_insights: market_insights(input, market, local, all, &region),
        region,
        directory_price_range: market.all.as_ref().map(PriceRange::from),
        directory: market.directory.clone(),
        fees_known: true,
    }
}

/// The market part when no fee is known: no numbers, a plain statement.
fn without_fees(input: &JudgementInput) -> MarketRateAnalysis {
    let n = &input.needs;
    let care_type = n.care.market_care_type();
    let statement = Trace::new(
        "negotiation.no_fees_known",
        vec![
            Evidence::new("care_type", care_type),
            Evidence::new("homes", input.homes.len()),
        ],
    )
    .statement();
    let zero = PriceRange {
        minimum: 0.0,
        maximum: 0.0,
        average: 0.0,
        median: 0.0,
        sample_size: 0,
    };
    MarketRateAnalysis {
        uk_average_weekly: 0.0,
        regional_average_weekly: 0.0,
        region: n.max_distance_km.map_or(format!("near {}", n.city), |d| {
            format!("within {d:.0} km of {}", n.city)
        }),
        care_type,
        market_price_range: zero,
        price_comparison: Vec::new(),
        value_positioning: ValuePositioning {
            best_value: None,
            premium_options: Vec::new(),
            budget_options: Vec::new(),
            market_average: 0.0,
        },
        market_insights: vec![
            statement,
            "The averages and range shown as £0 are not fees: no fee is known, and none is estimated.".to_owned(),
        ],
        directory_price_range: None,
        directory: String::new(),
        fees_known: false,
    }
}

/// The market in plain statements with their numbers, shown as insights and
/// reused as talking points.
fn market_insights(
    input: &JudgementInput,
    market: &MarketFacts,
    local: &FeeStats,
    all: &FeeStats,
    region: &str,
) -> Vec<String> {
    let mut insights = vec![format!(
        "Local market for {} care ({}): median {} a week, mean {}, range {}–{}, over {} homes in {}.",
        market.care_type,
        region,
        pounds(local.median),
        pounds(local.mean),
        pounds(local.min),
        pounds(local.max),
        local.count,
        market.directory
    )];
    insights.push(format!(
        "Across the whole directory: median {} a week over {} homes. The client's \"UK average\" is this directory's average, not a national statistic.",
        pounds(all.median),
        all.count
    ));
    if local.count < rules::MARKET_MIN_SAMPLE {
        insights.push(
            Trace::new(
                "negotiation.thin_market",
                vec![
                    Evidence::new("local_count", local.count),
                    Evidence::new("care_type", market.care_type),
                ],
            )
            .statement(),
        );
    }
    insights.push("Percentages compare each home's fee with the local median.".to_owned());
    let no_fee: Vec<&str> = input
        .homes
        .iter()
        .filter(|h| h.weekly_fee.is_none())
        .map(|h| h.name.as_str())
        .collect();
    if !no_fee.is_empty() {
        insights.push(format!("No published fee for: {}.", no_fee.join(", ")));
    }
    insights
}

/// The best score per pound, and the homes at least the near-market margin
/// above or below the local median.
fn value_positioning(homes: &[HomeFacts], local: &FeeStats) -> ValuePositioning {
    let option = |h: &HomeFacts| PriceOption {
        home_name: h.name.clone(),
        weekly_price: h.weekly_fee.unwrap_or_default(),
        match_score: round1(h.score.unwrap_or_default()),
    };
    let with_fee: Vec<&HomeFacts> = homes.iter().filter(|h| h.weekly_fee.is_some()).collect();
    let pct_of =
        |h: &HomeFacts| (h.weekly_fee.unwrap_or_default() - local.median) * 100.0 / local.median;
    let best_value = with_fee
        .iter()
        .filter_map(|h| {
            let (s, f) = (h.score?, h.weekly_fee?);
            Some(ValuePick {
                home_name: h.name.clone(),
                match_score: round1(s),
                weekly_price: f,
                value_score: value_score(s, f),
            })
        })
        .max_by(|a, b| a.value_score.total_cmp(&b.value_score));
    ValuePositioning {
        best_value,
        premium_options: with_fee
            .iter()
            .filter(|h| pct_of(h) >= rules::MARKET_NEAR_PCT)
            .map(|h| option(h))
            .collect(),
        budget_options: with_fee
            .iter()
            .filter(|h| pct_of(h) <= -rules::MARKET_NEAR_PCT)
            .map(|h| option(h))
            .collect(),
        market_average: local.mean,
    }
}

/// A market-rate point for each home with room to negotiate, the totals in
/// words and the approach.
fn discount_negotiation(
    input: &JudgementInput,
    risk: Option<&RiskAssessment>,
    positions: &[MarketPosition],
    local: Option<&FeeStats>,
    insights: Vec<String>,
) -> DiscountNegotiation {
    DiscountNegotiation {
        available_discounts: positions
            .iter()
            .filter(|p| matches!(p.negotiation_potential.potential, "high" | "medium"))
            .map(|p| DiscountPoint {
                kind: "market_rate",
                title: format!("Ask {} to move towards the local market rate", p.home_name),
                description: p.negotiation_potential.reasoning.clone(),
                potential_discount: p.negotiation_potential.discount_range.clone(),
                reasoning: p.negotiation_potential.reasoning.clone(),
                how_to_negotiate: p.negotiation_potential.recommended_approach.clone(),
                priority: p.negotiation_potential.potential,
            })
            .collect(),
        total_potential_discount: total_discount(&input.homes, local),
        negotiation_strategy: approach(input.needs.urgency, risk, insights, local.is_some()),
    }
}

/// The totals: no discount is promised, only the largest gap to the local
/// median as the most a market argument supports.
fn total_discount(homes: &[HomeFacts], local: Option<&FeeStats>) -> TotalDiscount {
    let Some(local) = local else {
        return TotalDiscount {
            conservative_range: "Not estimated: no fee is known in the directory".to_owned(),
            optimistic_range: "Not estimated: no fee is known in the directory".to_owned(),
            realistic_expectation: "Compare the written fees the homes quote you; the service holds no fee to compare them with.".to_owned(),
            note: "No discount is promised or estimated without fees.".to_owned(),
        };
    };
    let biggest_gap = homes
        .iter()
        .filter_map(|h| h.weekly_fee)
        .map(|fee| fee - local.median)
        .fold(0.0_f64, f64::max);
    TotalDiscount {
        conservative_range: "£0 a week: a home may decline to move on its fee".to_owned(),
        optimistic_range: if biggest_gap > 0.0 {
            format!(
                "up to {} a week (the largest gap to the local median)",
                pounds(biggest_gap)
            )
        } else {
            "none identified: no home is above the local median".to_owned()
        },
        realistic_expectation: "Not estimated: the service holds no record of what these homes have agreed with other families.".to_owned(),
        note: "Figures are gaps to the local median fee for the same care type in the directory, not promised discounts.".to_owned(),
    }
}

/// How to negotiate: opening moves, the market insights as talking points,
/// timing from the urgency and the homes' red flags to raise.
fn approach(
    urgency: Urgency,
    risk: Option<&RiskAssessment>,
    key_talking_points: Vec<String>,
    fees_known: bool,
) -> Approach {
    let timing = match urgency {
        Urgency::Urgent => "You need a place within two weeks, which leaves little room to negotiate: agree the fee and terms in writing before the move, and ask for a review after the trial period.",
        Urgency::NextMonth => "Ask about fees after your visit and before accepting a room; a start date you can commit to is worth mentioning.",
        Urgency::Planning | Urgency::Exploring => "You have time: compare written quotes from several homes and negotiate before committing to a start date.",
    };
    let red_flags = red_flag_lines(risk, |home, flag| format!("{home}: {flag}"));
    let mut opening_strategy = vec![
        "Ask each home for its weekly fee for the care needed in writing, with what it includes."
            .to_owned(),
        if fees_known {
            "Compare it with the local median before discussing price.".to_owned()
        } else {
            "Compare the written fees of the homes you visit before discussing price.".to_owned()
        },
    ];
    if !red_flags.is_empty() {
        opening_strategy
            .push("Raise the red flags from this report and ask what has changed.".to_owned());
    }
    Approach {
        opening_strategy,
        key_talking_points,
        timing: timing.to_owned(),
        approach: if fees_known {
            "Be factual and polite: quote the local figures, ask what justifies a higher fee, and get any agreement in the contract."
        } else {
            "Be factual and polite: quote the other homes' written fees, ask what justifies a higher fee, and get any agreement in the contract."
        }
        .to_owned(),
        red_flags,
    }
}

/// Every red flag of the assessed homes, one line each from the home's name
/// and the flag's description.
fn red_flag_lines(
    risk: Option<&RiskAssessment>,
    line: impl Fn(&str, &str) -> String,
) -> Vec<String> {
    let line = &line;
    risk.map(|r| {
        r.homes_assessment
            .iter()
            .flat_map(|h| {
                h.red_flags
                    .iter()
                    .map(move |f| line(&h.home_name, &f.description))
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The contract checklist, with each home's market position as leverage.
fn contract_checklist(positions: &[MarketPosition]) -> ContractChecklist {
    ContractChecklist {
        essential_terms: essential_terms(),
        recommended_additions: vec![
            "A cap or fixed formula for fee increases",
            "A written list of what the fee includes",
            "A trial period with a short notice period",
            "Fees after death limited to a few days",
        ],
        negotiation_leverage_points: positions
            .iter()
            .map(|p| Leverage {
                home_name: p.home_name.clone(),
                leverage: p.negotiation_potential.reasoning.clone(),
                suggestion: p.negotiation_potential.recommended_approach.clone(),
            })
            .collect(),
        source: CONTRACT_SOURCE,
    }
}

/// The visit questions from the family's needs: the first of each care
/// category, then the first about fees, and one per red flag.
fn visit_questions(input: &JudgementInput, risk: Option<&RiskAssessment>) -> VisitQuestions {
    let grouped = super::questions::for_needs(&input.needs);
    let priority_questions: Vec<String> = grouped
        .iter()
        .filter(|(c, _)| !matches!(*c, "fees" | "contract" | "staffing"))
        .flat_map(|(_, qs)| qs.first().cloned())
        .chain(
            grouped
                .iter()
                .filter(|(c, _)| *c == "fees")
                .flat_map(|(_, qs)| qs.first().cloned()),
        )
        .collect();
    VisitQuestions {
        questions_by_category: grouped.into_iter().collect(),
        priority_questions,
        red_flag_questions: red_flag_questions(risk),
    }
}

/// One question per red flag of the assessed homes, the one its manager
/// can act on (see [`super::questions::for_flag`]).
fn red_flag_questions(risk: Option<&RiskAssessment>) -> Vec<String> {
    risk.map(|r| {
        r.homes_assessment
            .iter()
            .flat_map(|h| {
                h.red_flags.iter().filter_map(move |f| {
                    super::questions::for_flag(f.trace.rule_id)
                        .map(|q| format!("{}: {} {q}", h.home_name, f.description))
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{home, input, market};
    use super::*;

    #[test]
    fn well_above_market_fires_at_15_percent_not_below() {
        assert_eq!(position(1150.0, 1000.0).0, "negotiation.well_above_market");
        assert_eq!(position(1149.0, 1000.0).0, "negotiation.above_market");
    }

    #[test]
    fn above_market_fires_at_5_percent_not_below() {
        assert_eq!(position(1050.0, 1000.0).0, "negotiation.above_market");
        assert_eq!(position(1049.0, 1000.0).0, "negotiation.at_market");
    }

    #[test]
    fn at_market_holds_within_5_percent_either_side() {
        assert_eq!(position(951.0, 1000.0).0, "negotiation.at_market");
        assert_eq!(position(1000.0, 1000.0).0, "negotiation.at_market");
    }

    #[test]
    fn below_market_fires_at_5_percent_below_not_above() {
        assert_eq!(position(950.0, 1000.0).0, "negotiation.below_market");
        assert_eq!(position(951.0, 1000.0).0, "negotiation.at_market");
    }

    #[test]
    fn thin_market_fires_under_3_local_fees() {
        let mut i = input(vec![home(1)]);
        i.market = Some(market(1000.0, 2));
        let s = strategy(&i, None, "t").unwrap();
        assert!(s
            .market_rate_analysis
            .market_insights
            .iter()
            .any(|m| m.contains("thin comparison")));
        i.market = Some(market(1000.0, 3));
        let s = strategy(&i, None, "t").unwrap();
        assert!(!s
            .market_rate_analysis
            .market_insights
            .iter()
            .any(|m| m.contains("thin comparison")));
    }

    #[test]
    fn positions_carry_their_evidence_and_no_market_means_no_section() {
        let mut h = home(1);
        h.weekly_fee = Some(1200.0);
        let s = strategy(&input(vec![h, home(2)]), None, "t").unwrap();
        let p = &s.market_rate_analysis.price_comparison[0];
        assert_eq!(p.trace.rule_id, "negotiation.well_above_market");
        assert_eq!(p.vs_regional_average, 20.0);
        assert_eq!(
            p.negotiation_potential.discount_range,
            "up to £200 a week (the gap to the local median)"
        );
        assert_eq!(s.discount_negotiation_points.available_discounts.len(), 1);
        let mut i = input(vec![home(1)]);
        i.homes.clear();
        assert!(strategy(&i, None, "t").is_none());
    }

    #[test]
    fn no_fees_known_fires_without_a_market_and_keeps_the_checklist_and_emails() {
        let mut h = home(1);
        h.weekly_fee = None;
        let mut i = input(vec![h, home(2)]);
        i.market = None;
        let s = strategy(&i, None, "t").unwrap();
        let m = &s.market_rate_analysis;
        assert!(!m.fees_known);
        assert!(
            m.market_insights[0].starts_with("No residential care fee is known"),
            "{:?}",
            m.market_insights
        );
        assert!(m.price_comparison.is_empty());
        assert_eq!((m.uk_average_weekly, m.regional_average_weekly), (0.0, 0.0));
        assert_eq!(m.region, "within 15 km of Leeds");
        assert!(!s.contract_review_checklist.essential_terms.is_empty());
        assert!(!s
            .email_templates
            .negotiation_followup
            .template
            .contains("median"));
        assert!(s
            .discount_negotiation_points
            .total_potential_discount
            .optimistic_range
            .starts_with("Not estimated"));
        let v = serde_json::to_value(&s).unwrap();
        let ma = &v["market_rate_analysis"];
        for key in ["uk_average_weekly", "regional_average_weekly"] {
            assert!(ma[key].is_number(), "{key}");
        }
        for key in ["minimum", "maximum", "average"] {
            assert!(ma["market_price_range"][key].is_number(), "{key}");
        }
        let best = &ma["value_positioning"]["best_value"];
        assert!(best.is_null(), "{best}");
        // Just below: a market with fees gives numbers, not the statement.
        let s = strategy(&input(vec![home(1)]), None, "t").unwrap();
        assert!(s.market_rate_analysis.fees_known);
        assert!(!s.market_rate_analysis.market_insights[0].starts_with("No "));
    }

    #[test]
    fn red_flag_advice_only_when_there_are_red_flags() {
        let i = input(vec![home(1)]);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        let r = super::super::risk::assess(&i, today, "t");
        let s = strategy(&i, r.as_ref(), "t").unwrap();
        let open = &s
            .discount_negotiation_points
            .negotiation_strategy
            .opening_strategy;
        assert!(open.iter().all(|o| !o.contains("red flag")), "{open:?}");
        let mut h = home(1);
        h.cqc.as_mut().unwrap().overall = Some(super::super::CqcRating::Inadequate);
        let i = input(vec![h]);
        let r = super::super::risk::assess(&i, today, "t");
        let s = strategy(&i, r.as_ref(), "t").unwrap();
        let open = &s
            .discount_negotiation_points
            .negotiation_strategy
            .opening_strategy;
        assert!(open.iter().any(|o| o.contains("red flags")), "{open:?}");
        assert!(s.questions_to_ask_at_visit.red_flag_questions[0]
            .contains("What did CQC ask you to change"));
    }
}
