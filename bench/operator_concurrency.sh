#!/usr/bin/env bash
# operator_concurrency.sh: how long `ctask operator --backend docker` takes to
# run N concurrent tasks (each `sleep 1; echo hi`) to Succeeded, against the
# same N containers started straight with the docker CLI, 4 at a time, in the
# same run. Prints both times, their ratio and the operator's peak RSS.
# A measurement, not a test: nothing here asserts a duration.
#
# With --max-running M (for N in the thousands, as a platform would run
# them), at most M run at once on both sides: the operator with
# --max-running M, the docker CLI as M `docker run --rm` at a time (xargs -P M),
# each waiting for its container.
#
# Order: baseline, ctask, baseline again; the ratio is against the mean of the
# two baselines, so drift over the run lands on both sides.
#
# A runc process alive for over RUNC_STUCK_SECONDS (default 60), at two
# looks 5 s apart, is stuck, not slow (a create takes well under a second): Debian's runc 1.1.5 deadlocks a
# `runc create` against its `runc init` now and then under 50 concurrent
# `docker run`s, and dockerd then starts nothing more. A watchdog kills
# such a process; the round it happened in is void (its time is the hang's),
# said so with the processes killed, and run again, up to 3 attempts.
#
# Usage: bench/operator_concurrency.sh [-n N] [--max-running M] [--ctask PATH] [--workers W] [--image IMAGE]
set -euo pipefail

N=100
MAX_RUNNING=
WORKERS=4
CTASK=build/controller/ctask
IMAGE=ctask-test/busybox:latest
# How often the poll reads the task records (`ctask get` and jq, a process
# each: polling often would load the 2 cores the operator runs on, a cost
# the baseline's `docker wait` does not pay). The end is not the poll's: it
# is the last record's last write (its file's mtime, ns resolution), the
# terminal status of the last task to finish.
POLL_INTERVAL=1
# Give up (and say so) when the tasks have not all finished by then.
TIMEOUT_SECONDS=600
RUNC_STUCK_SECONDS=${RUNC_STUCK_SECONDS:-60}
ATTEMPTS=3

usage() {
  sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case $1 in
    -n) N=${2:?-n needs a number}; shift 2 ;;
    --max-running) MAX_RUNNING=${2:?--max-running needs a number}; shift 2 ;;
    --ctask) CTASK=${2:?--ctask needs a path}; shift 2 ;;
    --workers) WORKERS=${2:?--workers needs a number}; shift 2 ;;
    --image) IMAGE=${2:?--image needs an image}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "operator_concurrency.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "operator_concurrency.sh: -n: want a positive number, got $N" >&2; exit 2; }
[ -z "$MAX_RUNNING" ] || [[ $MAX_RUNNING =~ ^[1-9][0-9]*$ ]] || { echo "operator_concurrency.sh: --max-running: want a positive number, got $MAX_RUNNING" >&2; exit 2; }
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || { echo "operator_concurrency.sh: --workers: want a positive number, got $WORKERS" >&2; exit 2; }
[ -x "$CTASK" ] || { echo "operator_concurrency.sh: $CTASK is not an executable (ninja -C build ctask, or --ctask PATH)" >&2; exit 1; }
command -v jq >/dev/null || { echo "operator_concurrency.sh: needs jq" >&2; exit 1; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "operator_concurrency.sh: image $IMAGE not present (hack/docker-up.sh builds it)" >&2; exit 1; }

# Everything this run creates carries RUN: task names (ctask's containers are
# labelled ctask.io/task=NAME) and the label ctask.bench=RUN on every container.
RUN=oc$(date +%s)$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ctask-bench-oc.XXXXXX")
TASKS=$WORK/tasks
STATE=$WORK/state
STAGING=$WORK/staging
mkdir -p "$TASKS" "$STATE" "$STAGING"
OPERATOR_PID=
WATCHER_PID=  # the runc watchdog's, while a round runs

remove_containers() {
  local ids
  ids=$(docker ps -aq --filter "label=ctask.bench=$RUN")
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null || echo "operator_concurrency.sh: could not remove some containers labelled ctask.bench=$RUN" >&2
  fi
}

