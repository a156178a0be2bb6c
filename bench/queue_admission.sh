#!/usr/bin/env bash
# queue_admission.sh: admission queues (issue 11) under load, in one run
# against the test control plane, with the fake kubelet of tests/cluster as
# the node. bench_queue_admission creates 200 short tasks (0.5-1 s each) in
# 10 queues at once, runs them with `ctask operator --max-running 5
# --queue-max-running 1`, and prints, from watches on the tasks and pods:
#   - the most tasks holding a slot at once (overall, per queue) beside the
#     limits, and the most pods running at once;
#   - the admission order across queues and its spread (round-robin);
#   - p50/p99/max delay from a slot freed to the next admission;
#   - the time for all 200 beside the ideal (200/5 x the mean pod runtime).
#
#   bench/queue_admission.sh [--build-dir build] [BENCH FLAGS...]
#
# BENCH FLAGS go to bench_queue_admission (--help lists them: --order
# interleaved, --kube-api-qps default, --queues, --per-queue, ...).
# Starts the control plane of hack/cluster (up.sh) and stops it at the end
# only if it was not running before; installs the CRDs (crds/). Builds ctask
# and bench_queue_admission into the build directory (-DCTASK_BENCH=ON).
# The run's namespace is bq-<pid>-q, deleted at the end, also on failure
# and on Ctrl-C/SIGTERM (bench_queue_admission --clean-up). The only server
# it talks to is the one in the cluster's kubeconfig, which must be on
# 127.0.0.1. A measurement, not a test: nothing here asserts a figure. See
# bench/README.md.
set -euo pipefail
source "$(dirname "$0")/../hack/lib.sh"
source "$(dirname "$0")/cluster.sh"
cd "$CTASK_ROOT"

build_dir=build
bench_flags=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=${2:?"$1 needs a value"}; shift 2 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    --run-id | --clean-up | --ctask) die "$1 is set by this script" ;;
    *) bench_flags+=("$1"); shift ;;
  esac
done

readonly run_id="bq-$$"
bench=""
bench_on_exit "$run_id"

# 1. The control plane and the CRDs (ContainerTask, TaskQueue: the operator
# watches both).
bench_cluster_up
bench_crds

# 2. ctask and the benchmark, into the build directory (bench/cluster.sh
# configures it only when it is not yet).
bench_build "$build_dir" bench_queue_admission
bench=$build_dir/bench/bench_queue_admission

# 3. The run.
log "bench_queue_admission ${bench_flags[*]:-} (namespace $run_id-q)"
printf 'queue_admission.sh: machine: nproc %s, %s; load average %s; %s\n' "$(nproc)" "$(uname -sr)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$("$build_dir/controller/ctask" version 2>/dev/null || echo "ctask: no version")"
"$bench" --ctask "$build_dir/controller/ctask" --run-id "$run_id" "${bench_flags[@]}"
