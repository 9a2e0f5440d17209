//! Weekly fees from a care home's own website, found deterministically.
//!
//! No row of the operators' export has a fee, yet many homes print theirs
//! ("Residential care from £1,150 per week"). A fee is taken only from a
//! sentence that names an amount in pounds *and* its period (per week,
//! weekly, a week, /week, pw; or per month, monthly, pcm, converted to a
//! week as × 12 ÷ 52), so "£5 for the hairdresser" or "a £500 deposit" is
//! never read as a fee. Each fee keeps the sentence it came from and the
//! page it was on: the report quotes them as evidence. A range ("£900 to
//! £1,200 per week") stays a range and a "from" price stays a "from"
//! price. The care type is the one the sentence names (nursing, dementia,
//! respite, residential), or none. Amounts outside £300–£5,000 a week are
//! not care-home fees and are dropped.
//!
//! The page must be the home's own: the Firecrawl adapter only scrapes the
//! website the directory gives for the home.

use crate::facts::PageFee;

/// The lowest and highest weekly amount read as a care-home fee.
const PLAUSIBLE_WEEKLY: (f64, f64) = (300.0, 5_000.0);
/// At most this many fees are kept from one page.
const MAX_FEES: usize = 6;
/// A quoted sentence is cut to this many characters.
const MAX_SENTENCE: usize = 240;

/// Words that say an amount is not the weekly fee for care.
const NOT_A_FEE: [&str; 9] = [
    "deposit",
    "hairdress",
    "chiropod",
    "newspaper",
    "toiletr",
    "parking",
    "admin fee",
    "top-up",
    "top up",
];

/// Phrases naming a week or a month.
const WEEKLY: [&str; 7] = ["per week", "a week", "weekly", "/week", "/wk", " pw", "p/w"];
const MONTHLY: [&str; 5] = ["per month", "a month", "monthly", "pcm", "/month"];

/// The fees stated on a page's text, in page order.
pub(crate) fn extract(text: &str) -> Vec<PageFee> {
    sentences(text).filter_map(fee_of).take(MAX_FEES).collect()
}

/// The text cut into sentences: at line breaks, and after a full stop,
/// question or exclamation mark followed by a space (not in `£1,150.50`).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.lines().flat_map(|line| {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = line.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if matches!(b, b'.' | b'?' | b'!') && bytes.get(i + 1) == Some(&b' ') {
                out.push(&line[start..=i]);
                start = i + 1;
            }
        }
        out.push(&line[start..]);
        out.into_iter().map(str::trim).filter(|s| !s.is_empty())
    })
}

/// The fee a sentence states, when it states one.
fn fee_of(sentence: &str) -> Option<PageFee> {
    let lower = sentence.to_lowercase();
    if NOT_A_FEE.iter().any(|w| lower.contains(w)) {
        return None;
    }
    let weekly = WEEKLY.iter().any(|w| lower.contains(w));
    let monthly = !weekly && MONTHLY.iter().any(|w| lower.contains(w));
    if !weekly && !monthly {
        return None;
    }
    let amounts = amounts(sentence);
    let per_week = |a: f64| {
        if monthly {
            (a * 12.0 / 52.0).round()
        } else {
            a
        }
    };
    let (from, to) = match amounts.as_slice() {
        [a] => (per_week(*a), None),
        [a, b, ..] if b > a => (per_week(*a), Some(per_week(*b))),
        [a, ..] => (per_week(*a), None),
        [] => return None,
    };
    let plausible = |v: f64| (PLAUSIBLE_WEEKLY.0..=PLAUSIBLE_WEEKLY.1).contains(&v);
    if !plausible(from) || to.is_some_and(|t| !plausible(t)) {
        return None;
    }
    Some(PageFee {
        care_type: care_type(&lower).map(str::to_owned),
        weekly_from: from,
        weekly_to: to,
        starting_price: lower.contains("from ") || lower.contains("starting at"),
        monthly,
        sentence: sentence.chars().take(MAX_SENTENCE).collect(),
    })
}

/// The pound amounts in a sentence, in order (`£1,150.50` is 1150.5).
fn amounts(sentence: &str) -> Vec<f64> {
    sentence
        .match_indices('£')
        .filter_map(|(i, _)| {
            let rest = &sentence[i + '£'.len_utf8()..];
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
                .filter(|c| *c != ',')
                .collect();
            number.trim_end_matches('.').parse::<f64>().ok()
        })
        .collect()
}

/// The care type a sentence names; `None` for none or several.
fn care_type(lower: &str) -> Option<&'static str> {
    let named: Vec<&'static str> = ["nursing", "dementia", "respite", "residential"]
        .into_iter()
        .filter(|t| lower.contains(t))
        .collect();
    match named.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::for_care;

    #[test]
    fn weekly_monthly_ranges_and_from_prices() {
        let page = "# Fees\nResidential care from £1,150 per week. Nursing care: £1,400 - £1,650 weekly.\n\
                    Respite stays are £6,000 per month, all inclusive!";
        let fees = extract(page);
        assert_eq!(fees.len(), 3, "{fees:?}");
        assert_eq!(fees[0].care_type.as_deref(), Some("residential"));
        assert_eq!(
            (fees[0].weekly_from, fees[0].starting_price),
            (1150.0, true)
        );
        assert_eq!(fees[0].sentence, "Residential care from £1,150 per week.");
        assert_eq!(
            (fees[1].weekly_from, fees[1].weekly_to),
            (1400.0, Some(1650.0))
        );
        assert_eq!(fees[1].care_type.as_deref(), Some("nursing"));
        assert_eq!((fees[2].weekly_from, fees[2].monthly), (1385.0, true));
        assert_eq!(fees[2].care_type.as_deref(), Some("respite"));
    }

    #[test]
    fn prices_that_are_not_fees_are_not_read_as_fees() {
        for page in [
            "Our hairdresser visits weekly: £12 a cut.",
            "A £500 deposit secures a room, payable per week of notice.",
            "We raised £2,500 for charity this year.",
            "Call us about our fees.",
            "Newspapers are £3 per week.",
            "Fees are £150,000 per week.",
        ] {
            assert!(extract(page).is_empty(), "{page}: {:?}", extract(page));
        }
    }

    #[test]
    fn the_fee_for_a_care_type_prefers_the_sentence_naming_it() {
        let fees = extract(
            "Weekly fees start from £950. Nursing care from £1,300 per week. Dementia care £1,200 weekly.",
        );
        assert_eq!(for_care(&fees, "nursing").unwrap().weekly_from, 1300.0);
        assert_eq!(for_care(&fees, "dementia").unwrap().weekly_from, 1200.0);
        assert_eq!(for_care(&fees, "residential").unwrap().weekly_from, 950.0);
        let only_nursing = extract("Nursing care from £1,300 per week.");
        assert_eq!(for_care(&only_nursing, "residential"), None);
    }

    #[test]
    fn pence_and_full_stops_do_not_split_a_sentence() {
        let fees = extract("Care from £1,150.50 per week. Call us.");
        assert_eq!(fees[0].weekly_from, 1150.5);
        assert_eq!(fees[0].sentence, "Care from £1,150.50 per week.");
    }
}