cleanup() {
  local rc=$?
  [ -z "$WATCHER_PID" ] || kill "$WATCHER_PID" 2>/dev/null || true
  if [ -n "$OPERATOR_PID" ] && kill -0 "$OPERATOR_PID" 2>/dev/null; then
    kill -TERM "$OPERATOR_PID" 2>/dev/null || true
    wait "$OPERATOR_PID" 2>/dev/null || true
  fi
  remove_containers
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

# Where a round's CPU went: the machine's busy time over all cores, dockerd's
# and containerd's, in clock ticks (the rest is the shims, runc, the kernel
# and, in a baseline, the docker CLI processes). "busy dockerd containerd".
TICKS_PER_SECOND=$(getconf CLK_TCK)
process_ticks() {
  local pid
  pid=$(pgrep -xo "$1") && awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0
}
cpu_ticks() {
  echo "$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat) $(process_ticks dockerd) $(process_ticks containerd)"
}
# "CPU s: machine 30.9 busy of 34.8, dockerd 3.2, containerd 1.3" from two
# cpu_ticks readings and the round's wall seconds; EXTRA names more.
cpu_split() {
  local before=$1 after=$2 wall=$3 extra=${4:-}
  awk -v a="$before" -v b="$after" -v w="$wall" -v t="$TICKS_PER_SECOND" -v n="$(nproc)" -v x="$extra" 'BEGIN {
    split(a, p, " "); split(b, q, " ")
    printf "CPU s: machine %.1f busy of %.1f, dockerd %.1f, containerd %.1f%s\n",
      (q[1] - p[1]) / t, w * n, (q[2] - p[2]) / t, (q[3] - p[3]) / t, x }'
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# The runc processes alive for over RUNC_STUCK_SECONDS, "pid seconds name
# wait-channel", one a line. runc init renames itself runc:[N:...]. An age
# past the machine's uptime is ps misreading a process being cloned (seen
# once: runc:[0:PARENT] at 4,123,168,608 s, gone a moment later), not a
# stuck one.
stuck_runc() {
  local pid age comm uptime
  uptime=$(cut -d. -f1 /proc/uptime)
  while read -r pid age comm; do
    [ "$age" -gt "$RUNC_STUCK_SECONDS" ] && [ "$age" -le "$uptime" ] || continue
    [[ $comm == runc || $comm == runc:* ]] || continue
    echo "$pid ${age}s $comm $(cat "/proc/$pid/wchan" 2>/dev/null || echo '?')"
  done < <(ps -eo pid=,etimes=,comm=)
}

# Until killed: every 5 s, kills the runc processes found stuck at this look
# and the one before (the same pid both times), each noted in FILE, so what
# waits on them (a docker run, an operator's create) fails instead of
# waiting for good.
watch_runc() {
  local file=$1 stuck previous="" pid rest
  while sleep 5; do
    stuck=$(stuck_runc)
    while read -r pid rest; do
      [ -n "$pid" ] || continue
      grep -q "^$pid " <<<"$previous" || continue
      echo "$pid $rest" >>"$file"
      kill -KILL "$pid" 2>/dev/null || true
    done <<<"$stuck"
    previous=$stuck
  done
}

# Runs the round "$@" under the runc watchdog. An attempt in which a stuck
# runc was killed is void: said so, its containers and task files removed,
# and run again, up to ATTEMPTS. Returns the round's own status otherwise.
guarded() {
  local name=$1 attempt rc stuck=$WORK/stuck
  shift
  for attempt in $(seq "$ATTEMPTS"); do
    : >"$stuck"
    watch_runc "$stuck" &
    WATCHER_PID=$!
    rc=0
    "$@" || rc=$?
    kill "$WATCHER_PID" 2>/dev/null || true
    wait "$WATCHER_PID" 2>/dev/null || true
    WATCHER_PID=
    [ -s "$stuck" ] || return "$rc"
    echo "operator_concurrency.sh: $name, attempt $attempt of $ATTEMPTS: void, runc stuck over ${RUNC_STUCK_SECONDS}s (killed: pid age name wait-channel):" >&2
    sed 's/^/  /' "$stuck" >&2
    remove_containers
    rm -rf "$TASKS" "$STATE" "$STAGING"
    mkdir -p "$TASKS" "$STATE" "$STAGING"
  done
  echo "operator_concurrency.sh: $name: every attempt hit a stuck runc; restart the daemon (hack/docker-down.sh, hack/docker-up.sh) and run again" >&2
  return 1
}

# The CPU seconds (user + system) of a shell's finished children from what
# its `times` wrote to FILE ("0m1.250s 0m0.340s" on the second line). The
# shell must run `times` itself: a subshell's children count from zero.
children_seconds() {
  awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, m, /[ms]/); s += m[1] * 60 + m[2] }; printf "%.1f", s }' "$1"
}

