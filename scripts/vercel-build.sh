#!/usr/bin/env bash
# Builds the deployment locally exactly as Vercel's build machines do
# (`vercel build` with VERCEL_BUILD_IMAGE=1, so @vercel/rust runs plain
# `cargo build --release --bin <name>` for each function), then lists what
# would be served. Not part of scripts/test.sh: a cold build takes 11+
# minutes on two cores.
#
# Needs: the Vercel CLI (`npm i -g vercel`) and a linked project
# (`vercel link`, or a .vercel/project.json). Output: .vercel/output/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v vercel >/dev/null || { echo "vercel-build.sh: install the Vercel CLI: npm i -g vercel" >&2; exit 1; }
export VERCEL_TELEMETRY_DISABLED=1
VERCEL_BUILD_IMAGE=1 nice -n 19 vercel build --yes "$@"
echo "functions:" >&2
find .vercel/output/functions -name '*.func' -maxdepth 4 | sort >&2
echo "static files (should be public/ only):" >&2
find .vercel/output/static -type f | sort >&2
