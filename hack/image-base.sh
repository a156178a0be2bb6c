#!/usr/bin/env bash
# Makes the base image controller/Dockerfile builds ctask in, without a
# registry: a Debian bookworm root filesystem made by debootstrap from the
# Debian mirror apt already uses (/etc/apt/sources.list*), holding the
# toolchain and the libraries of hack/install-deps.sh, brought into Docker
# with `docker import`. Prints the image's name on stdout (the --build-arg
# BASE= of hack/image.sh).
#
# Idempotent and cached outside the repository: the root filesystem's
# tarball in $CTASK_CACHE/image-base/ (debootstrap's .debs beside it), the
# image in Docker under a tag derived from the package list, so a changed
# list makes a new image and an unchanged one is never rebuilt. Needs root
# (debootstrap chroots) and a daemon (hack/docker-up.sh starts one).
#
# Environment:
#   CTASK_CACHE           cache directory (default ~/.cache/ctask)
#   CTASK_DEBIAN_MIRROR   the mirror (default: the first Debian URI of apt's sources)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

readonly suite=bookworm
# What the build stage needs: the toolchain and the libraries of
# hack/install-deps.sh (DESIGN.md section 2). Keep the two lists in step.
readonly packages=(
  build-essential cmake ninja-build pkg-config
  libcurl4-openssl-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev libcivetweb-dev libssl-dev libjemalloc-dev
)

cache=${CTASK_CACHE:-$HOME/.cache/ctask}/image-base
tag=$(printf '%s\n' "$suite" "${packages[@]}" | sha256sum | cut -c1-12)
readonly image="ctask-base/$suite-build:$tag"
readonly tarball="$cache/$suite-build-$tag.tar"

command -v docker >/dev/null || die "docker not found: run hack/install-deps.sh"
docker version >/dev/null 2>&1 || die "no Docker daemon answers: run hack/docker-up.sh first"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

# The mirror apt is configured with: deb822 "URIs:" lines or one-line "deb"
# entries, the first one that serves the main archive (not -security).
mirror() {
  if [ -n "${CTASK_DEBIAN_MIRROR:-}" ]; then
    echo "$CTASK_DEBIAN_MIRROR"
    return
  fi
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?//p' |
    tr ' ' '\n' | grep -E '^https?://.*/debian/?$' | head -n1 || true)
  [ -n "$uri" ] || die "no Debian mirror in /etc/apt/sources.list*; set CTASK_DEBIAN_MIRROR"
  echo "$uri"
}

if [ ! -f "$tarball" ]; then
  command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (it chroots into the new root filesystem)"
  mkdir -p "$cache/debs"
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  # shellcheck disable=SC2064  # expand now: $root is fixed
  trap "rm -rf '$root'" EXIT
  src=$(mirror)
  log "image-base: debootstrap --variant=minbase $suite from $src (log: $cache/debootstrap.log)"
  if ! debootstrap --variant=minbase --cache-dir="$cache/debs" \
    --include="$(
      IFS=,
      echo "${packages[*]}"
    )" "$suite" "$root" "$src" >"$cache/debootstrap.log" 2>&1; then
    tail -n 20 "$cache/debootstrap.log" >&2
    die "debootstrap failed (whole log: $cache/debootstrap.log)"
  fi
  # Nothing the image needs: apt's lists and caches, logs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/*
  # Sorted, root-owned, one fixed date: the same packages give the same layer.
  tar --numeric-owner --sort=name --mtime='2000-01-01 00:00Z' -C "$root" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  rm -rf "$root"
  trap - EXIT
fi

log "image-base: importing $tarball as $image"
docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' "$tarball" "$image" >/dev/null
echo "$image"
