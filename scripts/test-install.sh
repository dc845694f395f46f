#!/usr/bin/env bash
# Runs every install branch of scripts/install-tools.sh for real, so a broken one fails the tests instead of a
# new user's first `make test`. The script runs in a scratch copy of the checkout with what counts as present
# pointed at missing paths: Chromium, the npm packages (the copy has no node_modules) and the virtualenv. The
# real clients run (apt-get, npm, pip) against the package registries; nothing is mocked. A second run must
# then find everything present and install nothing.
#
# The Rust tools (the wasm32 target, cargo-leptos, wasm-bindgen-cli) are not re-installed here: compiling
# cargo-leptos alone takes 14 minutes. Their branches are single `rustup`/`cargo install` lines.
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/copy/end2end" "$scratch/copy/crates/emulator/tests/python"
cp -a scripts Cargo.lock rust-toolchain.toml "$scratch/copy/"
cp end2end/package.json end2end/package-lock.json "$scratch/copy/end2end/"
cp crates/emulator/tests/python/requirements.txt "$scratch/copy/crates/emulator/tests/python/"

# shellcheck source=check.sh
source "$ROOT/scripts/check.sh"

first="$scratch/first.log"
second="$scratch/second.log"
venv="$scratch/venv"

echo "first run: Chromium, npm packages and the virtualenv counted as missing"
status=0
CHROMIUM="$scratch/no-chromium" STEPLINE_VENV="$venv" bash "$scratch/copy/scripts/install-tools.sh" > "$first" 2>&1 || status=$?
check "the first run exits 0 (it exited $status)" test "$status" = 0
check "it installed Chromium from Debian" grep -q '^==> installing Chromium from Debian' "$first"
check "Debian's Chromium runs" /usr/bin/chromium --version
check "it installed the npm packages" grep -q '^==> installing end-to-end test packages from npm' "$first"
check "playwright-core and wasm-opt are in the copy" test -f "$scratch/copy/end2end/node_modules/playwright-core/package.json" -a -x "$scratch/copy/end2end/node_modules/.bin/wasm-opt"
check "it made the virtualenv" grep -q '^==> installing boto3, pytest and podman-compose from PyPI' "$first"
check "boto3 imports in the virtualenv" "$venv/bin/python" -c 'import boto3, pytest'
check "podman-compose is in the virtualenv" test -x "$venv/bin/podman-compose"

echo "second run: everything is present"
status=0
STEPLINE_VENV="$venv" bash "$scratch/copy/scripts/install-tools.sh" > "$second" 2>&1 || status=$?
check "the second run exits 0 (it exited $status)" test "$status" = 0
check "the second run installs nothing" bash -c "! grep -q '^==> installing' '$second'"

# The same Debian branch as a user with sudo. Run as such a user, the first run above already took it; run
# as root, a throwaway user allowed sudo runs it, and is removed after.
if [ "$(id -u)" = 0 ]; then
  user="stepline-install-check"
  sudo_log="$scratch/sudo.log"
  command -v sudo >/dev/null 2>&1 || env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sudo > "$sudo_log" 2>&1
  id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
  echo "$user ALL=(root) NOPASSWD: /usr/bin/env" > "/etc/sudoers.d/$user"
  chmod 0440 "/etc/sudoers.d/$user"
  trap 'rm -f "/etc/sudoers.d/$user"; userdel -r "$user" 2>/dev/null; rm -rf "$scratch"' EXIT
  chmod -R a+rX "$scratch"
  status=0
  runuser -u "$user" -- env PATH="$PATH" CHROMIUM="$scratch/no-chromium" STEPLINE_INSTALL_ONLY=debian \
    bash "$scratch/copy/scripts/install-tools.sh" >> "$sudo_log" 2>&1 || status=$?
  check "a user with sudo installs Debian's packages through sudo (it exited $status)" test "$status" = 0
  check "that run went through the install branch" grep -q '^==> installing Chromium from Debian' "$sudo_log"
else
  echo "running as a user: the first run above took the sudo branch"
fi

if [ "$failed" -gt 0 ]; then
  echo "--- first run ---"; cat "$first"
  echo "--- second run ---"; cat "$second"
  [ -f "${sudo_log:-}" ] && { echo "--- as a user with sudo ---"; cat "$sudo_log"; }
fi
echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
