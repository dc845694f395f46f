#!/usr/bin/env bash
# Installs what Stepline needs and is missing, from the package registries only. Each tool is skipped when
# it is already there at the right version, so this is cheap to run every time.
source "$(dirname "$0")/env.sh"
cd "$ROOT"

# The Rust toolchain and the wasm32 target come from rust-toolchain.toml. rustup installs a missing
# toolchain on first use, but does not add a target to a toolchain that is already there: ask explicitly.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads: it must not fetch binaries itself; ~15 min)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (the version in Cargo.lock)"
  # Not --locked: one dependency in its lock file is no longer on the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ ! -x "$CHROMIUM" ]; then
  log "installing Chromium from Debian"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update
  $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

# npm packages: playwright-core (drives Debian's Chromium; never downloads a browser) and binaryen's wasm-opt.
stamp="$ROOT/end2end/node_modules/.stepline-lock"
if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/end2end/package-lock.json" "$stamp"; then
  log "installing end-to-end test packages from npm"
  (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
  cp "$ROOT/end2end/package-lock.json" "$stamp"
fi
