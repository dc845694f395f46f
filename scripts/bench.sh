#!/usr/bin/env bash
# Performance benchmarks. Builds the release site, runs the server-side bench (benches/dashboard.rs: upstream
# calls with 1/100 SSE clients, execution page render at 300/2,000 steps, a 5,000-execution list, memory
# with 200 SSE clients), then starts the release server in demo mode on a free loopback port and measures
# in headless Chromium (end2end/bench/interactive.mjs) the 2,000-step execution page's time to interactive
# and the compressed first-load bytes of `/`, a demo execution page and that page. Prints both reports. Every step is bounded in time.
#
# The machine may be shared: each cargo / cargo-leptos command waits until no other one runs.
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1

out="$CARGO_TARGET_DIR/bench"
mkdir -p "$out"
server_report="$out/dashboard.md"
browser_report="$out/interactive.md"
server_log="$out/server.log"
: > "$server_report"
: > "$browser_report"

wait_for_cargo() {
  while pgrep -x cargo >/dev/null || pgrep -f cargo-leptos >/dev/null; do sleep 15; done
}

server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
}
trap cleanup EXIT

log "building the release site (cargo leptos build --release --precompress)"
wait_for_cargo
timeout 3600 bash -c 'source scripts/env.sh && build_release_site'
# Snapshot the release site and binary at once: a debug `cargo leptos build` (scripts/test.sh e2e) writes
# the same target/site, and a wasm from another build need not hydrate the release server's pages.
site="$out/site"
rm -rf "$site" "$out/stepline" "$out/hash.txt"
cp -a "$LEPTOS_SITE_ROOT" "$site"
cp "$CARGO_TARGET_DIR/release/stepline" "$out/stepline"
# The content hashes of the site's file names, read beside the binary (see crates/core/src/assets.rs).
cp "$CARGO_TARGET_DIR/release/hash.txt" "$out/hash.txt"

log "building the server bench (cargo bench --no-run)"
wait_for_cargo
timeout 3600 cargo bench --bench dashboard --no-run

log "server bench (benches/dashboard.rs, about 2 minutes)"
wait_for_cargo
status=0
timeout 1500 cargo bench --bench dashboard | tee "$server_report" || status=$?

log "starting the release server"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export STEPLINE_URL="http://127.0.0.1:$port"
LEPTOS_SITE_ROOT="$site" LEPTOS_SITE_ADDR="127.0.0.1:$port" timeout 1200 "$out/stepline" > "$server_log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null --max-time 2 "$STEPLINE_URL/healthz" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$server_log"; echo "the release server exited"; exit 1; }
  sleep 0.2
done
curl -fsS -o /dev/null --max-time 2 "$STEPLINE_URL/healthz" || { cat "$server_log"; echo "the release server did not answer"; exit 1; }
STEPLINE_EMULATOR_URL="$(grep -o 'emulator at http://[0-9.:]*' "$server_log" | head -1 | cut -d' ' -f3)"
export STEPLINE_EMULATOR_URL
echo "dashboard $STEPLINE_URL, demo emulator $STEPLINE_EMULATOR_URL"

log "browser bench (end2end/bench/interactive.mjs)"
bstatus=0
(cd end2end && timeout 900 node bench/interactive.mjs) | tee "$browser_report" || bstatus=$?
cleanup
server=""

log "results"
cat "$server_report"
cat "$browser_report"
echo
echo "reports kept in $out"
[ "$status" = 0 ] || { echo "server bench failed (exit $status)"; exit "$status"; }
[ "$bstatus" = 0 ] || { echo "browser bench failed (exit $bstatus)"; exit "$bstatus"; }
