#!/usr/bin/env bash
# Screenshots of every page, for reviewing visual changes: starts the release server (demo mode, with its
# built-in emulator) on a free loopback port and runs end2end/screenshots.mjs against it in headless Chromium.
#
#   scripts/screenshots.sh [OUTDIR]     (default: screenshots, relative to the current directory)
#
# OUTDIR gets <page>-light.png, <page>-dark.png (1280×900) and <page>-390.png (390 px wide, light) per page.
#
# It builds nothing: it runs what `scripts/test.sh e2e` or `make run` last built (the release server and the
# release site), so build with one of them first, after any change that should show.
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"

# A relative OUTDIR is the caller's, not the repository root's.
outdir="${1:-screenshots}"
case "$outdir" in /*) ;; *) outdir="$PWD/$outdir" ;; esac
cd "$ROOT" || exit 1

server_bin="$CARGO_TARGET_DIR/release/stepline"
pkg="$LEPTOS_SITE_ROOT/$LEPTOS_SITE_PKG_DIR"
if [ ! -x "$server_bin" ]; then
  echo "screenshots: no release server at $server_bin; build it with scripts/test.sh e2e or make run" >&2
  exit 1
fi
if [ ! -d "$pkg" ]; then
  echo "screenshots: no release site at $pkg; build it with scripts/test.sh e2e or make run" >&2
  exit 1
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export STEPLINE_URL="http://127.0.0.1:$port"
server_log="$(mktemp)"
server=""
on_exit() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -f "$server_log"
}
trap on_exit EXIT

log "starting Stepline on $STEPLINE_URL"
LEPTOS_SITE_ADDR="127.0.0.1:$port" "$server_bin" > "$server_log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "$STEPLINE_URL/healthz" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$server_log"; echo "screenshots: the server exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS -o /dev/null "$STEPLINE_URL/healthz" 2>/dev/null || {
  tail -50 "$server_log"; echo "screenshots: the server did not answer /healthz within 60 s" >&2; exit 1;
}
# The demo's emulator: the screenshots find the seeded executions' ids through it.
STEPLINE_EMULATOR_URL="$(grep -o 'emulator at http://[0-9.:]*' "$server_log" | head -1 | cut -d' ' -f3)"
if [ -z "$STEPLINE_EMULATOR_URL" ]; then
  cat "$server_log"; echo "screenshots: no emulator URL in the server's log (is it in demo mode?)" >&2; exit 1
fi
export STEPLINE_EMULATOR_URL

log "screenshots into $outdir"
node end2end/screenshots.mjs "$outdir" || { echo "--- server log ---"; tail -50 "$server_log"; exit 1; }
