#!/usr/bin/env bash
# How fast pages answer while SageMaker throttles, against how fast they answer warm. Starts the release
# server in demo mode on a free loopback port, loads each page once, times reloads while everything is
# current (warm), makes the demo's emulator answer ThrottlingException to every read, waits until each page
# says so, and times reloads again (served from what is known, during the backoff). Prints a Markdown table
# for BENCHMARKS.md. Needs the release build (`make run` or `make test` made it).
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1

bin="$CARGO_TARGET_DIR/release/stepline"
[ -x "$bin" ] || { echo "no release build at $bin: run make run or make test first" >&2; exit 1; }
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
log="$(mktemp)"
LEPTOS_SITE_ADDR="127.0.0.1:$port" timeout 600 "$bin" > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 300); do curl -fsS -o /dev/null "$url/healthz" 2>/dev/null && break; sleep 0.2; done
emulator="$(grep -o 'emulator at http://[0-9.:]*' "$log" | head -1 | cut -d' ' -f3)"

call() {
  curl -fsS -X POST "$emulator" -H 'content-type: application/x-amz-json-1.1' -H "x-amz-target: SageMaker.$1" -d "$2"
}
running="$(call ListPipelineExecutions '{"PipelineName": "ControlFlowPipeline"}' |
  python3 -c 'import json, sys; print(next(e["PipelineExecutionArn"] for e in json.load(sys.stdin)["PipelineExecutionSummaries"] if e["PipelineExecutionStatus"] == "Executing"))')"
pages=("/" "/pipelines/ControlFlowPipeline" "/pipelines/ControlFlowPipeline/executions/${running##*/}")

# Median of 21 reloads, in milliseconds.
median_ms() {
  for _ in $(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' "$url$1"; done |
    sort -n | sed -n 11p | awk '{printf "%.1f", $1 * 1000}'
}

declare -A warm
for p in "${pages[@]}"; do
  curl -s -o /dev/null "$url$p"
  warm[$p]="$(median_ms "$p")"
done

faults='{"faults": ['
for op in ListPipelines DescribePipeline ListPipelineExecutions DescribePipelineExecution ListPipelineExecutionSteps ListPipelineParametersForExecution; do
  faults+="{\"operation\": \"$op\", \"code\": \"ThrottlingException\"},"
done
faults="${faults%,}]}"
curl -fsS -X POST "$emulator/_emulator/scenario" -d "$faults" > /dev/null

echo "| page | warm reload (median of 21) | reload while throttled, from what is known (median of 21) |"
echo "|---|---:|---:|"
for p in "${pages[@]}"; do
  # Wait until the page says its data is old (its freshness window has passed and a refresh failed).
  for _ in $(seq 1 60); do curl -s "$url$p" | grep -q 'data-testid="stale-notice"' && break; sleep 0.5; done
  echo "| \`$p\` | ${warm[$p]} ms | $(median_ms "$p") ms |"
done
curl -fsS -X POST "$emulator/_emulator/scenario" -d '{}' > /dev/null
