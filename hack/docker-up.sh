#!/usr/bin/env bash
# Makes a Docker daemon available for the tests and the local run, and the
# local test image ctask-test/busybox:latest in it. Idempotent: safe to run
# again, and a daemon that already answers (at $DOCKER_HOST, or the default
# /var/run/docker.sock) is used as it is, never restarted.
#
# A daemon this script starts is Debian's dockerd without container networking
# (--bridge=none, no iptables: tests need none), writing its pid to
# $CTASK_DOCKERD_PIDFILE so hack/docker-down.sh stops only that daemon. No
# registry is reachable, so nothing is pulled (the daemon gets a loopback
# proxy that refuses, so a pull fails fast and stays on this machine): the
# test image is a root
# filesystem holding Debian's busybox-static, brought in with `docker import`.
#
# Environment:
#   DOCKER_HOST             the daemon to use (default unix:///var/run/docker.sock)
#   CTASK_DOCKERD_TIMEOUT   seconds to wait for a started daemon (default 60)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

readonly pidfile=${CTASK_DOCKERD_PIDFILE:-/var/run/ctask-dockerd.pid}
readonly logfile=${CTASK_DOCKERD_LOG:-/var/log/ctask-dockerd.log}
readonly socket=/var/run/docker.sock
readonly image=ctask-test/busybox:latest
readonly timeout=${CTASK_DOCKERD_TIMEOUT:-60}

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

answers() { docker version >/dev/null 2>&1; }

start_dockerd() {
  local starter=""
  # Only the default socket is ours to start a daemon on; a DOCKER_HOST that
  # points elsewhere and does not answer is the caller's to fix.
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "unix://$socket" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; unset it to let hack/docker-up.sh start a local daemon"
  fi
  command -v dockerd >/dev/null || die "dockerd not found: run hack/install-deps.sh (package docker.io)"
  # A stale pid file (its daemon died; the pid may be reused) would make
  # dockerd refuse to start.
  if [ -f "$pidfile" ] && [ "$(cat "/proc/$(cat "$pidfile")/comm" 2>/dev/null)" != dockerd ]; then
    "${sudo_cmd[@]}" rm -f "$pidfile"
  fi
  if [ -f "$pidfile" ]; then
    log "docker: dockerd (pid $(cat "$pidfile")) is running but not answering yet; waiting"
  else
    log "docker: starting dockerd (log: $logfile)"
    "${sudo_cmd[@]}" mkdir -p "$(dirname "$logfile")"
    # setsid + nohup: the daemon outlives this script and the caller's
    # terminal. The log is opened inside, so it is opened as root under sudo.
    # The proxy variables point at a closed loopback port: a pull (of an
    # image a test expects to be missing) fails at once, and the daemon never
    # looks up or dials a registry outside this machine.
    "${sudo_cmd[@]}" env HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
      setsid nohup sh -c 'exec "$@" >>"$0" 2>&1 </dev/null' "$logfile" \
      dockerd --bridge=none --iptables=false --ip6tables=false \
      --host "unix://$socket" --pidfile "$pidfile" >/dev/null 2>&1 </dev/null &
    starter=$!
  fi
  local waited=0
  until answers; do
    # A daemon that exited will not answer: say so now, not after the timeout.
    if [ -n "$starter" ] && ! kill -0 "$starter" 2>/dev/null; then
      printf 'docker-up: dockerd exited; the end of %s:\n' "$logfile" >&2
      "${sudo_cmd[@]}" tail -n 30 "$logfile" >&2 || true
      exit 1
    fi
    if [ "$waited" -ge "$timeout" ]; then
      printf 'docker-up: dockerd did not answer within %ss; the end of %s:\n' "$timeout" "$logfile" >&2
      "${sudo_cmd[@]}" tail -n 30 "$logfile" >&2 || true
      exit 1
    fi
    if [ $((waited % 5)) -eq 0 ]; then
      printf 'docker-up: waiting for dockerd (%ss)\n' "$waited" >&2
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "docker: dockerd answers after ${waited}s"
}

build_test_image() {
  if docker image inspect "$image" >/dev/null 2>&1; then
    return
  fi
  local busybox=/bin/busybox
  [ -x "$busybox" ] || die "$busybox not found: run hack/install-deps.sh (package busybox-static)"
  log "docker: building $image from $busybox"
  local root
  root=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now: $root is local
  trap "rm -rf '$root'" EXIT
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  # Owned by root whoever builds it; sorted and dated for a stable layer.
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime='2000-01-01 00:00Z' -C "$root" -c . |
    docker import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' - "$image" >/dev/null
  rm -rf "$root"
  trap - EXIT
  log "docker: built $image"
}

if answers; then
  log "docker: a daemon answers at ${DOCKER_HOST:-unix://$socket}"
else
  start_dockerd
fi
build_test_image
