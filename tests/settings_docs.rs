//! Every setting is documented, in both places an operator looks: the
//! README's variable tables and `.env.example` list the same variables, and
//! every variable name the code reads appears in them. The settings are
//! read in several modules (each layer's `from_lookup`), so without this
//! check a new knob drifts out of the docs unnoticed (it happened:
//! `PROCESS_ON_START` was in neither).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The source prefixes of the per-source settings (`<PREFIX>_BASE_URL`, …).
const SOURCE_PREFIXES: [&str; 6] = [
    "CQC",
    "FSA",
    "GOOGLE_PLACES",
    "POSTCODES",
    "OVERPASS",
    "FIRECRAWL",
];

/// Per-source suffixes the code joins to a prefix at run time.
const SOURCE_SUFFIXES: [&str; 4] = ["API_KEY", "BASE_URL", "TIMEOUT_MS", "MAX_BYTES"];

/// Which prefixes have which suffix (only keyed sources have `_API_KEY`).
fn per_source(suffix: &str) -> Vec<String> {
    let prefixes: &[&str] = if suffix == "API_KEY" {
        &["CQC", "GOOGLE_PLACES", "FIRECRAWL"]
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

/// Literal names the production code reads: string literals that look
/// like variable names in the files that read the environment (their
/// `#[cfg(test)]` tails cut off), with the per-source suffixes expanded.
fn code_variables() -> BTreeSet<String> {
    // Literals in those files that are not variables: Redis commands and
    // replies, HTTP methods, the per-source prefixes and suffixes (joined
    // at run time, expanded below), Cargo's and the OS's own variables.
    let not_settings: BTreeSet<&str> = [
        "DELETE",
        "GET",
        "POST",
        "HGET",
        "HMGET",
        "PING",
        "PTTL",
        "SCAN",
        "ZRANGEBYSCORE",
        "OK",
        "OOM",
        "LIMIT",
        "COUNT",
        "MATCH",
        "TERM",
        "PATH",
        "CARGO",
        "CARGO_PKG_VERSION",
        "RUST_BACKTRACE",
    ]
    .into_iter()
    .chain(SOURCE_PREFIXES)
    .collect();
    let mut files = Vec::new();
    for dir in ["lib/src", "dev-server/src", "api"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut out = BTreeSet::new();
    for file in files {
        // Test support reads its own variables (TEST_REDIS_URL, …).
        if file.components().any(|c| c.as_os_str() == "testing") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let reads_env = ["from_lookup", "from_env", "std::env::var"]
            .iter()
            .any(|n| text.contains(n));
        if !reads_env {
            continue;
        }
        // Code only: the `#[cfg(test)]` tail and comment lines cut off.
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for literal in code.split('"').skip(1).step_by(2) {
            if !is_name(literal) || not_settings.contains(literal) {
                continue;
            }
            if SOURCE_SUFFIXES.contains(&literal) {
                out.extend(per_source(literal));
            } else {
                out.insert(literal.to_owned());
            }
        }
    }
    out
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
fn every_variable_the_code_reads_is_documented() {
    let readme = readme_variables();
    let code = code_variables();
    assert!(
        code.contains("PORT") && code.contains("CQC_API_KEY"),
        "{code:?}"
    );
    let undocumented: Vec<&String> = code.difference(&readme).collect();
    assert!(
        undocumented.is_empty(),
        "read but not in README's tables: {undocumented:?}"
    );
}

#[test]
fn name_patterns_expand() {
    assert_eq!(expand("<PREFIX>_MAX_BYTES").len(), 6);
    assert_eq!(
        expand("A_<X\\|Y>_B"),
        vec!["A_X_B".to_owned(), "A_Y_B".to_owned()]
    );
    assert_eq!(per_source("API_KEY").len(), 3);
}
