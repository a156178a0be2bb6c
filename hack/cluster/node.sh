# The test cluster's node. Sourced by hack/cluster/up.sh, which calls
# start_node when asked for the node (--node): after the control plane is
# healthy, it starts kube-scheduler, containerd and the kubelet from
# hack/cluster/build-node.sh's binaries, imports the images the tests run, and
# waits for the Node to be Ready (it uses up.sh's helpers: ensure, gen_cert,
# write_kubeconfig, ... and variables: $dir, $certs, $bin, the ports). Sourced
# by hack/cluster/down.sh, which calls clean_node once the kubelet and the
# scheduler are stopped.
#
# One node, named 127.0.0.1 as in kubernetes' hack/local-up-cluster.sh: its
# InternalIP and Hostname addresses are 127.0.0.1, so the API server reaches
# the kubelet (pods/log, exec) on loopback, and the kubelet serves on
# 127.0.0.1 only.
#
# Pod network: a Linux bridge, ctask0, made here with 198.18.0.1/24, which the
# CNI bridge plugin then uses. 198.18.0.0/15 is reserved for network testing
# (RFC 2544) and never routed; it is outside 10/8, 172.16/12 and 192.168/16.
# Pods get an address in 198.18.0.0/24 and two routes: their subnet, and the
# service range 198.18.1.0/24 via the bridge; no default route, no
# masquerade. On the host, only 198.18.1.1:443 (the `kubernetes` Service) is
# answered, by DNAT to the apiserver on 127.0.0.1, and a FORWARD rule drops
# everything else a pod sends, so nothing from a pod leaves this machine; the
# kubelet's probes and the tests reach pods on the bridge.
#
# Node state, all under $dir/node (down.sh removes it, with every mount under
# it, the cgroups under /ctask-node and the bridge):
#   containerd/{root,state,config.toml}  containerd's own root, state and
#                socket (never /run/containerd: dockerd's containerd is apart)
#   s/           shim sockets
#   cni/net.d/   the CNI configuration
#   kubelet/     the kubelet's root directory, config and pod logs

readonly node_dir=$dir/node
readonly node_name=127.0.0.1
readonly pod_bridge=ctask0
readonly pod_subnet=198.18.0.0/24
readonly pod_gateway=198.18.0.1
# The `kubernetes` Service's ClusterIP (up.sh's service range) and the
# iptables rules that make it reach the apiserver from pods: DNAT to
# 127.0.0.1:<apiserver port> (route_localnet on the bridge lets a packet from
# the bridge be delivered to loopback), and nothing from a pod forwarded
# anywhere else (this host forwards: ip_forward is 1).
readonly service_subnet=198.18.1.0/24
readonly kubernetes_service_ip=198.18.1.1
readonly iptables_comment="ctask test node"
readonly cgroup_root=ctask-node
readonly containerd_socket=$node_dir/containerd/containerd.sock
# The sandbox ("pause") image: built here from a static C program, never
# pulled (nothing is pulled).
readonly pause_image=ctask.local/pause:1
# The images the node serves without a registry (imported from dockerd):
# the test image, and the operator image when it was built (hack/image.sh).
readonly node_images=(ctask-test/busybox:latest ctask:dev)


ensure_node_certs() {
  local leaf='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment' made=()
  if [ ! -f "$certs/kubelet.crt" ] || [ ! -f "$certs/kubelet.key" ]; then
    gen_cert kubelet "/O=system:nodes/CN=system:node:$node_name" "$leaf
extendedKeyUsage=clientAuth"
    made+=(kubelet)
  fi
  if [ ! -f "$certs/kubelet-serving.crt" ] || [ ! -f "$certs/kubelet-serving.key" ]; then
    gen_cert kubelet-serving "/CN=$node_name" "$leaf
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
    made+=(kubelet-serving)
  fi
  if [ ! -f "$certs/kube-scheduler.crt" ] || [ ! -f "$certs/kube-scheduler.key" ]; then
    gen_cert kube-scheduler "/CN=system:kube-scheduler" "$leaf
extendedKeyUsage=clientAuth"
    made+=(kube-scheduler)
  fi
  if [ ! -f "$certs/kube-scheduler-serving.crt" ] || [ ! -f "$certs/kube-scheduler-serving.key" ]; then
    gen_cert kube-scheduler-serving "/CN=kube-scheduler" "$leaf
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
    made+=(kube-scheduler-serving)
  fi
  if [ "${#made[@]}" -gt 0 ]; then
    log "node: generated ${made[*]} in $certs"
  fi
}

