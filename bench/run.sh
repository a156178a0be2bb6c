#!/usr/bin/env bash
# What `make bench` runs: installs what is needed, makes the Docker daemon and
# the test image available (hack/docker-up.sh), builds ctask and the benchmark
# targets only into build/ (configured with -DCTASK_BENCH=ON, as hack/build.sh
# configures it otherwise), then runs the benchmarks: the Docker ones
# (operator_concurrency.sh at 100 tasks, and at 1,000 with 50 running at
# once), then those that start the test control plane themselves
# (hack/cluster/up.sh; a cold first build of it takes ~13 min): kube_create.sh
# (it builds its client-go twin into ${CTASK_CACHE:-~/.cache/ctask}/bench/),
# operator_kube.sh (~15 min), logs_kube.sh (1,000 tasks running, ~6 min),
# queue_admission.sh (200 tasks in 10 queues, then 1,000 in 20), fan_out_kube.sh
# (~6 min) and pod_start.sh (on the real node: up.sh --node).
# Arguments are ignored; run the benchmarks directly for other settings
# (bench/README.md).
set -euo pipefail
source "$(dirname "$0")/../hack/lib.sh"
cd "$CTASK_ROOT"

"$CTASK_ROOT/hack/install-deps.sh"
"$CTASK_ROOT/hack/docker-up.sh"

log "building ctask and the benchmarks into build/"
if [ ! -f build/build.ninja ]; then
  cmake -S "$CTASK_ROOT" -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTASK_BENCH=ON >/dev/null
else
  cmake build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTASK_BENCH=ON >/dev/null
fi
ninja -C build -j "$CTASK_JOBS" ctask bench_run_vs_docker bench_kube_create bench_operator_kube \
  bench_queue_admission bench_logs_kube bench_fan_out_kube

log "bench_run_vs_docker"
build/bench/bench_run_vs_docker --ctask build/controller/ctask
echo
log "operator_concurrency.sh"
bench/operator_concurrency.sh --ctask build/controller/ctask
echo
log "operator_concurrency.sh -n 1000 --max-running 50"
bench/operator_concurrency.sh --ctask build/controller/ctask -n 1000 --max-running 50
echo
log "kube_create.sh"
bench/kube_create.sh --build-dir build
echo
log "operator_kube.sh"
bench/operator_kube.sh --build-dir build
echo
log "logs_kube.sh"
bench/logs_kube.sh --build-dir build
echo
log "queue_admission.sh"
bench/queue_admission.sh --build-dir build
echo
log "queue_admission.sh: 1,000 tasks in 20 queues (the operator's cost per admission beside 200 in 10)"
bench/queue_admission.sh --build-dir build --queues 20 --per-queue 50 --max-running 20
echo
log "fan_out_kube.sh"
bench/fan_out_kube.sh --build-dir build
echo
log "pod_start.sh"
bench/pod_start.sh --build-dir build
