#!/usr/bin/env bash
# The whole test suite, set-up included: what `make test` and .ci/run run.
#
# A Docker daemon and the local test image are made available first
# (hack/docker-up.sh), so every tier can reach Docker; suites that need it fail,
# not skip, when it is missing. Then the test control plane (hack/cluster/:
# etcd, kube-apiserver, kube-controller-manager on loopback) is built (cached
# after the first run, ~13 min cold) and started, and its KUBECONFIG and
# kubectl are exported to every ctest run; the cluster suites fail, not skip,
# without it. If this script starts the control plane, it starts it from an
# empty etcd and stops it at exit; one that was already running is used as
# it is and left running. On failure the cluster's log
# directory and the end of each log are printed.
#
# Tiers, in order (each must pass; none is skipped):
#   format     clang-format over every C++ file (hack/lint.sh format; seconds)
#   unit       GoogleTest suites through ctest (build/), both ctest labels:
#                unit     the fast suites (ctest -L unit runs only these)
#                cluster  kubectl and ctask against the control plane:
#                         CRD, examples, invalid corpus, RBAC (ctest -L cluster)
#   tidy       clang-tidy (.clang-tidy) over src/ and controller/, on the
#              unit build's compile database (hack/lint.sh tidy), bounded by
#              CTASK_TIDY_TIMEOUT (default 900 s)
#   sanitizer  the same suites, both labels, built with ASan + UBSan
#              (build-asan/)
#   fuzz       the parse -> validate -> render libFuzzer target, bounded time
#              (build-fuzz/, clang 16)
#   kueue      the operator beside a real Kueue controller: build-kueue.sh
#              (built once and cached, ~6 min cold), kueue.sh up, ctest -L
#              kueue (tests/kueue/), kueue.sh down.
#   node       the operator on real pods: the operator's image (hack/image.sh,
#              as make image), then hack/cluster/up.sh --node adds
#              kube-scheduler, containerd and a kubelet to the control plane
#              (built once and cached, ~2-3 min cold), then ctest -L node
#              (tests/node/, and tests/node_serial/: the operator deployed
#              with kubectl apply -k manifests/, alone). Last, and alone: the fake-kubelet suites of the
#              earlier tiers refuse to run beside a real node, whose scheduler
#              would take their pods. The node this run starts is stopped and
#              cleaned at the end (hack/cluster/down.sh --node).
#
# CTASK_FUZZ_SECONDS (default 60) bounds the fuzzing run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CTASK_ROOT"

"$CTASK_ROOT/hack/install-deps.sh"

log "tier format: clang-format over every C++ file"
"$CTASK_ROOT/hack/lint.sh" format

"$CTASK_ROOT/hack/docker-up.sh"

# The control plane for the cluster suites.
cluster_dir=${CTASK_CLUSTER_DIR:-/tmp/ctask-cluster}
cluster_started=false
node_started=false
kueue_started=false
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    printf 'test control plane logs: %s\n' "$cluster_dir/logs" >&2
    for f in "$cluster_dir"/logs/*.log; do
      [ -f "$f" ] || continue
      printf -- '--- %s (last 20 lines)\n' "$f" >&2
      tail -n 20 "$f" >&2 || true
    done
  fi
  if [ "$kueue_started" = true ]; then
    "$CTASK_ROOT/hack/cluster/kueue.sh" down || true
  fi
  if [ "$cluster_started" = true ]; then
    "$CTASK_ROOT/hack/cluster/down.sh" || true
  elif [ "$node_started" = true ]; then
    "$CTASK_ROOT/hack/cluster/down.sh" --node || true
  fi
  exit "$rc"
}
trap on_exit EXIT

log "control plane: build (cached) and start"
"$CTASK_ROOT/hack/cluster/build.sh" >/dev/null
if ! "$CTASK_ROOT/hack/cluster/status.sh" >/dev/null 2>&1; then
  cluster_started=true
  # A control plane this run starts begins empty: namespaces and tasks an
  # earlier run left in etcd are not this run's, and would keep the
  # namespace controller busy for the whole run.
  if [ -f "$cluster_dir/.ctask-cluster" ]; then
    "$CTASK_ROOT/hack/cluster/down.sh" --purge >/dev/null
  fi
fi
# A node left running (hack/cluster/up.sh --node) is stopped: the cluster
# suites' fake kubelet cannot share the control plane with it.
if [ -f "$cluster_dir/node/bin-dir" ]; then
  log "control plane: stopping the node a previous run left (the node tier starts it again)"
  "$CTASK_ROOT/hack/cluster/down.sh" --node
fi
"$CTASK_ROOT/hack/cluster/up.sh"
# Two steps, so a failing env.sh stops the run (set -e does not see a
# failure inside eval's command substitution).
cluster_env=$("$CTASK_ROOT/hack/cluster/env.sh")
eval "$cluster_env"
cluster_dir=${CTASK_CLUSTER_DIR:-$cluster_dir}

log "tier unit: build and run"
configure_and_build build "${CTASK_BUILD_CONFIG[@]}"
ctest --test-dir build --output-on-failure -j "$CTASK_JOBS" -LE 'node|kueue'

log "tier tidy: clang-tidy over src/ and controller/"
"$CTASK_ROOT/hack/lint.sh" tidy

log "tier sanitizer: ASan + UBSan build and run"
configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DCTASK_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$CTASK_JOBS" -LE 'node|kueue'

log "tier fuzz: parse -> validate -> render"
"$CTASK_ROOT/hack/fuzz.sh"

log "tier kueue: the operator beside a real Kueue controller"
# Kueue's webhooks see every Job the API server is asked to create, so it
# runs only for this tier, and is stopped (its webhooks removed) after it.
"$CTASK_ROOT/hack/cluster/build-kueue.sh" >/dev/null
kueue_started=true
"$CTASK_ROOT/hack/cluster/kueue.sh" up
ctest --test-dir build --output-on-failure -j "$CTASK_JOBS" -L kueue
"$CTASK_ROOT/hack/cluster/kueue.sh" down
kueue_started=false

log "tier node: the operator's image, then the operator on real pods (kubelet, containerd, runc)"
# The image the in-cluster test deploys with manifests/ (make image); up.sh
# --node imports it into the node.
"$CTASK_ROOT/hack/image.sh"
node_started=true
"$CTASK_ROOT/hack/cluster/up.sh" --node
cluster_env=$("$CTASK_ROOT/hack/cluster/env.sh")
eval "$cluster_env"
# The node tier's tests mostly wait (containers sleeping, grace periods), so
# they run three per core.
ctest --test-dir build --output-on-failure -j $((CTASK_JOBS * 3)) -L node
"$CTASK_ROOT/hack/cluster/down.sh" --node
node_started=false

log "all tiers passed"
