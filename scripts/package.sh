#!/usr/bin/env bash
# Builds ext-sse's Debian packages for one PHP version each, with Debian's tooling for PHP
# extensions (debhelper, dh-php), in the Debian release that provides that PHP:
#   scripts/package.sh [VERSION...]   default: 8.2 8.4 8.5
#     8.2  on this machine (Debian 12)
#     8.4  in a Debian 13 root, 8.5 (and 8.6) in a sid + experimental root (scripts/php-root.sh)
# Each build gives, in target/package/php<VERSION>/:
#   php<VERSION>-sse_<v>_<arch>.deb   the module in that PHP's extension dir and sse.ini in
#                                     /etc/php/<VERSION>/mods-available, enabled for every SAPI
#                                     on install (phpenmod, through dh_php's scripts), disabled
#                                     on removal
#   php-sse-php-sse_<v>_all.deb       the PHP layer (php/) in /usr/share/php/Sse, with its
#                                     autoloader (require_once 'Sse/autoload.php';)
#   lintian.txt                       lintian's report on both; an error fails the build
# The packaging is packaging/debian: a template that becomes debian/ in a copy of the sources
# (target/package/php<VERSION>/src), so builds for several versions can run at once and the
# checkout stays clean. cargo's cache for each version stays in target/package/php<VERSION>/cargo;
# it starts as a copy of the cache `scripts/test.sh` builds that PHP's extension in (built first
# if missing), so the dependencies are compiled once for both.
set -euo pipefail
export LC_ALL=C.UTF-8
repo=$(cd "$(dirname "$0")/.." && pwd)
versions=("${@:-8.2 8.4 8.5}")
# shellcheck disable=SC2206 # "8.2 8.4 8.5" as one default word splits into three
versions=(${versions[*]})

# The Debian release each version's packages are built in, and for.
release_of() {
  case "$1" in
    8.2) echo bookworm ;;
    8.4) echo trixie ;;
    8.5|8.6) echo experimental ;;
    *) echo "package: no Debian release here provides PHP $1 (known: 8.2, 8.4, 8.5, 8.6)" >&2; return 2 ;;
  esac
}

# What the build needs from Debian besides the PHP headers (rustup's cargo is on PATH).
build_deps() { echo "build-essential debhelper dh-php dpkg-dev lintian libclang-dev php$1-dev"; }

ensure_build_deps() {
  local missing=() p
  for p in $(build_deps "$1"); do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "package: installing ${missing[*]}" >&2
  # A root made by mmdebstrap has no package lists until its first update.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

# The sources as they are now (committed or not) into $1, without build output or git data;
# only changed files are copied (with a fresh mtime), so cargo rebuilds exactly what changed.
sync_sources() {
  local src=$1 stage
  stage=$(mktemp -d)
  tar -C "$repo" --exclude=./target --exclude=./.git --exclude=./fuzz --exclude=./packaging \
    --exclude=node_modules -cf - . | tar -C "$stage" -xf -
  (cd "$stage" && find . -type f) | while IFS= read -r f; do
    if ! cmp -s "$stage/$f" "$src/$f"; then
      mkdir -p "$(dirname "$src/$f")"
      cp "$stage/$f" "$src/$f"
    fi
  done
  rm -rf "$stage"
}

# debian/ for this version: the templates with the version and release filled in, and a
# changelog entry for this checkout (its date is the last commit's: the same sources give the
# same timestamps inside the packages).
write_debian() {
  local version=$1 release=$2 debian=$3/debian upstream date rev
  upstream=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)
  date=$(git -C "$repo" log -1 --format=%aD 2>/dev/null || date -R)
  rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
  rm -rf "$debian"
  mkdir -p "$debian"
  cp -r "$repo/packaging/debian/." "$debian/"
  sed "s/@PHP_VERSION@/$version/g" "$repo/packaging/debian/control.in" >"$debian/control"
  rm "$debian/control.in"
  cat >"$debian/changelog" <<EOF
php-sse ($upstream-1) $release; urgency=medium

  * Built for PHP $version from the ext-sse sources at $rev.

 -- $(sed -n 's/^Maintainer: //p' "$debian/control")  $date
EOF
}

# The cache scripts/test.sh builds in for this PHP (target/release on this machine, whose
# scripts/setup.sh builds without PHP_CONFIG; target/php<VERSION> in a root), built as it
# builds it if missing, then copied (under cargo's own lock) to the package's cache. Only the
# crates whose build scripts read the build flags debhelper sets (ext-php-rs, ext-sse) are
# compiled again for the package.
seed_cache() {
  local version=$1 cache=$2 seed env=()
  [ -d "$cache/release" ] && return 0
  if [ "$version" = 8.2 ] && [ -z "${SSE_PACKAGE_IN_ROOT:-}" ]; then
    seed=$repo/target
  else
    seed=$repo/target/php$version
    env=(PHP_CONFIG="/usr/bin/php-config$version")
  fi
  if [ ! -d "$seed/release/.fingerprint" ]; then
    echo "package: building the extension in $seed first, as scripts/test.sh does" >&2
    (cd "$repo" && env "${env[@]}" CARGO_TARGET_DIR="$seed" cargo build --release --quiet) || return 1
  fi
  mkdir -p "$cache"
  flock "$seed/release/.cargo-lock" cp -a "$seed/release" "$cache/"
}

build_here() {
  local version=$1 release out
  release=$(release_of "$version")
  out=$repo/target/package/php$version
  [ -x "/usr/bin/php-config$version" ] || { echo "package: no php-config$version here" >&2; return 1; }
  command -v cargo >/dev/null || { echo "package: cargo not found (https://rustup.rs)" >&2; return 1; }
  ensure_build_deps "$version"
  mkdir -p "$out/src"
  exec 8>"$out/.lock"
  flock 8 # one build per version at a time
  sync_sources "$out/src"
  seed_cache "$version" "$out/cargo"
  write_debian "$version" "$release" "$out/src"
  rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo "$out/lintian.txt"
  echo "package: building for PHP $version ($release) in $out/src"
  local start=$SECONDS
  # debhelper gives the build a HOME of its own: rustup and cargo are told where they live.
  (cd "$out/src" && export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup} CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} &&
    CARGO_TARGET_DIR=$out/cargo DEB_BUILD_OPTIONS="noddebs ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -b -us -uc >"$out/build.log" 2>&1) ||
    { tail -n 40 "$out/build.log" >&2; echo "package: build failed for PHP $version (log: $out/build.log)" >&2; return 1; }
  echo "package: built $(cd "$out" && ls ./*.deb | sed 's|^\./||' | paste -sd' ') in $((SECONDS - start)) s"
  # lintian as that release's Debian would run it; errors fail, the rest is reported.
  if lintian --fail-on error --display-info "$out"/*.deb >"$out/lintian.txt" 2>&1; then
    echo "package: lintian: $(grep -c '^[EWI]:' "$out/lintian.txt" || true) tags, no errors ($out/lintian.txt)"
  else
    cat "$out/lintian.txt" >&2
    echo "package: lintian found errors in the PHP $version packages" >&2
    return 1
  fi
}

status=0
for version in "${versions[@]}"; do
  release_of "$version" >/dev/null || exit 2
  if [ "${SSE_PACKAGE_IN_ROOT:-}" = "$version" ] || [ "$version" = 8.2 ]; then
    build_here "$version" || status=1
  else
    # This script again, inside the Debian root that provides this PHP.
    SSE_PACKAGE_IN_ROOT=$version "$repo/scripts/php-root.sh" "$version" run scripts/package.sh "$version" || status=1
  fi
done
exit "$status"
