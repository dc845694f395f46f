#!/usr/bin/env bash
# Runs every test: the lints (formatting, shellcheck, one feature set for every build, clippy on both targets),
# the install script's every branch, the Rust suites of all workspace members, the release build, the
# emulator's contract with boto3, the release bundle, and the end-to-end suite in headless Chromium against a
# real server on a free loopback port.
# `scripts/test.sh lint|install|rust|build|boto3|bundle|image|e2e` runs one part (and the build it needs).
#
# Run whole, each part runs in a process of its own and a red part never stops the others: the closing
# `summary: N passed, M failed` counts every runner's tests (a part that failed without a failing test, say a
# compile error, counts as one failure), a line per part says how it ended and how long it took, and the exit
# code is non-zero when anything failed. The install check needs the network and little CPU: it runs beside
# the compiling parts.
#
# Everything on the server side is built in the release profile, the one `make run` uses: whichever of the
# two README commands runs second reuses what the first compiled.
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1
part="${1:-all}"
case "$part" in
  all|lint|install|rust|build|boto3|bundle|image|e2e) ;;
  *) echo "usage: scripts/test.sh [all|lint|install|rust|build|boto3|bundle|image|e2e]" >&2; exit 2 ;;
esac

# Counts the tests every runner reported in FILE: "PASSED FAILED".
count_tests() {
  local file="$1" passed failed
  count() { { grep -Eo "$1" "$file" || true; } | awk -v f="$2" '{s+=$f} END {print s+0}'; }
  passed=$(( $(count 'test result: (ok|FAILED)\. [0-9]+ passed' 4) + $(count '[0-9]+ passed(,| in)' 1) \
           + $(count '^ℹ pass [0-9]+' 3) ))
  failed=$(( $(count '[0-9]+ failed;' 1) + $(count '[0-9]+ failed(,| in)' 1) + $(count '^ℹ fail [0-9]+' 3) ))
  echo "$passed $failed"
}

