#!/usr/bin/env bash
# kube_create.sh: ctask's Kubernetes client against client-go, creating N
# ConfigMaps with the same concurrency, in one run (issue 4). Prints median
# seconds and objects/s of each and the time ratio ctask/client-go (< 1: ctask
# is faster), at concurrency 1 and 4; then, once and for information, the
# same N objects through `kubectl create -f` (sequential: compare it with
# ctask at concurrency 1).
#
#   bench/kube_create.sh [-n 2000] [--reps 3] [--build-dir build]
#
# Starts the control plane of hack/cluster (up.sh) and stops it at the end
# only if it was not running before. Builds bench_kube_create into the build
# directory (-DCTASK_BENCH=ON) and the client-go twin (bench/clientgo) outside
# the repository, into ${CTASK_CACHE:-$HOME/.cache/ctask}/bench/, keyed by a
# hash of its go.mod, go.sum and main.go. Every run gets a fresh namespace
# of its own (kb-<pid>-...), deleted afterwards, also on failure and on
# Ctrl-C/SIGTERM. The only server it talks to is the one in the cluster's
# kubeconfig, which must be on 127.0.0.1. A measurement, not a test: nothing
# here asserts a duration. See bench/README.md.
set -euo pipefail
source "$(dirname "$0")/../hack/lib.sh"
source "$(dirname "$0")/cluster.sh"
cd "$CTASK_ROOT"

objects=2000
reps=3
build_dir=build
usage() {
  cat <<EOF
Usage: bench/kube_create.sh [-n N] [--reps R] [--build-dir DIR]
  -n, --objects N   ConfigMaps per run (default 2000)
  --reps R          interleaved repetitions of each client per concurrency (default 3)
  --build-dir DIR   CMake build directory for bench_kube_create (default build)
EOF
}
while [ $# -gt 0 ]; do
  case $1 in
    -n | --objects) objects=${2:?"$1 needs a value"}; shift 2 ;;
    --reps) reps=${2:?"$1 needs a value"}; shift 2 ;;
    --build-dir) build_dir=${2:?"$1 needs a value"}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $objects =~ ^[1-9][0-9]*$ ]] || die "-n: want a positive number, got \"$objects\""
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps: want a positive number, got \"$reps\""

readonly concurrencies=(1 4)
readonly run_id="kb-$$"
readonly cache_root=${CTASK_CACHE:-$HOME/.cache/ctask}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctask-bench-kube.XXXXXX")
namespaces=()   # created by this run and not yet deleted

