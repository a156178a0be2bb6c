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

readonly key=etcd-$ETCD_VERSION-kubernetes-$KUBERNETES_VERSION
readonly binaries=(etcd kube-apiserver kube-controller-manager kubectl)
readonly label=cluster
source "$CTASK_ROOT/hack/cluster/go-build.sh"

go_build_begin

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
kubernetes_module "$work/kubernetes" "$KUBERNETES_VERSION"
for b in kube-apiserver kube-controller-manager kubectl; do
  run_build "$b" "$work/kubernetes" -ldflags "$kubernetes_ldflags" -o "$bin/$b" "k8s.io/kubernetes/cmd/$b"
done

go_build_end "etcd $ETCD_VERSION" "kubernetes $KUBERNETES_VERSION" "staging $STAGING_VERSION"
