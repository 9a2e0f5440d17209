//! Plain English for the facts the rules quote: budget bands, timelines,
//! dates and ages.
//!
//! Families read every sentence the judgement writes, so a sentence never
//! carries a questionnaire answer code (`5000_7000_local`,
//! `need_budget_guidance`) or an internal id: the code stays in the
//! statement's `evidence`, and the sentence says what it means. The test
//! helper [`assert_plain_english`] checks that over any serialised section
//! (and is meant to be reused over the whole report).

use chrono::NaiveDate;

use super::{pounds, Funder};
use crate::questionnaire::Budget;

/// A q7 answer in words, e.g. `£5,000–£7,000 a month (about £1,154–£1,615 a
/// week), council-funded`. An answer this code does not know is described
/// by who pays only, never quoted.
pub(crate) fn budget_words(answer: &str) -> String {
    use Budget::*;
    let (band, funder) = match Budget::parse(answer) {
        Some(Under3000Self) => (Some((None, Some(3000.0))), "self-funded"),
        Some(Under3000Local) => (Some((None, Some(3000.0))), "council-funded"),
        Some(From3000To5000Self) => (Some((Some(3000.0), Some(5000.0))), "self-funded"),
        Some(From3000To5000Local) => (Some((Some(3000.0), Some(5000.0))), "council-funded"),
        Some(From5000To7000Self) => (Some((Some(5000.0), Some(7000.0))), "self-funded"),
        Some(From5000To7000Local) => (Some((Some(5000.0), Some(7000.0))), "council-funded"),
        Some(Over7000Self) => (Some((Some(7000.0), None)), "self-funded"),
        Some(Over7000Local) => (Some((Some(7000.0), None)), "council-funded"),
        Some(NeedGuidance) => return "no budget given (you asked for guidance on funding)".into(),
        None => return "the budget you gave".into(),
    };
    let weekly = |m: f64| pounds((m * 12.0 / 52.0).round());
    let text = match band {
        Some((None, Some(hi))) => {
            format!("under {} a month (about {} a week)", pounds(hi), weekly(hi))
        }
        Some((Some(lo), Some(hi))) => format!(
            "{}–{} a month (about {}–{} a week)",
            pounds(lo),
            pounds(hi),
            weekly(lo),
            weekly(hi)
        ),
        Some((Some(lo), None)) => {
            format!("over {} a month (about {} a week)", pounds(lo), weekly(lo))
        }
        _ => String::new(),
    };
    format!("{text}, {funder}")
}

/// Who pays, in words.
pub(crate) fn funder_words(f: Funder) -> &'static str {
    match f {
        Funder::SelfFunded => "paying privately",
        Funder::LocalAuthority => "expecting the council to fund",
        Funder::Unsure => "not yet sure who will pay",
    }
}

/// The text with its first letter in capitals.
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// A date as people write it: `10 January 2023`.
pub(crate) fn date_words(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// How long before `to` the date `from` is, in years and months: `3 years
/// and 5 months`, `11 months`, `less than a month`.
pub(crate) fn age_words(from: NaiveDate, to: NaiveDate) -> String {
    let months = super::risk::months_between(from, to).max(0);
    let (y, m) = (months / 12, months % 12);
    let unit = |n: i32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match (y, m) {
        (0, 0) => "less than a month".to_owned(),
        (0, m) => unit(m, "month", "months"),
        (y, 0) => unit(y, "year", "years"),
        (y, m) => format!(
            "{} and {}",
            unit(y, "year", "years"),
            unit(m, "month", "months")
        ),
    }
}

/// Keys whose values are for machines (ids, enum values, traces), not read
/// by families: their strings are not checked.
#[cfg(test)]
pub(crate) const MACHINE_KEYS: &[&str] = &[
    "ruleId",
    "evidence",
    "threshold",
    "missingInputs",
    "missing_inputs",
    "priority",
    "status",
    "category",
    "type",
    "severity",
    "overall_risk_level",
    "risk_level",
    "potential",
    "route",
    "home_id",
    "homeId",
    "generated_at",
    "generatedAt",
    "jurisdiction",
    "name",
    "source",
];

/// The answer codes in the family-facing strings of `v`, as `path: token`.
/// A code is a token like `[a-z0-9]+(_[a-z0-9]+)+`, a questionnaire wire
/// value that is not a plain word, or the name of one of the judgement's
/// enums as Rust writes it (`LocalAuthority`). Keys in [`MACHINE_KEYS`] and
/// `extra_skip` are skipped, as is a `timeline` that is itself a code, and
/// URLs. Object keys are never checked.
#[cfg(test)]
pub(crate) fn codes_in(v: &serde_json::Value, extra_skip: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    walk(v, "$", extra_skip, &mut found);
    found
}

#[cfg(test)]
fn walk(v: &serde_json::Value, at: &str, skip: &[&str], found: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let is_code_timeline = k == "timeline" && child.as_str().is_some_and(is_wire_value);
                if MACHINE_KEYS.contains(&k.as_str())
                    || skip.contains(&k.as_str())
                    || is_code_timeline
                {
                    continue;
                }
                walk(child, &format!("{at}.{k}"), skip, found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{at}[{i}]"), skip, found);
            }
        }
        Value::String(s) => {
            for token in s.split_whitespace().filter(|t| !t.contains("://")) {
                for word in token.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                    if is_code(word) {
                        found.push(format!("{at}: {word} (in \"{s}\")"));
                    }
                }
            }
        }
        _ => {}
    }
}

