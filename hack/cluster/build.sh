#!/usr/bin/env bash
# Builds, once, the pinned control-plane binaries for the Kubernetes test tier
# and caches them outside the repository:
#
#   $CTASK_CACHE/k8s/etcd-<v>-kubernetes-<v>/bin/{etcd,kube-apiserver,kube-controller-manager,kubectl}
#
# Everything comes from Go modules through the Go module proxy (GOPROXY), built
# with the local Go toolchain (GOTOOLCHAIN=local, CGO_ENABLED=0):
#   - etcd: a one-file wrapper main around go.etcd.io/etcd/server/v3/etcdmain;
#   - kube-apiserver, kube-controller-manager, kubectl: a go.mod requiring
#     k8s.io/kubernetes with every k8s.io/* staging module replaced by its
#     matching v0.<minor>.<patch> release. The list of staging modules is read
#     from the go.mod of the pinned k8s.io/kubernetes, as the proxy serves it.
#
# A finished build writes a stamp file; with the stamp and all binaries
# present, a second run does nothing ("cached"). The Go module and build
# caches live under the cache root too, so a rebuild (another version, or after
# deleting bin/) is warm. Idempotent; concurrent runs wait on a lock.
#
# On success, prints the bin directory on stdout (progress goes to stderr), so
# a caller can do: bin=$(hack/cluster/build.sh).
#
# Environment:
#   CTASK_CACHE   cache root (default $HOME/.cache/ctask)
#   CTASK_JOBS    go build -p (default: every core, see hack/lib.sh)
#   CTASK_NICE    niceness of the go builds (default 10)
#   CTASK_REBUILD set to 1 to rebuild even if the stamp is present
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

