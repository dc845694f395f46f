# shellcheck shell=bash disable=SC2154
# deploy/compose.yaml run for real with podman-compose (from PyPI, in the test virtualenv): two Stepline
# replicas on PostgreSQL behind the nginx front, and the emulator. Sourced by scripts/test-image.sh after its
# own checks, with `image` (the Stepline image it built), `base`, `scratch`, `free_port` and `check` (hence
# SC2154 off: they are assigned there).
#
# PostgreSQL and nginx come from Debian's packages too (scripts/images/*.Containerfile, built on the same
# base and kept), passed as the compose file's POSTGRES_IMAGE and NGINX_IMAGE; the official images stay its
# defaults. Checked:
# - the stack comes up and the front answers; both replicas are ready and count each other;
# - they share one upstream budget (their shares add up to one replica's, and a view watched on both is
#   polled by one);
# - a pipeline made in the emulator is on the page; a start through the front is on record;
# - `podman kill` of one replica: the front goes on answering from the other at once, nothing on record is
#   lost, the survivor takes the whole budget, and the killed one rejoins when started again.

project="stepline-compose-test-$$"
compose=("$STEPLINE_VENV/bin/podman-compose" -p "$project" -f deploy/compose.yaml)
# runc and explicit limits for every container podman-compose starts (see test-image.sh for why).
cat > "$scratch/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
EOF
compose_down() {
  CONTAINERS_CONF="$scratch/containers.conf" "${compose[@]}" down -v -t 0 >/dev/null 2>&1 || true
}

if [ ! -x "$STEPLINE_VENV/bin/podman-compose" ]; then
  echo "SKIPPED: compose: podman-compose is not in $STEPLINE_VENV (scripts/install-tools.sh installs it)"
  return 0
fi
export CONTAINERS_CONF="$scratch/containers.conf"

# The services' images from Debian's packages, once (a week, like the base).
for service in postgres nginx; do
  img="localhost/stepline-test-$service:trixie"
  created="$(podman image inspect "$img" --format '{{.Created.Unix}}' 2>/dev/null || echo 0)"
  if [ $(( $(date +%s) - created )) -gt $((7 * 86400)) ]; then
    log "building $img from Debian's packages"
    if ! podman build --quiet --network host --build-arg "DEBIAN=$base" \
      -f "scripts/images/$service.Containerfile" -t "$img" scripts/images > "$scratch/$service-build.log" 2>&1; then
      cat "$scratch/$service-build.log"
    fi
  fi
done

front_port="$(free_port)"
front="http://127.0.0.1:$front_port"
emulator_port="$(free_port)"
started=$SECONDS
log "podman-compose -f deploy/compose.yaml up (two replicas, PostgreSQL, the emulator, the front)"
STEPLINE_IMAGE="$image" POSTGRES_IMAGE=localhost/stepline-test-postgres:trixie \
  NGINX_IMAGE=localhost/stepline-test-nginx:trixie STEPLINE_PORT="$front_port" EMULATOR_PORT="$emulator_port" \
  "${compose[@]}" up -d > "$scratch/compose-up.log" 2>&1 || cat "$scratch/compose-up.log"

