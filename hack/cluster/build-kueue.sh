#!/usr/bin/env bash
# Builds, once, the pinned Kueue controller (sigs.k8s.io/kueue) and caches it,
# with the manifests hack/cluster/kueue.sh needs to run it, beside the control
# plane's binaries (hack/cluster/build.sh):
#
#   $CTASK_CACHE/k8s/kueue-<v>/
#     bin/kueue                 the manager, `go install sigs.k8s.io/kueue/cmd/kueue@<v>`
#     crds/*.yaml               Kueue's CRDs (config/components/crd/bases)
#     conversion-crds           the CRDs Kueue's kustomization gives a conversion
#                               webhook (/convert), one name a line
#     webhook/                  config/components/webhook: manifests.yaml (Kueue's
#                               Mutating/ValidatingWebhookConfiguration) and the
#                               kustomization that patches it (namespaceSelectors),
#                               for `kubectl kustomize`
#     VERSION                   the Kueue version
#
# The module comes through the Go module proxy and is built with the local Go
# toolchain (GOTOOLCHAIN=local, CGO_ENABLED=0), as its Makefile builds
# bin/manager; the module's own go.mod decides its dependencies (it has no
# replace directives, so `go install pkg@version` takes it as it is). The
# manifests are copied from the same module's source in the module cache.
#
# Same cache rules as build.sh: a stamp, written last, marks a complete build;
# a second run prints the bin directory at once ("cached"); concurrent runs
# wait on a lock; CTASK_REBUILD=1 rebuilds (warm through the shared Go caches).
#
# On success, prints the bin directory on stdout (progress goes to stderr); the
# manifests are in its parent directory.
#
# Environment: CTASK_CACHE, CTASK_JOBS, CTASK_NICE, CTASK_REBUILD (build.sh's).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

# Pinned version: the newest v0.17.x the proxy served on 2026-12-04. Its
# @v/list names only v0.17.0, but v0.17.1 answers (.info, .mod, .zip);
# v0.17.2 and v0.17.3 answer 403. v0.17.1's go.mod says `go 1.25.0`: Go 1.26
# builds it.
readonly KUEUE_VERSION=v0.17.1
readonly KUEUE_MODULE=sigs.k8s.io/kueue

readonly key=kueue-$KUEUE_VERSION
readonly binaries=(kueue)
readonly label=kueue
source "$CTASK_ROOT/hack/cluster/go-build.sh"

go_build_begin

# --- the module: its source (for the manifests) and release date ---------------
log "$label: downloading $KUEUE_MODULE@$KUEUE_VERSION from the proxy"
info_json=$(cd "$work" && go mod download -json "$KUEUE_MODULE@$KUEUE_VERSION" 2>&1) ||
  die "go mod download $KUEUE_MODULE@$KUEUE_VERSION failed: $info_json"
src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info_json" | head -n 1)
info=$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p' <<<"$info_json" | head -n 1)
[ -d "$src" ] || die "no source directory for $KUEUE_MODULE@$KUEUE_VERSION in: $info_json"
# The release date, from the proxy, as the build date: reproducible.
build_date=$(sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$info" 2>/dev/null | sed 's/\.[0-9]*Z$/Z/')
[ -n "$build_date" ] || build_date=1970-01-01T00:00:00Z

# --- the manager ------------------------------------------------------------------
# The Makefile's LD_FLAGS (GitVersion, GitCommit, BuildDate of pkg/version);
# the proxy does not say which commit a version is.
export GOBIN=$work/gobin
version_pkg=$KUEUE_MODULE/pkg/version
ldflags="-s -w -X $version_pkg.GitVersion=$KUEUE_VERSION -X $version_pkg.GitCommit=unknown"
ldflags+=" -X $version_pkg.BuildDate=$build_date"
run_go kueue "$work" install -p "$CTASK_JOBS" -trimpath -ldflags "$ldflags" \
  "$KUEUE_MODULE/cmd/kueue@$KUEUE_VERSION"
mv "$GOBIN/kueue" "$bin/kueue"

# --- the manifests ----------------------------------------------------------------
crd_src=$src/config/components/crd
webhook_src=$src/config/components/webhook
ls "$crd_src"/bases/*.yaml >/dev/null 2>&1 || die "no CRDs in $crd_src/bases"
[ -f "$webhook_src/manifests.yaml" ] && [ -f "$webhook_src/kustomization.yaml" ] ||
  die "no manifests.yaml and kustomization.yaml in $webhook_src"
rm -rf "$dir/crds" "$dir/webhook"
mkdir -p "$dir/crds" "$dir/webhook"
# The module cache is read-only: copies are made writable.
cp "$crd_src"/bases/*.yaml "$dir/crds/"
cp "$webhook_src"/*.yaml "$dir/webhook/"
chmod -R u+w "$dir/crds" "$dir/webhook"
# The conversion webhook patches the CRD kustomization enables (an uncommented
# `- path: patches/webhook_in_X.yaml`), as CRD names.
: >"$dir/conversion-crds.tmp"
while read -r patch; do
  [ -f "$crd_src/$patch" ] || die "$crd_src/kustomization.yaml names $patch, which does not exist"
  sed -n 's/^  name: \([a-z0-9.-]*\)$/\1/p' "$crd_src/$patch" | head -n 1 >>"$dir/conversion-crds.tmp"
done < <(sed -n 's/^- path: \(patches\/webhook_in_[a-z0-9_-]*\.yaml\)$/\1/p' "$crd_src/kustomization.yaml")
mv "$dir/conversion-crds.tmp" "$dir/conversion-crds"
printf '%s\n' "$KUEUE_VERSION" >"$dir/VERSION"
log "$label: $(ls "$dir/crds" | wc -l) CRDs ($(wc -l <"$dir/conversion-crds") with a conversion webhook) and the webhook manifests in $dir"

go_build_end "kueue $KUEUE_VERSION"