# config_file PREFIX EXT: stdin into PREFIX-<sha256 prefix>.EXT, printed. The
# file's name is on the daemon's command line, so a daemon restarts exactly
# when its configuration changed (up.sh restarts a daemon whose command line
# differs). Older versions are removed.
config_file() {
  local prefix=$1 ext=$2 tmp sum f
  tmp=$(mktemp "$prefix.XXXXXX")
  cat >"$tmp"
  sum=$(sha256sum "$tmp" | cut -c1-12)
  mv "$tmp" "$prefix-$sum.$ext"
  for f in "$prefix"-*."$ext"; do
    [ "$f" = "$prefix-$sum.$ext" ] || rm -f "$f"
  done
  printf '%s\n' "$prefix-$sum.$ext"
}

# write_if_changed FILE: stdin into FILE, only when it differs.
write_if_changed() {
  cat >"$1.tmp"
  if cmp -s "$1.tmp" "$1"; then
    rm -f "$1.tmp"
  else
    mv "$1.tmp" "$1"
  fi
}

write_node_config() {
  mkdir -p "$node_dir/containerd" "$node_dir/s" "$node_dir/cni/net.d" "$node_dir/kubelet/root" \
    "$node_dir/kubelet/pod-logs"
  containerd_config=$(config_file "$node_dir/containerd/config" toml <<EOF
# Written by hack/cluster/up.sh --node. containerd $("$node_bin/containerd" --version | awk '{ print $3 }').
version = 3
root = '$node_dir/containerd/root'
state = '$node_dir/containerd/state'
imports = []
disabled_plugins = ['io.containerd.nri.v1.nri', 'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.devmapper', 'io.containerd.snapshotter.v1.btrfs']

[grpc]
  address = '$containerd_socket'
[ttrpc]
  address = '$containerd_socket.ttrpc'
[debug]
  address = ''
[metrics]
  address = ''

[plugins.'io.containerd.shim.v1.manager']
  socket_dir = '$node_dir/s'
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '$pause_image'
[plugins.'io.containerd.cri.v1.runtime']
  # Network namespaces under the state directory, not /run/netns.
  netns_mounts_under_state_dir = true
  # This host denies CAP_SYS_RESOURCE, so no process may lower its
  # oom_score_adj (the sandbox's -998 fails with EPERM): clamp every score to
  # containerd's own, as rootless setups do.
  restrict_oom_score_adj = true
  cdi_spec_dirs = []
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = 'io.containerd.runc.v2'
    runtime_path = '$node_bin/containerd-shim-runc-v2'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = '$node_bin/runc'
      Root = '$node_dir/containerd/state/runc'
      SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['$node_bin/cni']
    conf_dir = '$node_dir/cni/net.d'
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '127.0.0.1'
  stream_server_port = '0'
EOF
  )
  # Routes: the pod's subnet (implied) and the service range; no default
  # route. No ipMasq.
  write_if_changed "$node_dir/cni/net.d/10-ctask.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ctask-pods",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$pod_bridge",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$pod_subnet", "gateway": "$pod_gateway" }]],
        "routes": [{ "dst": "$service_subnet", "gw": "$pod_gateway" }],
        "dataDir": "$node_dir/cni/ipam"
      }
    },
    { "type": "loopback" }
  ]
}
EOF
}

# write_kubelet_config: the kubelet's configuration, with its ports.
write_kubelet_config() {
  kubelet_config=$(config_file "$node_dir/kubelet/config" yaml <<EOF
# Written by hack/cluster/up.sh --node.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $certs/kubelet-serving.crt
tlsPrivateKeyFile: $certs/kubelet-serving.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $certs/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$containerd_socket
imageServiceEndpoint: unix://$containerd_socket
# This host is cgroup v1: allowed explicitly since Kubernetes v1.35.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$cgroup_root
failSwapOn: false
podLogsDirectory: $node_dir/kubelet/pod-logs
clusterDomain: cluster.local
resolvConf: ""
# The node's images are imported, never pulled: no image GC may remove them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# A test node on a shared disk: evict only when nearly full.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
serializeImagePulls: false
registerNode: true
rotateCertificates: false
serverTLSBootstrap: false
staticPodPath: ""
EOF
  )
}