/// Whether a word is an answer code (see [`codes_in`]).
#[cfg(test)]
fn is_code(word: &str) -> bool {
    let snake = word.contains('_')
        && word
            .split('_')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    const ENUM_NAMES: &[&str] = &[
        "SelfFunded",
        "LocalAuthority",
        "Unsure",
        "NextMonth",
        "Urgent",
        "Planning",
        "Exploring",
        "WheelchairPermanent",
        "WheelchairSometimes",
        "WalkingAids",
        "FullyMobile",
    ];
    snake
        || ENUM_NAMES.contains(&word)
        || (is_wire_value(word) && !word.chars().all(char::is_alphabetic))
}

/// Whether `s` is a canonical questionnaire wire value.
#[cfg(test)]
fn is_wire_value(s: &str) -> bool {
    use crate::questionnaire::*;
    fn has<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str, s: &str) -> bool {
        all.iter().any(|v| name(*v) == s)
    }
    has(MaxDistance::ALL, MaxDistance::as_str, s)
        || has(Budget::ALL, Budget::as_str, s)
        || has(CareType::ALL, CareType::as_str, s)
        || has(MedicalCondition::ALL, MedicalCondition::as_str, s)
        || has(Mobility::ALL, Mobility::as_str, s)
        || has(Medication::ALL, Medication::as_str, s)
        || has(AgeRange::ALL, AgeRange::as_str, s)
        || has(FallHistory::ALL, FallHistory::as_str, s)
        || has(Allergy::ALL, Allergy::as_str, s)
        || has(Diet::ALL, Diet::as_str, s)
        || has(Social::ALL, Social::as_str, s)
        || has(Timeline::ALL, Timeline::as_str, s)
        || has(Priority::ALL, Priority::as_str, s)
}

