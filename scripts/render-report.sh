#!/usr/bin/env bash
# Renders a complete and a partial report as a person sees them, for a look
# by eye (not run by CI):
#   out/complete.html.png  the HTML page (headless Chromium, full height)
#   out/complete.pdf, out/complete-N.png  the PDF and its pages (pdftoppm)
#   and the same for partial (SANDBOX_FAULTS="google_places:status=503").
# Usage: scripts/render-report.sh [out-dir]   (default target/render)
# Needs chromium and poppler-utils (installed with apt-get when missing and
# we may: root or passwordless sudo), curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/render}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

need() { command -v "$1" >/dev/null 2>&1; }
if ! need chromium || ! need pdftoppm; then
  SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium poppler-utils >/dev/null
fi

cargo build -q -p dev-server
BIN="${CARGO_TARGET_DIR:-target}/debug/dev-server"

render() { # name faults
  local name=$1 faults=$2 log="$OUT/$1.dev-server.log"
  PORT=0 SANDBOX_FAULTS="$faults" RUST_LOG=warn "$BIN" >"$OUT/$name.stdout" 2>"$log" &
  local pid=$!
  local base=""
  for _ in $(seq 1 100); do
    base=$(sed -n 's/^listening on //p' "$OUT/$name.stdout" || true)
    [ -n "$base" ] && break
    sleep 0.1
  done
  [ -n "$base" ] || { kill "$pid"; echo "dev-server did not start (see $log)" >&2; exit 1; }
  local id
  id=$(curl -fsS -X POST "$base/api/professional-report" -H 'content-type: application/json' \
    --data @dev-server/samples/questionnaire.json | jq -r .report.jobId)
  curl -fsS -H 'accept: text/html' "$base/api/professional-report/result/$id" -o "$OUT/$name.html"
  curl -fsS "$base/api/professional-report/result/$id?format=pdf" -o "$OUT/$name.pdf"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1000,6000 --screenshot="$OUT/$name.html.png" "file://$OUT/$name.html" 2>/dev/null
  pdftoppm -r 60 -png "$OUT/$name.pdf" "$OUT/$name"
  echo "$name: $(ls "$OUT/$name"-*.png | wc -l) PDF pages, $OUT/$name.html.png"
}

render complete ""
render partial "google_places:status=503"
