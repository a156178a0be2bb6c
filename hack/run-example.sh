#!/usr/bin/env bash
# The main job, set-up included: build ctask, then validate examples/hello.yaml
# and render it for both backends. (The Docker backend turns this into a real
# local run.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CTASK_ROOT"
"$CTASK_ROOT/hack/build.sh"
task=${1:-examples/hello.yaml}
log "ctask validate -f $task"
build/controller/ctask validate -f "$task"
log "ctask render -f $task --backend kubernetes"
build/controller/ctask render -f "$task" --backend kubernetes
log "ctask render -f $task --backend docker"
build/controller/ctask render -f "$task" --backend docker
