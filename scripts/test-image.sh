#!/usr/bin/env bash
# deploy/Dockerfile built and run for real, as a platform team would, with Debian's podman (no Docker daemon
# and no registry): the base image is made from Debian's packages with mmdebstrap (cached under the cargo
# cache directory) and passed as the Dockerfile's DEBIAN build argument, so `debian:trixie-slim` stays the
# default for everyone else. The image is built from the release bundle the other parts tested, then run:
#
# - the demo answers /healthz, /readyz, /, an execution page and a server function, hydrates in Chromium, and
#   /metrics parses;
# - it runs as uid 10001 with a read-only root file system, only its data volume writable, and what it keeps
#   there (the activity log) survives a restart of the container;
# - `podman stop` (SIGTERM) drains within the grace period and open streams get their reconnect event;
# - the Kubernetes manifest agrees with the image (user, port, probes, read-only root, volume path,
#   environment variable names);
# - the image's size and the time from `podman run` to ready are printed (BENCHMARKS.md).
#
# podman runs with runc (crun refuses this kind of machine's hybrid cgroups), explicit ulimits (the defaults
# cannot be set in a sandbox like this one) and the host's network. Where podman cannot run at all, the part
# says so and is skipped. Needs the release build (scripts/test.sh builds it first).
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1
# shellcheck source=check.sh
source "$ROOT/scripts/check.sh"

if ! command -v podman >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "SKIPPED: podman or mmdebstrap is not installed (scripts/install-tools.sh installs them from Debian)"
  exit 0
fi
if ! podman --runtime runc info >/dev/null 2>&1; then
  echo "SKIPPED: podman cannot run here: $(podman --runtime runc info 2>&1 | tail -1)"
  exit 0
fi

scratch="$(mktemp -d)"
name="stepline-image-test-$$"
volume="$name-data"
image="localhost/stepline:test-$$"
podman_run=(podman --runtime runc)
run_flags=(--network host --ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
on_exit() {
  if declare -F compose_down >/dev/null; then compose_down; fi
  "${podman_run[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  # The Dockerfile's unpack stage, left untagged by the build (and only what this run left).
  local id
  for id in $(podman images -q --filter dangling=true 2>/dev/null); do
    grep -qx "$id" "$scratch/dangling-before" 2>/dev/null || podman rmi -f "$id" >/dev/null 2>&1 || true
  done
  rm -rf "$scratch"
}
trap on_exit EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The base: Debian trixie, minbase with ca-certificates, made once and kept (a week) as a tarball.
base="localhost/stepline-base:trixie"
base_tar="$HOME/.cache/stepline/images/debian-trixie.tar"
mkdir -p "$(dirname "$base_tar")"
if [ -f "$base_tar" ] && [ -n "$(find "$base_tar" -mtime +7)" ]; then rm -f "$base_tar"; podman rmi -f "$base" >/dev/null 2>&1 || true; fi
started=$SECONDS
if [ ! -f "$base_tar" ]; then
  log "making the base image from Debian's packages (mmdebstrap trixie)"
  mmdebstrap --quiet --variant=minbase --include=ca-certificates trixie "$base_tar.part" http://deb.debian.org/debian
  mv "$base_tar.part" "$base_tar"
  podman rmi -f "$base" >/dev/null 2>&1 || true
fi
if ! podman image exists "$base"; then
  podman import "$base_tar" "$base" >/dev/null
fi
echo "base image ready in $((SECONDS - started)) s"

# The build context as a user has it: the bundle under dist/, the Dockerfile from deploy/.
tarball="$(scripts/bundle.sh --no-build "$scratch/context/dist" 2>"$scratch/bundle.log")" || { cat "$scratch/bundle.log"; exit 1; }
podman images -q --filter dangling=true > "$scratch/dangling-before" 2>/dev/null || true
started=$SECONDS
log "podman build -f deploy/Dockerfile --build-arg DEBIAN=$base"
if ! "${podman_run[@]}" build --quiet --network host --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 \
  -f deploy/Dockerfile --build-arg "DEBIAN=$base" --build-arg "BUNDLE=dist/$(basename "$tarball")" \
  -t "$image" "$scratch/context" > "$scratch/build.log" 2>&1; then
  cat "$scratch/build.log"
  echo "image: 0 passed, 1 failed"
  exit 1
fi
build_s=$((SECONDS - started))
size="$(podman image inspect "$image" --format '{{.Size}}')"
echo "image built in $build_s s: $((size / 1000000)) MB"

port="$(free_port)"
url="http://127.0.0.1:$port"
podman volume create "$volume" >/dev/null
start_container() {
  "${podman_run[@]}" run -d --name "$name" "${run_flags[@]}" --read-only -v "$volume:/var/lib/stepline" \
    "$image" --addr "127.0.0.1:$port" > /dev/null
}
ready() { # until /readyz answers 200, the container stops, or 60 s
  local _
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null && return 0
    [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || { podman logs "$name"; return 1; }
    sleep 0.2
  done
  podman logs "$name"
  return 1
}
t0="$(date +%s.%N)"
start_container
check "the container starts and is ready (/readyz)" ready
startup="$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")"
echo "from podman run to ready: $startup s"

check "/healthz" curl -fsS -o /dev/null "$url/healthz"
home="$(curl -fsS "$url/" || true)"
check "/ lists the demo's pipelines" grep -q AbalonePipeline <<< "$home"
exec_path="$(grep -o '/pipelines/AbalonePipeline/executions/[a-z0-9]*' <<< "$home" | head -1 || true)"
[ -n "$exec_path" ] || exec_path="$(curl -fsS "$url/pipelines/AbalonePipeline" | grep -o '/pipelines/AbalonePipeline/executions/[a-z0-9]*' | head -1 || true)"
check "an execution page ($exec_path)" curl -fsS -o /dev/null "$url$exec_path"
whoami_answers() {
  local body
  body="$(curl -fsS -X POST -H 'content-type: application/json' -H 'accept: application/json' \
    -H 'sec-fetch-site: same-origin' --data '{"pipeline": "AbalonePipeline"}' "$url/api/whoami")" || return 1
  grep -q '"user"' <<< "$body"
}
check "a server function answers (whoami)" whoami_answers
metrics_parse() {
  curl -fsS "$url/metrics" > "$scratch/metrics" || return 1
  python3 - "$scratch/metrics" <<'PY'
import re, sys
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfa]+( [0-9]+)?$')
lines = [l for l in open(sys.argv[1]) if l.strip() and not l.startswith('#')]
bad = [l for l in lines if not sample.match(l.rstrip('\n'))]
print(f"{len(lines)} samples, {len(bad)} unreadable")
sys.exit(1 if bad or not lines else 0)
PY
}
check "/metrics parses as Prometheus text" metrics_parse
hydrates() {
  (cd "$ROOT/end2end" && node tools/hydrates.mjs "$url$exec_path")
}
check "the execution page hydrates in Chromium" hydrates

