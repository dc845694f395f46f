#!/usr/bin/env bash
# The Rust and boto3 suites on a machine made slow: pinned to one core (taskset -c 0) while a CPU hog keeps
# the other busy, so each test sees well under half the machine it usually has. No test may depend on how fast
# the machine is (they drive the emulator's clock instead of racing the wall clock); this is how that is
# checked. Builds what it needs first (not pinned), then runs the suites pinned.
#
#   scripts/slow-machine.sh [rust|boto3|all]
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1
part="${1:-all}"
case "$part" in all|rust|boto3) ;; *) echo "usage: scripts/slow-machine.sh [rust|boto3|all]" >&2; exit 2 ;; esac
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || echo "one core only: the suites run on it beside the hog"

log "building the test binaries and the emulator (not pinned)"
cargo test --release --workspace --no-run
cargo build --release --workspace --bins

hog_core=$(( $(nproc) > 1 ? 1 : 0 ))
taskset -c "$hog_core" sh -c 'while :; do :; done' &
hog=$!
cleanup=("kill $hog 2>/dev/null || true")
# shellcheck disable=SC2317 # run by the EXIT trap
on_exit() {
  local c
  for c in "${cleanup[@]}"; do eval "$c"; done
}
trap on_exit EXIT
log "a CPU hog on core $hog_core; the suites on core 0"

status=0
if [ "$part" = all ] || [ "$part" = rust ]; then
  pg_dir="$(mktemp -d)"
  pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  if STEPLINE_TEST_DATABASE_URL="$(scripts/postgres.sh start "$pg_dir" "$pg_port")"; then
    export STEPLINE_TEST_DATABASE_URL
    cleanup+=("scripts/postgres.sh stop $pg_dir")
  fi
  log "Rust tests, pinned to core 0"
  taskset -c 0 cargo test --release --workspace --no-fail-fast || status=1
fi
if [ "$part" = all ] || [ "$part" = boto3 ]; then
  out="$(mktemp)"
  taskset -c 0 "$CARGO_TARGET_DIR/release/stepline-emulator" --addr 127.0.0.1:0 --speed 20000 > "$out" 2>&1 &
  cleanup+=("kill $! 2>/dev/null || true; rm -f $out")
  for _ in $(seq 1 300); do grep -q listening "$out" && break; sleep 0.1; done
  STEPLINE_EMULATOR_URL="$(awk '/listening/ {print $NF}' "$out")"
  export STEPLINE_EMULATOR_URL
  log "boto3 contract tests, pinned to core 0"
  taskset -c 0 "$STEPLINE_VENV/bin/pytest" -q "$ROOT/crates/emulator/tests/python" || status=1
fi
exit "$status"
