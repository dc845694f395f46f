#!/usr/bin/env bash
# Builds the release site (static files also written compressed, which the server sends as they are; see
# build_release_site in env.sh) and serves the dashboard on http://127.0.0.1:3000 (LEPTOS_SITE_ADDR overrides).
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1
log "building Stepline (release)"
build_release_site
log "serving on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
exec "$CARGO_TARGET_DIR/release/stepline" "$@"
