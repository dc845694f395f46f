#!/usr/bin/env bash
# Runs every test: the Rust suites of all workspace members, then the end-to-end suite in headless Chromium
# against a real server on a free loopback port, and the emulator's contract with boto3.
# `scripts/test.sh rust|boto3|e2e` runs one part.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
part="${1:-all}"

# Every runner's output is also kept, so one closing line can count the tests of all of them.
results="$(mktemp)"
exec > >(tee "$results") 2>&1
summary() {
  local passed failed
  passed=$(( $(grep -Eo 'test result: (ok|FAILED)\. [0-9]+ passed' "$results" | awk '{s+=$4} END {print s+0}') \
           + $(grep -Eo '[0-9]+ passed(,| in)' "$results" | awk '{s+=$1} END {print s+0}') \
           + $(grep -Eo '^ℹ pass [0-9]+' "$results" | awk '{s+=$3} END {print s+0}') ))
  failed=$(( $(grep -Eo '[0-9]+ failed;' "$results" | awk '{s+=$1} END {print s+0}') \
           + $(grep -Eo '[0-9]+ failed(,| in)' "$results" | awk '{s+=$1} END {print s+0}') \
           + $(grep -Eo '^ℹ fail [0-9]+' "$results" | awk '{s+=$3} END {print s+0}') ))
  printf '\nsummary: %d passed, %d failed\n' "$passed" "$failed"
}
trap 'summary; rm -f "$results"' EXIT

# Test binaries of earlier commits (each carries the SDK's debug info, up to 1 GB) and incremental caches pile
# up in the shared target dir: a busy day of commits filled a 90 GB disk. Remove what was not rebuilt for six
# hours before building new ones; what is removed is rebuilt when next needed.
if [ -d "$CARGO_TARGET_DIR/debug/deps" ]; then
  find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -executable ! -name '*.so' -mmin +360 -delete 2>/dev/null || true
fi
if [ -d "$CARGO_TARGET_DIR/debug/incremental" ]; then
  find "$CARGO_TARGET_DIR/debug/incremental" -mindepth 1 -maxdepth 1 -type d -mmin +360 -exec rm -rf {} + 2>/dev/null || true
fi

if [ "$part" = all ] || [ "$part" = rust ]; then
  log "Rust tests (all workspace members)"
  cargo test --workspace --features ssr
fi

if [ "$part" = all ] || [ "$part" = boto3 ]; then
  log "emulator contract with boto3 (pytest)"
  venv="$HOME/.cache/stepline/venv"
  req="$ROOT/crates/emulator/tests/python/requirements.txt"
  if [ ! -x "$venv/bin/pytest" ] || ! cmp -s "$req" "$venv/.stepline-requirements"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.stepline-requirements"
  fi
  cargo build -p stepline-emulator --bin stepline-emulator
  out="$(mktemp)"
  "$CARGO_TARGET_DIR/debug/stepline-emulator" --addr 127.0.0.1:0 --speed 20000 > "$out" 2>&1 &
  emulator=$!
  for _ in $(seq 1 100); do grep -q listening "$out" && break; sleep 0.1; done
  export STEPLINE_EMULATOR_URL="$(awk '/listening/ {print $NF}' "$out")"
  status=0
  "$venv/bin/pytest" -q "$ROOT/crates/emulator/tests/python" || status=$?
  kill $emulator 2>/dev/null || true
  rm -f "$out"
  [ $status = 0 ] || exit $status
fi

if [ "$part" = all ] || [ "$part" = e2e ]; then
  log "building the site for the end-to-end tests"
  cargo leptos build
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export STEPLINE_URL="http://127.0.0.1:$port"
  log "starting Stepline on $STEPLINE_URL"
  LEPTOS_SITE_ADDR="127.0.0.1:$port" "$CARGO_TARGET_DIR/debug/stepline" > "$CARGO_TARGET_DIR/e2e-server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true; summary; rm -f "$results"' EXIT
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$STEPLINE_URL/healthz" 2>/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$CARGO_TARGET_DIR/e2e-server.log"; echo "server exited"; exit 1; }
    sleep 0.2
  done
  # The demo's emulator: the tests start executions through it, as any SageMaker client would.
  export STEPLINE_EMULATOR_URL="$(grep -o 'emulator at http://[0-9.:]*' "$CARGO_TARGET_DIR/e2e-server.log" | head -1 | cut -d' ' -f3)"
  log "end-to-end tests in headless Chromium"
  (cd end2end && npm test) || { echo "--- server log ---"; tail -50 "$CARGO_TARGET_DIR/e2e-server.log"; exit 1; }
fi
