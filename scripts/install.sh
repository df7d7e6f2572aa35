#!/usr/bin/env bash
# Installs the built extension system-wide, the Debian way, for every SAPI (cli, fpm, apache2):
# the .so into PHP's extension dir, an ini in mods-available, enabled with phpenmod. The
# system's php-fpm / apache2 services are reloaded if they run, so they pick it up.
#   scripts/install.sh [path/to/libsse.so]   (default: $SSE_EXT, else target/php<version>/release/
#                                            libsse.so if built, else target/release/libsse.so)
#   scripts/install.sh --uninstall           (what scripts/uninstall.sh runs)
# PHP_CONFIG selects another PHP installation (default: php-config), e.g.
#   PHP_CONFIG=/usr/bin/php-config8.4 scripts/install.sh target/php8.4/release/libsse.so
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
php_config=${PHP_CONFIG:-php-config}
version=$("$php_config" --version | cut -d. -f1,2)
ext_dir=$("$php_config" --extension-dir)
ini=/etc/php/$version/mods-available/sse.ini

# Only the services the system started (their pidfiles): test instances run their own.
reload_services() {
  local service pidfile
  for service in "php$version-fpm:/run/php/php$version-fpm.pid" "apache2:/run/apache2/apache2.pid"; do
    pidfile=${service#*:}
    service=${service%%:*}
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      service "$service" reload >/dev/null && echo "$1: reloaded $service"
    fi
  done
}

if [ "${1:-}" = "--uninstall" ]; then
  # phpdismod finds the links through the ini (their names carry its priority): it goes first.
  if [ -f "$ini" ]; then
    phpdismod -p -v "$version" sse # -p: forget the enabled/disabled state too
  fi
  rm -f "$ini" "$ext_dir/sse.so"
  reload_services uninstall
  echo "uninstall: sse removed from PHP $version"
  exit 0
fi

# The build for this PHP version, as the README builds for another PHP (CARGO_TARGET_DIR).
so=${1:-${SSE_EXT:-}}
if [ -z "$so" ]; then
  so=$repo/target/php$version/release/libsse.so
  [ -f "$so" ] || so=$repo/target/release/libsse.so
fi
[ -f "$so" ] || { echo "install: $so not found; build it first (cargo build --release)" >&2; exit 1; }
php_bin=$("$php_config" --php-binary)
# Refuse a .so this PHP cannot load: an enabled broken extension breaks every PHP process.
if ! "$php_bin" -n -d "extension=$so" -r 'exit(extension_loaded("sse") ? 0 : 1);'; then
  echo "install: $so does not load into $php_bin (PHP $version); to build it for this PHP:" >&2
  echo "install:   PHP_CONFIG=$(command -v "$php_config") CARGO_TARGET_DIR=target/php$version cargo build --release" >&2
  exit 1
fi

install -m 0644 "$so" "$ext_dir/sse.so"
printf '; configuration for php sse module (ext-sse)\n; priority=20\nextension=sse.so\n' >"$ini"
phpenmod -v "$version" sse
reload_services install
echo "install: $ext_dir/sse.so enabled for PHP $version ($ini)"