if [ "$part" = all ]; then
  # The whole run: each part a child process (STEPLINE_TEST_PART tells it not to print a summary of its own).
  export STEPLINE_TEST_PART=1
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  report=()
  total_passed=0
  total_failed=0
  parts_failed=0
  finish_part() { # NAME STATUS SECONDS: counts the part's tests from its log
    local name="$1" status="$2" took="$3" p f
    read -r p f < <(count_tests "$work/$name.log")
    if [ "$status" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    if [ "$status" = 0 ]; then
      report+=("$(printf '  %-8s ok      %5ss  %s passed' "$name" "$took" "$p")")
    else
      parts_failed=$((parts_failed + 1))
      report+=("$(printf '  %-8s FAILED  %5ss  %s passed, %s failed (exit %s)' "$name" "$took" "$p" "$f" "$status")")
    fi
  }
  run_part() { # NAME: runs `scripts/test.sh NAME`, its output shown and kept
    local name="$1" start=$SECONDS status=0
    log "part: $name"
    # The part's own exit status, not tee's (and not the `|| true` that keeps errexit from ending the run).
    { "$ROOT/scripts/test.sh" "$name" 2>&1 | tee "$work/$name.log"; status="${PIPESTATUS[0]}"; } || true
    finish_part "$name" "$status" $((SECONDS - start))
    return "$status"
  }
  skip_part() { # NAME WHY
    echo "not run: $1 ($2)" > "$work/$1.log"
    log "part: $1 not run: $2"
    finish_part "$1" 1 0
  }

  install_start=$SECONDS
  "$ROOT/scripts/test.sh" install > "$work/install.log" 2>&1 &
  install_pid=$!

  run_part lint || true
  run_part rust || true
  if run_part build; then
    run_part boto3 || true
    run_part bundle || true
    run_part image || true
    run_part e2e || true
  else
    for p in boto3 bundle image e2e; do skip_part "$p" "the release build failed"; done
  fi

  status=0
  wait "$install_pid" || status=$?
  log "part: install (ran beside the others)"
  cat "$work/install.log"
  finish_part install "$status" $((SECONDS - install_start))

  printf '\nparts:\n'
  printf '%s\n' "${report[@]}"
  printf '\nsummary: %d passed, %d failed\n' "$total_passed" "$total_failed"
  [ "$parts_failed" = 0 ] && [ "$total_failed" = 0 ]
  exit
fi

wants() { [ "$part" = "$1" ]; }
cleanup=()
on_exit() {
  local c p f
  for c in "${cleanup[@]}"; do eval "$c"; done
  if [ -z "${STEPLINE_TEST_PART:-}" ]; then
    read -r p f < <(count_tests "$results")
    printf '\nsummary: %d passed, %d failed\n' "$p" "$f"
  fi
  rm -f "$results"
}
# Every runner's output is also kept, so one closing line can count the tests of all of them.
results="$(mktemp)"
exec > >(tee "$results") 2>&1
trap on_exit EXIT

# Test binaries of earlier commits and incremental caches pile up in the shared target dir: a busy day of
# commits filled a 90 GB disk. Remove what was not rebuilt for six hours before building new ones; what is
# removed is rebuilt when next needed.
for profile in debug release; do
  if [ -d "$CARGO_TARGET_DIR/$profile/deps" ]; then
    find "$CARGO_TARGET_DIR/$profile/deps" -maxdepth 1 -type f -executable ! -name '*.so' -mmin +360 -delete 2>/dev/null || true
  fi
  if [ -d "$CARGO_TARGET_DIR/$profile/incremental" ]; then
    find "$CARGO_TARGET_DIR/$profile/incremental" -mindepth 1 -maxdepth 1 -type d -mmin +360 -exec rm -rf {} + 2>/dev/null || true
  fi
done

if wants lint; then
  log "lints: cargo fmt --check, shellcheck, imports one way, one feature set for every build, clippy (server and browser targets) with warnings as errors"
  # shellcheck source=check.sh
  source "$ROOT/scripts/check.sh"
  check "cargo fmt --check" cargo fmt --all --check
  check "shellcheck" shellcheck scripts/*.sh .ci/run
  check "layout check catches what it must" python3 scripts/check-layout.py --self-test
  check "layout: crates and modules import one way" python3 scripts/check-layout.py
  check "one build: cargo test, clippy and cargo-leptos share every dependency" scripts/check-one-build.sh
  check "clippy, server" cargo clippy --release --workspace --all-targets -- -D warnings
  check "clippy, browser" cargo clippy --release -p stepline-types -p stepline-app -p stepline-frontend --target wasm32-unknown-unknown --features stepline-app/hydrate,stepline-frontend/hydrate -- -D warnings
  echo "lint: $passed passed, $failed failed"
  [ "$failed" = 0 ]
fi

if wants install; then
  log "the install script, every branch, for real (scripts/test-install.sh)"
  scripts/test-install.sh
fi

if wants rust; then
  # The activity log's tests run against a real PostgreSQL too: Debian's, on a loopback port, thrown away after.
  pg_dir="$(mktemp -d)"
  pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  if STEPLINE_TEST_DATABASE_URL="$(scripts/postgres.sh start "$pg_dir" "$pg_port")"; then
    export STEPLINE_TEST_DATABASE_URL
    cleanup+=("scripts/postgres.sh stop $pg_dir")
  else
    echo "PostgreSQL could not be started (see $pg_dir): its tests say SKIPPED"
  fi
  log "Rust tests (all workspace members)"
  # Every test binary runs even when an earlier one fails.
  cargo test --release --workspace --no-fail-fast
fi

# The release site and every binary of the workspace, built as `make run` builds them (cargo-leptos's server
# build and `cargo build --workspace --bins` share every unit), for the boto3 and end-to-end parts. Run whole,
# the build is a part of its own and those parts find it done.
if wants build || { [ -z "${STEPLINE_TEST_PART:-}" ] && { wants boto3 || wants bundle || wants image || wants e2e; }; }; then
  log "building the release site and binaries (the ones make run serves)"
  build_release_site
  cargo build --release --workspace --bins
fi

if wants boto3; then
  log "emulator contract with boto3 (pytest)"
  out="$(mktemp)"
  "$CARGO_TARGET_DIR/release/stepline-emulator" --addr 127.0.0.1:0 --speed 20000 > "$out" 2>&1 &
  emulator=$!
  cleanup+=("kill $emulator 2>/dev/null || true; rm -f $out")
  for _ in $(seq 1 100); do grep -q listening "$out" && break; sleep 0.1; done
  STEPLINE_EMULATOR_URL="$(awk '/listening/ {print $NF}' "$out")"
  export STEPLINE_EMULATOR_URL
  "$STEPLINE_VENV/bin/pytest" -q "$ROOT/crates/emulator/tests/python"
fi

if wants bundle; then
  log "the release bundle, unpacked and run as a new user would (scripts/test-bundle.sh)"
  scripts/test-bundle.sh
fi

if wants image; then
  log "deploy/Dockerfile built and run with podman (scripts/test-image.sh)"
  scripts/test-image.sh
fi

if wants e2e; then
  # A demo server on a free port, under the base path BASE ("" or /stepline); sets STEPLINE_URL, `server`,
  # `server_log` and STEPLINE_EMULATOR_URL (the demo's emulator: the tests start executions through it, as any
  # SageMaker client would).
  start_server() {
    local base="$1" port data_dir
    shift
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    export STEPLINE_URL="http://127.0.0.1:$port$base"
    log "starting Stepline on $STEPLINE_URL"
    server_log="$CARGO_TARGET_DIR/e2e-server${base//\//-}.log"
    data_dir="$(mktemp -d)"
    cleanup+=("rm -rf $data_dir")
    env "${server_env[@]}" LEPTOS_SITE_ADDR="127.0.0.1:$port" "$CARGO_TARGET_DIR/release/stepline" --data-dir "$data_dir" \
      ${base:+--base-path "$base"} "$@" > "$server_log" 2>&1 &
    server=$!
    cleanup+=("kill $server 2>/dev/null || true")
    for _ in $(seq 1 300); do
      curl -fsS -o /dev/null "$STEPLINE_URL/healthz" 2>/dev/null && break
      kill -0 $server 2>/dev/null || { cat "$server_log"; echo "server exited"; exit 1; }
      sleep 0.2
    done
    STEPLINE_EMULATOR_URL="$(grep -o 'emulator at http://[0-9.:]*' "$server_log" | head -1 | cut -d' ' -f3 || true)"
    export STEPLINE_EMULATOR_URL
  }
  # Extra environment of the server (`env` arguments).
  server_env=()
  start_server ""
  log "end-to-end tests in headless Chromium"
  # A suite that fails does not keep the next ones from running: the part fails at its end.
  e2e_failed=0
  (cd end2end && npm test) || { echo "--- server log ---"; tail -50 "$server_log"; e2e_failed=1; }
  kill "$server" 2>/dev/null || true

  # The read and write flows again, with Stepline served under a base path as behind a proxy that forwards
  # /stepline/… as it is: every link, asset, server function and stream must stay under it.
  start_server /stepline
  log "end-to-end read and write flows under --base-path /stepline"
  (cd end2end && node --test --test-concurrency=1 --test-reporter=spec tests/foundation.test.mjs tests/read.test.mjs tests/write.test.mjs) \
    || { echo "--- server log ---"; tail -50 "$server_log"; e2e_failed=1; }
  kill "$server" 2>/dev/null || true

  # Notifications: a demo server with --notify and --events-queue, whose embedded emulator sends SageMaker's
  # events to the SQS queue it serves; the test's own receiver takes the webhook's messages on this port.
  notify_dir="$(mktemp -d)"
  cleanup+=("rm -rf $notify_dir")
  STEPLINE_HOOK_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  STEPLINE_TEST_HOOK_SECRET="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export STEPLINE_HOOK_PORT STEPLINE_TEST_HOOK_SECRET
  printf 'poll-seconds = 5\n[channels.hook]\nkind = "webhook"\nurl = "http://127.0.0.1:%s/hook"\nsecret-env = "STEPLINE_TEST_HOOK_SECRET"\n[[rules]]\nevents = ["failed"]\nchannel = "hook"\n[personal]\nwebhook-prefixes = ["http://127.0.0.1:%s/personal/"]\n' \
    "$STEPLINE_HOOK_PORT" "$STEPLINE_HOOK_PORT" > "$notify_dir/notify.toml"
  server_env=(STEPLINE_TEST_HOOK_SECRET="$STEPLINE_TEST_HOOK_SECRET")
  start_server "" --notify "$notify_dir/notify.toml" --events-queue sagemaker-events
  log "end-to-end: notifications from SageMaker's events (--notify, --events-queue)"
  (cd end2end && node --test --test-concurrency=1 --test-reporter=spec tests/notify.test.mjs) \
    || { echo "--- server log ---"; tail -50 "$server_log"; e2e_failed=1; }
  kill "$server" 2>/dev/null || true

  # Two accounts and regions: two emulators playing them, reached as AWS profiles (endpoint_url), as
  # `--aws alpha,beta@us-east-1` reaches real ones; under /stepline, so the root and the places compose.
  places_dir="$(mktemp -d)"
  cleanup+=("rm -rf $places_dir")
  place_emulator() { # NAME ACCOUNT REGION: starts it, prints its URL
    "$CARGO_TARGET_DIR/release/stepline-emulator" --addr 127.0.0.1:0 --speed 20 --account "$2" --region "$3" \
      > "$places_dir/$1.log" 2>&1 &
    cleanup+=("kill $! 2>/dev/null || true")
    for _ in $(seq 1 100); do grep -q listening "$places_dir/$1.log" && break; sleep 0.1; done
    awk '/listening/ {print $NF}' "$places_dir/$1.log"
  }
  STEPLINE_ALPHA_URL="$(place_emulator alpha 111111111111 eu-west-1)"
  STEPLINE_BETA_URL="$(place_emulator beta 222222222222 us-east-1)"
  export STEPLINE_ALPHA_URL STEPLINE_BETA_URL
  for p in "alpha eu-west-1 $STEPLINE_ALPHA_URL" "beta eu-west-3 $STEPLINE_BETA_URL"; do
    read -r name region url <<< "$p"
    printf '[profile %s]\nregion = %s\nendpoint_url = %s\naws_access_key_id = AKIA%s\naws_secret_access_key = test\n\n' \
      "$name" "$region" "$url" "${name^^}" >> "$places_dir/aws-config"
  done
  # Nothing of this machine's AWS settings: only the test's profiles.
  server_env=(AWS_CONFIG_FILE="$places_dir/aws-config" AWS_SHARED_CREDENTIALS_FILE="$places_dir/no-credentials"
    AWS_EC2_METADATA_DISABLED=true)
  for v in $(env | grep -o '^AWS_[A-Z_]*' || true); do server_env=(-u "$v" "${server_env[@]}"); done
  start_server /stepline --aws alpha,beta@us-east-1
  log "end-to-end: two accounts and regions (--aws alpha,beta@us-east-1) under /stepline"
  (cd end2end && node --test --test-concurrency=1 --test-reporter=spec tests/places.test.mjs) \
    || { echo "--- server log ---"; tail -50 "$server_log"; e2e_failed=1; }
  kill "$server" 2>/dev/null || true
  [ "$e2e_failed" = 0 ]
fi
