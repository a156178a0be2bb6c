#!/usr/bin/env bash
# logs_kube.sh: N tasks running at once, each printing, each log followed by
# the operator (issue 13), against the test control plane with the fake
# kubelet of tests/cluster as the node, the operator at its default flags.
# bench_logs_kube prints, each beside the same operator idle:
#   - the start rate of a backlog of N tasks at default flags (tasks/s);
#   - with N running and printing: the logs followed, the operator's
#     threads, sockets, TCP connections to the API server, RSS (and peak),
#     API requests per second by verb, and how many tasks' status.logTail
#     shows a recent line;
#   - after every pod exits: how many archived logs match what the pod
#     printed (size and SHA-256).
#
#   bench/logs_kube.sh [-n 1000] [--seconds 30] [--build-dir build]
#
# Starts the control plane of hack/cluster (up.sh) and stops it at the end
# only if it was not running before; installs the CRD (crds/). Builds ctask
# and bench_logs_kube into the build directory (-DCTASK_BENCH=ON). The run's
# namespace is bl-<pid>-logs, deleted at the end, also on failure and on
# Ctrl-C/SIGTERM (bench_logs_kube --clean-up). The only server it talks to
# is the one in the cluster's kubeconfig, which must be on 127.0.0.1. A
# measurement, not a test: nothing here asserts a figure. See
# bench/README.md.
set -euo pipefail
source "$(dirname "$0")/../hack/lib.sh"
source "$(dirname "$0")/cluster.sh"
cd "$CTASK_ROOT"

tasks=1000
seconds=30
build_dir=build
usage() {
  cat <<EOF
Usage: bench/logs_kube.sh [-n N] [--seconds S] [--build-dir DIR]
  -n, --tasks N     tasks running at once (default 1000)
  --seconds S       the steady window, every pod printing a line a second (default 30)
  --build-dir DIR   CMake build directory (default build)
EOF
}
while [ $# -gt 0 ]; do
  case $1 in
    -n | --tasks) tasks=${2:?"$1 needs a value"}; shift 2 ;;
    --seconds) seconds=${2:?"$1 needs a value"}; shift 2 ;;
    --build-dir) build_dir=${2:?"$1 needs a value"}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
for v in "$tasks" "$seconds"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || die "want a positive number, got \"$v\""
done

readonly run_id="bl-$$"
bench=""
bench_on_exit "$run_id"

# 1. The control plane and the CRD.
bench_cluster_up
bench_crds

# 2. ctask and the benchmark, into the build directory (bench/cluster.sh
# configures it only when it is not yet).
bench_build "$build_dir" bench_logs_kube
bench=$build_dir/bench/bench_logs_kube

# 3. The run.
log "bench_logs_kube: $tasks tasks running, a ${seconds}s window (namespace $run_id-logs)"
printf 'logs_kube.sh: machine: nproc %s, %s; load average %s\n' "$(nproc)" "$(uname -sr)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" --ctask "$build_dir/controller/ctask" --tasks "$tasks" --seconds "$seconds" --run-id "$run_id"