container() { echo "${project}_$1_1"; }
# A request to a replica on the loopback it shares with the front (no port of theirs is published): the
# status line, then the body. bash's /dev/tcp, as in the compose file's health checks.
inside() { # PORT PATH
  podman exec "$(container front)" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'GET $2 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && cat <&3" 2>/dev/null
}
metric() { # PORT NAME: the sample's value, or nothing
  inside "$1" /metrics | awk -v n="$2" '$1 == n { print $2 }'
}
until_true() { # SECONDS COMMAND…: polls COMMAND every half second
  local limit=$1 _; shift
  for _ in $(seq 1 $((limit * 2))); do "$@" && return 0; sleep 0.5; done
  return 1
}
front_ready() { curl -fs -o /dev/null --max-time 2 "$front/readyz"; }
replica_ready() { inside "$1" /readyz | head -1 | grep -q ' 200 '; }
both_ready() { replica_ready 3001 && replica_ready 3002; }
replicas_are() { # N PORT…
  local n=$1 p; shift
  for p in "$@"; do [ "$(metric "$p" stepline_cluster_replicas)" = "$n" ] || return 1; done
}
check "the stack comes up and the front answers /readyz" until_true 180 front_ready
echo "compose: up and answering $((SECONDS - started)) s after podman-compose up"
check "both replicas are ready" until_true 60 both_ready
check "the replicas count each other (stepline_cluster_replicas 2 on both)" until_true 30 replicas_are 2 3001 3002
shares_add_up() {
  local a b
  a="$(metric 3001 stepline_cluster_budget_share)"; b="$(metric 3002 stepline_cluster_budget_share)"
  python3 -c "import sys; a, b = float('${a:-0}'), float('${b:-0}'); print(f'budget shares {a} + {b}'); sys.exit(abs(a + b - 1) > 0.01)"
}
check "they share one upstream budget (their shares add up to one)" until_true 10 shares_add_up

# A pipeline made in the emulator with boto3, as a team's CI would; then a start through the front.
"$STEPLINE_VENV/bin/python" - "$emulator_port" definitions/abalone.json > "$scratch/create.log" 2>&1 <<'PY' || cat "$scratch/create.log"
import sys, boto3
sm = boto3.client("sagemaker", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="compose", aws_secret_access_key="compose")
sm.create_pipeline(PipelineName="ComposePipeline", PipelineDefinition=open(sys.argv[2]).read(),
                   RoleArn="arn:aws:iam::123456789012:role/Compose")
PY
listed() { curl -fsS "$front/" | grep -q ComposePipeline; }
check "a pipeline made in the emulator is on the front's page" until_true 30 listed
token="compose-test-$$-0123456789abcdef0123456789"
curl -fsS -o /dev/null -X POST -H 'content-type: application/x-www-form-urlencoded' -H 'accept: application/json' \
  -H 'sec-fetch-site: same-origin' \
  --data "form[pipeline]=ComposePipeline&form[token]=$token&form[display_name]=from-the-compose-test" "$front/api/start" || true
start_on_record() { curl -fsS "$front/activity.csv" | grep -q "from-the-compose-test"; }
check "a start through the front is on record" start_on_record

# The replica test's figure: the pipeline's live list watched on both replicas is polled by one of them.
for port in 3001 3002; do
  podman exec "$(container front)" timeout 40 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /events/pipelines/ComposePipeline/executions HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n' >&3 && cat <&3 >/dev/null" >/dev/null 2>&1 &
done
one_lease() {
  python3 -c "import sys; a, b = float('$(metric 3001 stepline_cluster_leases)' or 0), float('$(metric 3002 stepline_cluster_leases)' or 0); sys.exit(a + b != 1)"
}
check "a view watched on both replicas is polled by one (one lease between them)" until_true 20 one_lease

# One replica killed: the other answers every request at once, and nothing on record is lost.
podman kill "$(container stepline)" > /dev/null
all_answer() {
  local _
  for _ in $(seq 1 10); do curl -fsS -o /dev/null --max-time 5 "$front/pipelines/ComposePipeline" || return 1; done
}
check "with one replica killed, the front answers ten requests in a row" all_answer
check "the start is still on record" start_on_record
check "the survivor counts itself alone within 15 s" until_true 15 replicas_are 1 3002
takes_all() { python3 -c "import sys; sys.exit(float('$(metric 3002 stepline_cluster_budget_share)' or 0) != 1)"; }
check "and takes the whole budget" takes_all
podman start "$(container stepline)" > /dev/null 2>&1
check "the killed replica rejoins when started again" until_true 60 replicas_are 2 3001 3002
compose_down
