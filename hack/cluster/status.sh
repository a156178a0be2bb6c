#!/usr/bin/env bash
# Reports each component of the test control plane (hack/cluster/up.sh): up
# or down, pid, port, health (etcd /health, kube-apiserver /readyz with the
# admin certificate, kube-controller-manager /healthz) and, when up.sh --node
# started the node, kube-scheduler (/healthz), containerd (its pid) and the
# kubelet (/healthz). Exit 0 only when all of them run and are healthy; 1
# otherwise. Changes nothing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

readonly dir=${CTASK_CLUSTER_DIR:-/tmp/ctask-cluster}
readonly certs=$dir/certs

if [ ! -f "$dir/ports" ]; then
  printf 'cluster: not set up (%s absent): run hack/cluster/up.sh\n' "$dir/ports"
  exit 1
fi
# shellcheck source=/dev/null
source "$dir/ports"

# pid_of NAME: the recorded pid, if it runs the binary NAME for this state
# directory.
pid_of() {
  local name=$1 pid exe
  pid=$(cat "$dir/pids/$name.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)" != Z ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "$(basename "${exe% (deleted)}")" = "$name" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/" || return 1
  echo "$pid"
}

curl_() { curl --noproxy '*' -sS --max-time 3 "$@" 2>&1; }

check() {
  local name=$1 port=$2 url=$3 pid health
  shift 3
  if ! pid=$(pid_of "$name"); then
    printf '%-24s down   pid -       port %-6s\n' "$name" "$port"
    return 1
  fi
  health=$(curl_ "$@" "$url" | head -c 200 | tr '\n' ' ')
  case $health in
    ok* | *'"health":"true"'*)
      printf '%-24s up     pid %-7s port %-6s %s: %s\n' "$name" "$pid" "$port" "$url" "${health% }"
      ;;
    *)
      printf '%-24s up     pid %-7s port %-6s %s: UNHEALTHY: %s\n' "$name" "$pid" "$port" "$url" "${health% }"
      return 1
      ;;
  esac
}

rc=0
check etcd "$ETCD_PORT" "http://127.0.0.1:$ETCD_PORT/health" || rc=1
check kube-apiserver "$APISERVER_PORT" "https://127.0.0.1:$APISERVER_PORT/readyz" \
  --cacert "$certs/ca.crt" --cert "$certs/admin.crt" --key "$certs/admin.key" || rc=1
check kube-controller-manager "$KCM_PORT" "https://127.0.0.1:$KCM_PORT/healthz" \
  --cacert "$certs/ca.crt" || rc=1
if [ -f "$dir/node/bin-dir" ]; then
  check kube-scheduler "${SCHEDULER_PORT:-?}" "https://127.0.0.1:${SCHEDULER_PORT:-0}/healthz" \
    --cacert "$certs/ca.crt" || rc=1
  if pid=$(pid_of containerd); then
    printf '%-24s up     pid %-7s socket %s\n' containerd "$pid" "$dir/node/containerd/containerd.sock"
  else
    printf '%-24s down   pid -\n' containerd
    rc=1
  fi
  check kubelet "${KUBELET_PORT:-?}" "http://127.0.0.1:${KUBELET_HEALTHZ_PORT:-0}/healthz" || rc=1
fi
if [ "$rc" = 0 ]; then
  printf 'cluster: healthy; KUBECONFIG=%s\n' "$dir/kubeconfig"
else
  printf 'cluster: NOT healthy (hack/cluster/up.sh starts what is missing)\n'
fi
exit "$rc"
