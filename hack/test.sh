#!/usr/bin/env bash
# The whole test suite, set-up included: what `make test` and .ci/run run.
#
# A Docker daemon and the local test image are made available first
# (hack/docker-up.sh), so every tier can reach Docker; suites that need it fail,
# not skip, when it is missing.
#
# Tiers, in order (each must pass; none is skipped):
#   unit       GoogleTest suites through ctest (build/)
#   sanitizer  the same suites built with ASan + UBSan (build-asan/)
#   fuzz       the parse -> validate -> render libFuzzer target, bounded time
#              (build-fuzz/, clang 16)
#
# CTASK_FUZZ_SECONDS (default 60) bounds the fuzzing run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CTASK_ROOT"

"$CTASK_ROOT/hack/install-deps.sh"
"$CTASK_ROOT/hack/docker-up.sh"

log "tier unit: build and run"
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build --output-on-failure -j "$CTASK_JOBS"

log "tier sanitizer: ASan + UBSan build and run"
configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DCTASK_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$CTASK_JOBS"

log "tier fuzz: parse -> validate -> render"
"$CTASK_ROOT/hack/fuzz.sh"

log "all tiers passed"
