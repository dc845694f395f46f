#!/usr/bin/env bash
# Builds the release site and serves the dashboard on http://127.0.0.1:3000 (LEPTOS_SITE_ADDR overrides).
source "$(dirname "$0")/env.sh"
cd "$ROOT"
log "building Stepline (release)"
cargo leptos build --release
log "serving on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
exec "$CARGO_TARGET_DIR/release/stepline" "$@"
