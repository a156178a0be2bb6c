#!/usr/bin/env bash
# Runs a real Kueue controller (hack/cluster/build-kueue.sh) against the test
# control plane of hack/cluster/up.sh, on the host, with its webhooks served on
# loopback:
#
#   hack/cluster/kueue.sh up       install the CRDs, start the manager, register
#                                  its webhooks; waits until they answer
#   hack/cluster/kueue.sh down     stop the manager, delete its webhook
#                                  configurations (the CRDs and Kueue objects stay)
#   hack/cluster/kueue.sh status   pid, ports, readyz, webhook configurations
#
# `up` needs a running control plane (hack/cluster/up.sh) and is idempotent: a
# manager that runs and is ready is left alone. It:
#   - applies Kueue's CRDs (server-side: the Workload CRD is too big for the
#     last-applied annotation) and waits until they are Established;
#   - gives the five CRDs Kueue's kustomization gives a conversion webhook
#     (v1beta1 <-> v1beta2) that webhook, at https://127.0.0.1:<port>/convert;
#   - creates the namespace kueue-system;
#   - signs a serving certificate for 127.0.0.1 with the cluster's test CA
#     ($CTASK_CLUSTER_DIR/certs/ca.{crt,key}; a CA of its own if there is none);
#   - writes Kueue's configuration (config.kueue.x-k8s.io/v1beta2):
#     internalCertManagement off, webhook/metrics/health on 127.0.0.1, leader
#     election off, manageJobsWithoutQueueName false, the visibility server off
#     (VisibilityOnDemand=false: it would want certificates in /visibility and
#     listen on every address), frameworks $CTASK_KUEUE_FRAMEWORKS;
#   - starts the manager with the admin kubeconfig (system:masters: no RBAC to
#     install), waits for its /readyz;
#   - applies Kueue's own Mutating/ValidatingWebhookConfiguration (its
#     kustomization built with `kubectl kustomize`, named kueue-* as the release
#     names them), each clientConfig a url https://127.0.0.1:<port>/<path> with
#     the CA as caBundle instead of a Service;
#   - checks the round trip: a server-side dry run of a Job labelled
#     kueue.x-k8s.io/queue-name comes back suspended.
#
# Kueue's manager reads the metrics server's certificate from the fixed path
# /etc/kueue/metrics/certs/tls.{crt,key} when internal certificate management
# is off. So that nothing is written to the host's /etc, the manager runs in a
# private mount namespace (unshare -m) in which /etc is an overlay whose upper
# layer is a tmpfs holding that certificate. Without root (or unshare), it
# falls back to writing /etc/kueue/metrics/certs if it can.
#
# State, under $CTASK_CLUSTER_DIR/kueue/: certs/ (tls.crt, tls.key, ca.crt),
# config.yaml, webhooks.json, ports, kueue.pid, kueue.log (appended to).
#
# Environment:
#   CTASK_CLUSTER_DIR         the control plane's state directory (default /tmp/ctask-cluster)
#   CTASK_KUEUE_FRAMEWORKS    integrations, comma separated (default batch/job)
#   CTASK_KUEUE_TIMEOUT       seconds to wait for readiness (default 120)
#   CTASK_KUEUE_WEBHOOK_PORT  preferred webhook port (default 19443)
#   CTASK_KUEUE_HEALTH_PORT   preferred health probe port (default 19444)
#   CTASK_KUEUE_METRICS_PORT  preferred metrics port (default 19445)
# The ports sit below the kernel's ephemeral range; a recorded port wins; a
# taken one moves to the next free one.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

readonly dir=${CTASK_CLUSTER_DIR:-/tmp/ctask-cluster}
readonly state=$dir/kueue
readonly timeout=${CTASK_KUEUE_TIMEOUT:-120}
readonly frameworks=${CTASK_KUEUE_FRAMEWORKS:-batch/job}
readonly pidfile=$state/kueue.pid logfile=$state/kueue.log
readonly mutating=kueue-mutating-webhook-configuration
readonly validating=kueue-validating-webhook-configuration
readonly field_manager=ctask-kueue

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

