# Shared helpers for hack/ scripts. Source it; do not run it.

# Repository root, whatever the caller's directory.
CTASK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CTASK_ROOT

# Parallel jobs: every core (2 on the CI machine).
CTASK_JOBS=${CTASK_JOBS:-$(nproc)}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# configure_and_build DIR [cmake args...]: an incremental Ninja build in DIR.
# CTASK_BUILD_TARGETS (space-separated) limits it to those targets; unset, all.
configure_and_build() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$CTASK_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
  else
    cmake "$dir" "$@" >/dev/null
  fi
  # shellcheck disable=SC2086 # a list of target names
  ninja -C "$dir" -j "$CTASK_JOBS" ${CTASK_BUILD_TARGETS:-}
}
