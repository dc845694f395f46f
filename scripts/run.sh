#!/usr/bin/env bash
# Builds the release site (static files also written brotli-compressed at the highest level, which the
# server sends as they are) and serves the dashboard on http://127.0.0.1:3000 (LEPTOS_SITE_ADDR overrides).
source "$(dirname "$0")/env.sh"
cd "$ROOT"
log "building Stepline (release)"
cargo leptos build --release --precompress
log "serving on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
exec "$CARGO_TARGET_DIR/release/stepline" "$@"
