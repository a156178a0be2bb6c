#!/usr/bin/env bash
# Stops the Docker daemon that hack/docker-up.sh started, and only that one:
# it is found by its pid file, so a daemon someone else runs is left alone.
# Idempotent: nothing to stop is not an error.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

readonly pidfile=${CTASK_DOCKERD_PIDFILE:-/var/run/ctask-dockerd.pid}

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

if [ ! -f "$pidfile" ]; then
  log "docker: no daemon started by hack/docker-up.sh ($pidfile absent)"
  exit 0
fi
pid=$(cat "$pidfile")
# The pid must still be a dockerd: a stale file may name a reused pid.
if ! kill -0 "$pid" 2>/dev/null || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
  log "docker: dockerd (pid $pid) is not running; removing the stale $pidfile"
  "${sudo_cmd[@]}" rm -f "$pidfile"
  exit 0
fi

log "docker: stopping dockerd (pid $pid)"
"${sudo_cmd[@]}" kill -TERM "$pid"
# dockerd stops its containers first; give it as long as it gives them.
for _ in $(seq 1 30); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if kill -0 "$pid" 2>/dev/null; then
  log "docker: dockerd (pid $pid) still running after 30s; sending KILL"
  "${sudo_cmd[@]}" kill -KILL "$pid"
fi
# dockerd removes its pid file on a clean exit; not after KILL.
"${sudo_cmd[@]}" rm -f "$pidfile"
log "docker: stopped"
