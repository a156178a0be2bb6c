# Sourced by the Kubernetes benchmarks (kube_create.sh, operator_kube.sh):
# the test control plane of hack/cluster, started only when it is not yet
# healthy and then stopped again by the run that started it.
#
#   bench_cluster_up     starts it if needed, exports its KUBECONFIG and
#                        kubectl, sets $server, and refuses a server that is
#                        not on 127.0.0.1 (benchmarks talk to loopback only)
#   bench_cluster_down   in the EXIT trap: stops it if bench_cluster_up started it
#   bench_on_exit ID     sets that trap: at exit the benchmark binary in
#                        $bench (once set) deletes the namespaces of run ID
#                        (its --clean-up), then bench_cluster_down; Ctrl-C
#                        ends the run through it
#   bench_crds           applies crds/ and waits until every CRD in it is
#                        Established (the operator checks both kinds at start)
#                        and its kinds can be listed (a CRD just installed is
#                        Established a moment before its storage answers:
#                        429 "storage is (re)initializing")
#   bench_build DIR T... builds ctask and the targets T into DIR, configured
#                        with -DCTASK_BENCH=ON when it is not yet

bench_owns_cluster=0

bench_cluster_up() {
  if ! "$CTASK_ROOT/hack/cluster/status.sh" >/dev/null 2>&1; then
    bench_owns_cluster=1
  fi
  log "control plane (hack/cluster/up.sh)"
  "$CTASK_ROOT/hack/cluster/up.sh" >&2
  eval "$("$CTASK_ROOT/hack/cluster/env.sh")"
  server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  [[ $server =~ ^https://127\.0\.0\.1:[0-9]+$ ]] || die "the kubeconfig's server is $server, not on 127.0.0.1: refusing"
}

bench_cluster_down() {
  if [ "$bench_owns_cluster" = 1 ]; then
    log "stopping the control plane this run started"
    "$CTASK_ROOT/hack/cluster/down.sh" >&2 || true
  fi
}

bench_on_exit() {
  bench_run_id=$1
  trap bench_exit EXIT
  trap 'log "interrupted"; exit 130' INT TERM
}

bench_exit() {
  local status=$?
  if [ -n "${bench:-}" ] && [ -n "${KUBECONFIG:-}" ]; then
    "$bench" --clean-up "$bench_run_id" >&2 || log "cleanup: could not delete the namespaces $bench_run_id-*"
  fi
  bench_cluster_down
  exit "$status"
}

bench_crds() {
  kubectl apply -f "$CTASK_ROOT/crds/" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd/containertasks.ctask.io crd/taskqueues.ctask.io >/dev/null
  for _ in $(seq 60); do
    kubectl get containertasks.ctask.io,taskqueues.ctask.io -A >/dev/null 2>&1 && return 0
    sleep 1
  done
  die "the ctask kinds cannot be listed 60 s after their CRDs were Established"
}

bench_build() {
  local dir=$1
  shift
  log "building ctask and $* into $dir/"
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$CTASK_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTASK_BENCH=ON >/dev/null
  elif ! grep -q '^CTASK_BENCH:BOOL=ON$' "$dir/CMakeCache.txt"; then
    cmake "$dir" -DCTASK_BENCH=ON >/dev/null
  fi
  ninja -C "$dir" -j "$CTASK_JOBS" ctask "$@" >&2
}
