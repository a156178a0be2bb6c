# Shared helpers for hack/ scripts. Source it; do not run it.

# Repository root, whatever the caller's directory.
CTASK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CTASK_ROOT

# Parallel jobs: every core (2 on the CI machine).
CTASK_JOBS=${CTASK_JOBS:-$(nproc)}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# What is cached outside the repository, across clones: the built Kubernetes
# binaries (hack/cluster/build.sh) and the compiler cache.
CTASK_CACHE=${CTASK_CACHE:-$HOME/.cache/ctask}

# The compiler cache (ccache), so a fresh clone compiles only what changed
# since any earlier build on this machine. Paths are made relative to the
# clone (BASEDIR, NOHASHDIR), so clones in different directories share it;
# the sloppiness lets it cache the precompiled headers of tests/ too.
# CTASK_CCACHE=0 turns it off.
use_ccache() {
  [ "${CTASK_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null || return 1
  export CCACHE_DIR=${CCACHE_DIR:-$CTASK_CACHE/ccache}
  export CCACHE_BASEDIR=$CTASK_ROOT
  export CCACHE_NOHASHDIR=true
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
}

# The configuration of build/ (make run, make build, the unit tier):
# optimised, with line tables only. Backtraces and sanitizer reports still
# name file:line; full -g costs about 40% more compile time (measured on
# tests/backends/kubernetes/observe_job_test.cc: 28 s against 19 s).
CTASK_BUILD_CONFIG=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")

# configure_and_build DIR [cmake args...]: an incremental Ninja build in DIR.
# CTASK_BUILD_TARGETS (space-separated) limits it to those targets; unset, all.
configure_and_build() {
  local dir=$1
  shift
  local launcher=()
  if use_ccache; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$CTASK_ROOT" -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
  else
    cmake "$dir" "${launcher[@]}" "$@" >/dev/null
  fi
  # shellcheck disable=SC2086 # a list of target names
  ninja -C "$dir" -j "$CTASK_JOBS" ${CTASK_BUILD_TARGETS:-}
}

# --- processes and ports, for the scripts that start daemons ----------------

# alive PID: the process exists and is not a zombie.
alive() {
  [ -e "/proc/$1" ] && [ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)" != Z ]
}

# terminate LABEL PID SECONDS: SIGTERM, then SIGKILL if PID still runs after
# SECONDS (and up to 5 s more for the kill to land).
terminate() {
  local label=$1 pid=$2 seconds=$3 deadline
  log "$label: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + seconds))
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.1
  done
  if alive "$pid"; then
    log "$label: (pid $pid) still running after ${seconds}s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
}

# port_free PORT: nothing listens on PORT (any address: a wildcard listener
# would take 127.0.0.1:PORT too).
port_free() {
  [ -z "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

# pick_port PREFERRED TAKEN...: PREFERRED if free, else the next free port
# above it; never one of TAKEN (ports already given to another component).
pick_port() {
  local p=$1 i t ok
  shift
  for i in $(seq 0 199); do
    ok=1
    for t in "$@"; do [ "$p" != "$t" ] || ok=0; done
    if [ "$ok" = 1 ] && port_free "$p"; then
      echo "$p"
      return 0
    fi
    p=$((p + 1))
  done
  die "no free loopback port in $1..$p"
}

# daemonize LABEL PIDFILE LOGFILE ARGS...: runs ARGS detached (own session,
# no terminal, SIGHUP ignored), appending to LOGFILE after a line saying
# LABEL started it; the process writes its pid to PIDFILE just before it
# execs. Waits up to 5 s for PIDFILE; prints the pid. fd 9 (a caller's lock)
# is closed in the daemon.
daemonize() {
  local label=$1 pidfile=$2 logfile=$3
  shift 3
  rm -f "$pidfile"
  printf '\n===== ctask %s at %s\n' "$label" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$logfile"
  setsid nohup sh -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && log=$1 && shift && exec "$@" >>"$log" 2>&1 </dev/null' \
    "$pidfile" "$logfile" "$@" >/dev/null 2>&1 </dev/null 9>&- &
  local i
  for i in $(seq 1 50); do
    [ -s "$pidfile" ] && break
    sleep 0.1
  done
  [ -s "$pidfile" ] || die "$label: did not start (no $pidfile after 5s)"
  cat "$pidfile"
}
