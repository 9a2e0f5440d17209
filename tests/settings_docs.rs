//! Every setting is documented, in both places an operator looks:
//! `docs/ENVIRONMENT.md` is generated from the code's table,
//! `care_report::settings::VARIABLES` (whose unit tests check that the
//! readers ask for exactly its names and that its defaults are the
//! defaults), and `.env.example` lists the same names; nothing but the
//! settings module reads the environment. Without these checks a new knob
//! drifts out of the docs unnoticed (it happened: `PROCESS_ON_START` was in
//! neither). `ENVIRONMENT_REFERENCE_WRITE=1 cargo test --test settings_docs`
//! rewrites the reference after a change to the table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use care_report::settings::{Fallback, Scope, SECTIONS, VARIABLES};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Variables Vercel sets itself: documented, not to be set in
/// `.env.example`.
const SET_BY_VERCEL: [&str; 2] = ["VERCEL", "VERCEL_ENV"];

fn is_name(s: &str) -> bool {
    s.len() > 1
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `docs/ENVIRONMENT.md` as the table says it should read.
fn reference() -> String {
    let mut out = String::from(
        "<!-- Generated from `VARIABLES` in lib/src/settings.rs by \
         `ENVIRONMENT_REFERENCE_WRITE=1 cargo test --test settings_docs`; \
         edit the table, not this file. -->\n\n\
         # Environment\n\n\
         Every variable is optional for the dev-server; an empty value counts as \
         unset, and a malformed one stops the process at start with a message \
         naming the variable (never echoing secrets); a Vercel function logs it \
         and answers 500 `server_misconfigured`. The environment is read once, \
         at start, by the settings module (`lib/src/settings.rs` and \
         `lib/src/settings/`), into one `Settings` value; every layer gets a \
         plain config built from it. `.env.example` lists the same variables, \
         commented. \"Hosts\" says who reads a variable: every host, the \
         dev-server only, or Vercel, which sets it.\n",
    );
    for (i, section) in SECTIONS.iter().enumerate() {
        let next = SECTIONS.get(i + 1).map(|s| s.first);
        let from = position(section.first);
        let to = next.map_or(VARIABLES.len(), position);
        out.push_str(&format!(
            "\n## {}\n\nWhat they govern: [{}]({}).\n\n\
             | Variable | Default | Hosts | Meaning |\n|---|---|---|---|\n",
            section.title,
            section
                .explained_in
                .split('#')
                .next()
                .unwrap_or_default()
                .trim_start_matches("../"),
            section.explained_in
        ));
        for v in &VARIABLES[from..to] {
            let default = match v.default {
                Fallback::Value(d) => format!("`{d}`"),
                Fallback::Unset => "unset".to_owned(),
                Fallback::Described(d) => d.to_owned(),
            };
            let hosts = match v.scope {
                Scope::All => "all",
                Scope::DevServer => "dev-server",
                Scope::SetByVercel => "set by Vercel",
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                v.name,
                cell(&default),
                hosts,
                cell(v.meaning)
            ));
        }
    }
    out
}

fn position(name: &str) -> usize {
    VARIABLES
        .iter()
        .position(|v| v.name == name)
        .unwrap_or_else(|| panic!("section starts at {name}, which is not in VARIABLES"))
}

/// A table cell: `|` escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
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

#[test]
fn the_environment_reference_is_generated_from_the_table() {
    let path = root().join("docs/ENVIRONMENT.md");
    let expected = reference();
    if std::env::var_os("ENVIRONMENT_REFERENCE_WRITE").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/ENVIRONMENT.md is stale: rerun with ENVIRONMENT_REFERENCE_WRITE=1"
    );
    // Sections follow the table: each starts after the previous one.
    let starts: Vec<usize> = SECTIONS.iter().map(|s| position(s.first)).collect();
    assert_eq!(starts[0], 0);
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
}

#[test]
fn env_example_lists_exactly_the_code_s_table() {
    let example = env_example_variables();
    let table: BTreeSet<String> = VARIABLES
        .iter()
        .filter(|v| v.scope != Scope::SetByVercel)
        .map(|v| v.name.to_owned())
        .collect();
    let only_example: Vec<&String> = example.difference(&table).collect();
    let only_table: Vec<&String> = table.difference(&example).collect();
    assert!(
        only_example.is_empty() && only_table.is_empty(),
        ".env.example only: {only_example:?}; settings::VARIABLES only: {only_table:?}"
    );
    // What Vercel sets is in the table as such, and nothing else is.
    let by_vercel: Vec<&str> = VARIABLES
        .iter()
        .filter(|v| v.scope == Scope::SetByVercel)
        .map(|v| v.name)
        .collect();
    assert_eq!(by_vercel, SET_BY_VERCEL);
}

/// The docs hold no hand-written variable tables any more: a table whose
/// first column is `Variable` outside the generated reference would drift.
#[test]
fn no_other_page_keeps_a_variable_table() {
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") && !path.ends_with("ENVIRONMENT.md") {
            pages.push(path);
        }
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(
            !text.lines().any(|l| l.starts_with("| Variable |")),
            "{} keeps its own variable table; the reference is docs/ENVIRONMENT.md",
            page.display()
        );
    }
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
