# shellcheck shell=bash
# Sourced by the other scripts: one place for paths and versions.
# Cargo's output lives outside the clone so repeated runs (and CI on the same machine) reuse it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stepline/target}"
# CI builds each commit once: incremental caches would only grow the shared target dir run after run.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
# shellcheck disable=SC2034 # read by install-tools.sh, which sources this file
CARGO_LEPTOS_VERSION="0.3.8"
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, "", $0); print; exit }' "$ROOT/Cargo.lock" 2>/dev/null || true)"
WASM_BINDGEN_VERSION="${WASM_BINDGEN_VERSION:-0.2.130}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export STEPLINE_VENV="${STEPLINE_VENV:-$HOME/.cache/stepline/venv}"
# Where cargo-leptos writes the site (see [[workspace.metadata.leptos]] site-root).
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$ROOT/target/site}"
export LEPTOS_SITE_PKG_DIR="${LEPTOS_SITE_PKG_DIR:-pkg}"
export LEPTOS_OUTPUT_NAME="${LEPTOS_OUTPUT_NAME:-stepline}"
log() { printf '\n==> %s\n' "$*"; }

# The release build: `--precompress` writes every static file brotli- (quality 11) and gzip-compressed next
# to it, and the server sends those files as they are. cargo-leptos's gzip is a fast level (the wasm came out
# 17% larger than with gzip -9), and gzip is what browsers get over plain HTTP, so it is redone at -9.
build_release_site() {
  cargo leptos build --release --precompress
  local f
  for f in "$LEPTOS_SITE_ROOT/$LEPTOS_SITE_PKG_DIR"/*.wasm "$LEPTOS_SITE_ROOT/$LEPTOS_SITE_PKG_DIR"/*.js "$LEPTOS_SITE_ROOT/$LEPTOS_SITE_PKG_DIR"/*.css; do
    if [ -f "$f" ]; then gzip -9 -n -c "$f" > "$f.gz"; fi
  done
}
