#!/usr/bin/env bash
# Builds the libFuzzer target with clang 16 (ASan + UBSan) and runs it for
# CTASK_FUZZ_SECONDS (default 60) over a seed corpus of examples/ and the test
# manifests. Any crash, sanitizer report or leak fails the run; the input that
# caused it is left in build-fuzz/artifacts/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CTASK_ROOT"

seconds=${CTASK_FUZZ_SECONDS:-60}
# Only the fuzz target and the libraries it links (not the operator).
CC=clang-16 CXX=clang++-16 CTASK_BUILD_TARGETS=parse_render_fuzz configure_and_build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCTASK_FUZZ=ON -DCTASK_TESTS=OFF -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16

# The seed corpus is rebuilt each run from the sources; what the fuzzer finds
# is kept in a separate directory it may grow across runs.
seeds=build-fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds" build-fuzz/corpus build-fuzz/artifacts
find examples tests -name '*.yaml' -o -name '*.json' | grep -v '/golden' | while read -r f; do
  cp "$f" "$seeds/$(echo "$f" | tr '/' '_')"
done

log "fuzzing for ${seconds}s ($(ls "$seeds" | wc -l) seeds)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build-fuzz/tests/fuzz/parse_render_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 \
  build-fuzz/corpus "$seeds" 2>&1 | grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' || true
# libFuzzer exits non-zero on a finding; the pipe hides that, so check.
if ls build-fuzz/artifacts/* >/dev/null 2>&1; then
  die "the fuzzer found inputs that fail: $(ls build-fuzz/artifacts/)"
fi
log "fuzz: no findings"