# The docker CLI, N containers launched WORKERS at a time, then all waited for
# (or, with --max-running M, M `docker run --rm` at a time, each waiting for
# its container). The seconds from the first launch to the last exit go to
# $WORK/seconds-b<round>, its CPU split to $WORK/cpu-b<round>, with the
# docker CLI's own CPU (the children of the subshell it runs in, by `times`).
baseline() (
  local round=$1 ids start end cpu_start
  if [ -n "$MAX_RUNNING" ]; then
    cpu_start=$(cpu_ticks)
    start=$(now)
    seq "$N" | xargs -P "$MAX_RUNNING" -I{} docker run --rm --network none --label "ctask.bench=$RUN" \
      --name "ctask-bench-$RUN-b$round-{}" "$IMAGE" sh -c 'sleep 1; echo hi' >/dev/null ||
      { echo "operator_concurrency.sh: a baseline container did not exit 0" >&2; exit 1; }
    end=$(now)
    times >"$WORK/times-b$round"
    cpu_split "$cpu_start" "$(cpu_ticks)" "$(elapsed "$start" "$end")" \
      ", docker CLI $(children_seconds "$WORK/times-b$round")" >"$WORK/cpu-b$round"
    elapsed "$start" "$end" >"$WORK/seconds-b$round"
    exit 0
  fi
  cpu_start=$(cpu_ticks)
  start=$(now)
  ids=$(seq "$N" | xargs -P "$WORKERS" -I{} docker run -d --network none --label "ctask.bench=$RUN" \
    --name "ctask-bench-$RUN-b$round-{}" "$IMAGE" sh -c 'sleep 1; echo hi') ||
    { echo "operator_concurrency.sh: a baseline container did not start" >&2; exit 1; }
  # shellcheck disable=SC2086
  docker wait $ids >"$WORK/exit-codes" || { echo "operator_concurrency.sh: docker wait failed" >&2; exit 1; }
  end=$(now)
  times >"$WORK/times-b$round"
  cpu_split "$cpu_start" "$(cpu_ticks)" "$(elapsed "$start" "$end")" \
    ", docker CLI $(children_seconds "$WORK/times-b$round")" >"$WORK/cpu-b$round"
  if grep -qv '^0$' "$WORK/exit-codes"; then
    echo "operator_concurrency.sh: a baseline container did not exit 0" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  docker rm $ids >/dev/null
  elapsed "$start" "$end" >"$WORK/seconds-b$round"
)

manifest() {
  cat <<EOF
apiVersion: ctask.io/v1alpha1
kind: ContainerTask
metadata:
  name: $1
spec:
  image: $IMAGE
  command: ["sh", "-c", "sleep 1; echo hi"]
  network: {isolated: true}
  podLabels: {ctask.bench: "$RUN"}
EOF
}

# Counts of each phase as "Succeeded=3 Running=97", from ctask get.
phases() {
  "$CTASK" get -A -o json --state-dir "$STATE" 2>/dev/null |
    jq -r '[.items[] | .status.phase // "<none>"] | group_by(.) | map("\(.[0])=\(length)") | join(" ")'
}

stop_operator() {
  [ -n "$OPERATOR_PID" ] || return 0
  kill -TERM "$OPERATOR_PID" 2>/dev/null || true
  wait "$OPERATOR_PID" || true
  OPERATOR_PID=
}

