#!/usr/bin/env bash
# Builds ctask (release-with-debug-info) into build/. Installs packages first.
# With --ctask-only, only the ctask binary (what `make run` needs), not the
# test suites.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$CTASK_ROOT/hack/install-deps.sh"
if [ "${1:-}" = --ctask-only ]; then
  log "building the ctask binary into build/"
  CTASK_BUILD_TARGETS=ctask configure_and_build "$CTASK_ROOT/build" "${CTASK_BUILD_CONFIG[@]}"
else
  log "building into build/"
  configure_and_build "$CTASK_ROOT/build" "${CTASK_BUILD_CONFIG[@]}"
fi
