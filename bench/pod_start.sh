#!/usr/bin/env bash
# pod_start.sh: pod start latency on the real node of hack/cluster (up.sh
# --node: kubelet, containerd, runc), a ContainerTask through `ctask operator`
# against a bare Job of the same image and command, in one run.
#
# Latency is "applied -> container running": the host's clock (/proc/uptime,
# 10 ms resolution) just before `kubectl apply`, against the same clock read
# by the container's first command (`cat /proc/uptime`: containers share the
# host's kernel, so it is the same clock). Tasks and Jobs alternate, one at a
# time (the next is applied once the previous has finished), so both see the
# same node. Prints p50/p95/max of each and the ratios task/Job.
#
# Anchors: Kubernetes' pod startup SLO (p99 <= 5 s for stateless pods without
# image pull) and a "container start < 5 s for cached images" target; the
# image here is always cached (imported into the node).
#
#   bench/pod_start.sh [-n 50] [--build-dir build]
#
# Needs hack/docker-up.sh (the node's images come from dockerd); starts the
# cluster with its node when it is not running and stops the node again at
# the end if this run started it. Talks only to the cluster on 127.0.0.1 and
# to pods on its bridge. A measurement, not a test (bench/README.md).
set -euo pipefail
source "$(dirname "$0")/../hack/lib.sh"
source "$(dirname "$0")/cluster.sh"
cd "$CTASK_ROOT"

runs=50
build_dir=build
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=${2:?"-n needs a value"}; shift 2 ;;
    --build-dir) build_dir=${2:?"--build-dir needs a value"}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/pod_start.sh [-n N] [--build-dir DIR])" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number, got \"$runs\""

readonly ns="ps-$$"
readonly image=ctask-test/busybox:latest
work=$(mktemp -d)
operator_pid=""
node_owned=0
cleanup() {
  local status=$?
  [ -z "$operator_pid" ] || kill "$operator_pid" 2>/dev/null || true
  if [ -n "${KUBECONFIG:-}" ]; then
    kubectl get containertasks -n "$ns" -o name 2>/dev/null | while read -r t; do
      kubectl patch -n "$ns" "$t" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
    done
    kubectl delete namespace "$ns" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  fi
  [ "$node_owned" = 0 ] || "$CTASK_ROOT/hack/cluster/down.sh" --node >&2 || true
  bench_cluster_down
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$CTASK_ROOT/hack/docker-up.sh" >&2
bench_cluster_up
if ! kubectl get node 127.0.0.1 >/dev/null 2>&1; then
  node_owned=1
fi
"$CTASK_ROOT/hack/cluster/up.sh" --node >&2
eval "$("$CTASK_ROOT/hack/cluster/env.sh")"
bench_crds

log "building ctask into $build_dir"
[ -f "$build_dir/build.ninja" ] || configure_and_build "$build_dir" "${CTASK_BUILD_CONFIG[@]}"
ninja -C "$build_dir" -j "$CTASK_JOBS" ctask >/dev/null
kubectl create namespace "$ns" >/dev/null
kubectl -n "$ns" wait --for=jsonpath='{.metadata.name}'=default serviceaccount/default --timeout=60s >/dev/null
# The operator at its default flags (workers, client QPS), watching the run's
# namespace only.
"$build_dir/controller/ctask" operator --backend kubernetes --namespace "$ns" --http-address 127.0.0.1:0 \
  >"$work/operator.log" 2>&1 &
operator_pid=$!
for _ in $(seq 1 100); do
  grep -q "caches synced" "$work/operator.log" && break
  sleep 0.1
done
grep -q "caches synced" "$work/operator.log" || die "the operator did not start: $(tail -5 "$work/operator.log")"

uptime_now() { cut -d' ' -f1 /proc/uptime; }
readonly command_yaml='["sh", "-c", "cat /proc/uptime"]'

# run_task I: one ContainerTask; prints its latency in seconds.
run_task() {
  local name=task-$1 t0 started
  t0=$(uptime_now)
  kubectl apply -f - >/dev/null <<EOF
apiVersion: ctask.io/v1alpha1
kind: ContainerTask
metadata: {name: $name, namespace: $ns}
spec:
  image: $image
  imagePullPolicy: IfNotPresent
  command: $command_yaml
EOF
  kubectl -n "$ns" wait --for=condition=Succeeded "containertask/$name" --timeout=120s >/dev/null
  started=$(kubectl -n "$ns" get containertask "$name" -o jsonpath='{.status.logTail}' | cut -d' ' -f1)
  awk -v a="$t0" -v b="$started" 'BEGIN { printf "%.2f\n", b - a }'
}

# run_job I [lean]: the same container as a bare Job (backoffLimit 0, never
# restarted), as a user would write it; with "lean", with the two pod
# settings ctask's Jobs carry that make a container start sooner (no service
# account token to mount, no service links); prints its latency.
run_job() {
  local name=job-$1${2:+-$2} t0 started settings=""
  [ "${2:-}" != lean ] || settings="automountServiceAccountToken: false
      enableServiceLinks: false"
  t0=$(uptime_now)
  kubectl apply -f - >/dev/null <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: $name, namespace: $ns}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      $settings
      containers:
      - name: main
        image: $image
        imagePullPolicy: IfNotPresent
        command: $command_yaml
EOF
  kubectl -n "$ns" wait --for=condition=Complete "job/$name" --timeout=120s >/dev/null
  started=$(kubectl -n "$ns" logs "job/$name" | cut -d' ' -f1)
  awk -v a="$t0" -v b="$started" 'BEGIN { printf "%.2f\n", b - a }'
}

log "pod start latency: $runs ContainerTasks and 2 x $runs bare Jobs, alternating, one at a time"
for i in $(seq 1 "$runs"); do
  run_task "$i" >>"$work/task"
  run_job "$i" >>"$work/job"
  run_job "$i" lean >>"$work/lean"
  [ $((i % 10)) -ne 0 ] || log "  $i of $runs each"
done

# stats FILE: p50 p95 max (nearest rank).
stats() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    p50 = v[int((NR * 50 + 99) / 100)]; p95 = v[int((NR * 95 + 99) / 100)]
    printf "%.2f %.2f %.2f\n", p50, p95, v[NR] }'
}
read -r t50 t95 tmax < <(stats "$work/task")
read -r j50 j95 jmax < <(stats "$work/job")
read -r l50 l95 lmax < <(stats "$work/lean")
printf '\npod start latency, applied -> container running (s), %d each, one at a time, image cached:\n' "$runs"
printf '%-30s %6s %6s %6s\n' "" p50 p95 max
printf '%-30s %6s %6s %6s\n' "ContainerTask (ctask operator)" "$t50" "$t95" "$tmax"
printf '%-30s %6s %6s %6s\n' "bare Job (baseline)" "$j50" "$j95" "$jmax"
printf '%-30s %6s %6s %6s\n' "bare Job, ctask's pod settings" "$l50" "$l95" "$lmax"
awk -v a="$t50" -v b="$j50" -v c="$t95" -v d="$j95" -v e="$l50" -v f="$l95" 'BEGIN {
  printf "ratio task/Job: p50 %.2f, p95 %.2f; task/Job with the same pod settings: p50 %.2f, p95 %.2f\n", a / b, c / d, a / e, c / f
  printf "(anchor: pod startup SLO p99 <= 5 s without image pull)\n" }'