CTASK_SECONDS=
CTASK_CPU=
PEAK_RSS=
# Fails (1, the operator stopped) on a task that did not succeed, an
# operator that died, or the round's timeout.
operator_round() {
  local limit=()
  [ -z "$MAX_RUNNING" ] || limit=(--max-running "$MAX_RUNNING")
  "$CTASK" operator --backend docker --tasks-dir "$TASKS" --state-dir "$STATE" --workers "$WORKERS" "${limit[@]}" \
    >"$WORK/operator.log" 2>&1 &
  OPERATOR_PID=$!
  # Ready once it holds the state directory's lock and has made its layout.
  for _ in $(seq 100); do
    [ -d "$STATE/tasks" ] && break
    kill -0 "$OPERATOR_PID" 2>/dev/null || { echo "ctask operator exited early:" >&2; cat "$WORK/operator.log" >&2; stop_operator; return 1; }
    sleep 0.1
  done
  sleep 1  # one scan of the empty tasks directory

  local i start end counts cpu_start ctask_ticks
  for i in $(seq "$N"); do manifest "$RUN-$i" >"$STAGING/$RUN-$i.yaml"; done
  cpu_start=$(cpu_ticks)
  start=$(now)
  mv "$STAGING"/*.yaml "$TASKS"/
  while :; do
    counts=$(phases)
    [ "$counts" = "Succeeded=$N" ] && break
    if [[ $counts == *Failed* || $counts == *Cancelled* ]]; then
      echo "operator_concurrency.sh: a task did not succeed ($counts):" >&2
      "$CTASK" get -A -o wide --state-dir "$STATE" | grep -v Succeeded >&2 || true
      stop_operator
      return 1
    fi
    kill -0 "$OPERATOR_PID" 2>/dev/null || { echo "ctask operator died:" >&2; tail -20 "$WORK/operator.log" >&2; stop_operator; return 1; }
    if [ "$(elapsed "$start" "$(now)" | cut -d. -f1)" -ge "$TIMEOUT_SECONDS" ]; then
      echo "operator_concurrency.sh: not all finished after ${TIMEOUT_SECONDS}s ($counts)" >&2
      stop_operator
      return 1
    fi
    sleep "$POLL_INTERVAL"
  done
  ctask_ticks=$(awk '{ print $14 + $15 }' "/proc/$OPERATOR_PID/stat")
  # Over the round as polled (up to POLL_INTERVAL past its last write).
  CTASK_CPU=$(cpu_split "$cpu_start" "$(cpu_ticks)" "$(elapsed "$start" "$(now)")" \
    ", ctask $(awk -v c="$ctask_ticks" -v t="$TICKS_PER_SECOND" 'BEGIN { printf "%.1f", c / t }')")
  end=$(find "$STATE/tasks" -name task.json -printf '%T@\n' | sort -n | tail -1)
  CTASK_SECONDS=$(elapsed "$start" "$end")
  PEAK_RSS=$(awk '/^VmHWM:/ { print $2, $3 }' "/proc/$OPERATOR_PID/status")
  stop_operator
}

echo "operator_concurrency.sh: $N tasks of \`sleep 1; echo hi\` ($IMAGE, network none), $WORKERS workers${MAX_RUNNING:+, at most $MAX_RUNNING running}"
echo "machine:  nproc $(nproc), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sr)"
echo "docker:   $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
echo "ctask:    $CTASK ($("$CTASK" version 2>/dev/null | head -1))"
echo

if [ -n "$MAX_RUNNING" ]; then
  BASELINE="docker run --rm (xargs -P $MAX_RUNNING)"
else
  BASELINE="docker run -d (xargs -P $WORKERS) + docker wait"
fi
guarded "baseline 1" baseline 1 || exit 1
B1=$(cat "$WORK/seconds-b1")
echo "baseline 1  $BASELINE: ${B1} s"
guarded "ctask round" operator_round || exit 1
echo "ctask       operator, all $N Succeeded:                ${CTASK_SECONDS} s (peak RSS ${PEAK_RSS})"
guarded "baseline 2" baseline 2 || exit 1
B2=$(cat "$WORK/seconds-b2")
echo "baseline 2  $BASELINE: ${B2} s"
echo
awk -v c="$CTASK_SECONDS" -v b1="$B1" -v b2="$B2" \
  'BEGIN { b = (b1 + b2) / 2; printf "time to all finished: ctask %.2f s, docker CLI %.2f s (mean of 2); ratio ctask/docker %.2f\n", c, b, c / b }'
echo "ctask operator peak RSS (VmHWM): $PEAK_RSS"
echo "where the CPU went (the rest of machine: the shims, runc, the kernel):"
echo "  baseline 1  $(cat "$WORK/cpu-b1")"
echo "  ctask       $CTASK_CPU (ctask: the operator's whole life)"
echo "  baseline 2  $(cat "$WORK/cpu-b2")"
