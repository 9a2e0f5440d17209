#!/usr/bin/env bash
# The benchmarks (BENCHMARKS.md): builds the release binaries and runs the
# `bench` tool, which starts everything it measures itself (a private
# redis-server on a free port, the dev-server and function binaries on free
# ports) and prints Markdown tables on stdout.
#
#   scripts/bench.sh              # every scenario (about 5 minutes on 2 cores)
#   scripts/bench.sh api --secs 3 # one scenario, shorter load points
#   scripts/bench.sh --help       # every option
#
# Needs redis-server and redis-benchmark (Debian's redis-server and
# redis-tools packages); installs them when missing and we may (root or
# passwordless sudo). Never touches the shared Redis on port 6379.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench.sh: installing Debian's ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --locked --workspace --bins >&2
if [ "$#" -eq 0 ]; then set -- all; fi
exec target/release/bench "$@"
