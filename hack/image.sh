#!/usr/bin/env bash
# Builds the operator's image from controller/Dockerfile with no registry and
# no network: the build stage's base comes from hack/image-base.sh
# (debootstrap, cached in ~/.cache/ctask), and the build runs with
# --network=none. Starts Docker through hack/docker-up.sh when none answers.
# Then: `kind load docker-image ctask:dev` (docs/deploy.md), or
# `hack/cluster/up.sh --node` imports it into the test node.
#
# Tags ctask:<version> and ctask:dev (what manifests/deployment.yaml names).
# Prints the size and fails when it is 100 MB or more (a scratch image with
# one binary and its libraries: ~25 MB).
#
# The context is only the files git knows (tracked, or new and not ignored),
# so local build trees never reach the daemon.
#
#   make image VERSION=v0.2.0      # or: CTASK_VERSION=v0.2.0 hack/image.sh
#
# Environment:
#   CTASK_VERSION what `ctask version` reports and the image's version tag
#                 (default: git describe --tags --always --dirty)
#   CTASK_JOBS    parallel compile jobs in the build stage (default: nproc)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

readonly repo=ctask
version=${CTASK_VERSION:-$(git -C "$CTASK_ROOT" describe --tags --always --dirty 2>/dev/null || echo unknown)}
readonly version
# A tag may not hold '+' and is at most 128 characters.
readonly version_tag=${version//+/-}
readonly max_bytes=$((100 * 1000 * 1000))

"$CTASK_ROOT/hack/install-deps.sh" >&2
"$CTASK_ROOT/hack/docker-up.sh"
base=$("$CTASK_ROOT/hack/image-base.sh")

log "image: building $repo:$version_tag and $repo:dev from controller/Dockerfile (BASE=$base)"
cd "$CTASK_ROOT"
t0=$SECONDS
# The classic builder: the Debian daemon has no buildx, and it needs no
# network or frontend image of its own.
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - --sort=name -c |
  DOCKER_BUILDKIT=0 docker build --network=none --force-rm -f controller/Dockerfile \
    --build-arg "BASE=$base" --build-arg "JOBS=$CTASK_JOBS" --build-arg "VERSION=$version" \
    -t "$repo:$version_tag" -t "$repo:dev" - >&2
# Build stages of earlier builds are left untagged, ~1 GB each: drop those
# older than an hour (a recent one may still serve as this tree's cache).
docker image prune -f --filter label=io.ctask.build-stage=true --filter until=1h >/dev/null || true
size=$(docker image inspect -f '{{.Size}}' "$repo:dev")
reported=$(docker run --rm --network=none --read-only --cap-drop ALL --security-opt no-new-privileges \
  --entrypoint /ctask "$repo:dev" version)
log "image: built $repo:$version_tag in $((SECONDS - t0))s: $(awk -v b="$size" 'BEGIN { printf "%.1f MB (%d bytes)", b / 1e6, b }'); runs as $(docker image inspect -f '{{.Config.User}}' "$repo:dev"): $reported"
[ "$size" -lt "$max_bytes" ] || die "the image is $size bytes: more than the 100 MB it may be"
