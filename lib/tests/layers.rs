//! The library's layers, written once and kept.
//!
//! [`LAYERS`] is the order of the library's top-level modules, bottom
//! first; README and docs/ARCHITECTURE.md state the same order (checked
//! below). A module may name
//! (`crate::…`) only modules below it. Because every module has its own
//! place in the order, an import that obeys it cannot close a cycle. The
//! test reads every `crate::` path in the production code of `lib/src`
//! (comments and `#[cfg(test)]` modules aside) and fails on one that
//! points up the order.
//!
//! [`KNOWN`] lists the upward imports that are still there, each with the
//! change that removes it. The test fails when a new one appears *and*
//! when a listed one is gone (remove it from the list): the list only
//! shrinks.

use std::collections::BTreeSet;
use std::path::Path;

/// The library's modules, bottom first.
const LAYERS: &[&str] = &[
    // Values every layer shares; no I/O.
    "clock",
    "model",
    "geo",
    "metrics",
    "telemetry",
    // The family's questionnaire and the care-home directory.
    "questionnaire",
    "directory",
    "retry",
    // Source facts: what adapters write and the judgement reads.
    "facts",
    // Choosing homes, judging them, the report and its documents.
    "matching",
    "judgement",
    "report",
    "document",
    // Keeping jobs and fetching sources.
    "store",
    "sources",
    "sandbox",
    // Deciding, then speaking HTTP.
    "engine",
    "http",
    // Reading the environment and building everything from it.
    "settings",
    "service",
    "host",
];

/// Upward imports still in the code: (from, to, what removes it).
const KNOWN: &[(&str, &str, &str)] = &[];

/// The module a file under `lib/src` belongs to.
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// The production code of a file: `#[cfg(test)]` items (the tests module
/// each file ends with) and comments removed.
fn production_code(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    code.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module `code` names through a `crate::` path.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

/// Every (from, to) import in `files` ((module, code) pairs) that points up
/// [`LAYERS`] or names a module the order does not know.
fn upward(files: &[(String, String)]) -> BTreeSet<(String, String)> {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut out = BTreeSet::new();
    for (from, code) in files {
        for to in named_modules(code) {
            if &to == from {
                continue;
            }
            match (rank(from), rank(&to)) {
                (Some(f), Some(t)) if t < f => {}
                _ => {
                    out.insert((from.clone(), to));
                }
            }
        }
    }
    out
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read lib/src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under lib/src");
            let Some(module) = module_of(relative) else {
                continue;
            };
            if module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            out.push((module, production_code(&text)));
        }
    }
}

#[test]
fn every_import_points_down_the_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let listed: BTreeSet<String> = LAYERS.iter().map(|m| (*m).to_owned()).collect();
    assert_eq!(
        modules, listed,
        "every module of lib/src has its place in LAYERS"
    );
    let found = upward(&files);
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(f, t, _)| ((*f).to_owned(), (*t).to_owned()))
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "imports up the layers (a module may name only modules below it in LAYERS): {new:?}"
    );
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "these upward imports are gone: remove them from KNOWN: {gone:?}"
    );
}

/// The check itself can fail: a planted upward import is caught, in a
/// `use` line and in an inline path, while comments and tests are not
/// read, and a downward import passes.
#[test]
fn the_check_catches_a_planted_upward_import() {
    let planted = |module: &str, code: &str| vec![(module.to_owned(), production_code(code))];
    let up = upward(&planted("store", "use crate::engine::Engine;\n"));
    assert_eq!(
        up,
        BTreeSet::from([("store".to_owned(), "engine".to_owned())])
    );
    let inline = upward(&planted("model", "fn f() { crate::http::handle(); }"));
    assert!(inline.contains(&("model".to_owned(), "http".to_owned())));
    let unknown = upward(&planted("model", "use crate::newthing::X;"));
    assert!(unknown.contains(&("model".to_owned(), "newthing".to_owned())));
    assert!(upward(&planted("engine", "use crate::store::JobStore;")).is_empty());
    assert!(upward(&planted("store", "// see crate::engine::Engine\n")).is_empty());
    assert!(upward(&planted(
        "store",
        "fn f() {}\n#[cfg(test)]\nmod tests { use crate::engine::Engine; }"
    ))
    .is_empty());
}

/// The docs state the same order: README's project layout and
/// docs/ARCHITECTURE.md's module map each carry the sentence "The layers,
/// bottom first: …" (or "The library's layers, bottom first: …") naming
/// every module of [`LAYERS`] in order.
#[test]
fn the_docs_state_the_same_order() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for page in ["README.md", "docs/ARCHITECTURE.md"] {
        let text = std::fs::read_to_string(repo.join(page)).unwrap();
        let start = text
            .find("layers, bottom first:")
            .unwrap_or_else(|| panic!("{page} states the layers' order"));
        let sentence = &text[start..];
        let sentence = &sentence[..sentence.find(". ").unwrap_or(sentence.len())];
        let named: Vec<&str> = sentence.split('`').skip(1).step_by(2).collect();
        assert_eq!(named, LAYERS, "{page} states another order");
    }
}
