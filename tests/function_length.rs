//! Every production function is short enough to read in one screen: under
//! 60 lines from its `fn` line to its closing brace (doc comments and
//! attributes not counted). Exempt: `lib/src/http/openapi.rs` (the OpenAPI
//! document, one declarative value), the declarative tables in `TABLES`
//! below, each with its reason, and test code (`#[cfg(test)]` tails,
//! `*_tests.rs`, the test support crate `testing/`). The scan relies on rustfmt's layout (checked by the test
//! command before this runs): a body ends at the first line that is the
//! `fn` line's indentation followed by `}`.

use std::path::{Path, PathBuf};

/// The longest function allowed, in lines.
const MAX_LINES: usize = 59;

/// Files that are one declarative value, not logic.
const EXEMPT: [&str; 1] = ["lib/src/http/openapi.rs"];

/// Functions that are declarative tables, with why (file, name).
const TABLES: [(&str, &str); 1] = [
    // One arm per `ApiError` variant: status, code, message, details.
    // Split, each variant would be spread over several tables.
    ("lib/src/http/error.rs", "parts"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The function a line starts, if it starts one: its indentation and name.
fn fn_start(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start().len();
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("async ").unwrap_or(rest);
    let name = rest.strip_prefix("fn ")?;
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    Some((indent, &name[..end]))
}

/// `(name, first line, length)` of every function in the production part
/// of `text` (what comes before its `#[cfg(test)]` tail).
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((indent, name)) = fn_start(line) else {
            continue;
        };
        // A declaration without a body (a trait's required method) ends
        // with `;` before any `{`.
        let Some(open) = lines[i..]
            .iter()
            .position(|l| l.contains('{') || l.ends_with(';'))
        else {
            continue;
        };
        if !lines[i + open].contains('{') {
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        let length = if line.trim_end().ends_with('}') {
            1
        } else {
            match lines[i..].iter().position(|l| l.trim_end() == close) {
                Some(end) => end + 1,
                None => continue,
            }
        };
        out.push((name.to_owned(), i + 1, length));
    }
    out
}

#[test]
fn every_production_function_is_under_60_lines() {
    let mut files = Vec::new();
    for dir in ["lib/src", "dev-server/src", "api", "pdf/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut long = Vec::new();
    let mut seen = 0;
    for file in files {
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        if EXEMPT.contains(&rel.as_str()) || rel.ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (name, line, length) in functions(&text) {
            seen += 1;
            if length > MAX_LINES && !TABLES.contains(&(rel.as_str(), name.as_str())) {
                long.push(format!("{rel}:{line} {name} ({length} lines)"));
            }
        }
    }
    assert!(seen > 500, "the scan found only {seen} functions");
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_scan_measures_bodies_and_skips_declarations_and_tests() {
    let text = "\
/// Doc.
pub fn one() -> u8 { 1 }

impl X {
    pub(crate) async fn two(
        a: u8,
    ) -> u8 {
        let b = {
            a
        };
        b
    }
}

trait T {
    fn declared(&self)
        -> u8;
}

#[cfg(test)]
mod tests {
    fn hidden() {}
}
";
    assert_eq!(
        functions(text),
        vec![("one".to_owned(), 2, 1), ("two".to_owned(), 5, 8)]
    );
}
