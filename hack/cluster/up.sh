#!/usr/bin/env bash
# Starts the Kubernetes test control plane on loopback: etcd, kube-apiserver
# and kube-controller-manager (no scheduler, no nodes), from the binaries that
# hack/cluster/build.sh builds and caches. Idempotent: a component that runs,
# with the command line this script would give it, and answers its health
# check is left alone; one that is gone (stale pid file, kill -9, reboot) is
# started again, on its recorded port when that is free, else on the next free
# one. Everything listens on 127.0.0.1 only and talks to 127.0.0.1 only.
#
#   hack/cluster/up.sh          the control plane
#   hack/cluster/up.sh --node   and the node: kube-scheduler, containerd and a
#                               kubelet (hack/cluster/node.sh; needs dockerd
#                               for its images: hack/docker-up.sh)
#
# State, all under $CTASK_CLUSTER_DIR (default /tmp/ctask-cluster):
#   certs/       test CA, serving and client certificates, service-account keys
#                (generated once, reused)
#   etcd-data/   etcd's data directory (reused across restarts)
#   logs/        one log per component, appended to
#   pids/        one pid file per component (hack/cluster/down.sh reads them)
#   ports        the ports in use, as shell assignments
#   kubeconfig   admin kubeconfig (O=system:masters), certificates embedded
#   kube-controller-manager.kubeconfig
#   bin-dir      the binaries' directory (hack/cluster/env.sh reads it)
#
# Environment:
#   CTASK_CLUSTER_NODE             1: as --node
#   CTASK_CLUSTER_DIR              state directory (default /tmp/ctask-cluster)
#   CTASK_CLUSTER_TIMEOUT          seconds to wait for each component (default 60)
#   CTASK_CLUSTER_ETCD_PORT        preferred etcd client port (default 12379)
#   CTASK_CLUSTER_ETCD_PEER_PORT   preferred etcd peer port (default 12380)
#   CTASK_CLUSTER_APISERVER_PORT   preferred kube-apiserver port (default 16443)
#   CTASK_CLUSTER_KCM_PORT         preferred kube-controller-manager port (default 20257)
# The defaults sit below the kernel's ephemeral range (32768-60999), so an
# outgoing connection does not hold them; a recorded port wins over them.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

with_node=${CTASK_CLUSTER_NODE:-0}
for arg in "$@"; do
  case $arg in
    --node) with_node=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument: $arg (usage: hack/cluster/up.sh [--node])" ;;
  esac
done

readonly dir=${CTASK_CLUSTER_DIR:-/tmp/ctask-cluster}
readonly timeout=${CTASK_CLUSTER_TIMEOUT:-60}
# The service range, in 198.18.0.0/15 like the pod bridge (hack/cluster/node.sh;
# outside the private ranges, never routed). The apiserver gives the
# `kubernetes` Service its first address, 198.18.1.1. Without the node nothing
# connects to it (every client here uses https://127.0.0.1:<port>); with it,
# node.sh makes that one address reach the apiserver from pods (a DNAT rule on
# the pod bridge: the one Service a kube-proxy would serve here), so an
# in-cluster client (the operator's own Deployment) works unchanged.
readonly service_range=198.18.1.0/24
readonly service_ip=198.18.1.1

bin=$("$CTASK_ROOT/hack/cluster/build.sh")
readonly bin
readonly certs=$dir/certs pids=$dir/pids logs=$dir/logs
readonly ports_file=$dir/ports

mkdir -p "$dir" "$certs" "$pids" "$logs" "$dir/etcd-data"
chmod 700 "$dir/etcd-data" "$certs"
# Marks the directory as ours: down.sh --purge deletes only a marked directory.
touch "$dir/.ctask-cluster"
printf '%s\n' "$bin" >"$dir/bin-dir"

# One up.sh or down.sh at a time on a state directory.
exec 9>"$dir/lock"
if ! flock -n 9; then
  log "cluster: another up/down on $dir is running; waiting for it (at most 300s)"
  flock -w 300 9 || die "$dir/lock still held after 300s (fuser -v $dir/lock shows by whom)"
fi

# --- certificates ----------------------------------------------------------------