# Pinned versions. Newest patch releases the proxy served on 2026-11-23
# (k8s.io/kubernetes v1.35.9 and v1.35.10 answer 403 there; v1.35.8 is the
# newest it serves). The staging modules' version follows: v1.35.8 -> v0.35.8.
readonly ETCD_VERSION=v3.6.16
readonly KUBERNETES_VERSION=v1.35.8
readonly STAGING_VERSION=v0${KUBERNETES_VERSION#v1}

readonly cache_root=${CTASK_CACHE:-$HOME/.cache/ctask}
readonly key=etcd-$ETCD_VERSION-kubernetes-$KUBERNETES_VERSION
readonly dir=$cache_root/k8s/$key
readonly bin=$dir/bin
readonly stamp=$dir/stamp
readonly binaries=(etcd kube-apiserver kube-controller-manager kubectl)
readonly niceness=${CTASK_NICE:-10}

built() {
  [ -f "$stamp" ] || return 1
  local b
  for b in "${binaries[@]}"; do
    [ -x "$bin/$b" ] || return 1
  done
}

if [ "${CTASK_REBUILD:-0}" != 1 ] && built; then
  log "cluster: cached: $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || die "go not found: install Go (>= the go line of k8s.io/kubernetes $KUBERNETES_VERSION)"
mkdir -p "$dir"
exec 9>"$dir/lock"
if ! flock -n 9; then
  log "cluster: another build of $key is running; waiting for it"
  flock 9
fi
# The run we waited for may have finished the job.
if [ "${CTASK_REBUILD:-0}" != 1 ] && built; then
  log "cluster: cached: $bin"
  echo "$bin"
  exit 0
fi
rm -f "$stamp"
mkdir -p "$bin"

# One Go environment for every go command below: local toolchain only, module
# and build caches under the cache root (writable, so `rm -rf` can clear
# them), no workspace, no user GOFLAGS.
export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOWORK=off
export GOFLAGS="-mod=mod -modcacherw"
export GOMODCACHE=$cache_root/k8s/go/mod
export GOCACHE=$cache_root/k8s/go/build
readonly go_version=$(go env GOVERSION)
# The go line of the wrapper modules: the local toolchain's own version, so
# no dependency's go line is newer than the main module's.
readonly go_line=${go_version#go}

work=$(mktemp -d "${TMPDIR:-/tmp}/ctask-k8s-build.XXXXXX")
# shellcheck disable=SC2064  # expand now: $work is fixed
trap "rm -rf '$work'" EXIT

start=$SECONDS

# run_build NAME DIR go-args...: `nice go build` in DIR, showing the elapsed
# time every 30s; on failure, the end of its output and exit 1.
run_build() {
  local name=$1 wd=$2
  shift 2
  local out=$work/$name.log t0=$SECONDS pid rc=0
  log "cluster: building $name (log: $out)"
  (cd "$wd" && exec nice -n "$niceness" go build -p "$CTASK_JOBS" -trimpath "$@") >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ $(((SECONDS - t0) % 30)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
      printf 'cluster: building %s (%ss)\n' "$name" $((SECONDS - t0)) >&2
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    printf 'cluster: go build of %s failed (exit %s) after %ss; the end of its output:\n' \
      "$name" "$rc" $((SECONDS - t0)) >&2
    tail -n 40 "$out" >&2
    # Keep the log: the work directory is removed on exit.
    cp "$out" "$dir/$name.failed.log"
    die "building $name ($key) failed; full log: $dir/$name.failed.log"
  fi
  rm -f "$dir/$name.failed.log"
  log "cluster: built $name in $((SECONDS - t0))s"
}

# --- etcd ------------------------------------------------------------------
mkdir -p "$work/etcd"
cat >"$work/etcd/go.mod" <<EOF
module ctask.local/etcd

go $go_line

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
cat >"$work/etcd/main.go" <<'EOF'
// Command etcd: the etcd server, built from go.etcd.io/etcd/server/v3.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
# No -X of version.GitSHA: the proxy does not say which commit a version is.
run_build etcd "$work/etcd" -ldflags "-s -w" -o "$bin/etcd" .

# --- kubernetes --------------------------------------------------------------
mkdir -p "$work/kubernetes"
log "cluster: reading the go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION from the proxy"
info_json=$(cd "$work/kubernetes" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" 2>&1) ||
  die "go mod download k8s.io/kubernetes@$KUBERNETES_VERSION failed: $info_json"
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" <<<"$info_json" | head -n 1; }
k8s_gomod=$(json_field GoMod)
k8s_info=$(json_field Info)
[ -f "$k8s_gomod" ] || die "no go.mod for k8s.io/kubernetes@$KUBERNETES_VERSION in: $info_json"
# The staging modules: every `k8s.io/X => ./staging/src/k8s.io/X`.
mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/src/\1[[:space:]]*$#\1#p' "$k8s_gomod")
[ "${#staging[@]}" -gt 0 ] || die "found no staging replace directives in $k8s_gomod"
log "cluster: ${#staging[@]} staging modules -> $STAGING_VERSION"
# The release date, from the proxy, as the build date: reproducible.
build_date=$(sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$k8s_info" | sed 's/\.[0-9]*Z$/Z/')
[ -n "$build_date" ] || build_date=1970-01-01T00:00:00Z
{
  printf 'module ctask.local/kubernetes\n\ngo %s\n\n' "$go_line"
  # kubernetes' own godebug defaults (ignored in a dependency's go.mod).
  grep '^godebug ' "$k8s_gomod" || true
  printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
  for m in "${staging[@]}"; do
    printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"
  done
  printf ')\n'
} >"$work/kubernetes/go.mod"

# As kubernetes' hack/lib/version.sh sets them.
minor=${KUBERNETES_VERSION#v1.}
minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION"
  ldflags+=" -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
for b in kube-apiserver kube-controller-manager kubectl; do
  run_build "$b" "$work/kubernetes" -ldflags "$ldflags" -o "$bin/$b" "k8s.io/kubernetes/cmd/$b"
done

# --- stamp ---------------------------------------------------------------------
for b in "${binaries[@]}"; do
  [ -x "$bin/$b" ] || die "$bin/$b missing after the build"
done
{
  printf 'etcd %s\nkubernetes %s\nstaging %s\ngo %s\nbuilt %s\nseconds %s\n' \
    "$ETCD_VERSION" "$KUBERNETES_VERSION" "$STAGING_VERSION" "$go_version" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" $((SECONDS - start))
} >"$stamp.tmp"
mv "$stamp.tmp" "$stamp"
log "cluster: built ${binaries[*]} in $((SECONDS - start))s: $bin"
echo "$bin"