# ensure_bridge: the pod bridge with the gateway address, up.
ensure_bridge() {
  if ! ip link show "$pod_bridge" >/dev/null 2>&1; then
    ip link add "$pod_bridge" type bridge
    log "node: created bridge $pod_bridge"
  fi
  ip addr show dev "$pod_bridge" | grep -qF "inet $pod_gateway/24" ||
    ip addr add "$pod_gateway/24" dev "$pod_bridge"
  ip link set "$pod_bridge" up
}

# ensure_service_rules: the pod bridge's iptables rules, each once (a rule of
# ours with another apiserver port is replaced), and route_localnet.
ensure_service_rules() {
  remove_service_rules
  sysctl -q -w "net.ipv4.conf.$pod_bridge.route_localnet=1"
  iptables -w 5 -t nat -I PREROUTING 1 -i "$pod_bridge" -d "$kubernetes_service_ip/32" -p tcp --dport 443 \
    -m comment --comment "$iptables_comment" -j DNAT --to-destination "127.0.0.1:$APISERVER_PORT"
  iptables -w 5 -t filter -I FORWARD 1 -i "$pod_bridge" -m comment --comment "$iptables_comment" -j DROP
}

# remove_service_rules: every rule carrying our comment, in nat and filter.
remove_service_rules() {
  local table rule
  for table in nat filter; do
    { iptables -w 5 -t "$table" -S 2>/dev/null || true; } | { grep -F -- "--comment \"$iptables_comment\"" || true; } |
      while IFS= read -r rule; do
        eval "iptables -w 5 -t $table ${rule/-A /-D }" || true
      done
  done
}

# ensure_cgroup_root: /ctask-node in every cgroup v1 hierarchy (the kubelet
# requires its cgroupRoot to exist), with cpuset's cpus and mems copied from
# the parent (an empty cpuset cgroup takes no task).
ensure_cgroup_root() {
  local h
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h" ] || continue
    mkdir -p "$h$cgroup_root"
  done
  if [ -d /sys/fs/cgroup/cpuset/$cgroup_root ]; then
    [ -n "$(cat /sys/fs/cgroup/cpuset/$cgroup_root/cpuset.cpus)" ] ||
      cat /sys/fs/cgroup/cpuset/cpuset.cpus >/sys/fs/cgroup/cpuset/$cgroup_root/cpuset.cpus
    [ -n "$(cat /sys/fs/cgroup/cpuset/$cgroup_root/cpuset.mems)" ] ||
      cat /sys/fs/cgroup/cpuset/cpuset.mems >/sys/fs/cgroup/cpuset/$cgroup_root/cpuset.mems
  fi
}

# ctr on the node's containerd, without its cgroup v1 deprecation warning.
ctr_() {
  "$node_bin/ctr" --address "$containerd_socket" --namespace k8s.io "$@" 2> >(grep -v 'DEPRECATION: The support for cgroup v1' >&2)
}

