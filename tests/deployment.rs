//! The deployment surface, checked from the repository's own files: every
//! function file under `api/` has a `[[bin]]` (Vercel's Rust builder finds a
//! function's binary by that path) and a `vercel.json` entry, and the
//! reverse; only `public/` is served statically; `.vercelignore` keeps
//! secrets and tests out of the upload.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn api_files(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            api_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root()).unwrap();
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The `path` of every `[[bin]]` of the root manifest.
fn bin_paths() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut out = BTreeSet::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            if let Some(v) = line.strip_prefix("path") {
                let v = v.trim_start().trim_start_matches('=').trim();
                out.insert(v.trim_matches('"').to_owned());
            }
        }
    }
    out
}

#[test]
fn every_function_has_a_bin_and_a_vercel_entry_and_the_reverse() {
    let mut files = BTreeSet::new();
    api_files(&root().join("api"), &mut files);
    assert!(files.len() >= 10, "{files:?}");
    assert_eq!(bin_paths(), files, "[[bin]] paths vs files under api/");
    let vercel: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("vercel.json")).unwrap())
            .unwrap();
    let functions: BTreeSet<String> = vercel["functions"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        functions, files,
        "vercel.json functions vs files under api/"
    );
    assert!(files.contains("api/professional-report/[job_id].rs"));
}

/// The functions that hold a request open must be allowed to: the status
/// function's long poll (`?wait`, at most 25 s) and the synchronous route's
/// wait (`SYNC_REPORT_WAIT_SECS`, at most 290 s) each end below the
/// function's `maxDuration`, with room for the answer.
#[test]
fn functions_that_wait_have_the_time_to() {
    let vercel: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("vercel.json")).unwrap())
            .unwrap();
    let max = |f: &str| vercel["functions"][f]["maxDuration"].as_u64().unwrap_or(0);
    assert!(max("api/professional-report/status/[job_id].rs") >= 25 + 5);
    assert!(max("api/professional-report.rs") >= 290 + 5);
}

#[test]
fn one_function_serves_every_console_path() {
    let vercel: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("vercel.json")).unwrap())
            .unwrap();
    assert!(vercel["functions"]["api/ops.rs"].is_object());
    assert!(bin_paths().contains("api/ops.rs"));
    // Every sub-path reaches that function, which reads it back from
    // `path` (care_report::http::ConsolePath).
    let rewrites = vercel["rewrites"].as_array().unwrap();
    assert!(
        rewrites.iter().any(|r| r["source"] == "/api/ops/:path*"
            && r["destination"] == "/api/ops?path=:path*"),
        "{rewrites:?}"
    );
    let shim = std::fs::read_to_string(root().join("api/ops.rs")).unwrap();
    assert!(shim.contains("Endpoint::Ops"));
}

#[test]
fn only_public_is_served_and_secrets_stay_out_of_the_upload() {
    // With a public/ folder Vercel's zero-config static build serves
    // public/** only, instead of every repository file.
    let public = root().join("public");
    assert!(public.is_dir());
    let vercel = std::fs::read_to_string(root().join("vercel.json")).unwrap();
    assert!(!vercel.contains("outputDirectory") || vercel.contains("\"public\""));
    let ignore = std::fs::read_to_string(root().join(".vercelignore")).unwrap();
    let lines: BTreeSet<&str> = ignore.lines().map(str::trim).collect();
    for needed in [
        ".env",
        ".env.*",
        "target/",
        "tests/",
        "lib/tests/",
        "dev-server/tests/",
    ] {
        assert!(lines.contains(needed), ".vercelignore lacks {needed}");
    }
    // Cargo needs every workspace member and the library's sources.
    for kept in [
        "lib/",
        "lib/src/",
        "dev-server/",
        "bench/",
        "api/",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        assert!(!lines.contains(kept), ".vercelignore must not drop {kept}");
    }
    let toolchain = std::fs::read_to_string(root().join("rust-toolchain.toml")).unwrap();
    assert!(toolchain.contains("channel = \"1.95.0\""));
}
