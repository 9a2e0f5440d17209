#!/usr/bin/env bash
# The project's test command (README.md "Tests"; .ci/run runs exactly this).
#
# 1. makes sure a `redis-server` binary exists (installs Debian's package when
#    missing and we may: root or passwordless sudo);
# 2. starts a private, disk-less redis-server on a free port, only for this
#    run, and stops it on exit: the tests never touch anyone's Redis;
# 3. checks formatting and lints, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "test.sh: redis-server not found; installing Debian's redis-server" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  # Debian's package starts a system service on 6379; we do not use it.
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

REDIS_DIR=$(mktemp -d)
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$REDIS_DIR" --daemonize no --logfile "$REDIS_DIR/redis.log" &
REDIS_PID=$!
cleanup() { kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; rm -rf "$REDIS_DIR"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then break; fi
  sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping >/dev/null
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
echo "test.sh: private redis-server on $TEST_REDIS_URL" >&2

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
