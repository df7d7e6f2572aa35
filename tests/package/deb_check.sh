#!/usr/bin/env bash
# The Debian packages as a server without Rust gets them: scripts/package.sh builds them (in
# the release that provides each PHP), then each is installed into a clean root of that
# release and checked there by deb_inside.sh (CLI, php-fpm behind nginx with a detached
# stream, removal and purge). A clean root has PHP's CLI and php-fpm, nginx and curl, from
# Debian, and nothing else: no Rust, no compiler, no -dev package. It is made once with
# mmdebstrap (about a minute) and kept in /var/cache/ext-sse/clean-<release>-php<VERSION>
# (EXT_SSE_ROOTS overrides the directory); each run works on an overlay of it that is thrown
# away, so every run starts from the same clean root. Runs on the Debian 12 host, as root.
# Prints one ok/FAIL line per check and "N passed, N failed"; exits 1 if any failed.
#   tests/package/deb_check.sh [VERSION...]   default: 8.2 8.4 8.5
#   SSE_DEB_PREBUILT=1 tests/package/deb_check.sh ...   checks the packages already built in
#                                                       target/package (no scripts/package.sh)
#   tests/package/deb_check.sh --clean-roots [VERSION...]   only makes the clean roots that are
#                                                       missing (.ci/run, in the background)
set -uo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/tests/package
# shellcheck source=../../scripts/lib/debian-mirror.sh
. "$repo/scripts/lib/debian-mirror.sh"
roots=${EXT_SSE_ROOTS:-/var/cache/ext-sse}
roots_only=
if [ "${1:-}" = --clean-roots ]; then
  roots_only=1
  shift
fi
versions=("${@:-8.2 8.4 8.5}")
# shellcheck disable=SC2206 # the default is one word of three versions
versions=(${versions[*]})
work=$(mktemp -d)
passed=0 failed=0

# Per version: the Debian suites of its clean root and the apt options they need (sid's and
# experimental's Release files are past their Valid-Until date).
sources_of() {
  case "$1" in
    8.2) suite=bookworm components=(bookworm) aptopts=() ;;
    8.4) suite=trixie components=(trixie) aptopts=() ;;
    8.5|8.6) suite=sid components=(sid experimental) aptopts=(--aptopt='Acquire::Check-Valid-Until "false"') ;;
    *) echo "deb_check: no Debian release for PHP $1" >&2; return 1 ;;
  esac
}
# Debian's Laravel too: the PHP layer is checked in an app without Composer.
clean_packages() { printf '%s\n' "php$1-cli" "php$1-fpm" "php$1-mbstring" "php$1-xml" php-laravel-framework nginx curl | sort; }


# Makes the clean root of this version unless it is there, complete (its marker lists the
# packages it was made with) and made with today's list. Prints its path.
clean_root() {
  local version=$1 root marker url start sources=() component
  sources_of "$version" || return 1
  root=$roots/clean-$suite-php$version
  marker=$root/.ext-sse-clean-root
  mkdir -p "$roots"
  exec 7>"$roots/.clean-lock"
  flock 7
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$(clean_packages "$version")" ]; then
    flock -u 7
    echo "$root"
    return 0
  fi
  command -v mmdebstrap >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  url=$(debian_mirror) || return 1
  for component in "${components[@]}"; do sources+=("deb $url $component main"); done
  echo "deb_check: making a clean Debian $suite root with PHP $version in $root (about a minute)" >&2
  start=$SECONDS
  rm -rf --one-file-system "$root" "$root.new"
  mmdebstrap --quiet --variant=apt "${aptopts[@]}" --include="$(clean_packages "$version" | paste -sd,)" \
    "$suite" "$root.new" "${sources[@]}" >&2 || { flock -u 7; return 1; }
  # Package scripts never start services in there: the check starts its own.
  printf '#!/bin/sh\nexit 101\n' >"$root.new/usr/sbin/policy-rc.d"
  chmod 755 "$root.new/usr/sbin/policy-rc.d"
  clean_packages "$version" >"$root.new/.ext-sse-clean-root"
  mv "$root.new" "$root"
  echo "deb_check: made $root in $((SECONDS - start)) s ($(du -shx "$root" | cut -f1))" >&2
  flock -u 7
  echo "$root"
}

