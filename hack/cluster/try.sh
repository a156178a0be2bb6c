#!/usr/bin/env bash
# Try ctask on a real single-node Kubernetes cluster without a registry, on
# this Linux machine (root, cgroup v1 or v2 with the v1 controllers mounted):
#
#   make cluster          # = hack/cluster/try.sh
#
# Installs the Debian packages, starts Docker (hack/docker-up.sh: the test
# image), builds the operator's image (hack/image.sh: ctask:dev), builds and
# starts the cluster with its node (hack/cluster/up.sh --node: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, containerd, a
# kubelet; the images imported into the node), installs ctask with
# `kubectl apply -k manifests/` and waits for the operator to be Ready. Then it
# prints the KUBECONFIG to use and a first task to apply. Idempotent: run it
# again after a change to rebuild and roll out the operator.
#
# Stop it all with hack/cluster/down.sh (--purge also forgets the cluster's
# state). Everything listens on 127.0.0.1; pods live on the bridge ctask0 in
# 198.18.0.0/24 and cannot reach anything off this machine
# (hack/cluster/README.md).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$CTASK_ROOT"

"$CTASK_ROOT/hack/install-deps.sh"
"$CTASK_ROOT/hack/docker-up.sh"
"$CTASK_ROOT/hack/image.sh"
"$CTASK_ROOT/hack/cluster/up.sh" --node
cluster_env=$("$CTASK_ROOT/hack/cluster/env.sh")
eval "$cluster_env"

log "try: installing ctask (kubectl apply -k manifests/)"
kubectl apply -k manifests/
# A rebuilt image has the same tag: restart the operator so it runs it.
kubectl -n ctask-system rollout restart deployment/ctask-operator >/dev/null
kubectl -n ctask-system rollout status deployment/ctask-operator --timeout=180s

cat <<MSG

ctask runs on a single-node cluster. Use it with:

  export KUBECONFIG=$KUBECONFIG
  export PATH=$(dirname "$(command -v kubectl)"):\$PATH     # kubectl v1.35.8

  kubectl apply -f examples/hello.yaml
  kubectl wait --for=condition=Succeeded containertask/hello --timeout=60s
  kubectl get containertask hello
  build/controller/ctask logs hello --backend kubernetes   # after make build

Images: ctask-test/busybox:latest (imagePullPolicy: IfNotPresent) and
ctask:dev are on the node; nothing else can be pulled. Stop with
hack/cluster/down.sh.
MSG
