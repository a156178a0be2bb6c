#!/usr/bin/env bash
# fan_out_docker.sh: a fan-out of N items at parallelism P through
# `ctask operator --backend docker` (one ContainerTask with completions N),
# against the same N containers run straight with the docker CLI, P at a
# time (`xargs -P P docker run --rm`), in the same run. Each item is
# `echo $CTASK_INDEX`. Prints both times to all done, their ratio, and the
# operator's peak RSS. A measurement, not a test: nothing here asserts a
# duration.
#
# Order: baseline, ctask, baseline again; the ratio is against the mean of
# the two baselines, so drift over the run lands on both sides.
#
# Usage: bench/fan_out_docker.sh [-n N] [-p P] [--ctask PATH] [--image IMAGE]
set -euo pipefail

N=1000
P=50
CTASK=build/controller/ctask
IMAGE=ctask-test/busybox:latest
TIMEOUT_SECONDS=1800

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case $1 in
    -n) N=${2:?-n needs a number}; shift 2 ;;
    -p) P=${2:?-p needs a number}; shift 2 ;;
    --ctask) CTASK=${2:?--ctask needs a path}; shift 2 ;;
    --image) IMAGE=${2:?--image needs an image}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fan_out_docker.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "fan_out_docker.sh: -n: want a positive number, got $N" >&2; exit 2; }
[[ $P =~ ^[1-9][0-9]*$ ]] || { echo "fan_out_docker.sh: -p: want a positive number, got $P" >&2; exit 2; }
[ -x "$CTASK" ] || { echo "fan_out_docker.sh: $CTASK is not an executable (ninja -C build ctask, or --ctask PATH)" >&2; exit 1; }
command -v jq >/dev/null || { echo "fan_out_docker.sh: needs jq" >&2; exit 1; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "fan_out_docker.sh: image $IMAGE not present (hack/docker-up.sh builds it)" >&2; exit 1; }

RUN=fo$(date +%s)$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ctask-bench-fo.XXXXXX")
TASKS=$WORK/tasks
STATE=$WORK/state
mkdir -p "$TASKS" "$STATE"
OPERATOR_PID=

cleanup() {
  local rc=$?
  if [ -n "$OPERATOR_PID" ] && kill -0 "$OPERATOR_PID" 2>/dev/null; then
    kill -TERM "$OPERATOR_PID" 2>/dev/null || true
    wait "$OPERATOR_PID" 2>/dev/null || true
  fi
  local ids
  ids=$(docker ps -aq --filter "label=ctask.bench=$RUN")
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null || echo "cleanup: could not remove some containers labelled ctask.bench=$RUN" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# The docker CLI: N containers, P at a time, each run to its exit and removed.
baseline() {
  local start end
  start=$(now)
  seq 0 $((N - 1)) | xargs -P "$P" -I{} docker run --rm --network none --label "ctask.bench=$RUN" \
    -e CTASK_INDEX={} "$IMAGE" sh -c 'echo $CTASK_INDEX' >/dev/null
  end=$(now)
  elapsed "$start" "$end"
}

manifest() {
  cat <<EOT
apiVersion: ctask.io/v1alpha1
kind: ContainerTask
metadata:
  name: $RUN
spec:
  image: $IMAGE
  completions: $N
  parallelism: $P
  command: ["sh", "-c", "echo \$CTASK_INDEX"]
  network: {isolated: true}
  podLabels: {ctask.bench: "$RUN"}
EOT
}

CTASK_SECONDS=
PEAK_RSS=
STATUS_BYTES=
operator_round() {
  "$CTASK" operator --backend docker --tasks-dir "$TASKS" --state-dir "$STATE" >"$WORK/operator.log" 2>&1 &
  OPERATOR_PID=$!
  for _ in $(seq 100); do
    [ -d "$STATE/tasks" ] && break
    kill -0 "$OPERATOR_PID" 2>/dev/null || { echo "ctask operator exited early:" >&2; cat "$WORK/operator.log" >&2; exit 1; }
    sleep 0.1
  done
  sleep 1
  manifest >"$WORK/staged.yaml"
  local start end phase record
  record="$STATE/tasks/default/$RUN/task.json"
  start=$(now)
  mv "$WORK/staged.yaml" "$TASKS/$RUN.yaml"
  while :; do
    phase=$(jq -r '.status.phase // ""' "$record" 2>/dev/null || true)
    [ "$phase" = Succeeded ] && break
    if [ "$phase" = Failed ] || [ "$phase" = Cancelled ]; then
      echo "fan_out_docker.sh: the fan-out ended $phase:" >&2
      jq '.status | {reason, message}' "$record" >&2
      exit 1
    fi
    kill -0 "$OPERATOR_PID" 2>/dev/null || { echo "ctask operator died:" >&2; tail -20 "$WORK/operator.log" >&2; exit 1; }
    if [ "$(elapsed "$start" "$(now)" | cut -d. -f1)" -ge "$TIMEOUT_SECONDS" ]; then
      echo "fan_out_docker.sh: not done after ${TIMEOUT_SECONDS}s: $(jq -c '.status.fanOut | del(.items)' "$record")" >&2
      exit 1
    fi
    sleep 0.1
  done
  end=$(now)
  CTASK_SECONDS=$(elapsed "$start" "$end")
  PEAK_RSS=$(awk '/^VmHWM:/ { print $2, $3 }' "/proc/$OPERATOR_PID/status")
  STATUS_BYTES=$(jq -c '.status' "$record" | wc -c)
  kill -TERM "$OPERATOR_PID"
  wait "$OPERATOR_PID" || true
  OPERATOR_PID=
  # The operator keeps each item's exited container (no workload TTL here);
  # removed now, so the second baseline meets a daemon as empty as the first.
  local ids
  ids=$(docker ps -aq --filter "label=ctask.bench=$RUN")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
}

echo "fan_out_docker.sh: $N items at parallelism $P, each \`echo \$CTASK_INDEX\` ($IMAGE, network none)"
echo "machine:  nproc $(nproc), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sr)"
echo "docker:   $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
echo "ctask:    $CTASK ($("$CTASK" version 2>/dev/null | head -1))"
echo

B1=$(baseline)
echo "baseline 1  xargs -P $P docker run --rm:        ${B1} s"
operator_round
echo "ctask       one task, completions $N, all done: ${CTASK_SECONDS} s (peak RSS ${PEAK_RSS}; final status ${STATUS_BYTES} bytes)"
B2=$(baseline)
echo "baseline 2  xargs -P $P docker run --rm:        ${B2} s"
echo
awk -v c="$CTASK_SECONDS" -v b1="$B1" -v b2="$B2" -v n="$N" \
  'BEGIN { b = (b1 + b2) / 2; printf "time to all done: ctask %.2f s (%.1f items/s), docker CLI %.2f s (mean of 2, %.1f items/s); ratio ctask/docker %.2f\n", c, n / c, b, n / b, c / b }'
echo "ctask operator peak RSS (VmHWM): $PEAK_RSS"