cmd=${1:-}
case $cmd in
  up | down | status) ;;
  -h | --help | help)
    usage
    exit 0
    ;;
  *) die "usage: hack/cluster/kueue.sh up|down|status" ;;
esac

# --- helpers ------------------------------------------------------------------------

kubectl_() {
  "$kbin/kubectl" --kubeconfig "$dir/kubeconfig" --request-timeout=30s "$@"
}

# find_kubectl: $kbin, the control plane's bin directory (as env.sh finds it).
find_kubectl() {
  kbin=""
  if [ -f "$dir/bin-dir" ]; then
    kbin=$(cat "$dir/bin-dir")
    [ -x "$kbin/kubectl" ] || kbin=""
  fi
  [ -n "$kbin" ] || kbin=$("$CTASK_ROOT/hack/cluster/build.sh")
}

apiserver_up() {
  [ -f "$dir/kubeconfig" ] && [ "$(kubectl_ get --raw /readyz 2>/dev/null)" = ok ]
}


# pid_of: the manager's pid, if kueue/kueue.pid names a live kueue process of
# this state directory (its command line names it).
pid_of() {
  local pid exe
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "$(basename "${exe% (deleted)}")" = kueue ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$state/" || return 1
  echo "$pid"
}

curl_() { curl --noproxy '*' -sS --max-time 3 "$@"; }

