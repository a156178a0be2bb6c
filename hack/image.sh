#!/usr/bin/env bash
# Builds the operator's image (default ctask:dev) from controller/Dockerfile
# with no registry and no network: the build stage's base comes from
# hack/image-base.sh (debootstrap, cached in ~/.cache/ctask), and the build
# runs with --network=none. Starts Docker through hack/docker-up.sh when none
# answers. Then: `kind load docker-image ctask:dev` (docs/deploy.md).
#
# The context is only the files git knows (tracked, or new and not ignored),
# so local build trees never reach the daemon.
#
# Environment:
#   CTASK_IMAGE   the tag to build (default ctask:dev)
#   CTASK_JOBS    parallel compile jobs in the build stage (default: nproc)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

readonly image=${CTASK_IMAGE:-ctask:dev}

"$CTASK_ROOT/hack/docker-up.sh"
base=$("$CTASK_ROOT/hack/image-base.sh")

log "image: building $image from controller/Dockerfile (BASE=$base)"
cd "$CTASK_ROOT"
# The classic builder: the Debian daemon has no buildx, and it needs no
# network or frontend image of its own.
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - --sort=name -c |
  DOCKER_BUILDKIT=0 docker build --network=none --force-rm -f controller/Dockerfile \
    --build-arg "BASE=$base" --build-arg "JOBS=$CTASK_JOBS" -t "$image" -
log "image: built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.1f MiB", $1 / 1048576 }'))"
