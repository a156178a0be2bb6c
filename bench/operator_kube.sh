#!/usr/bin/env bash
# operator_kube.sh: the Kubernetes operator under load (issues 5 and 13), in
# one run against the test control plane, with the fake kubelet of
# tests/cluster as the node. bench_operator_kube prints its figures, each
# beside a baseline measured in the same run:
#   - Job creation: the operator's Jobs/s for a backlog of N ContainerTasks
#     it finds when it starts, as a ratio of N Jobs created directly
#     through the same client with as many threads as the operator has
#     workers; beside it kube-controller-manager's pods/s for those Jobs;
#   - its API requests per task, by verb;
#   - p50/p99 delay from a pod's terminal status to its task's Succeeded;
#   - the operator's resident memory with M tasks cached, against the same
#     operator watching an empty namespace.
#
#   bench/operator_kube.sh [-n 1000] [--cached 10000] [--workers 4] [--build-dir build]
#
# Starts the control plane of hack/cluster (up.sh) and stops it at the end
# only if it was not running before; installs the CRD (crds/). Builds ctask
# and bench_operator_kube into the build directory (-DCTASK_BENCH=ON). Every
# run's namespaces are bo-<pid>-*, deleted at the end, also on failure and
# on Ctrl-C/SIGTERM (bench_operator_kube --clean-up). The only server it
# talks to is the one in the cluster's kubeconfig, which must be on
# 127.0.0.1. A measurement, not a test: nothing here asserts a figure. See
# bench/README.md.
set -euo pipefail
source "$(dirname "$0")/../hack/lib.sh"
source "$(dirname "$0")/cluster.sh"
cd "$CTASK_ROOT"

tasks=1000
cached=10000
workers=4
build_dir=build
usage() {
  cat <<EOF
Usage: bench/operator_kube.sh [-n N] [--cached M] [--workers W] [--build-dir DIR]
  -n, --tasks N     tasks for the Job-creation and status-delay figures (default 1000)
  --cached M        suspended tasks cached for the memory figure (default 10000)
  --workers W       operator workers, and raw-creation threads (default 4)
  --build-dir DIR   CMake build directory (default build)
EOF
}
while [ $# -gt 0 ]; do
  case $1 in
    -n | --tasks) tasks=${2:?"$1 needs a value"}; shift 2 ;;
    --cached) cached=${2:?"$1 needs a value"}; shift 2 ;;
    --workers) workers=${2:?"$1 needs a value"}; shift 2 ;;
    --build-dir) build_dir=${2:?"$1 needs a value"}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
for v in "$tasks" "$cached" "$workers"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || die "want a positive number, got \"$v\""
done

readonly run_id="bo-$$"
bench=""
bench_on_exit "$run_id"

# 1. The control plane and the CRD.
bench_cluster_up
bench_crds

# 2. ctask and the benchmark, into the build directory (bench/cluster.sh
# configures it only when it is not yet).
bench_build "$build_dir" bench_operator_kube
bench=$build_dir/bench/bench_operator_kube

# 3. The run.
log "bench_operator_kube: $tasks tasks, $cached cached, $workers workers (namespaces $run_id-*)"
printf 'operator_kube.sh: machine: nproc %s, %s; load average %s\n' "$(nproc)" "$(uname -sr)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" --ctask "$build_dir/controller/ctask" --tasks "$tasks" --cached "$cached" --workers "$workers" \
  --run-id "$run_id"
