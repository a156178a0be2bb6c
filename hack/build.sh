#!/usr/bin/env bash
# Builds ctask (release-with-debug-info) into build/. Installs packages first.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$CTASK_ROOT/hack/install-deps.sh"
log "building into build/"
configure_and_build "$CTASK_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
