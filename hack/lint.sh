#!/usr/bin/env bash
# The lint tiers: clang-format (.clang-format) over every C++ file, then
# clang-tidy (.clang-tidy) over the product's translation units (src/,
# controller/), both from Debian's LLVM 16. Fails on any format difference
# or any clang-tidy warning.
#
#   hack/lint.sh          both
#   hack/lint.sh format   the format check only (seconds; hack/test.sh's first tier)
#   hack/lint.sh tidy     clang-tidy only (hack/test.sh runs it after the unit build)
#
# clang-tidy needs a compile database: build/compile_commands.json, written
# by the configure of build/. Its time is bounded: CTASK_TIDY_TIMEOUT seconds
# (default 900) for the whole run, on CTASK_JOBS cores; past it the tier
# fails and says so. A file whose inputs (its includes, its compile command,
# .clang-tidy) are unchanged since a clean run is not checked again
# (hack/tidy.py, cache in $CTASK_CACHE/clang-tidy).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CTASK_ROOT"

mode=${1:-all}
case "$mode" in
  all | format | tidy) ;;
  *) die "usage: hack/lint.sh [format|tidy]" ;;
esac

if [ "$mode" != tidy ]; then
  log "lint: clang-format"
  mapfile -t sources < <(git ls-files '*.cc' '*.h')
  if ! clang-format-16 --dry-run --Werror "${sources[@]}"; then
    die "clang-format: the files above differ from .clang-format (make fmt rewrites them)"
  fi
  log "lint: format clean"
fi
[ "$mode" = format ] && exit 0

db=build/compile_commands.json
[ -f "$db" ] || die "clang-tidy: no $db: configure build/ first (hack/build.sh)"
mapfile -t units < <(git ls-files 'src/*.cc' 'controller/*.cc')
log "lint: clang-tidy over ${#units[@]} files (bound: ${CTASK_TIDY_TIMEOUT:-900}s)"
# The database is GCC's: clang 16 spells C++23 c++2b, and libstdc++ 12
# enables <expected> only for the __cpp_concepts that clang supports but does
# not advertise (as hack/fuzz.sh's build states it).
tidy_args=(-extra-arg=-std=c++2b -extra-arg=-U__cpp_concepts -extra-arg=-D__cpp_concepts=202002L
  -extra-arg=-Wno-builtin-macro-redefined -extra-arg=-Wno-unknown-warning-option)
started=$SECONDS
status=0
# hack/tidy.py checks only the files whose inputs changed since a clean run
# (its cache: $CTASK_CACHE/clang-tidy, shared by clones like ccache's).
# Progress goes to stderr, findings to the log.
"$CTASK_ROOT/hack/tidy.py" build "$CTASK_CACHE/clang-tidy" "$CTASK_JOBS" "${CTASK_TIDY_TIMEOUT:-900}" \
  -- "${tidy_args[@]}" -- "${units[@]/#/$CTASK_ROOT/}" >/tmp/ctask-clang-tidy.log || status=$?
if [ "$status" -eq 124 ]; then
  die "clang-tidy: did not finish within ${CTASK_TIDY_TIMEOUT:-900}s (CTASK_TIDY_TIMEOUT raises the bound)"
fi
if [ "$status" -ne 0 ]; then
  grep -E 'warning:|error:' -A3 /tmp/ctask-clang-tidy.log | head -200 >&2
  die "clang-tidy: findings above (full log: /tmp/ctask-clang-tidy.log)"
fi
log "lint: clean ($((SECONDS - started))s for clang-tidy)"