containerd_healthy() { ctr_ version >/dev/null 2>&1; }
scheduler_healthy() {
  [ "$(curl_ --cacert "$certs/ca.crt" "https://127.0.0.1:$SCHEDULER_PORT/healthz" 2>/dev/null)" = ok ]
}
kubelet_healthy() { [ "$(curl_ "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" 2>/dev/null)" = ok ]; }

args_containerd() {
  ARGS=("$node_bin/containerd" "--config=$containerd_config")
}

args_kube_scheduler() {
  ARGS=("$node_bin/kube-scheduler"
    "--kubeconfig=$dir/kube-scheduler.kubeconfig"
    "--authentication-kubeconfig=$dir/kube-scheduler.kubeconfig"
    "--authorization-kubeconfig=$dir/kube-scheduler.kubeconfig"
    "--master=https://127.0.0.1:$APISERVER_PORT"
    --leader-elect=false
    --bind-address=127.0.0.1
    "--secure-port=$SCHEDULER_PORT"
    "--tls-cert-file=$certs/kube-scheduler-serving.crt"
    "--tls-private-key-file=$certs/kube-scheduler-serving.key")
}

args_kubelet() {
  write_kubelet_config
  ARGS=("$node_bin/kubelet"
    "--config=$kubelet_config"
    "--kubeconfig=$dir/kubelet.kubeconfig"
    "--root-dir=$node_dir/kubelet/root"
    "--hostname-override=$node_name"
    # The API server's port on the command line: a moved API server restarts
    # the kubelet (its kubeconfig names the server too).
    "--node-labels=ctask.io/test-node=true,ctask.io/apiserver-port=$APISERVER_PORT")
}

# ensure_pause_image: the sandbox image, from a static C program that sleeps
# until signalled (what registry.k8s.io/pause does), imported into containerd.
ensure_pause_image() {
  ctr_ images inspect "$pause_image" >/dev/null 2>&1 && return 0
  local work
  work=$(mktemp -d)
  mkdir -p "$work/root"
  cat >"$work/pause.c" <<'EOF'
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
static void done(int sig) { (void)sig; _exit(0); }
int main(void) {
  signal(SIGINT, done);
  signal(SIGTERM, done);
  /* PID 1 of the sandbox: reap whatever is re-parented to it. */
  signal(SIGCHLD, SIG_IGN);
  for (;;) pause();
}
EOF
  cc -static -O2 -o "$work/root/pause" "$work/pause.c"
  tar --numeric-owner --owner=0 --group=0 --mtime='2000-01-01 00:00Z' -C "$work/root" -c pause |
    docker import --change 'ENTRYPOINT ["/pause"]' - "$pause_image" >/dev/null
  docker save "$pause_image" | ctr_ images import - >/dev/null
  rm -rf "$work"
  log "node: imported $pause_image"
}

# import_images: every image in node_images that dockerd has and containerd
# lacks (or has another ID of), pinned so the kubelet's image GC keeps it.
import_images() {
  local image id ref
  for image in "${node_images[@]}"; do
    id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || {
      log "node: $image is not in dockerd; not imported"
      continue
    }
    # The reference as containerd normalizes it (docker.io/library/ for a
    # one-part name).
    case $image in
      */*) ref=docker.io/$image ;;
      *) ref=docker.io/library/$image ;;
    esac
    if ctr_ images ls "name==$ref" 2>/dev/null | grep -qF "ctask.io/docker-id=$id"; then
      continue
    fi
    docker save "$image" | ctr_ images import - >/dev/null
    ctr_ images label "$ref" io.cri-containerd.pinned=pinned "ctask.io/docker-id=$id" >/dev/null
    log "node: imported $image ($id)"
  done
}

wait_node_ready() {
  local t0=$SECONDS
  until "$bin/kubectl" --kubeconfig "$dir/kubeconfig" --request-timeout=5s \
    wait --for=condition=Ready "node/$node_name" --timeout=5s >/dev/null 2>&1; do
    if [ $((SECONDS - t0)) -ge "$timeout" ]; then
      printf 'cluster-up: node %s not Ready within %ss\n' "$node_name" "$timeout" >&2
      "$bin/kubectl" --kubeconfig "$dir/kubeconfig" get node "$node_name" -o yaml >&2 || true
      log_tail kubelet
      exit 1
    fi
    sleep 0.5
  done
}

start_node() {
  local t0=$EPOCHREALTIME
  node_bin=$("$CTASK_ROOT/hack/cluster/build-node.sh")
  command -v docker >/dev/null && docker version >/dev/null 2>&1 ||
    die "the node's images come from dockerd: run hack/docker-up.sh first"
  # Nothing of the node runs (a first start, or after kill -9 or a reboot):
  # start from nothing, not from what a dead node left.
  if ! pid_of containerd >/dev/null && ! pid_of kubelet >/dev/null; then
    clean_node
  fi
  ensure_node_certs
  KUBELET_PORT=${KUBELET_PORT:-${CTASK_CLUSTER_KUBELET_PORT:-20250}}
  KUBELET_HEALTHZ_PORT=${KUBELET_HEALTHZ_PORT:-${CTASK_CLUSTER_KUBELET_HEALTHZ_PORT:-20248}}
  SCHEDULER_PORT=${SCHEDULER_PORT:-${CTASK_CLUSTER_SCHEDULER_PORT:-20259}}
  write_kubeconfig "$dir/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
  write_kubeconfig "$dir/kubelet.kubeconfig" "system:node:$node_name" kubelet
  ensure_bridge
  ensure_service_rules
  ensure_cgroup_root

  other_ports+=("$KCM_PORT")
  ensure kube-scheduler SCHEDULER_PORT scheduler_healthy
  other_ports+=("$SCHEDULER_PORT")
  record_ports
  write_node_config
  printf '%s\n' "$node_bin" >"$node_dir/bin-dir"
  # Pulls go to a proxy that refuses at once: no image is ever fetched from
  # off this machine (a pull fails as "connection refused", which the
  # pull-failure tests need), and no DNS lookup of a registry is made.
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
    ensure containerd "" containerd_healthy
  ensure_pause_image
  import_images
  ensure kubelet "KUBELET_PORT KUBELET_HEALTHZ_PORT" kubelet_healthy
  record_ports
  wait_node_ready
  log "node: $node_name Ready in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s (pods on $pod_bridge, $pod_subnet)"
}

# kill_cgroup_processes: SIGKILL to every process in the node's cgroups (the
# containers and their sandboxes), until none is left (at most 5s).
kill_cgroup_processes() {
  local i procs
  for i in $(seq 1 50); do
    procs=$(find /sys/fs/cgroup/*/"$cgroup_root" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)
    [ -n "$procs" ] || return 0
    # shellcheck disable=SC2086  # one pid per word
    kill -KILL $procs 2>/dev/null || true
    sleep 0.1
  done
  log "node: processes still in /$cgroup_root after 5s: $procs"
}