/// Fails, listing them, when the family-facing strings of `v` carry an
/// answer code (see [`codes_in`]). Usable on any serialised value: a
/// section, the judgement or the whole report.
#[cfg(test)]
pub(crate) fn assert_plain_english(v: &serde_json::Value) {
    let found = codes_in(v, &[]);
    assert!(
        found.is_empty(),
        "answer codes in prose:\n{}",
        found.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn budget_bands_are_written_in_pounds_a_month_and_a_week() {
        assert_eq!(
            budget_words("5000_7000_local"),
            "£5,000–£7,000 a month (about £1,154–£1,615 a week), council-funded"
        );
        assert_eq!(
            budget_words("under_3000_self"),
            "under £3,000 a month (about £692 a week), self-funded"
        );
        assert_eq!(
            budget_words("over_7000_self"),
            "over £7,000 a month (about £1,615 a week), self-funded"
        );
        assert!(!budget_words("need_budget_guidance").contains('_'));
        for b in Budget::ALL {
            assert!(codes_in(&json!(budget_words(b.as_str())), &[]).is_empty());
        }
    }

    #[test]
    fn ages_and_dates_read_as_people_say_them() {
        assert_eq!(date_words(day(2023, 1, 10)), "10 January 2023");
        assert_eq!(
            age_words(day(2023, 1, 10), day(2026, 6, 15)),
            "3 years and 5 months"
        );
        assert_eq!(age_words(day(2024, 6, 15), day(2026, 6, 15)), "2 years");
        assert_eq!(age_words(day(2026, 5, 1), day(2026, 6, 15)), "1 month");
        assert_eq!(
            age_words(day(2026, 6, 1), day(2026, 6, 15)),
            "less than a month"
        );
    }

    #[test]
    fn the_helper_finds_codes_in_prose_and_skips_machine_fields() {
        let v = json!({
            "text": "With the budget answer 5000_7000_local, ask.",
            "other": ["`need_budget_guidance`", "fine words", "LocalAuthority"],
            "ruleId": "funding.council_assessment",
            "evidence": [{"field": "budget", "value": "5000_7000_local"}],
            "timeline": "urgent_2_weeks",
            "url": "see https://www.gov.uk/a_b",
            "keys_are_fine": "Diabetes and none of the 65–74 codes"
        });
        let found = codes_in(&v, &[]);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found.iter().any(|f| f.contains("5000_7000_local")));
        assert!(codes_in(&json!({"timeline": "Within 3 days"}), &[]).is_empty());
        assert!(codes_in(&json!({"x": "65_74"}), &[]).len() == 1);
        assert!(codes_in(&json!({"x": "a_b"}), &["x"]).is_empty());
    }

    /// Every shape of input a family can produce, as far as the rules
    /// branch: each timeline and funder, fees known or not, ratings fresh or
    /// old, red flags or none, simple or complex needs.
    fn shapes() -> Vec<super::super::JudgementInput> {
        use super::super::testkit::{home, input};
        use super::super::{CqcRating, Urgency};
        let budgets = [
            (Funder::SelfFunded, "3000_5000_self"),
            (Funder::LocalAuthority, "5000_7000_local"),
            (Funder::Unsure, "need_budget_guidance"),
        ];
        let urgencies = [
            Urgency::Urgent,
            Urgency::NextMonth,
            Urgency::Planning,
            Urgency::Exploring,
        ];
        let mut out = Vec::new();
        for (funder, budget) in budgets {
            for urgency in urgencies {
                for variant in 0..4 {
                    let mut homes: Vec<_> = (1..=5).map(home).collect();
                    let fees_known = variant % 2 == 0;
                    let stale = variant >= 2;
                    for h in &mut homes {
                        if !fees_known {
                            h.weekly_fee = None;
                        }
                        if stale {
                            h.cqc.as_mut().unwrap().last_inspection =
                                Some(day(2020 + h.rank as i32 % 4, 3, 9));
                        }
                    }
                    if variant == 1 || variant == 2 {
                        homes[1].cqc.as_mut().unwrap().overall = Some(CqcRating::Inadequate);
                        homes[2].fsa.as_mut().unwrap().rating = Some(1);
                        homes[3].cqc.as_mut().unwrap().overall = None;
                        homes[4].weekly_fee = homes[4].weekly_fee.map(|_| 2000.0);
                    }
                    let mut i = input(homes);
                    i.needs.funder = funder;
                    i.needs.budget_answer = budget.into();
                    i.needs.urgency = urgency;
                    if !fees_known {
                        i.market = None;
                    }
                    if variant == 3 {
                        i.needs.care.nursing = true;
                        i.needs.dementia = true;
                        i.needs.diets = vec!["pureed_soft_food".into()];
                        i.needs.allergies = vec!["food_allergies".into()];
                    }
                    out.push(i);
                }
            }
        }
        out
    }

    #[test]
    fn every_sentence_of_the_judgement_is_plain_english_for_every_shape() {
        use chrono::TimeZone;
        let now = chrono::Utc.with_ymd_and_hms(2026, 6, 15, 9, 0, 0).unwrap();
        let shapes = shapes();
        assert_eq!(shapes.len(), 48);
        for i in &shapes {
            let j = serde_json::to_value(super::super::judge(i, now)).unwrap();
            assert_plain_english(&j);
        }
    }
}
