#!/usr/bin/env bash
# Installs what Stepline needs and is missing, from the package registries only. Each tool is skipped when
# it is already there at the right version, so this is cheap to run every time. Every branch that installs
# prints a line starting with "==> installing"; scripts/test-install.sh runs each of them for real.
#
# What counts as present can be pointed elsewhere (that is how the install test makes each branch run):
#   CHROMIUM        the browser the end-to-end tests launch (default /usr/bin/chromium, Debian's package)
#   STEPLINE_VENV   the Python virtualenv with boto3 and pytest (default ~/.cache/stepline/venv)
#   the npm packages live in end2end/node_modules of the checkout the script runs from.
# STEPLINE_INSTALL_ONLY=rust|debian|npm|python runs one part alone (the install test runs the Debian part
# as a user with sudo).
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1

# Debian's packages need root. An environment assignment must follow `env` (or sudo), never an empty
# variable: `$SUDO VAR=x cmd` with SUDO="" makes the assignment the command word, and fails as root.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "installing Debian packages needs root or sudo; as root run: $*" >&2
    return 1
  fi
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# The tools are built with a light release profile: no LTO, many codegen units, no debug info. Cargo's
# configuration (here its environment) overrides the profile in a tool's own Cargo.toml.
tool_profile() {
  env CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=2 CARGO_PROFILE_RELEASE_INCREMENTAL=false "$@"
}

install_rust() {
  # The Rust toolchain and the wasm32 target come from rust-toolchain.toml. rustup installs a missing
  # toolchain on first use, but does not add a target to a toolchain that is already there: ask explicitly.
  rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads: it must not fetch binaries itself)"
    echo "    This compiles about 600 crates once, on 2 cores in about 10 minutes. Later runs skip it."
    # Its own release profile links with fat LTO and one codegen unit: minutes in one single-threaded link
    # step for a tool whose speed does not matter here. These overrides build it on both cores.
    tool_profile cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (the version in Cargo.lock)"
    # Not --locked: one dependency in its lock file is no longer on the registry.
    tool_profile cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

install_debian() {
  if [ ! -x "$CHROMIUM" ]; then
    log "installing Chromium from Debian"
    apt_install chromium
    # Debian's package puts it at /usr/bin/chromium; a CHROMIUM pointed elsewhere must be made by its owner.
    /usr/bin/chromium --version
  fi
  # The activity log's tests also run against PostgreSQL's server (scripts/postgres.sh starts one).
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing PostgreSQL from Debian"
    apt_install postgresql
  fi
  # The image test builds and runs deploy/Dockerfile with Debian's podman (runc: crun refuses some hosts'
  # cgroups) on a base image mmdebstrap makes from Debian's packages.
  if ! command -v podman >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
    log "installing podman, runc and mmdebstrap from Debian"
    apt_install podman runc mmdebstrap uidmap
  fi
  # Names between containers of a compose project, on podman's CNI networks (Debian 12; newer podman has
  # them built in).
  if [ -d /usr/lib/cni ] && [ ! -x /usr/lib/cni/dnsname ] && apt-cache show golang-github-containernetworking-plugin-dnsname >/dev/null 2>&1; then
    log "installing podman's dnsname plugin from Debian"
    apt_install golang-github-containernetworking-plugin-dnsname
  fi
  # The test command also lints the scripts with Debian's shellcheck.
  if ! command -v shellcheck >/dev/null 2>&1; then
    log "installing shellcheck from Debian"
    apt_install shellcheck
  fi
}

install_npm() {
  # playwright-core (drives Debian's Chromium; never downloads a browser), binaryen's wasm-opt, and axe-core
  # (the accessibility rules the end-to-end suite checks every page against).
  local stamp="$ROOT/end2end/node_modules/.stepline-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/end2end/package-lock.json" "$stamp"; then
    log "installing end-to-end test packages from npm"
    (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
    cp "$ROOT/end2end/package-lock.json" "$stamp"
  fi
}

install_python() {
  # The emulator's contract is also checked with boto3 (pytest), from PyPI, in a virtualenv of its own.
  # The image test's podman-compose too (scripts/requirements.txt).
  local req="$ROOT/crates/emulator/tests/python/requirements.txt" tools="$ROOT/scripts/requirements.txt"
  if [ ! -x "$STEPLINE_VENV/bin/pytest" ] || ! cat "$req" "$tools" | cmp -s - "$STEPLINE_VENV/.stepline-requirements"; then
    log "installing boto3, pytest and podman-compose from PyPI into $STEPLINE_VENV"
    python3 -m venv "$STEPLINE_VENV"
    "$STEPLINE_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req" -r "$tools"
    cat "$req" "$tools" > "$STEPLINE_VENV/.stepline-requirements"
  fi
}

for part in rust debian npm python; do
  if [ -z "${STEPLINE_INSTALL_ONLY:-}" ] || [ "$STEPLINE_INSTALL_ONLY" = "$part" ]; then
    "install_$part"
  fi
done
