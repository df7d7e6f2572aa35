#!/usr/bin/env bash
# A Debian root that provides another PHP than the machine's own, for `scripts/test.sh --php`.
#   scripts/php-root.sh VERSION            makes sure the root exists; prints its path
#   scripts/php-root.sh VERSION run CMD... runs CMD inside it (chroot), as root, in this repo
#
# PHP 8.4 comes from Debian 13 (trixie); PHP 8.5 and 8.6 from Debian experimental, on top of sid
# (whose Laravel 13, Symfony 7.4, PHPUnit 13, Caddy 2.11, Redis 8 and Valkey 9 the suites use
# there). sid's and experimental's Release files carry a Valid-Until date that has passed, so
# apt is told not to check it there. The root is made with mmdebstrap from Debian's packages
# (the mirror apt on this machine uses) and kept in /var/cache/ext-sse/<suite>-php<VERSION>
# (EXT_SSE_ROOTS overrides the directory) for the next run. Its packages are those of
# scripts/setup.sh with php8.2 replaced by php<VERSION>, plus what the host provides otherwise
# (Node.js, C and C++ compilers, make) and what only that release has (sid: Caddy, Valkey,
# Symfony and its Mercure bundle). A marker written after a successful build records that
# list: a root without it (half built) is made again (a few minutes); packages added to the
# list since are installed into it with apt.
#
# Inside, the repo, /tmp, /proc, /sys, /dev and the host's Rust toolchain (~/.cargo, ~/.rustup)
# are bind-mounted at their own paths, in a mount namespace of the command's own (unshare), so
# the mounts go away with it however it ends and concurrent runs do not see each other's.
# Tools that `cargo install` adds inside go to the root's /usr/local, not to ~/.cargo/bin:
# built against Debian 13's libc, they might not run on the host.
set -euo pipefail
export LC_ALL=C # one sort order for the package lists compared below
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/debian-mirror.sh
. "$repo/scripts/lib/debian-mirror.sh"
version=${1:?usage: scripts/php-root.sh VERSION [run CMD...]}
shift

# Per release: the suites apt reads, apt options, and packages only that release provides.
case "$version" in
  8.4) suite=trixie components=(trixie) aptopts=() extra=() ;;
  8.5|8.6)
    suite=sid components=(sid experimental)
    aptopts=(--aptopt='Acquire::Check-Valid-Until "false"')
    extra=(caddy valkey-server valkey-tools php-symfony-framework-bundle php-symfony-http-foundation
           php-symfony-runtime php-symfony-mercure php-symfony-mercure-bundle php-symfony-yaml
           php-symfony-twig-bundle) ;;
  *) echo "php-root: no Debian release here provides PHP $version (known: 8.4 from trixie, 8.5 and 8.6 from experimental)" >&2; exit 2 ;;
esac
roots=${EXT_SSE_ROOTS:-/var/cache/ext-sse}
root=$roots/$suite-php$version
marker=$root/.ext-sse-root

# Debian's packages for this PHP: setup.sh's list for this version, and what the host has
# from elsewhere (nodesource's Node.js) or by default (gcc, git, certificates).
packages() {
  { "$repo/scripts/setup.sh" --packages | sed "s/^php8\.2-/php$version-/; s/^libapache2-mod-php8\.2\$/libapache2-mod-php$version/"
    printf '%s\n' nodejs npm gcc g++ libc6-dev make git unzip ca-certificates openssl procps iproute2 "${extra[@]}"
  } | sort -u
}


# Deletes a root; anything still mounted below it (a build that was killed) is unmounted first.
remove() {
  local mounts
  mounts=$(findmnt -rn -o TARGET | grep -E "^${1//./\\.}(/|\$)" | sort -r || true)
  for m in $mounts; do umount -l "$m"; done
  rm -rf --one-file-system "$1"
}

# Runs a command in the root with /proc mounted (apt and package scripts need it).
in_root() {
  unshare --mount --propagation private -- /bin/sh -ec \
    'mount -t proc proc "$1/proc"; mount --rbind /dev "$1/dev"; root=$1; shift; exec chroot "$root" "$@"' sh "$root" \
    /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
}

