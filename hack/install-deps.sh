#!/usr/bin/env bash
# Installs every Debian package ctask needs to build and test. Idempotent: a
# package already present is not reinstalled, and apt is only refreshed when
# something is missing. Run as root (CI and the dev container are root); uses
# sudo otherwise.
set -euo pipefail

packages=(
  # toolchain (clang 16: the first whose __cpp_concepts lets libstdc++ 12
  # enable <expected>; used for the libFuzzer target)
  build-essential cmake ninja-build pkg-config git ca-certificates ccache
  clang-16 libclang-rt-16-dev llvm-16 clang-format-16 clang-tidy-16
  # hack/tidy.py (the clang-tidy tier's cache of clean files)
  python3
  # libraries (DESIGN.md section 2)
  libcurl4-openssl-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev googletest libgtest-dev libgmock-dev
  # the allocator (util/heap.h; not in sanitizer builds)
  libjemalloc-dev
  # the operator's inbound HTTP (/metrics, /healthz, /readyz)
  libcivetweb-dev
  # libcrypto: SHA-256 of log artifacts
  libssl-dev
  # Docker tier: the daemon and the root filesystem of the test images
  docker.io busybox-static
  # Kubernetes tier: certificates for the test control plane
  openssl
  # the test cluster's node (hack/cluster/build-node.sh, node.sh): runc links
  # libseccomp; the pod bridge is made with ip; the pause image is a static C
  # program
  libseccomp-dev iproute2 libc6-dev
  # the operator's image (hack/image.sh): its build stage's base is a
  # debootstrap of Debian (hack/image-base.sh)
  debootstrap
  # the Argo CD health check's test (docs/argocd-health.lua): Lua 5.1, the
  # language of Argo CD's interpreter
  lua5.1
)

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