# A port nothing listens on yet, on 127.0.0.1.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}

# Runs deb_inside.sh in an overlay of the clean root (its writes land in a scratch directory),
# in a mount namespace of its own so that nothing stays mounted however it ends.
check_in_clean_root() {
  local version=$1 root=$2 scratch=$work/php$1
  mkdir -p "$scratch/upper" "$scratch/overlay-work" "$scratch/merged" "$scratch/check/debs" "$scratch/check/www/detach"
  cp "$repo/target/package/php$version/php$version-sse_"*.deb "$repo/target/package/php$version/php-sse-php-sse_"*_all.deb "$scratch/check/debs/"
  cp "$here/deb_inside.sh" "$here/fixtures/deb/php-fpm.conf" "$scratch/check/"
  cp "$here/fixtures/deb/nginx.conf.in" "$scratch/check/"
  cp "$here/fixtures/sse-status.php" "$scratch/check/www/"
  cp "$repo/tests/stacks/www/detach/stream.php" "$scratch/check/www/detach/"
  chmod -R a+rX "$scratch/check"
  unshare --mount --propagation private -- /bin/bash -euc '
    root=$1 scratch=$2 version=$3 port=$4
    mount -t overlay overlay -o "lowerdir=$root,upperdir=$scratch/upper,workdir=$scratch/overlay-work" "$scratch/merged"
    mount -t proc proc "$scratch/merged/proc"
    mount --rbind /dev "$scratch/merged/dev"
    mkdir -p "$scratch/merged/check"
    mount --bind "$scratch/check" "$scratch/merged/check"
    exec chroot "$scratch/merged" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive /bin/bash /check/deb_inside.sh "$version" "$port"
  ' deb_check "$root" "$scratch" "$version" "$(free_port)"
}

if [ -n "$roots_only" ]; then
  for version in "${versions[@]}"; do
    clean_root "$version" >/dev/null || exit 1
  done
  exit 0
fi

for version in "${versions[@]}"; do
  start=$SECONDS
  if [ -n "${SSE_DEB_PREBUILT:-}" ]; then
    echo "(PHP $version: the packages built before: $(ls "$repo/target/package/php$version/"*.deb 2>/dev/null | xargs -n1 basename 2>/dev/null | paste -sd' '))"
  elif ! "$repo/scripts/package.sh" "$version"; then
    echo "FAIL PHP $version: scripts/package.sh $version (build, make test, lintian)"
    failed=$((failed + 1))
    continue
  else
    echo "ok   PHP $version: scripts/package.sh $version (build, make test, lintian without errors)"
    passed=$((passed + 1))
  fi
  if ! root=$(clean_root "$version"); then
    echo "FAIL PHP $version: a clean Debian root for PHP $version"
    failed=$((failed + 1))
    continue
  fi
  output=$(check_in_clean_root "$version" "$root" 2>&1)
  echo "$output"
  passed=$((passed + $(grep -c '^ok ' <<<"$output")))
  failed=$((failed + $(grep -c '^FAIL ' <<<"$output")))
  if ! grep -q '^ok ' <<<"$output"; then
    echo "FAIL PHP $version: the check in the clean root did not run"
    failed=$((failed + 1))
  fi
  echo "(PHP $version: $((SECONDS - start)) s)"
done
# PIE's manifest, with a Composer that knows the php-ext section (2.7 and later; Debian 12 has
# 2.5): sid's, in the root the 8.5 package was built in.
pie_manifest_valid() {
  "$repo/scripts/php-root.sh" 8.5 run env COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_NO_INTERACTION=1 \
    sh -c 'composer --version 2>/dev/null | head -n 1 && composer validate --strict -d pie'
}
if [[ " ${versions[*]} " == *" 8.5 "* ]]; then
  if output=$(pie_manifest_valid 2>&1); then
    echo "ok   PIE: pie/composer.json validates (composer validate --strict, $(grep -o 'Composer version [0-9.]*' <<<"$output"))"
    passed=$((passed + 1))
  else
    echo "FAIL PIE: pie/composer.json does not validate"
    sed 's/^/     /' <<<"$output"
    failed=$((failed + 1))
  fi
fi

rm -rf "$work"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