ready() { [ "$(curl_ "http://127.0.0.1:$HEALTH_PORT/readyz" 2>/dev/null)" = ok ]; }

# webhook_tls: the webhook server answers TLS with a certificate the CA
# verifies (any HTTP status).
webhook_tls() {
  curl_ -o /dev/null --cacert "$state/certs/ca.crt" "https://127.0.0.1:$WEBHOOK_PORT/healthz" 2>/dev/null
}

# dry_run_suspends: a Job labelled for a queue, created as a server-side dry
# run, comes back suspended: the API server called Kueue's mutating webhook.
dry_run_suspends() {
  local out
  out=$(kubectl_ create --dry-run=server -o jsonpath='{.spec.suspend}' -f - 2>&1 <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: ctask-kueue-webhook-probe
  namespace: default
  labels:
    kueue.x-k8s.io/queue-name: ctask-kueue-webhook-probe
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: ctask-test/busybox:latest
EOF
  ) || return 1
  [ "$out" = true ]
}

secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# stop_manager: SIGTERM, SIGKILL after 10s.
stop_manager() {
  local pid i
  if ! pid=$(pid_of); then
    rm -f "$pidfile"
    return 0
  fi
  terminate "kueue: the manager" "$pid" 10
  rm -f "$pidfile"
}

# delete_webhooks: the webhook configurations go, and the conversion webhooks
# go back to None (the API server must not call a dead manager).
delete_webhooks() {
  kubectl_ delete mutatingwebhookconfiguration "$mutating" --ignore-not-found >/dev/null
  kubectl_ delete validatingwebhookconfiguration "$validating" --ignore-not-found >/dev/null
  local crd
  if [ -n "$kdir" ] && [ -f "$kdir/conversion-crds" ]; then
    while read -r crd; do
      [ -n "$crd" ] || continue
      if kubectl_ get crd "$crd" >/dev/null 2>&1; then
        kubectl_ patch crd "$crd" --type=merge \
          -p '{"spec":{"conversion":{"strategy":"None","webhook":null}}}' >/dev/null
      fi
    done <"$kdir/conversion-crds"
  fi
}

# --- status -------------------------------------------------------------------------

if [ "$cmd" = status ]; then
  find_kubectl
  if [ -f "$state/ports" ]; then
    # shellcheck source=/dev/null
    source "$state/ports"
  fi
  rc=0
  if pid=$(pid_of); then
    if ready; then health=ready; else
      health=NOT-READY
      rc=1
    fi
    printf 'kueue manager  up    pid %-7s webhook 127.0.0.1:%s health 127.0.0.1:%s metrics 127.0.0.1:%s: %s\n' \
      "$pid" "$WEBHOOK_PORT" "$HEALTH_PORT" "$METRICS_PORT" "$health"
  else
    printf 'kueue manager  down\n'
    rc=1
  fi
  if apiserver_up; then
    for w in "mutatingwebhookconfiguration $mutating" "validatingwebhookconfiguration $validating"; do
      # shellcheck disable=SC2086 # kind and name
      if kubectl_ get $w >/dev/null 2>&1; then
        printf '%-40s present\n' "${w#* }"
      else
        printf '%-40s absent\n' "${w#* }"
      fi
    done
  else
    printf 'kube-apiserver not reachable\n'
    rc=1
  fi
  exit "$rc"
fi

# --- down ---------------------------------------------------------------------------

if [ "$cmd" = down ]; then
  [ -d "$state" ] || {
    log "kueue: nothing to stop ($state absent)"
    exit 0
  }
  exec 9>"$state/lock"
  flock -w 300 9 || die "$state/lock still held after 300s"
  find_kubectl
  # The manifests' directory `up` used (for the conversion CRDs' names).
  kdir=$(cat "$state/kueue-dir" 2>/dev/null || true)
  stop_manager
  if apiserver_up; then
    delete_webhooks
    log "kueue: stopped; webhook configurations deleted (CRDs and Kueue objects kept)"
  else
    log "kueue: stopped; the API server is not reachable, so its webhook configurations stay in etcd: once hack/cluster/up.sh runs again, run hack/cluster/kueue.sh down (or up) before creating Jobs or Pods"
  fi
  if [ -f "$state/etc-fallback" ]; then
    rm -rf /etc/kueue/metrics/certs && rmdir /etc/kueue/metrics /etc/kueue 2>/dev/null || true
    rm -f "$state/etc-fallback"
  fi
  exit 0
fi

# --- up -----------------------------------------------------------------------------

t_start=$EPOCHREALTIME
find_kubectl
apiserver_up || die "the control plane at $dir is not running (or not ready): run hack/cluster/up.sh first"
bin=$("$CTASK_ROOT/hack/cluster/build-kueue.sh")
readonly bin
readonly kdir=${bin%/bin}
command -v python3 >/dev/null || die "python3 not found (hack/install-deps.sh installs it)"

mkdir -p "$state/certs" "$state/ns"
chmod 700 "$state/certs"
printf '%s\n' "$kdir" >"$state/kueue-dir"
exec 9>"$state/lock"
if ! flock -n 9; then
  log "kueue: another kueue.sh on $state is running; waiting for it (at most 300s)"
  flock -w 300 9 || die "$state/lock still held after 300s"
fi

# Ports: recorded, else the defaults.
WEBHOOK_PORT=${CTASK_KUEUE_WEBHOOK_PORT:-19443}
HEALTH_PORT=${CTASK_KUEUE_HEALTH_PORT:-19444}
METRICS_PORT=${CTASK_KUEUE_METRICS_PORT:-19445}
if [ -f "$state/ports" ]; then
  # shellcheck source=/dev/null
  source "$state/ports"
fi

# --- CRDs
t0=$EPOCHREALTIME
kubectl_ apply --server-side --force-conflicts --field-manager="$field_manager" -f "$kdir/crds/" >/dev/null
kubectl_ wait --for=condition=Established --timeout=60s -f "$kdir/crds/" >/dev/null
log "kueue: $(ls "$kdir/crds" | wc -l) CRDs applied and Established in $(secs_since "$t0")s"
kubectl_ get namespace kueue-system >/dev/null 2>&1 || kubectl_ create namespace kueue-system >/dev/null

# --- certificates
ca_crt=$dir/certs/ca.crt ca_key=$dir/certs/ca.key
if [ ! -f "$ca_crt" ] || [ ! -f "$ca_key" ]; then
  ca_crt=$state/certs/own-ca.crt ca_key=$state/certs/own-ca.key
  if [ ! -f "$ca_crt" ] || [ ! -f "$ca_key" ]; then
    log "kueue: no test CA in $dir/certs; making one in $state/certs"
    (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$ca_key" 2>/dev/null)
    openssl req -x509 -new -key "$ca_key" -subj "/CN=ctask-kueue-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$ca_crt" 2>/dev/null
  fi
fi
# A certificate another CA signed, or one expiring within a day, is replaced.
if [ ! -f "$state/certs/tls.key" ] || [ ! -f "$state/certs/tls.crt" ] ||
  ! openssl verify -CAfile "$ca_crt" "$state/certs/tls.crt" >/dev/null 2>&1 ||
  ! openssl x509 -in "$state/certs/tls.crt" -noout -checkend 86400 >/dev/null 2>&1; then
  (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$state/certs/tls.key.tmp" 2>/dev/null)
  openssl req -new -key "$state/certs/tls.key.tmp" -subj "/CN=kueue-webhook" -out "$state/certs/tls.csr" 2>/dev/null
  openssl x509 -req -in "$state/certs/tls.csr" -CA "$ca_crt" -CAkey "$ca_key" -CAcreateserial \
    -CAserial "$state/certs/ca.srl" -days 365 -sha256 -extfile <(printf '%s\n' \
      'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
      'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost') \
    -out "$state/certs/tls.crt.tmp" 2>/dev/null
  mv "$state/certs/tls.key.tmp" "$state/certs/tls.key"
  mv "$state/certs/tls.crt.tmp" "$state/certs/tls.crt"
  rm -f "$state/certs/tls.csr"
  log "kueue: serving certificate for 127.0.0.1 signed by $ca_crt"
fi
cp "$ca_crt" "$state/certs/ca.crt"
ca_bundle=$(base64 -w0 <"$state/certs/ca.crt")

# --- the manager
# manager_args: the manager's command line (args); start_manager wraps it in
# the private mount namespace (see the header).
manager_args() {
  args=("$bin/kueue" "--config=$state/config.yaml" "--kubeconfig=$dir/kubeconfig")
}

write_config() {
  local f
  {
    cat <<EOF
# Written by hack/cluster/kueue.sh. config.kueue.x-k8s.io/v1beta2 is the
# version Kueue $(cat "$kdir/VERSION") loads (cmd/kueue: pkg/config.Load).
apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: kueue-system
manageJobsWithoutQueueName: false
internalCertManagement:
  enable: false
webhook:
  host: 127.0.0.1
  port: $WEBHOOK_PORT
  certDir: $state/certs
health:
  healthProbeBindAddress: 127.0.0.1:$HEALTH_PORT
metrics:
  bindAddress: 127.0.0.1:$METRICS_PORT
leaderElection:
  leaderElect: false
clientConnection:
  qps: 50
  burst: 100
featureGates:
  VisibilityOnDemand: false
integrations:
  frameworks:
EOF
    IFS=, read -ra fws <<<"$frameworks"
    for f in "${fws[@]}"; do printf '  - "%s"\n' "$f"; done
  } >"$state/config.yaml.tmp"
  mv "$state/config.yaml.tmp" "$state/config.yaml"
}

start_manager() {
  local -a launch
  manager_args
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    # /etc as an overlay, its upper layer a tmpfs of this namespace only.
    # shellcheck disable=SC2016 # expanded by the inner shell
    launch=(unshare --mount --propagation private sh -c '
      s=$1; shift
      mount -t tmpfs -o size=1m,mode=700 ctask-kueue "$s/ns" &&
      mkdir "$s/ns/upper" "$s/ns/work" &&
      mount -t overlay -o "lowerdir=/etc,upperdir=$s/ns/upper,workdir=$s/ns/work" ctask-kueue-etc /etc &&
      mkdir -p /etc/kueue/metrics/certs &&
      cp "$s/certs/tls.crt" "$s/certs/tls.key" /etc/kueue/metrics/certs/ || exit 1
      exec "$@"' kueue-mount-namespace "$state" "${args[@]}")
  else
    mkdir -p /etc/kueue/metrics/certs 2>/dev/null && touch "$state/etc-fallback" &&
      cp "$state/certs/tls.crt" "$state/certs/tls.key" /etc/kueue/metrics/certs/ ||
      die "the manager needs /etc/kueue/metrics/certs/tls.{crt,key}: run as root (a private mount namespace), or create them"
    launch=("${args[@]}")
  fi
  daemonize "kueue.sh: starting kueue" "$pidfile" "$logfile" "${launch[@]}"
}

log_tail() {
  printf 'the end of %s:\n' "$logfile" >&2
  sed -n '/^===== ctask kueue.sh: starting/h; /^===== ctask kueue.sh: starting/!H; ${x;p}' "$logfile" | tail -n 40 >&2 || true
}

restart=1
if pid=$(pid_of); then
  manager_args
  if [ "$(tr '\0' '\n' <"/proc/$pid/cmdline")" = "$(printf '%s\n' "${args[@]}")" ] && ready; then
    log "kueue: manager already running (pid $pid), ready"
    restart=0
  else
    log "kueue: manager (pid $pid) not ready or started otherwise; restarting it"
    stop_manager
  fi
fi

# The conversion webhooks (v1beta1 <-> v1beta2) of the CRDs that have one.
set_conversion() {
  local crd
  while read -r crd; do
    [ -n "$crd" ] || continue
    kubectl_ patch crd "$crd" --type=merge -p "{\"spec\":{\"conversion\":{\"strategy\":\"Webhook\",\"webhook\":{\"conversionReviewVersions\":[\"v1\"],\"clientConfig\":{\"url\":\"https://127.0.0.1:$WEBHOOK_PORT/convert\",\"caBundle\":\"$ca_bundle\"}}}}}" >/dev/null
  done <"$kdir/conversion-crds"
}

if [ "$restart" = 1 ]; then
  # The webhooks of a dead manager would refuse every Job (and Pod) create.
  delete_webhooks
  for attempt in 1 2 3; do
    WEBHOOK_PORT=$(pick_port "$WEBHOOK_PORT")
    HEALTH_PORT=$(pick_port "$HEALTH_PORT" "$WEBHOOK_PORT")
    METRICS_PORT=$(pick_port "$METRICS_PORT" "$WEBHOOK_PORT" "$HEALTH_PORT")
    printf 'WEBHOOK_PORT=%s\nHEALTH_PORT=%s\nMETRICS_PORT=%s\n' "$WEBHOOK_PORT" "$HEALTH_PORT" "$METRICS_PORT" >"$state/ports"
    write_config
    t0=$EPOCHREALTIME
    pid=$(start_manager)
    log "kueue: started the manager (pid $pid; webhook 127.0.0.1:$WEBHOOK_PORT, health 127.0.0.1:$HEALTH_PORT, metrics 127.0.0.1:$METRICS_PORT; log $logfile)"
    rc=0
    t_wait=$SECONDS
    until ready; do
      if ! alive "$pid"; then
        rc=2
        break
      fi
      if [ $((SECONDS - t_wait)) -ge "$timeout" ]; then
        rc=1
        break
      fi
      sleep 0.2
    done
    [ "$rc" != 0 ] || break
    if [ "$rc" = 2 ] && sed -n '/^===== ctask kueue.sh: starting/h; /^===== ctask kueue.sh: starting/!H; ${x;p}' "$logfile" |
      grep -qi 'address already in use'; then
      log "kueue: a port was taken while the manager started; picking others"
      WEBHOOK_PORT=$((WEBHOOK_PORT + 1)) HEALTH_PORT=$((HEALTH_PORT + 1)) METRICS_PORT=$((METRICS_PORT + 1))
      continue
    fi
    [ "$rc" = 2 ] && printf 'kueue-up: the manager exited while starting\n' >&2 ||
      printf 'kueue-up: the manager (pid %s) not ready within %ss\n' "$pid" "$timeout" >&2
    log_tail
    [ "$rc" = 2 ] || stop_manager
    exit 1
  done
  [ "$rc" = 0 ] || die "the manager could not get free ports after 3 attempts"
  log "kueue: manager ready after $(secs_since "$t0")s"
fi
webhook_tls || die "the webhook server on 127.0.0.1:$WEBHOOK_PORT does not answer TLS with a certificate of $state/certs/ca.crt"
set_conversion

# --- webhook configurations: Kueue's own, service references -> loopback urls.
"$kbin/kubectl" kustomize "$kdir/webhook" >"$state/webhooks.kustomized.yaml"
kubectl_ create --dry-run=client -o json -f "$state/webhooks.kustomized.yaml" >"$state/webhooks.kustomized.json"
python3 - "$state/webhooks.kustomized.json" "$WEBHOOK_PORT" "$ca_bundle" >"$state/webhooks.json" <<'EOF'
import json, sys

src, port, ca = sys.argv[1], sys.argv[2], sys.argv[3]
# kubectl prints one JSON object per document, one after the other.
text, dec, pos, items = open(src).read(), json.JSONDecoder(), 0, []
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    doc, pos = dec.raw_decode(text, pos)
    items += doc["items"] if doc.get("kind") == "List" else [doc]
out = []
for o in items:
    if o["kind"] not in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        continue
    o["metadata"] = {
        # The release's names (config/default: namePrefix kueue-).
        "name": "kueue-" + o["metadata"]["name"],
        "labels": {"app.kubernetes.io/name": "kueue", "app.kubernetes.io/managed-by": "ctask-kueue.sh"},
    }
    for w in o["webhooks"]:
        path = w["clientConfig"]["service"].get("path", "/")
        w["clientConfig"] = {"url": "https://127.0.0.1:%s%s" % (port, path), "caBundle": ca}
    out.append(o)
if len(out) != 2:
    sys.exit("expected 2 webhook configurations in %s, found %d" % (src, len(out)))
json.dump({"apiVersion": "v1", "kind": "List", "items": out}, sys.stdout, indent=1)
EOF
rm -f "$state/webhooks.kustomized.yaml" "$state/webhooks.kustomized.json"
kubectl_ apply --server-side --force-conflicts --field-manager="$field_manager" -f "$state/webhooks.json" >/dev/null
nwebhooks=$(grep -c '"url":' "$state/webhooks.json")

# The API server picks up webhook configurations asynchronously.
t0=$EPOCHREALTIME t_wait=$SECONDS
until dry_run_suspends; do
  if [ $((SECONDS - t_wait)) -ge 30 ]; then
    printf 'kueue-up: a dry-run Job with a queue-name label was not suspended within 30s:\n' >&2
    kubectl_ create --dry-run=server -o yaml -f - >&2 <<'EOF' || true
apiVersion: batch/v1
kind: Job
metadata: {name: ctask-kueue-webhook-probe, namespace: default, labels: {kueue.x-k8s.io/queue-name: ctask-kueue-webhook-probe}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: ctask-test/busybox:latest}]}}}
EOF
    log_tail
    exit 1
  fi
  sleep 0.2
done
log "kueue: $nwebhooks webhooks registered at https://127.0.0.1:$WEBHOOK_PORT; the Job webhook answers (dry-run Job suspended after $(secs_since "$t0")s)"
log "kueue: up in $(secs_since "$t_start")s ($(cat "$kdir/VERSION"), frameworks $frameworks)"