# The network as the host sees it (npm, cargo and pip fetch from the registries; apt from the
# mirror): its resolver and the certificate authorities it trusts.
host_network() {
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" 2>/dev/null || true
}

ensure_root() {
  local wanted missing
  wanted=$(packages)
  if [ -f "$marker" ]; then
    missing=$(comm -13 "$marker" - <<<"$wanted")
    [ -z "$missing" ] && return 0
    echo "php-root: adding $(paste -sd' ' <<<"$missing") to $root" >&2
    host_network
    if in_root apt-get update -qq && in_root apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
      sort -u "$marker" - <<<"$missing" >"$marker.new" && mv "$marker.new" "$marker"
      return 0
    fi
    echo "php-root: could not add them: making the root again" >&2
  fi
  command -v mmdebstrap >/dev/null || {
    echo "php-root: installing mmdebstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  }
  local url start=$(date +%s)
  url=$(debian_mirror)
  if [ -e "$root" ]; then
    echo "php-root: $root is incomplete: making it again" >&2
  fi
  echo "php-root: making a Debian $suite root with PHP $version in $root (a few minutes)" >&2
  mkdir -p "$roots"
  remove "$root"
  remove "$root.new"
  local sources=()
  for component in "${components[@]}"; do sources+=("deb $url $component main"); done
  mmdebstrap --quiet --variant=apt "${aptopts[@]}" --include="$(paste -sd, <<<"$wanted")" \
    "$suite" "$root.new" "${sources[@]}" >&2
  # apt inside the root (packages added later) must skip the same date check.
  if ((${#aptopts[@]})); then
    echo 'Acquire::Check-Valid-Until "false";' >"$root.new/etc/apt/apt.conf.d/99ext-sse-valid-until"
  fi
  # Services are never started by package scripts in here: the tests start their own.
  printf '#!/bin/sh\nexit 101\n' >"$root.new/usr/sbin/policy-rc.d"
  chmod 755 "$root.new/usr/sbin/policy-rc.d"
  printf '%s\n' "$wanted" >"$root.new/.ext-sse-root"
  mv "$root.new" "$root"
  echo "php-root: made $root in $(( $(date +%s) - start )) s ($(du -shx "$root" | cut -f1))" >&2
}

# Only one run at a time makes or checks the root.
mkdir -p "$roots"
exec 9>"$roots/.lock"
flock 9
ensure_root
flock -u 9

if [ "${1:-}" != run ]; then
  echo "$root"
  exit 0
fi
shift

# In a mount namespace of its own: these mounts vanish when the command ends, even if killed.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
host_network
# Suites may read these, and the proxy settings; the rest of the host's environment stays out.
pass=()
while IFS='=' read -r name _; do
  case "$name" in
    SSE_*|FUZZ_*|BENCH_*|UPDATE_SCREENSHOT|CI|[hH][tT][tT][pP]_[pP][rR][oO][xX][yY]|[hH][tT][tT][pP][sS]_[pP][rR][oO][xX][yY]|[nN][oO]_[pP][rR][oO][xX][yY])
      pass+=("$name=${!name}") ;;
  esac
done < <(env)
exec unshare --mount --propagation private -- /bin/bash -euc '
  root=$1 repo=$2 cargo_home=$3 rustup_home=$4; shift 4
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount --bind /tmp "$root/tmp"
  for dir in "$repo" "$cargo_home" "$rustup_home"; do
    if [ -d "$dir" ]; then mkdir -p "$root$dir"; mount --bind "$dir" "$root$dir"; fi
  done
  exec chroot "$root" /usr/bin/env -i "$@"
' php-root "$root" "$repo" "$cargo_home" "$rustup_home" \
  HOME="$HOME" TERM="${TERM:-dumb}" LANG=C.UTF-8 \
  PATH="$cargo_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  CARGO_HOME="$cargo_home" RUSTUP_HOME="$rustup_home" CARGO_INSTALL_ROOT=/usr/local "${pass[@]}" \
  /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$repo" "$@"
