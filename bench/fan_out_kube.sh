#!/usr/bin/env bash
# fan_out_kube.sh: a fan-out (issue 12) against a plain Indexed Job, in one
# run against the test control plane, with the fake kubelet of tests/cluster
# as the node. bench_fan_out_kube runs 1,000 items at parallelism 50 three
# times: an Indexed Job, one ContainerTask (completions 1000, parallelism
# 50) through `ctask operator`, the Indexed Job again; each pod runs 100 ms.
# It prints the time to all done of each, the ratio ctask / Indexed Job, and
# the operator's peak RSS, API requests and final status size.
#
#   bench/fan_out_kube.sh [--build-dir build] [BENCH FLAGS...]
#
# BENCH FLAGS go to bench_fan_out_kube (-n, -p, --item-ms, --kube-api-qps).
# Starts the control plane of hack/cluster (up.sh) and stops it at the end
# only if it was not running before; installs the CRDs (crds/). Builds ctask
# and bench_fan_out_kube into the build directory (-DCTASK_BENCH=ON). The
# run's namespaces are bf-<pid>-*, deleted at the end, also on failure and
# on Ctrl-C/SIGTERM. The only server it talks to is the one in the cluster's
# kubeconfig, which must be on 127.0.0.1. A measurement, not a test: nothing
# here asserts a figure. See bench/README.md.
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

readonly run_id="bf-$$"
bench=""
bench_on_exit "$run_id"

# 1. The control plane and the CRDs.
bench_cluster_up
bench_crds

# 2. ctask and the benchmark, into the build directory (bench/cluster.sh
# configures it only when it is not yet).
bench_build "$build_dir" bench_fan_out_kube
bench=$build_dir/bench/bench_fan_out_kube

# 3. The run.
log "bench_fan_out_kube ${bench_flags[*]:-} (namespaces $run_id-*)"
printf 'fan_out_kube.sh: machine: nproc %s, %s; load average %s; %s\n' "$(nproc)" "$(uname -sr)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$("$build_dir/controller/ctask" version 2>/dev/null || echo "ctask: no version")"
"$bench" --ctask "$build_dir/controller/ctask" --run-id "$run_id" "${bench_flags[@]}"
