//! Telephone numbers as a family can dial them.
//!
//! The operators' export stores numbers as integers, so the leading 0 of
//! every UK number is gone (`1217077921` is 0121 707 7921, `7967391337` is
//! the mobile 07967 391337). A number is restored by putting the trunk 0
//! back when the digits are a national number without it, then checked
//! against libphonenumber's metadata for the UK (the `phonenumber` crate)
//! and written in national format. Anything that is not a valid UK number
//! after that is dropped: a number that rings nobody is worse than none.
//!
//! Only the UK's metadata is loaded (`gb_phone_metadata.xml`, the GB entry
//! of the crate's own `assets/PhoneNumberMetadata.xml`, copied unchanged;
//! about 6 ms to build instead of the whole world's). To update: copy the
//! `<territory id="GB" …>` element from the new crate version's
//! `assets/PhoneNumberMetadata.xml`.
//!
//! The first number parsed in a process costs about 100 ms (the crate
//! compiles its parsing patterns then), so the importer keeps the cell as
//! it is and numbers are checked when a report is built
//! ([`super::Home::phone`]), never while a function starts.

use std::sync::LazyLock;

use phonenumber::country::Id;
use phonenumber::metadata::Database;
use phonenumber::Mode;

/// The UK's numbering plan, built once per process (about a millisecond).
static GB: LazyLock<Result<Database, String>> = LazyLock::new(|| {
    Database::parse(include_str!("gb_phone_metadata.xml")).map_err(|e| format!("{e:?}"))
});

/// The number in UK national format (`0121 707 7921`), or `None` when the
/// cell is not a valid UK number.
pub(crate) fn uk_national(cell: &str) -> Option<String> {
    let cell = cell.trim();
    let digits: String = cell.chars().filter(char::is_ascii_digit).collect();
    let candidate = if cell.starts_with('+') || cell.starts_with("00") {
        cell.to_owned()
    } else if digits.len() == 10 && !digits.starts_with('0') {
        // A UK national number is 0 and ten digits; the export dropped the 0.
        format!("0{digits}")
    } else {
        cell.to_owned()
    };
    let gb = GB.as_ref().ok()?;
    let number = phonenumber::parse_with(gb, Some(Id::GB), &candidate).ok()?;
    if !number.is_valid_with(gb) || number.code().value() != 44 {
        return None;
    }
    Some(number.format_with(gb).mode(Mode::National).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_from_the_export_get_their_leading_zero_back() {
        assert_eq!(uk_national("1217077921").as_deref(), Some("0121 707 7921"));
        assert_eq!(uk_national("7967391337").as_deref(), Some("07967 391337"));
        assert_eq!(uk_national("2079460000").as_deref(), Some("020 7946 0000"));
    }

    #[test]
    fn numbers_already_written_well_are_kept_in_national_format() {
        assert_eq!(
            uk_national("0121 707 7921").as_deref(),
            Some("0121 707 7921")
        );
        assert_eq!(
            uk_national("+44 121 707 7921").as_deref(),
            Some("0121 707 7921")
        );
        assert_eq!(
            uk_national("(0121) 7077921").as_deref(),
            Some("0121 707 7921")
        );
    }

    #[test]
    fn the_uk_metadata_loads() {
        if let Err(e) = &*GB {
            panic!("gb_phone_metadata.xml does not parse: {e}");
        }
    }

    #[test]
    fn what_is_not_a_uk_number_is_dropped() {
        for bad in [
            "12345",
            "0",
            "not a number",
            "1111111111",
            "+1 212 555 0100",
            "",
        ] {
            assert_eq!(uk_national(bad), None, "{bad}");
        }
    }
}
