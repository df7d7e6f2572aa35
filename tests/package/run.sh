#!/usr/bin/env bash
# The package as a user gets it: composer.json, the PHP sources, the README's PHPUnit recipes,
# the phpize build of config.m4 (about 2 minutes the first time, seconds once
# target/phpize-check is warm), a Composer install
# with Laravel package discovery, and the system-wide install (scripts/install.sh) as seen by the
# CLI, php-fpm and apache2 + mod_php, then scripts/uninstall.sh. Needs root: it writes
# /etc/php and PHP's extension dir, and puts back an sse install that was there before.
# Each check prints ok/FAIL; the last line is "N passed, N failed"; exit 1 if any failed.
#   SSE_EXT=target/release/libsse.so tests/package/run.sh
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/tests/package
export SSE_EXT=${SSE_EXT:-$repo/target/release/libsse.so}
ext_dir=$(php-config --extension-dir)
version=$(php-config --version | cut -d. -f1,2) # Debian's paths and binaries carry it
work=$(mktemp -d)
chmod 755 "$work" # apache's www-data children read a docroot below it
passed=0
failed=0

# check NAME COMMAND...: runs the command (or a function below) in a bash with a time limit;
# shows its output on failure.
check() {
  local name=$1
  shift
  if timeout 900 bash -c '"$@"' check "$@" >"$work/check.log" 2>&1; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    tail -n 25 "$work/check.log" | sed 's/^/     /'
    failed=$((failed + 1))
  fi
}

lists_sse() { "$@" -m 2>/dev/null | grep -qx sse; }
not_lists_sse() { ! lists_sse "$@"; }
apache_says() {
  local answer
  answer=$("$here/apache_check.sh" "$(mktemp -d -p "$work")") || { echo "$answer"; return 1; }
  echo "$answer"
  grep -qF "$1" <<<"$answer"
}
lint_all() {
  local f status=0
  while IFS= read -r f; do
    php -l "$f" >/dev/null || { echo "php -l failed: $f"; status=1; }
  done < <(cd "$repo" && find php tests/php/Testing tests/php/Laravel tests/php/bootstrap.php \
    tests/laravel-app tests/laravel13-app tests/symfony-app php/Symfony tests/package -name '*.php' 2>/dev/null)
  return $status
}
gone() { [ ! -e "$ext_dir/sse.so" ] && [ ! -e /etc/php/$version/mods-available/sse.ini ] \
  && ! ls /etc/php/$version/*/conf.d/*-sse.ini >/dev/null 2>&1; }

export repo here ext_dir version work
export -f lists_sse not_lists_sse apache_says lint_all gone

if [ -e "$ext_dir/sse.so" ]; then
  cp "$ext_dir/sse.so" "$work/previous-sse.so"
fi

check "composer validate --strict" composer validate --strict --no-interaction -d "$repo"
check "php -l on every PHP file of the package" lint_all
check "phpize && ./configure && make && make test && make install (config.m4, as PIE builds)" \
  "$here/phpize_check.sh" "$(mktemp -d -p "$work")"
# Before the system-wide install: the README's recipes load the extension with php -d.
check "README's PHPUnit recipes, run as written from a scratch directory" \
  "$here/readme_phpunit_check.sh" "$(mktemp -d -p "$work")"
check "scripts/install.sh $SSE_EXT" "$repo/scripts/install.sh" "$SSE_EXT"
check "php -m lists sse" lists_sse php
check "php-fpm$version -m lists sse" lists_sse php-fpm$version
check "apache2 + mod_php serves a script with sse loaded" apache_says "sse loaded (apache2handler)"
check "composer install from a path repository; Laravel discovers SseServiceProvider" \
  "$here/composer_check.sh" "$(mktemp -d -p "$work")"
check "scripts/uninstall.sh" "$repo/scripts/uninstall.sh"
check "after uninstall: .so, mods-available ini and conf.d links are gone" gone
check "after uninstall: php -m does not list sse" not_lists_sse php
check "after uninstall: php-fpm$version -m does not list sse" not_lists_sse php-fpm$version
check "after uninstall: apache2 + mod_php no longer loads sse" apache_says "sse missing"

if [ -e "$work/previous-sse.so" ]; then
  "$repo/scripts/install.sh" "$work/previous-sse.so" >/dev/null && echo "(put back the sse install found at start)"
fi
rm -rf "$work"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
