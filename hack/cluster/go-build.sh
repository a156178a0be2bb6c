# Sourced by hack/cluster/build.sh and build-node.sh: building pinned Go
# programs through the Go module proxy into a cache directory that a stamp
# marks as complete. Needs hack/lib.sh sourced first.
#
# The caller sets, before `go_build_begin`:
#   key        cache key (a directory name under $cache_root/k8s)
#   binaries   the programs bin/ must hold for the cache to count
#   label      the log prefix ("cluster", "node")
# and then, after building, calls `go_build_end "name version"...`.

readonly cache_root=${CTASK_CACHE:-$HOME/.cache/ctask}
readonly niceness=${CTASK_NICE:-10}

# go_build_paths: dir, bin and stamp of the cache key.
go_build_paths() {
  dir=$cache_root/k8s/$key
  bin=$dir/bin
  stamp=$dir/stamp
}

go_built() {
  [ -f "$stamp" ] || return 1
  local b
  for b in "${binaries[@]}"; do
    [ -x "$bin/$b" ] || return 1
  done
}

# go_build_begin: prints the bin directory and exits when the cache is
# complete; otherwise takes the key's lock (a concurrent build is waited
# for), sets the Go environment and a work directory ($work, removed at exit).
go_build_begin() {
  go_build_paths
  if [ "${CTASK_REBUILD:-0}" != 1 ] && go_built; then
    log "$label: cached: $bin"
    echo "$bin"
    exit 0
  fi
  command -v go >/dev/null || die "go not found: install Go (the version in hack/cluster/README.md)"
  mkdir -p "$dir"
  exec 9>"$dir/lock"
  if ! flock -n 9; then
    log "$label: another build of $key is running; waiting for it"
    flock 9
  fi
  # The run we waited for may have finished the job.
  if [ "${CTASK_REBUILD:-0}" != 1 ] && go_built; then
    log "$label: cached: $bin"
    echo "$bin"
    exit 0
  fi
  rm -f "$stamp"
  mkdir -p "$bin"

  # One Go environment for every go command: local toolchain only, module
  # and build caches under the cache root (writable, so `rm -rf` can clear
  # them), no workspace, no user GOFLAGS. Shared by every key: a second key
  # builds warm.
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
  export GOWORK=off
  export GOFLAGS="-mod=mod -modcacherw"
  export GOMODCACHE=$cache_root/k8s/go/mod
  export GOCACHE=$cache_root/k8s/go/build
  go_version=$(go env GOVERSION)
  # The go line of wrapper modules: the local toolchain's own version, so no
  # dependency's go line is newer than the main module's.
  go_line=${go_version#go}

  work=$(mktemp -d "${TMPDIR:-/tmp}/ctask-$label-build.XXXXXX")
  # shellcheck disable=SC2064  # expand now: $work is fixed
  trap "rm -rf '$work'" EXIT
  build_start=$SECONDS
}

# run_go NAME DIR go-args...: `nice go ARGS` in DIR, showing the elapsed time
# every 30s; on failure, the end of its output, the log kept in the cache
# directory, and exit 1.
run_go() {
  local name=$1 wd=$2
  shift 2
  local out=$work/$name.log t0=$SECONDS pid rc=0
  log "$label: building $name (log: $out)"
  (cd "$wd" && exec nice -n "$niceness" go "$@") >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ $(((SECONDS - t0) % 30)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
      printf '%s: building %s (%ss)\n' "$label" "$name" $((SECONDS - t0)) >&2
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '%s: go build of %s failed (exit %s) after %ss; the end of its output:\n' \
      "$label" "$name" "$rc" $((SECONDS - t0)) >&2
    tail -n 40 "$out" >&2
    # Keep the log: the work directory is removed on exit.
    cp "$out" "$dir/$name.failed.log"
    die "building $name ($key) failed; full log: $dir/$name.failed.log"
  fi
  rm -f "$dir/$name.failed.log"
  log "$label: built $name in $((SECONDS - t0))s"
}

# run_build NAME DIR build-args...: run_go with `go build -p JOBS -trimpath`.
run_build() {
  local name=$1 wd=$2
  shift 2
  run_go "$name" "$wd" build -p "$CTASK_JOBS" -trimpath "$@"
}

# kubernetes_module DIR VERSION: DIR/go.mod requiring k8s.io/kubernetes at
# VERSION with every staging module (`k8s.io/X => ./staging/src/k8s.io/X` in
# its go.mod) replaced by its release v0.<minor>.<patch>; sets
# $kubernetes_ldflags to the version ldflags kubernetes' hack/lib/version.sh
# sets.
kubernetes_module() {
  local wd=$1 version=$2 staging_version=v0${2#v1} info_json k8s_gomod k8s_info build_date minor m pkg
  mkdir -p "$wd"
  log "$label: reading the go.mod of k8s.io/kubernetes@$version from the proxy"
  info_json=$(cd "$wd" && go mod download -json "k8s.io/kubernetes@$version" 2>&1) ||
    die "go mod download k8s.io/kubernetes@$version failed: $info_json"
  k8s_gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$info_json" | head -n 1)
  k8s_info=$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p' <<<"$info_json" | head -n 1)
  [ -f "$k8s_gomod" ] || die "no go.mod for k8s.io/kubernetes@$version in: $info_json"
  local -a staging
  mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/src/\1[[:space:]]*$#\1#p' "$k8s_gomod")
  [ "${#staging[@]}" -gt 0 ] || die "found no staging replace directives in $k8s_gomod"
  log "$label: ${#staging[@]} staging modules -> $staging_version"
  # The release date, from the proxy, as the build date: reproducible.
  build_date=$(sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$k8s_info" | sed 's/\.[0-9]*Z$/Z/')
  [ -n "$build_date" ] || build_date=1970-01-01T00:00:00Z
  {
    printf 'module ctask.local/kubernetes\n\ngo %s\n\n' "$go_line"
    # kubernetes' own godebug defaults (ignored in a dependency's go.mod).
    grep '^godebug ' "$k8s_gomod" || true
    printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$version"
    for m in "${staging[@]}"; do
      printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"
    done
    printf ')\n'
  } >"$wd/go.mod"
  minor=${version#v1.}
  minor=${minor%%.*}
  kubernetes_ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kubernetes_ldflags+=" -X $pkg.gitVersion=$version"
    kubernetes_ldflags+=" -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    kubernetes_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
}

# go_build_end "WHAT VERSION"...: checks every binary, writes the stamp last
# (versions, go version, build time) and prints the bin directory.
go_build_end() {
  local b line
  for b in "${binaries[@]}"; do
    [ -x "$bin/$b" ] || die "$bin/$b missing after the build"
  done
  {
    for line in "$@"; do printf '%s\n' "$line"; done
    printf 'go %s\nbuilt %s\nseconds %s\n' "$go_version" \
      "$(date -u +%Y-%m-%dT%H:%M:%SZ)" $((SECONDS - build_start))
  } >"$stamp.tmp"
  mv "$stamp.tmp" "$stamp"
  log "$label: built ${binaries[*]} in $((SECONDS - build_start))s: $bin"
  echo "$bin"
}