cleanup() {
  local status=$?
  if [ ${#namespaces[@]} -gt 0 ]; then
    kubectl delete ns --wait=false "${namespaces[@]}" >/dev/null 2>&1 ||
      log "cleanup: could not delete namespaces ${namespaces[*]}"
  fi
  rm -rf "$tmp"
  bench_cluster_down
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# 1. The control plane: started here only if it is not already healthy.
bench_cluster_up

# 2. Our benchmark, into the build directory.
log "building bench_kube_create into $build_dir/"
# Configured only when it is not yet: a reconfigure picks up a new git
# description, which rebuilds ctask_api (its CTASK_VERSION) for nothing here.
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$CTASK_ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTASK_BENCH=ON >/dev/null
elif ! grep -q '^CTASK_BENCH:BOOL=ON$' "$build_dir/CMakeCache.txt"; then
  cmake "$build_dir" -DCTASK_BENCH=ON >/dev/null
fi
ninja -C "$build_dir" -j "$CTASK_JOBS" bench_kube_create >&2
ours=$build_dir/bench/bench_kube_create

# 3. The client-go twin, outside the repository. The modules come from the
# cluster's module cache (hack/cluster/build.sh put client-go v0.35.8 there);
# anything missing comes through $GOPROXY.
src=$CTASK_ROOT/bench/clientgo
key=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)
clientgo_dir=$cache_root/bench/clientgo-$key
clientgo=$clientgo_dir/bench-clientgo
if [ -x "$clientgo" ]; then
  log "client-go twin: cached ($clientgo)"
else
  log "building the client-go twin into $clientgo_dir/"
  mkdir -p "$clientgo_dir"
  (
    flock 9
    [ -x "$clientgo" ] && exit 0
    cd "$src"
    GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=mod -modcacherw" \
      GOMODCACHE=$cache_root/k8s/go/mod GOCACHE=$cache_root/k8s/go/build \
      nice -n 10 go build -trimpath -p "$CTASK_JOBS" -o "$clientgo.tmp" .
    mv "$clientgo.tmp" "$clientgo"
  ) 9>"$clientgo_dir/lock"
fi

# new_namespace WHAT: creates a fresh namespace for one run, sets $ns to it
# and remembers it for cleanup. Not in $(...): the list must survive.
new_namespace() {
  ns="$run_id-$1"
  kubectl create namespace "$ns" >/dev/null
  namespaces+=("$ns")
}
# drop_namespace NS: delete it without waiting (the next run has its own).
drop_namespace() {
  kubectl delete ns --wait=false "$1" >/dev/null
  local kept=() n
  for n in "${namespaces[@]}"; do [ "$n" = "$1" ] || kept+=("$n"); done
  namespaces=(${kept[@]+"${kept[@]}"})
}
# one_run IMPL C REP: prints the seconds of one run; its output line to stderr.
one_run() {
  local impl=$1 c=$2 rep=$3 line
  new_namespace "$impl-c$c-r$rep"
  if [ "$impl" = ctask ]; then
    line=$("$ours" --namespace "$ns" --objects "$objects" --concurrency "$c") || die "bench_kube_create failed (namespace $ns)"
  else
    line=$("$clientgo" -namespace "$ns" -objects "$objects" -concurrency "$c") || die "bench-clientgo failed (namespace $ns)"
  fi
  drop_namespace "$ns"
  printf '  c=%s rep %s/%s: %s\n' "$c" "$rep" "$reps" "$line" >&2
  sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' <<<"$line"
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# 4. Interleaved: odd repetitions run ctask first, even ones client-go first.
declare -A times
for c in "${concurrencies[@]}"; do
  log "concurrency $c: $reps repetitions of each, $objects ConfigMaps per run"
  for rep in $(seq 1 "$reps"); do
    order=(ctask client-go)
    [ $((rep % 2)) = 0 ] && order=(client-go ctask)
    for impl in "${order[@]}"; do
      # Not $(one_run ...): its namespace bookkeeping must survive.
      one_run "$impl" "$c" "$rep" >"$tmp/seconds"
      times[$impl,$c]+="$(cat "$tmp/seconds") "
    done
  done
done

# 5. kubectl create -f, once: the same N objects in one multi-document file.
log "kubectl create -f with $objects ConfigMaps (once)"
for ((i = 0; i < objects; i++)); do
  printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench-%05d\ndata:\n  index: "%d"\n  payload: ctask bench object\n' "$i" "$i"
done >"$tmp/configmaps.yaml"
kubectl api-resources >/dev/null # warms kubectl's discovery cache, so the timed run does not fetch it
new_namespace kubectl
start=$(date +%s.%N)
kubectl create -n "$ns" -f "$tmp/configmaps.yaml" -v=3 >/dev/null 2>"$tmp/kubectl.err" ||
  { tail -5 "$tmp/kubectl.err" >&2; die "kubectl create -f failed (namespace $ns)"; }
end=$(date +%s.%N)
throttled=$(grep -c 'client-side throttling' "$tmp/kubectl.err" || true)
created=$(kubectl get configmaps -n "$ns" --no-headers 2>/dev/null | grep -c '^bench-' || true)
drop_namespace "$ns"
kubectl_s=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')
[ "$created" = "$objects" ] || die "kubectl create -f made $created ConfigMaps, want $objects"

# 6. The report.
printf 'kube_create.sh: %d ConfigMaps per run, %d repetitions of each client per concurrency, interleaved\n' "$objects" "$reps"
printf 'machine:  nproc %s, %s, %s; load average %s\n' "$(nproc)" \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(uname -sr)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'server:   %s at %s\n' "$(kubectl version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)" "$server"
printf 'ctask:    %s (rate limit off: qps 0)\n' "$ours"
printf 'client-go: %s (v0.35.8, QPS -1: rate limit off)\n\n' "$clientgo"
printf '%-11s %22s %22s %18s\n' "" "ctask s (obj/s)" "client-go s (obj/s)" "ratio ctask/cgo"
declare -A med
for c in "${concurrencies[@]}"; do
  for impl in ctask client-go; do
    med[$impl,$c]=$(tr ' ' '\n' <<<"${times[$impl,$c]}" | grep . | median)
  done
  awk -v c="$c" -v a="${med[ctask,$c]}" -v b="${med[client-go,$c]}" -v n="$objects" -v all_a="${times[ctask,$c]}" -v all_b="${times[client-go,$c]}" \
    'BEGIN {printf "%-11s %13.3f (%6.1f) %13.3f (%6.1f) %18.2f\n", "c=" c, a, n / a, b, n / b, a / b;
            printf "%-11s %22s %22s\n", "  all runs", all_a, all_b}'
done
printf '\nkubectl create -f (sequential, one process, once): %s s (%s obj/s); ratio ctask c=1 / kubectl %s\n' \
  "$kubectl_s" "$(awk -v s="$kubectl_s" -v n="$objects" 'BEGIN {printf "%.1f", n / s}')" \
  "$(awk -v a="${med[ctask,1]}" -v b="$kubectl_s" 'BEGIN {printf "%.2f", a / b}')"
printf 'kubectl client-side throttling messages (-v=3): %s\n' "$throttled"
