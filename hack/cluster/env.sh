#!/usr/bin/env bash
# Prints the shell lines that point kubectl (and any client) at the test
# control plane of hack/cluster/up.sh:
#
#   eval "$(hack/cluster/env.sh)"
#
# KUBECONFIG is the admin kubeconfig in the state directory; the binaries'
# directory (kubectl, ...) goes first on PATH, once. The directory is the one
# up.sh recorded, else hack/cluster/build.sh's (cached: instant).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

readonly dir=${CTASK_CLUSTER_DIR:-/tmp/ctask-cluster}

bin=""
if [ -f "$dir/bin-dir" ]; then
  bin=$(cat "$dir/bin-dir")
  [ -x "$bin/kubectl" ] || bin=""
fi
[ -n "$bin" ] || bin=$("$CTASK_ROOT/hack/cluster/build.sh")
[ -f "$dir/kubeconfig" ] || log "cluster: $dir/kubeconfig does not exist yet: run hack/cluster/up.sh"

printf 'export CTASK_CLUSTER_DIR=%q\n' "$dir"
# When up.sh --node started the node: its ctr and containerd's socket (not on
# PATH: the node's runc and containerd must not shadow dockerd's), e.g.
#   "$CTASK_NODE_CTR" --address "$CTASK_NODE_CONTAINERD" -n k8s.io tasks ls
if [ -f "$dir/node/bin-dir" ]; then
  printf 'export CTASK_NODE_CTR=%q\n' "$(cat "$dir/node/bin-dir")/ctr"
  printf 'export CTASK_NODE_CONTAINERD=%q\n' "$dir/node/containerd/containerd.sock"
fi
printf 'export KUBECONFIG=%q\n' "$dir/kubeconfig"
printf 'case ":$PATH:" in *:%q:*) ;; *) export PATH=%q:"$PATH" ;; esac\n' "$bin" "$bin"
