//! Which columns of an export carry information.
//!
//! An export's columns are only as good as their collection. A column that
//! is empty in every row says nothing; a yes/no column that holds the same
//! answer in every row of a sizeable export was never collected either (in
//! the operators' export `wheelchair_access` is `false` for all 271 homes,
//! `accepts_nhs_chc` `true` for all). Reading those as facts would make the
//! report say "no wheelchair access" of every home. The importer therefore
//! measures each column first and treats such columns as unknown, cell by
//! cell, and says at start which ones it set aside.
//!
//! Only yes/no columns are judged on sameness: one town or council in every
//! row is what a regional export looks like, not a sign of missing data.
//! And only exports of at least [`MIN_ROWS`] rows are judged: in a handful
//! of homes, the same answer everywhere is plausible.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Below this many rows, a constant yes/no column is taken at face value.
pub(crate) const MIN_ROWS: usize = 20;

/// How one column is filled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnCoverage {
    /// The column's name.
    pub column: String,
    /// Rows with a value.
    pub filled: usize,
    /// The one value every filled row holds, when there is one.
    pub constant: Option<String>,
    /// Whether the importer treats the column as unknown.
    pub unknown: bool,
}

/// Tallies columns as rows are read.
#[derive(Default)]
pub(crate) struct Tally {
    rows: usize,
    /// Per column index: rows filled, and the first value with whether every
    /// later one equalled it.
    columns: BTreeMap<usize, (usize, Option<(String, bool)>)>,
}

impl Tally {
    /// Counts one well-formed record.
    pub(crate) fn add(&mut self, record: &csv::StringRecord) {
        self.rows += 1;
        for (i, cell) in record.iter().enumerate() {
            let entry = self.columns.entry(i).or_default();
            let Some(v) = meaningful(cell) else { continue };
            entry.0 += 1;
            match &mut entry.1 {
                None => entry.1 = Some((v.to_ascii_lowercase(), true)),
                Some((first, same)) => *same &= first.eq_ignore_ascii_case(v),
            }
        }
    }

    /// Each named column's coverage, by name.
    pub(crate) fn finish(self, names: &HashMap<String, usize>) -> Vec<ColumnCoverage> {
        let mut out: Vec<ColumnCoverage> = names
            .iter()
            .map(|(name, i)| {
                let (filled, first) = self.columns.get(i).cloned().unwrap_or_default();
                let constant = first.filter(|(_, same)| *same).map(|(v, _)| v);
                let unknown = filled == 0
                    || (self.rows >= MIN_ROWS
                        && filled == self.rows
                        && constant.as_deref().is_some_and(is_yes_no));
                ColumnCoverage {
                    column: name.clone(),
                    filled,
                    constant,
                    unknown,
                }
            })
            .collect();
        out.sort_by(|a, b| a.column.cmp(&b.column));
        out
    }
}

/// The cell's value, unless it is empty, `null` or an empty JSON object or
/// list (which the export writes for "nothing collected").
pub(crate) fn meaningful(cell: &str) -> Option<&str> {
    let v = cell.trim();
    let empty = v.is_empty() || v.eq_ignore_ascii_case("null") || v == "{}" || v == "[]";
    (!empty).then_some(v)
}

fn is_yes_no(v: &str) -> bool {
    matches!(
        v,
        "true" | "false" | "t" | "f" | "yes" | "no" | "y" | "n" | "1" | "0"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cols: &[&str]) -> HashMap<String, usize> {
        cols.iter()
            .enumerate()
            .map(|(i, c)| ((*c).to_owned(), i))
            .collect()
    }

    fn tally(rows: usize, row: impl Fn(usize) -> Vec<String>) -> Tally {
        let mut t = Tally::default();
        for i in 0..rows {
            t.add(&csv::StringRecord::from(row(i)));
        }
        t
    }

    #[test]
    fn empty_and_constant_yes_no_columns_are_unknown_in_a_sizeable_export() {
        let cols = names(&["wheelchair", "respite", "town", "mixed", "json"]);
        let t = tally(MIN_ROWS, |i| {
            vec![
                "false".into(),
                String::new(),
                "Birmingham".into(),
                (i % 2 == 0).to_string(),
                "{}".into(),
            ]
        });
        let c = t.finish(&cols);
        let unknown: Vec<&str> = c
            .iter()
            .filter(|c| c.unknown)
            .map(|c| c.column.as_str())
            .collect();
        assert_eq!(unknown, vec!["json", "respite", "wheelchair"]);
        let town = c.iter().find(|c| c.column == "town").unwrap();
        assert_eq!(town.constant.as_deref(), Some("birmingham"));
    }

    #[test]
    fn a_small_export_is_taken_at_face_value_just_below_the_threshold() {
        let cols = names(&["wheelchair"]);
        let c = tally(MIN_ROWS - 1, |_| vec!["false".into()]).finish(&cols);
        assert!(!c[0].unknown);
        // One row that differs, or one that is empty, is not "constant".
        let c = tally(MIN_ROWS, |i| {
            vec![if i == 3 {
                String::new()
            } else {
                "false".into()
            }]
        })
        .finish(&cols);
        assert!(!c[0].unknown, "{c:?}");
    }
}
