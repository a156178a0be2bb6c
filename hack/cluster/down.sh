#!/usr/bin/env bash
# Stops the test control plane that hack/cluster/up.sh started, and only that:
# each component is found by its pid file in $CTASK_CLUSTER_DIR/pids, and
# signalled only if that pid still runs the component's binary with this
# state directory on its command line (a stale file may name a reused pid).
# SIGTERM, then SIGKILL after $CTASK_CLUSTER_STOP_TIMEOUT seconds (default 10).
# Order: the node (kubelet, kube-scheduler, then hack/cluster/node.sh's
# clean_node: containers, containerd, shims, mounts, cgroups, the pod bridge,
# the node's directory), then kube-controller-manager, kube-apiserver, etcd.
# Idempotent: nothing to stop is not an error.
#
#   hack/cluster/down.sh           stop; keep certificates, etcd data, logs
#   hack/cluster/down.sh --node    stop and clean the node only; the control
#                                  plane keeps running
#   hack/cluster/down.sh --purge   stop, then delete the state directory
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

readonly dir=${CTASK_CLUSTER_DIR:-/tmp/ctask-cluster}
readonly stop_timeout=${CTASK_CLUSTER_STOP_TIMEOUT:-10}
readonly pids=$dir/pids

purge=0
node_only=0
for arg in "$@"; do
  case $arg in
    --purge) purge=1 ;;
    --node) node_only=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument: $arg (usage: hack/cluster/down.sh [--node | --purge])" ;;
  esac
done

if [ ! -d "$dir" ]; then
  log "cluster: nothing to stop ($dir absent)"
  exit 0
fi

exec 9>"$dir/lock"
if ! flock -n 9; then
  log "cluster: another up/down on $dir is running; waiting for it (at most 300s)"
  flock -w 300 9 || die "$dir/lock still held after 300s (fuser -v $dir/lock shows by whom)"
fi

# ours NAME PID: PID runs the binary NAME with this state directory in its
# command line.
ours() {
  local name=$1 pid=$2 exe
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "$(basename "${exe% (deleted)}")" = "$name" ] &&
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/"
}

# stop_component NAME: SIGTERM to the component's process (its pid file, and
# only if that pid is still the component for this state directory), SIGKILL
# after the timeout.
stop_component() {
  local name=$1 pidfile=$pids/$1.pid pid deadline
  if [ ! -f "$pidfile" ]; then
    log "cluster: $name: not running (no pid file)"
    return 0
  fi
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! alive "$pid" || ! ours "$name" "$pid"; then
    log "cluster: $name: not running (pid ${pid:-?}); removing the stale pid file"
    rm -f "$pidfile"
    return 0
  fi
  terminate "cluster: $name" "$pid" "$stop_timeout"
  rm -f "$pidfile"
}

# The node first (hack/cluster/node.sh): the kubelet must not restart the
# containers clean_node kills.
source "$CTASK_ROOT/hack/cluster/node.sh"
stop_component kubelet
stop_component kube-scheduler
clean_node
if [ "$node_only" = 1 ]; then
  log "cluster: node stopped; the control plane runs on"
  exit 0
fi
for name in kube-controller-manager kube-apiserver etcd; do
  stop_component "$name"
done

if [ "$purge" = 1 ]; then
  # Only a directory up.sh made (a wrong CTASK_CLUSTER_DIR must not cost
  # anything).
  [ -f "$dir/.ctask-cluster" ] || die "$dir has no .ctask-cluster marker: not deleting it"
  rm -rf "$dir"
  log "cluster: deleted $dir"
fi
log "cluster: stopped"
