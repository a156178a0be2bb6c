#!/usr/bin/env bash
# The main job, set-up included: build ctask (installing what is missing), make
# sure a Docker daemon and the local test image are there, then run
# examples/hello.yaml (or the manifests given) through the Docker backend and
# show its record. Exits with the task's exit status (docs/cli.md). Only the
# ctask binary is built (not the test suites), and the set-up's time is shown.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CTASK_ROOT"
setup_started=$SECONDS
"$CTASK_ROOT/hack/build.sh" --ctask-only
"$CTASK_ROOT/hack/docker-up.sh"
log "set-up took $((SECONDS - setup_started))s (build and Docker; cached after the first run)"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(examples/hello.yaml)
args=()
for f in "${files[@]}"; do args+=(-f "$f"); done
log "ctask run ${args[*]}"
status=0
build/controller/ctask run "${args[@]}" || status=$?
log "ctask get -o wide"
build/controller/ctask get -o wide || true
exit "$status"
