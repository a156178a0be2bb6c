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
