#!/usr/bin/env bash
# Runs every test of ext-sse on a fresh Debian 12 machine: installs what is missing, builds the
# extension (release), then runs each suite. Exits non-zero if any suite fails.
#   scripts/test.sh                      all suites, under the machine's PHP 8.2
#   scripts/test.sh php stacks           only the named suites
#   scripts/test.sh --php 8.5 [suites]   the same under PHP 8.4, 8.5 or 8.6: inside a Debian root
#                                        (8.4: Debian 13; 8.5, 8.6: experimental on sid; made
#                                        once by scripts/php-root.sh and cached), with the
#                                        extension built against that PHP in target/php8.5
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

php_version=8.2 # the machine's own, from scripts/setup.sh
if [ "${1:-}" = --php ]; then
  php_version=${2:?usage: scripts/test.sh --php VERSION [suites...]}
  shift 2
fi

if [ "$php_version" = 8.2 ]; then
  scripts/setup.sh || exit 1
  export SSE_EXT="$root/target/release/libsse.so"
elif [ "${SSE_TEST_PHP_ROOT:-}" != "$php_version" ]; then
  # This script again, inside the root: the suites below run there as they run here.
  echo "test: PHP $php_version: running the suites inside a Debian root (scripts/php-root.sh)"
  SSE_TEST_PHP_ROOT=$php_version exec scripts/php-root.sh "$php_version" run scripts/test.sh --php "$php_version" "$@"
else
  # Inside the root: its own cargo target dir, so the machine's build in target/release stays.
  export PHP_CONFIG=/usr/bin/php-config$php_version CARGO_TARGET_DIR="$root/target/php$php_version"
  echo "setup: building the extension (release) against $($PHP_CONFIG --php-binary) in $CARGO_TARGET_DIR"
  cargo build --release --quiet || exit 1
  export SSE_EXT="$CARGO_TARGET_DIR/release/libsse.so"
  echo "setup: built $SSE_EXT"
fi

php_name=$(php -r 'echo "PHP ", PHP_VERSION, PHP_ZTS ? " ZTS" : " NTS";')
case "$php_name" in
  "PHP $php_version".*) ;;
  *) echo "test: php is $php_name, not PHP $php_version" >&2; exit 1 ;;
esac
echo "test: $php_name ($(command -v php)), extension $SSE_EXT"

# PHPUnit 9.6 (PHP 8.2) turns notices and deprecations into errors; 11 (PHP 8.4) only counts
# them, and its own deprecations (e.g. of doc-comment metadata): here they fail the suite too.
phpunit_strict=()
if [ "$(php /usr/bin/phpunit --version 2>/dev/null | sed -n 's/^PHPUnit \([0-9]*\)\..*/\1/p')" -ge 11 ] 2>/dev/null; then
  phpunit_strict=(--fail-on-deprecation --fail-on-phpunit-deprecation --fail-on-notice
                  --display-deprecations --display-phpunit-deprecations --display-notices --display-warnings)
fi

suite_core()        { scripts/import-cycles.py && cargo fmt --all -- --check && (cd fuzz && cargo fmt -- --check) && cargo clippy --release --all-targets -p ext-sse -p sse-core -p sse-server -- -D warnings && cargo test --release -p sse-core -p sse-server; }
suite_php()         { php -d extension="$SSE_EXT" /usr/bin/phpunit -c phpunit.xml.dist "${phpunit_strict[@]}"; }
suite_conformance() { tests/conformance/run.sh; }
suite_package()     { tests/package/run.sh; }
suite_stacks()      { tests/stacks/run.sh; }
suite_browser()     { tests/browser/run.sh; }
suite_fuzz()        { tests/fuzz/run.sh; }
suite_memcheck()    { bench/memcheck.sh; }
# The Debian packages of 8.2, 8.4 and 8.5, each built in its release and installed into a clean
# root of it: from the machine itself, which makes those roots (not from inside a PHP root).
suite_deb() {
  if [ -n "${SSE_TEST_PHP_ROOT:-}" ]; then
    echo "deb: not run inside the PHP $php_version root: scripts/test.sh deb (on the machine) checks the packages of every PHP"
    return 0
  fi
  tests/package/deb_check.sh
}

all=(core php conformance fuzz memcheck package stacks browser deb)
selected=("${@:-${all[@]}}")
passed=0 failed=0 failures=()
for name in "${selected[@]}"; do
  echo
  echo "=== suite: $name ($php_name)"
  start=$(date +%s)
  if "suite_$name"; then
    passed=$((passed + 1))
    echo "=== suite $name: ok ($(( $(date +%s) - start )) s, $php_name)"
  else
    failed=$((failed + 1)); failures+=("$name")
    echo "=== suite $name: FAILED ($(( $(date +%s) - start )) s, $php_name)"
  fi
done
echo
((failed)) && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed ($php_name)"
((failed == 0))
