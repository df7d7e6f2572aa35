#!/usr/bin/env bash
# Installs the built extension system-wide, the Debian way, for every SAPI (cli, fpm, apache2):
# the .so into PHP's extension dir, an ini in mods-available, enabled with phpenmod.
# Running php-fpm / apache2 services are reloaded so they pick it up.
#   scripts/install.sh [path/to/libsse.so]   (default: $SSE_EXT, else target/release/libsse.so)
# PHP_CONFIG selects another PHP installation (default: php-config).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
so=${1:-${SSE_EXT:-$repo/target/release/libsse.so}}
php_config=${PHP_CONFIG:-php-config}

[ -f "$so" ] || { echo "install: $so not found; build it first (cargo build --release)" >&2; exit 1; }
version=$("$php_config" --version | cut -d. -f1,2)
ext_dir=$("$php_config" --extension-dir)
php_bin=$("$php_config" --php-binary)
ini=/etc/php/$version/mods-available/sse.ini

# Refuse a .so this PHP cannot load: an enabled broken extension breaks every PHP process.
if ! "$php_bin" -n -d "extension=$so" -r 'exit(extension_loaded("sse") ? 0 : 1);'; then
  echo "install: $so does not load into $php_bin (PHP $version)" >&2
  exit 1
fi

install -m 0644 "$so" "$ext_dir/sse.so"
printf '; configuration for php sse module (ext-sse)\n; priority=20\nextension=sse.so\n' >"$ini"
phpenmod -v "$version" sse

for service in "php$version-fpm" apache2; do
  if service "$service" status >/dev/null 2>&1; then
    service "$service" reload >/dev/null
    echo "install: reloaded $service"
  fi
done
echo "install: $ext_dir/sse.so enabled for PHP $version ($ini)"
