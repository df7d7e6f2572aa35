#!/usr/bin/env bash
# Installs everything ext-sse needs on a Debian 12 machine and builds the extension.
# Idempotent: packages already present are not reinstalled, the build is incremental.
# Prints nothing but progress; the built extension is target/release/libsse.so.
#   scripts/setup.sh --packages   only lists the Debian packages (scripts/php-root.sh reads it)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  php8.2-cli php8.2-dev libclang-dev          # build
  php8.2-fpm php8.2-mbstring php8.2-xml php8.2-curl
  phpunit composer php-laravel-framework       # PHP tests and the package
  nginx apache2 libapache2-mod-php8.2 ssl-cert # the real stacks
  redis-server                                 # the broker across machines (tests start their own)
  chromium curl strace valgrind python3-pytest python3-pytest-xdist python3-matplotlib  # browser, tools, bench
)
if [ "${1:-}" = --packages ]; then
  printf '%s\n' "${APT_PACKAGES[@]}"
  exit 0
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these on install; the tests start their own instances on other ports.
  for s in nginx apache2 php8.2-fpm redis-server; do service "$s" stop >/dev/null 2>&1 || true; done
fi

echo "setup: building the extension (release)"
cargo build --release --quiet
echo "setup: built $(pwd)/target/release/libsse.so"