check "it runs as uid 10001" test "$(podman exec "$name" id -u)" = 10001
# (podman gives a read-only container a tmpfs /tmp, as the Kubernetes manifest gives it an emptyDir.)
check "its root file system is read-only" bash -c "! podman exec $name touch /opt/stepline/x 2>/dev/null && ! podman exec $name touch /etc/x 2>/dev/null"
check "its data volume is writable" podman exec "$name" touch /var/lib/stepline/probe

# An action on record, then a restart: the activity log is on the volume.
token="image-test-$$-0123456789abcdef0123456789"
curl -fsS -o /dev/null -X POST -H 'content-type: application/x-www-form-urlencoded' -H 'accept: application/json' \
  -H 'sec-fetch-site: same-origin' \
  --data "form[pipeline]=AbalonePipeline&form[token]=$token&form[display_name]=from-the-image-test" "$url/api/start" || true
on_record() { curl -fsS "$url/activity.csv" | grep -q "from-the-image-test"; }
check "the start is on record" on_record

# A live stream open while the container stops: it gets its reconnect event, and the stop drains in time.
curl -sN -H 'accept: text/event-stream' "$url/events/pipelines/AbalonePipeline/executions" > "$scratch/stream" 2>/dev/null &
stream=$!
sleep 1
started=$SECONDS
podman stop -t 15 "$name" > /dev/null
stop_s=$((SECONDS - started))
wait "$stream" 2>/dev/null || true
check "podman stop (SIGTERM) drains within the 8 s grace (took $stop_s s)" test "$stop_s" -le 9
check "an open stream got its reconnect event" grep -q "event: reconnect" "$scratch/stream"
check "it exited cleanly" test "$(podman inspect -f '{{.State.ExitCode}}' "$name")" = 0

podman rm "$name" > /dev/null
start_container
check "a new container on the same volume is ready" ready
check "the activity log survived the restart" on_record

# The Kubernetes manifest, read beside the image (no cluster runs here).
manifest="deploy/kubernetes/stepline.yaml"
config="$(podman image inspect "$image" --format '{{json .Config}}')"
k8s_agrees() {
  python3 - "$manifest" "$config" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
config = json.loads(sys.argv[2])
problems = []
def need(cond, what):
    if not cond: problems.append(what)
user = config.get("User", "")
need(re.search(r"runAsUser:\s*" + re.escape(user.split(":")[0]), text), f"runAsUser {user}")
need(re.search(r"readOnlyRootFilesystem:\s*true", text), "readOnlyRootFilesystem: true")
env = dict(e.split("=", 1) for e in config.get("Env", []))
port = env.get("STEPLINE_ADDR", "").rsplit(":", 1)[-1]
need(re.search(r"containerPort:\s*" + port, text), f"containerPort {port}")
need("/healthz" in text and "/readyz" in text, "probes on /healthz and /readyz")
# With PostgreSQL (STEPLINE_DATABASE_URL) nothing is kept in the data directory; without, it needs a volume.
need("STEPLINE_DATABASE_URL" in text or "mountPath: " + env.get("STEPLINE_DATA_DIR", "?") in text,
     f"PostgreSQL, or a volume at {env.get('STEPLINE_DATA_DIR')}")
need(re.search(r"mountPath:\s*/tmp", text), "a writable /tmp (the root is read-only)")
for name in re.findall(r"name:\s*(STEPLINE_[A-Z_]+)", text):
    need(name in open("crates/core/src/config.rs").read(), f"{name} is a variable stepline reads")
print("; ".join(problems) or "the manifest agrees with the image")
sys.exit(1 if problems else 0)
PY
}
check "the Kubernetes manifest agrees with the image" k8s_agrees

# The compose file: two replicas on PostgreSQL behind the front, from this image.
# shellcheck source=test-compose.sh
source "$ROOT/scripts/test-compose.sh"

echo "image: $passed passed, $failed failed"
echo "image figures: $((size / 1000000)) MB, built in $build_s s, ready $startup s after podman run"
[ "$failed" = 0 ]
