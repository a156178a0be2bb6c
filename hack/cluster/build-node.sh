#!/usr/bin/env bash
# Builds, once, the pinned binaries of the test cluster's node and caches them
# outside the repository, beside the control plane's (hack/cluster/build.sh):
#
#   $CTASK_CACHE/k8s/node-<versions>/bin/
#     kubelet kube-scheduler            k8s.io/kubernetes (the control plane's pin)
#     containerd ctr containerd-shim-runc-v2   github.com/containerd/containerd/v2
#     runc                              github.com/opencontainers/runc (cgo, seccomp)
#     cni/{bridge,host-local,loopback}  github.com/containernetworking/plugins
#
# Everything comes from Go modules through the Go module proxy, built with the
# local Go toolchain. runc links libseccomp (Debian's libseccomp-dev, from
# hack/install-deps.sh): without it, a pod asking for the RuntimeDefault
# seccomp profile (ctask's default) cannot start. Debian's runc 1.1.5 and
# containerd 1.6 are not used: Kubernetes v1.35 does not support containerd
# 1.6, and containerd 2.x wants runc >= 1.2.
#
# Same cache rules as build.sh: a stamp, written last, marks a complete build;
# a second run prints the bin directory at once ("cached"); concurrent runs
# wait on a lock; CTASK_REBUILD=1 rebuilds (warm through the shared Go caches).
#
# On success, prints the bin directory on stdout (progress goes to stderr).
#
# Environment: CTASK_CACHE, CTASK_JOBS, CTASK_NICE, CTASK_REBUILD (build.sh's).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

# Pinned versions: the newest releases the proxy served on 2026-12-04.
# Kubernetes is the control plane's pin (build.sh), so node and API server are
# the same release.
KUBERNETES_VERSION=$(sed -n 's/^readonly KUBERNETES_VERSION=//p' "$CTASK_ROOT/hack/cluster/build.sh")
readonly KUBERNETES_VERSION
readonly CONTAINERD_VERSION=v2.4.2
readonly RUNC_VERSION=v1.5.3
readonly CNI_PLUGINS_VERSION=v1.10.0
readonly cni_plugins=(bridge host-local loopback)

readonly key=node-kubernetes-$KUBERNETES_VERSION-containerd-$CONTAINERD_VERSION-runc-$RUNC_VERSION-cni-$CNI_PLUGINS_VERSION
readonly binaries=(kubelet kube-scheduler containerd ctr containerd-shim-runc-v2 runc
  cni/bridge cni/host-local cni/loopback)
readonly label=node
source "$CTASK_ROOT/hack/cluster/go-build.sh"

[ -n "$KUBERNETES_VERSION" ] || die "no KUBERNETES_VERSION in hack/cluster/build.sh"
go_build_begin
mkdir -p "$bin/cni"

# --- kubernetes: kubelet, kube-scheduler -------------------------------------
kubernetes_module "$work/kubernetes" "$KUBERNETES_VERSION"
for b in kubelet kube-scheduler; do
  run_build "$b" "$work/kubernetes" -ldflags "$kubernetes_ldflags" -o "$bin/$b" "k8s.io/kubernetes/cmd/$b"
done

# --- containerd, runc, CNI plugins: `go install pkg@version` -------------------
# Each module's own go.mod decides its dependencies, as its release build
# does. GOBIN is a scratch directory; the binaries are moved into bin/.
export GOBIN=$work/gobin
install_go() {
  local name=$1
  shift
  run_go "$name" "$work" install -p "$CTASK_JOBS" -trimpath "$@"
}
containerd_ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
for b in containerd ctr containerd-shim-runc-v2; do
  install_go "$b" -ldflags "$containerd_ldflags" "github.com/containerd/containerd/v2/cmd/$b@$CONTAINERD_VERSION"
  mv "$GOBIN/$b" "$bin/$b"
done
# runc needs cgo: libcontainer's nsenter is C, and seccomp is libseccomp.
CGO_ENABLED=1 install_go runc -tags seccomp \
  -ldflags "-s -w -X main.version=${RUNC_VERSION#v}" "github.com/opencontainers/runc@$RUNC_VERSION"
mv "$GOBIN/runc" "$bin/runc"
for p in "${cni_plugins[@]}"; do
  case $p in
    host-local) pkg=plugins/ipam/$p ;;
    *) pkg=plugins/main/$p ;;
  esac
  install_go "cni-$p" -ldflags "-s -w" "github.com/containernetworking/plugins/$pkg@$CNI_PLUGINS_VERSION"
  mv "$GOBIN/$p" "$bin/cni/$p"
done

go_build_end "kubernetes $KUBERNETES_VERSION" "containerd $CONTAINERD_VERSION" \
  "runc $RUNC_VERSION" "cni-plugins $CNI_PLUGINS_VERSION"
