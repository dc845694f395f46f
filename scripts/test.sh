#!/usr/bin/env bash
# Runs every test: the Rust suites of all workspace members, then the end-to-end suite in headless Chromium
# against a real server on a free loopback port. `scripts/test.sh rust` or `scripts/test.sh e2e` runs one part.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
part="${1:-all}"

if [ "$part" = all ] || [ "$part" = rust ]; then
  log "Rust tests (all workspace members)"
  cargo test --workspace --features ssr
fi

if [ "$part" = all ] || [ "$part" = e2e ]; then
  log "building the site for the end-to-end tests"
  cargo leptos build
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export STEPLINE_URL="http://127.0.0.1:$port"
  log "starting Stepline on $STEPLINE_URL"
  LEPTOS_SITE_ADDR="127.0.0.1:$port" "$CARGO_TARGET_DIR/debug/stepline" > "$CARGO_TARGET_DIR/e2e-server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$STEPLINE_URL/" 2>/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$CARGO_TARGET_DIR/e2e-server.log"; echo "server exited"; exit 1; }
    sleep 0.2
  done
  log "end-to-end tests in headless Chromium"
  (cd end2end && npm test) || { echo "--- server log ---"; tail -50 "$CARGO_TARGET_DIR/e2e-server.log"; exit 1; }
fi