# gen_key FILE: an RSA 2048 private key, written atomically, mode 600.
gen_key() {
  (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.tmp" 2>/dev/null)
  mv "$1.tmp" "$1"
}

# gen_cert NAME SUBJECT EXTENSIONS: certs/NAME.{key,crt}, signed by the test
# CA, valid for a year. EXTENSIONS is an openssl x509v3 extension section.
gen_cert() {
  local name=$1 subj=$2 ext=$3
  gen_key "$certs/$name.key"
  openssl req -new -key "$certs/$name.key" -subj "$subj" -out "$certs/$name.csr" 2>/dev/null
  openssl x509 -req -in "$certs/$name.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" \
    -CAcreateserial -days 365 -sha256 -extfile <(printf '%s\n' "$ext") \
    -out "$certs/$name.crt.tmp" 2>/dev/null
  mv "$certs/$name.crt.tmp" "$certs/$name.crt"
  rm -f "$certs/$name.csr"
}

ensure_certs() {
  local made=()
  if [ ! -f "$certs/ca.crt" ] || [ ! -f "$certs/ca.key" ]; then
    # A new CA invalidates every certificate it signed.
    rm -f "$certs"/*.crt "$certs"/*.key "$certs"/ca.srl
    gen_key "$certs/ca.key"
    openssl req -x509 -new -key "$certs/ca.key" -subj "/CN=ctask-test-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$certs/ca.crt.tmp" 2>/dev/null
    mv "$certs/ca.crt.tmp" "$certs/ca.crt"
    made+=(ca)
  fi
  local leaf='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment'
  # A serving certificate from before the service range moved lacks its IP.
  if [ -f "$certs/apiserver.crt" ] &&
    ! openssl x509 -in "$certs/apiserver.crt" -noout -ext subjectAltName 2>/dev/null | grep -qF "IP Address:$service_ip"; then
    rm -f "$certs/apiserver.crt"
  fi
  if [ ! -f "$certs/apiserver.crt" ] || [ ! -f "$certs/apiserver.key" ]; then
    gen_cert apiserver "/CN=kube-apiserver" "$leaf
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:$service_ip"
    made+=(apiserver)
  fi
  if [ ! -f "$certs/admin.crt" ] || [ ! -f "$certs/admin.key" ]; then
    gen_cert admin "/O=system:masters/CN=ctask-admin" "$leaf
extendedKeyUsage=clientAuth"
    made+=(admin)
  fi
  if [ ! -f "$certs/kube-controller-manager.crt" ] || [ ! -f "$certs/kube-controller-manager.key" ]; then
    gen_cert kube-controller-manager "/CN=system:kube-controller-manager" "$leaf
extendedKeyUsage=clientAuth"
    made+=(kube-controller-manager)
  fi
  if [ ! -f "$certs/kube-controller-manager-serving.crt" ] || [ ! -f "$certs/kube-controller-manager-serving.key" ]; then
    gen_cert kube-controller-manager-serving "/CN=kube-controller-manager" "$leaf
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
    made+=(kube-controller-manager-serving)
  fi
  # The API server's client certificate towards kubelets (pods/log, exec).
  if [ ! -f "$certs/apiserver-kubelet-client.crt" ] || [ ! -f "$certs/apiserver-kubelet-client.key" ]; then
    gen_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$leaf
extendedKeyUsage=clientAuth"
    made+=(apiserver-kubelet-client)
  fi
  if [ ! -f "$certs/sa.key" ] || [ ! -f "$certs/sa.pub" ]; then
    gen_key "$certs/sa.key"
    openssl pkey -in "$certs/sa.key" -pubout -out "$certs/sa.pub.tmp" 2>/dev/null
    mv "$certs/sa.pub.tmp" "$certs/sa.pub"
    made+=(service-account-keys)
  fi
  if [ "${#made[@]}" -gt 0 ]; then
    log "cluster: generated ${made[*]} in $certs"
  fi
}

# --- processes -------------------------------------------------------------------

# pid_of NAME: the pid in pids/NAME.pid, if that process is ours: its
# executable is the component's binary and its command line names this state
# directory. A stale file (the process is gone, or the pid was reused) is
# removed. Prints nothing and fails when there is no such process.
pid_of() {
  local name=$1 pidfile=$pids/$1.pid pid exe state
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || true
  if [[ "$pid" =~ ^[0-9]+$ ]] && exe=$(readlink "/proc/$pid/exe" 2>/dev/null) &&
    [ "$(basename "${exe% (deleted)}")" = "$name" ] &&
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/"; then
    if alive "$pid"; then
      echo "$pid"
      return 0
    fi
  fi
  log "cluster: $name: not running (stale pid file, pid ${pid:-?}); removing it"
  rm -f "$pidfile"
  return 1
}

# same_cmdline PID ARGS...: the process runs exactly ARGS.
same_cmdline() {
  local pid=$1
  shift
  [ "$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null)" = "$(printf '%s\n' "$@")" ]
}

# stop NAME PID: SIGTERM, then SIGKILL after 10s.
stop() {
  terminate "cluster: $1" "$2" 10
  rm -f "$pids/$1.pid"
}

# start NAME ARGS...: runs ARGS detached (own session, no terminal, SIGHUP
# ignored), appending to logs/NAME.log; the process itself writes its pid to
# pids/NAME.pid just before it execs the binary. Prints the pid.
start() {
  local name=$1
  shift
  daemonize "up.sh: starting $name" "$pids/$name.pid" "$logs/$name.log" "$@"
}

# stop_component NAME: stops NAME if it runs (as down.sh does).
stop_component() {
  local pid
  if pid=$(pid_of "$1"); then
    log "cluster: stopping $1 (pid $pid)"
    stop "$1" "$pid"
  fi
}

# log_tail NAME: the end of this start's log.
log_tail() {
  printf 'the end of %s:\n' "$logs/$1.log" >&2
  tail -n 40 "$logs/$1.log" >&2 || true
}

curl_() { curl --noproxy '*' -sS --max-time 3 "$@"; }

etcd_healthy() { curl_ "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
apiserver_healthy() {
  [ "$(curl_ --cacert "$certs/ca.crt" --cert "$certs/admin.crt" --key "$certs/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null)" = ok ]
}
kcm_healthy() {
  [ "$(curl_ --cacert "$certs/ca.crt" "https://127.0.0.1:$KCM_PORT/healthz" 2>/dev/null)" = ok ]
}

# wait_healthy NAME PID CHECK: until CHECK passes. Fails (2) at once if the
# process exits, (1) after the timeout.
wait_healthy() {
  local name=$1 pid=$2 check=$3 t0=$SECONDS
  until "$check"; do
    alive "$pid" || return 2
    [ $((SECONDS - t0)) -lt "$timeout" ] || return 1
    sleep 0.2
  done
}

# ensure NAME PORTVARS CHECK: NAME runs with args_NAME and passes CHECK.
# PORTVARS names the variables (space separated) holding its ports; they keep
# their value when NAME already runs that way, else are (re)picked.
ensure() {
  local name=$1 portvars=$2 check=$3 pid v attempt rc
  local -a args
  if pid=$(pid_of "$name"); then
    "args_${name//-/_}"
    args=("${ARGS[@]}")
    if same_cmdline "$pid" "${args[@]}"; then
      rc=0
      wait_healthy "$name" "$pid" "$check" || rc=$?
      if [ "$rc" = 0 ]; then
        log "cluster: $name already running (pid $pid)"
        return 0
      fi
      log "cluster: $name (pid $pid) runs but is not healthy after ${timeout}s; restarting it"
    else
      log "cluster: $name (pid $pid) runs with other flags (ports or configuration changed); restarting it"
    fi
    stop "$name" "$pid"
    # Its listening sockets may outlive it by a moment: keep its ports.
    for v in $portvars; do
      for _ in $(seq 1 30); do
        port_free "${!v}" && break
        sleep 0.1
      done
    done
  fi
  for attempt in 1 2 3; do
    # Ports: the recorded one (or the default) if free, else the next free one.
    local taken=()
    for v in $portvars; do
      local p
      p=$(pick_port "${!v}" "${taken[@]}" "${other_ports[@]}")
      [ "$p" = "${!v}" ] || log "cluster: $name: port ${!v} is not free; using $p"
      printf -v "$v" '%s' "$p"
      taken+=("$p")
    done
    "args_${name//-/_}"
    args=("${ARGS[@]}")
    local t0=$SECONDS first=${portvars%% *} port=""
    [ -z "$first" ] || port=", port ${!first}"
    pid=$(start "$name" "${args[@]}")
    log "cluster: started $name (pid $pid$port; log $logs/$name.log)"
    rc=0
    wait_healthy "$name" "$pid" "$check" || rc=$?
    if [ "$rc" = 0 ]; then
      log "cluster: $name healthy after $((SECONDS - t0))s"
      return 0
    fi
    if [ "$rc" = 2 ]; then
      # Lost a race for the port: pick again.
      if sed -n '/^===== ctask up.sh: starting/h; /^===== ctask up.sh: starting/!H; ${x;p}' "$logs/$name.log" |
        grep -qi 'address already in use'; then
        log "cluster: $name: a port was taken while it started; picking another"
        rm -f "$pids/$name.pid"
        for v in $portvars; do printf -v "$v" '%s' $((${!v} + 1)); done
        continue
      fi
      printf 'cluster-up: %s exited while starting\n' "$name" >&2
      log_tail "$name"
      rm -f "$pids/$name.pid"
      exit 1
    fi
    printf 'cluster-up: %s (pid %s) not healthy within %ss\n' "$name" "$pid" "$timeout" >&2
    log_tail "$name"
    exit 1
  done
  die "$name: could not get a free port after 3 attempts"
}

# --- component command lines -------------------------------------------------------

args_etcd() {
  ARGS=("$bin/etcd"
    --name=ctask
    "--data-dir=$dir/etcd-data"
    "--listen-client-urls=http://127.0.0.1:$ETCD_PORT"
    "--advertise-client-urls=http://127.0.0.1:$ETCD_PORT"
    "--listen-peer-urls=http://127.0.0.1:$ETCD_PEER_PORT"
    "--initial-advertise-peer-urls=http://127.0.0.1:$ETCD_PEER_PORT"
    "--initial-cluster=ctask=http://127.0.0.1:$ETCD_PEER_PORT"
    --initial-cluster-state=new
    # A test store: no fsync (data survives a killed process, not a host
    # crash), as envtest runs etcd.
    --unsafe-no-fsync=true
    --log-level=warn)
}

args_kube_apiserver() {
  ARGS=("$bin/kube-apiserver"
    "--etcd-servers=http://127.0.0.1:$ETCD_PORT"
    "--secure-port=$APISERVER_PORT"
    --bind-address=127.0.0.1
    --advertise-address=127.0.0.1
    "--cert-dir=$certs"
    --authorization-mode=Node,RBAC
    "--client-ca-file=$certs/ca.crt"
    "--tls-cert-file=$certs/apiserver.crt"
    "--tls-private-key-file=$certs/apiserver.key"
    --service-account-issuer=https://kubernetes.default.svc
    "--service-account-key-file=$certs/sa.pub"
    "--service-account-signing-key-file=$certs/sa.key"
    "--service-cluster-ip-range=$service_range"
    # No Endpoints for the `kubernetes` Service: 127.0.0.1 is not a valid
    # endpoint address (the default lease reconciler logs that every 10s), and
    # nothing here may route to the service range anyway.
    --endpoint-reconciler-type=none
    # Towards the node's kubelet (hack/cluster/node.sh), which serves on
    # 127.0.0.1 with a certificate of the test CA.
    "--kubelet-client-certificate=$certs/apiserver-kubelet-client.crt"
    "--kubelet-client-key=$certs/apiserver-kubelet-client.key"
    "--kubelet-certificate-authority=$certs/ca.crt"
    --allow-privileged=true)
}

args_kube_controller_manager() {
  ARGS=("$bin/kube-controller-manager"
    "--kubeconfig=$dir/kube-controller-manager.kubeconfig"
    "--authentication-kubeconfig=$dir/kube-controller-manager.kubeconfig"
    "--authorization-kubeconfig=$dir/kube-controller-manager.kubeconfig"
    # Overrides the kubeconfig's server, and puts the port in the command
    # line: a new apiserver port then restarts the controller manager.
    "--master=https://127.0.0.1:$APISERVER_PORT"
    "--controllers=*"
    --use-service-account-credentials=true
    "--service-account-private-key-file=$certs/sa.key"
    "--root-ca-file=$certs/ca.crt"
    "--cluster-signing-cert-file=$certs/ca.crt"
    "--cluster-signing-key-file=$certs/ca.key"
    --leader-elect=false
    --bind-address=127.0.0.1
    "--secure-port=$KCM_PORT"
    "--tls-cert-file=$certs/kube-controller-manager-serving.crt"
    "--tls-private-key-file=$certs/kube-controller-manager-serving.key")
}

# write_kubeconfig FILE USER CERTNAME: a kubeconfig for the apiserver with the
# client certificate certs/CERTNAME embedded; rewritten only when it changes.
write_kubeconfig() {
  local file=$1 user=$2 cert=$3
  (
    umask 077
    cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ctask
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 <"$certs/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$certs/$cert.crt")
    client-key-data: $(base64 -w0 <"$certs/$cert.key")
contexts:
- name: ctask
  context:
    cluster: ctask
    user: $user
current-context: ctask
EOF
  )
  if cmp -s "$file.tmp" "$file"; then
    rm -f "$file.tmp"
  else
    mv "$file.tmp" "$file"
  fi
}

# --- main ---------------------------------------------------------------------------

t_start=$EPOCHREALTIME
ensure_certs
# etcd keeps the `kubernetes` Service's address: an etcd that holds data made
# with another service range (or before the range was recorded) needs to
# start afresh.
recorded_range=$(cat "$dir/service-range" 2>/dev/null || true)
if [ "$recorded_range" != "$service_range" ] && [ -n "$(ls -A "$dir/etcd-data")" ]; then
  die "$dir was made with another service range than $service_range: start afresh with hack/cluster/down.sh --purge && hack/cluster/up.sh"
fi
printf '%s\n' "$service_range" >"$dir/service-range"

ETCD_PORT=${CTASK_CLUSTER_ETCD_PORT:-12379}
ETCD_PEER_PORT=${CTASK_CLUSTER_ETCD_PEER_PORT:-12380}
APISERVER_PORT=${CTASK_CLUSTER_APISERVER_PORT:-16443}
KCM_PORT=${CTASK_CLUSTER_KCM_PORT:-20257}
if [ -f "$ports_file" ]; then
  # shellcheck source=/dev/null
  source "$ports_file"
fi

record_ports() {
  local v
  for v in ETCD_PORT ETCD_PEER_PORT APISERVER_PORT KCM_PORT \
    SCHEDULER_PORT KUBELET_PORT KUBELET_HEALTHZ_PORT; do
    [ -z "${!v:-}" ] || printf '%s=%s\n' "$v" "${!v}"
  done >"$ports_file.tmp"
  mv "$ports_file.tmp" "$ports_file"
}

# Ports a component may not take: those of the components started before it
# (those started after it pick around it).
other_ports=()
ensure etcd "ETCD_PORT ETCD_PEER_PORT" etcd_healthy
record_ports
other_ports=("$ETCD_PORT" "$ETCD_PEER_PORT")
ensure kube-apiserver APISERVER_PORT apiserver_healthy
record_ports
write_kubeconfig "$dir/kubeconfig" ctask-admin admin
write_kubeconfig "$dir/kube-controller-manager.kubeconfig" system:kube-controller-manager kube-controller-manager
other_ports+=("$APISERVER_PORT")
ensure kube-controller-manager KCM_PORT kcm_healthy
record_ports

# The service-account controller creates default/default: until then a Pod (or
# a Job's Pod) in `default` is refused by the ServiceAccount admission plugin.
t0=$SECONDS
until "$bin/kubectl" --kubeconfig "$dir/kubeconfig" --request-timeout=5s \
  -n default get serviceaccount default >/dev/null 2>&1; do
  if [ $((SECONDS - t0)) -ge "$timeout" ]; then
    printf 'cluster-up: no default/default ServiceAccount within %ss\n' "$timeout" >&2
    log_tail kube-controller-manager
    exit 1
  fi
  sleep 0.2
done

if [ "$with_node" = 1 ]; then
  source "$CTASK_ROOT/hack/cluster/node.sh"
  start_node
fi

log "cluster: ready in $(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s: etcd 127.0.0.1:$ETCD_PORT, kube-apiserver https://127.0.0.1:$APISERVER_PORT, kube-controller-manager 127.0.0.1:$KCM_PORT"
log "cluster: eval \"\$(hack/cluster/env.sh)\"   # KUBECONFIG=$dir/kubeconfig"