# kill_node_processes: SIGKILL to every process whose command line names the
# node's directory (containerd's shims, a containerd that did not stop).
kill_node_processes() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qF -- "$node_dir/" || continue
    kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
}

# unmount_node: every mount under the node's directory, deepest first
# (overlay root filesystems, secret tmpfs volumes, network namespaces, shm).
unmount_node() {
  local m
  # mountinfo's 5th field is the mount point (octal escapes for spaces).
  awk -v d="$node_dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while IFS= read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "node: could not unmount $m"
    done
}

# remove_cgroups: /ctask-node and everything below it, in every hierarchy
# (children first: rmdir removes only an empty cgroup).
remove_cgroups() {
  local h
  for h in /sys/fs/cgroup/*/"$cgroup_root"; do
    [ -d "$h" ] || continue
    find "$h" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ ! -d "$h" ] || log "node: could not remove the cgroup $h"
  done
}

# clean_node: with the kubelet and the scheduler stopped, removes what the
# node leaves behind, so the next start is clean also after kill -9: the
# containers, containerd (stop_containerd NAME stops a component by its pid
# file; down.sh's), the shims, mounts, cgroups, the bridge and the node's
# directory (images are imported again on the next start, in seconds).
clean_node() {
  # The Node object too (while the API server runs): a registered real node
  # is what the fake-kubelet suites refuse to run beside.
  if [ -f "$dir/kubeconfig" ] && [ -x "$(cat "$dir/bin-dir" 2>/dev/null)/kubectl" ]; then
    "$(cat "$dir/bin-dir")/kubectl" --kubeconfig "$dir/kubeconfig" --request-timeout=5s delete node "$node_name" \
      --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  kill_cgroup_processes
  stop_component containerd
  kill_node_processes
  unmount_node
  remove_cgroups
  remove_service_rules
  if ip link show "$pod_bridge" >/dev/null 2>&1; then
    ip link del "$pod_bridge" && log "node: deleted bridge $pod_bridge"
  fi
  if [ -d "$node_dir" ]; then
    rm -rf "$node_dir" || log "node: could not remove all of $node_dir"
  fi
}
