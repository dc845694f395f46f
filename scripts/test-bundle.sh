#!/usr/bin/env bash
# The release bundle as a new user meets it: scripts/bundle.sh packages the last release build, the tarball is
# unpacked into a scratch directory and run from there with a clean environment (no checkout, no cargo, no
# LEPTOS_* variables; as a user of its own when this runs as root), the way deploy/Dockerfile runs it:
#
# - both binaries answer --help, listing their environment variables;
# - the standalone emulator serves, and the dashboard runs on it with --endpoint-url: /healthz, /readyz, a page
#   naming the site's content-hashed files, those sent `immutable` and compressed;
# - with no flags at all the dashboard runs its embedded demo and lists the example pipelines;
# - SIGTERM stops both within 10 s;
# - every path deploy/Dockerfile relies on is in the bundle.
#
# Needs the release build (scripts/test.sh builds it first).
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1

scratch="$(mktemp -d)"
pids=()
user=""
on_exit() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$user" ]; then
    pkill -KILL -u "$user" 2>/dev/null || true
    userdel -r "$user" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap on_exit EXIT

# shellcheck source=check.sh
source "$ROOT/scripts/check.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

tarball="$(scripts/bundle.sh --no-build "$scratch/dist" 2>"$scratch/bundle.log")" || { cat "$scratch/bundle.log"; exit 1; }
home="$scratch/home"
mkdir -p "$home"
tar -xzf "$tarball" -C "$home"
check "the bundle holds both binaries, the hash file and the site" \
  test -x "$home/stepline/bin/stepline" -a -x "$home/stepline/bin/stepline-emulator" -a -f "$home/stepline/bin/hash.txt" \
       -a -d "$home/stepline/site/pkg"

# A user of its own when we are root (as a container's uid 10001 is), else this one; either way a clean
# environment, started from the scratch home, far from the checkout.
as_user=()
if [ "$(id -u)" = 0 ]; then
  user="stepline-bundle-check"
  id "$user" >/dev/null 2>&1 || useradd --no-create-home --home-dir "$home" "$user"
  chown -R "$user" "$home"
  chmod a+rx "$scratch"
  as_user=(runuser -u "$user" --)
fi
# Replaces the shell it runs in: called in the background (`run … &`, a subshell of its own) `$!` is then the
# binary itself (or runuser, which passes SIGTERM on to it), and in the foreground it is called in `( … )`.
run() { cd "$home" && exec "${as_user[@]}" env -i HOME="$home" PATH=/usr/bin:/bin "$@"; }
# The whole text first: `grep -q` in a pipe may stop reading before the binary has written it all.
help_lists() {
  local text
  text="$( (run "stepline/bin/$1" --help) )" || return 1
  grep -q -- "$2" <<< "$text"
}

check "stepline --help lists the flags and their variables" help_lists stepline STEPLINE_DATABASE_URL
check "stepline-emulator --help lists the flags and their variables" help_lists stepline-emulator STEPLINE_EMULATOR_ADDR

wait_for() { # URL LOG PID: until the URL answers 200, the process dies, or 60 s
  local i
  for i in $(seq 1 300); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "exited:"; cat "$2"; return 1; }
    sleep 0.2
    [ "$i" = 300 ] && { echo "no answer from $1:"; cat "$2"; }
  done
  return 1
}
stops_in_time() { # PID: SIGTERM, then gone within 10 s, and nothing of the user's left running
  kill -TERM "$1"
  local i
  for i in $(seq 1 100); do
    if ! kill -0 "$1" 2>/dev/null; then
      wait "$1" 2>/dev/null || true
      [ -z "$user" ] || ! pgrep -u "$user" -f "$2" >/dev/null
      return
    fi
    sleep 0.1
  done
  return 1
}

emu_port="$(free_port)"
run stepline/bin/stepline-emulator --addr "127.0.0.1:$emu_port" > "$scratch/emulator.log" 2>&1 &
emu=$!
pids+=("$emu")
wait_for "http://127.0.0.1:$emu_port/_emulator/health" "$scratch/emulator.log" "$emu"
port="$(free_port)"
url="http://127.0.0.1:$port"
run stepline/bin/stepline --addr "127.0.0.1:$port" --endpoint-url "http://127.0.0.1:$emu_port" --data-dir data \
  > "$scratch/stepline.log" 2>&1 &
server=$!
pids+=("$server")
check "the dashboard starts on the standalone emulator" wait_for "$url/healthz" "$scratch/stepline.log" "$server"
check "/readyz: the emulator answers and the database takes a write" curl -fsS -o /dev/null "$url/readyz"
page="$(curl -fsS "$url/" || true)"
wasm="$(grep -o '/pkg/stepline\.[A-Za-z0-9_-]\{22\}\.wasm' <<< "$page" | head -1 || true)"
css="$(grep -o '/pkg/stepline\.[A-Za-z0-9_-]\{22\}\.css' <<< "$page" | head -1 || true)"
check "the page names the hashed wasm and stylesheet ($wasm, $css)" test -n "$wasm" -a -n "$css"
headers="$(curl -fsS -D - -o /dev/null -H 'accept-encoding: br' "$url$wasm" | tr -d '\r' || true)"
has_header() { grep -qi "^$1" <<< "$headers"; }
check "the hashed wasm is kept a year" has_header "cache-control: public, max-age=31536000, immutable"
check "the hashed wasm is sent compressed" has_header "content-encoding: br"
check "SIGTERM stops the dashboard within 10 s" stops_in_time "$server" "bin/stepline --addr"
check "SIGTERM stops the emulator within 10 s" stops_in_time "$emu" "bin/stepline-emulator"

# No flags at all: the embedded demo, as `make run` serves it.
port="$(free_port)"
run env STEPLINE_ADDR="127.0.0.1:$port" stepline/bin/stepline > "$scratch/demo.log" 2>&1 &
demo=$!
pids+=("$demo")
check "with no flags the dashboard runs its embedded demo" wait_for "http://127.0.0.1:$port/healthz" "$scratch/demo.log" "$demo"
lists_abalone() {
  local page
  page="$(curl -fsS "http://127.0.0.1:$port/")" || return 1
  grep -q AbalonePipeline <<< "$page"
}
check "the demo lists the example pipelines" lists_abalone
check "the demo keeps its database in the user's data directory" test -f "$home/.local/share/stepline/stepline.db"
check "SIGTERM stops the demo within 10 s" stops_in_time "$demo" "bin/stepline$"

# deploy/Dockerfile unpacks the bundle into /opt: every /opt/stepline path it names must be there.
exists() { compgen -G "$1" > /dev/null; }
docker_paths="$(grep -o '/opt/stepline[A-Za-z0-9_./*-]*' deploy/Dockerfile | sort -u)"
for p in $docker_paths; do
  check "deploy/Dockerfile's $p is in the bundle" exists "$home/${p#/opt/}"
done

echo "bundle: $passed passed, $failed failed"
[ "$failed" = 0 ]
