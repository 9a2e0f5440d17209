//! Every setting is documented, in both places an operator looks: the
//! README's variable tables and `.env.example` list the same variables as
//! the code's table, `care_report::settings::VARIABLES` (whose unit tests
//! check that the readers ask for exactly its names and that its defaults
//! are the defaults), and nothing but the settings module reads the
//! environment. Without these checks a new knob drifts out of the docs
//! unnoticed (it happened: `PROCESS_ON_START` was in neither).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use care_report::settings::{Scope, VARIABLES};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The source prefixes of the per-source settings (`<PREFIX>_BASE_URL`, …).
const SOURCE_PREFIXES: [&str; 7] = [
    "CQC",
    "FSA",
    "GOOGLE_PLACES",
    "POSTCODES",
    "OVERPASS",
    "FIRECRAWL",
    "COMPANIES_HOUSE",
];

/// Which prefixes have which suffix (only keyed sources have `_API_KEY`).
fn per_source(suffix: &str) -> Vec<String> {
    let prefixes: &[&str] = if suffix == "API_KEY" {
        &["CQC", "GOOGLE_PLACES", "FIRECRAWL", "COMPANIES_HOUSE"]
    } else {
        &SOURCE_PREFIXES
    };
    prefixes.iter().map(|p| format!("{p}_{suffix}")).collect()
}

/// Variables Vercel sets itself: documented in the README, not to be set
/// in `.env.example`.
const SET_BY_VERCEL: [&str; 2] = ["VERCEL", "VERCEL_ENV"];

fn is_name(s: &str) -> bool {
    s.len() > 1
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Expands a README cell's name pattern: `<PREFIX>_MAX_BYTES` to one name
/// per source, `A_<X|Y>_B` to `A_X_B`, `A_Y_B`.
fn expand(token: &str) -> Vec<String> {
    let token = token.replace("\\|", "|");
    if let Some(suffix) = token.strip_prefix("<PREFIX>_") {
        return per_source(suffix);
    }
    if let (Some(open), Some(close)) = (token.find('<'), token.find('>')) {
        let (head, tail) = (&token[..open], &token[close + 1..]);
        return token[open + 1..close]
            .split('|')
            .map(|alt| format!("{head}{alt}{tail}"))
            .collect();
    }
    vec![token]
}

/// Names in the first cell of every README table whose header's first
/// column is `Variable`.
fn readme_variables() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut out = BTreeSet::new();
    let mut in_table = false;
    for line in readme.lines() {
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let first = line
            .trim_start_matches('|')
            .split(" | ")
            .next()
            .unwrap_or("");
        if first.trim() == "Variable" {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        for token in first.split('`').skip(1).step_by(2) {
            out.extend(expand(token).into_iter().filter(|n| is_name(n)));
        }
    }
    out
}

/// `NAME=` lines of `.env.example`, commented out or not.
fn env_example_variables() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join(".env.example")).unwrap();
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start_matches('#').trim();
            let (name, _) = l.split_once('=')?;
            is_name(name).then(|| name.to_owned())
        })
        .collect()
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

/// The code's table of every variable (`care_report::settings::VARIABLES`).
fn table_variables() -> BTreeSet<String> {
    VARIABLES.iter().map(|v| v.name.to_owned()).collect()
}

#[test]
fn the_readme_and_env_example_list_the_same_variables() {
    let readme = readme_variables();
    let example = env_example_variables();
    assert!(
        readme.len() > 40,
        "the README's tables were not found: {readme:?}"
    );
    let only_readme: Vec<&String> = readme
        .difference(&example)
        .filter(|n| !SET_BY_VERCEL.contains(&n.as_str()))
        .collect();
    let only_example: Vec<&String> = example.difference(&readme).collect();
    assert!(
        only_readme.is_empty() && only_example.is_empty(),
        "README only: {only_readme:?}; .env.example only: {only_example:?}"
    );
}

#[test]
fn the_readme_lists_exactly_the_code_s_table() {
    let readme = readme_variables();
    let table = table_variables();
    let only_readme: Vec<&String> = readme.difference(&table).collect();
    let only_table: Vec<&String> = table.difference(&readme).collect();
    assert!(
        only_readme.is_empty() && only_table.is_empty(),
        "README only: {only_readme:?}; settings::VARIABLES only: {only_table:?}"
    );
    // What Vercel sets is in the table as such, and nothing else is.
    let by_vercel: Vec<&str> = VARIABLES
        .iter()
        .filter(|v| v.scope == Scope::SetByVercel)
        .map(|v| v.name)
        .collect();
    assert_eq!(by_vercel, SET_BY_VERCEL);
}

/// The environment is read in one place: `Environment::capture` in
/// `lib/src/settings.rs`. Anywhere else a variable would bypass the table
/// (and the test that every reader asks only for its names).
#[test]
fn only_the_settings_module_reads_the_environment() {
    let mut files = Vec::new();
    for dir in ["lib/src", "dev-server/src", "api"] {
        rust_files(&root().join(dir), &mut files);
    }
    let readers: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("lib/src/settings.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            // Production code only: a unit test may read its own switches
            // (e.g. `JUDGEMENT_RULES_WRITE` regenerates a document).
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            ["std::env::var", "env::vars", "var_os("]
                .iter()
                .any(|n| code.contains(n))
        })
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(readers.is_empty(), "read the environment: {readers:?}");
    let settings = std::fs::read_to_string(root().join("lib/src/settings.rs")).unwrap();
    assert!(settings.contains("std::env::vars_os()"));
}

#[test]
fn name_patterns_expand() {
    assert_eq!(expand("<PREFIX>_MAX_BYTES").len(), 7);
    assert_eq!(
        expand("A_<X\\|Y>_B"),
        vec!["A_X_B".to_owned(), "A_Y_B".to_owned()]
    );
    assert_eq!(per_source("API_KEY").len(), 4);
}
