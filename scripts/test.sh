#!/usr/bin/env bash
# Runs every test of ext-sse on a fresh Debian 12 machine: installs what is missing, builds the
# extension (release), then runs each suite. Exits non-zero if any suite fails.
#   scripts/test.sh            all suites
#   scripts/test.sh php stacks only the named suites
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/setup.sh || exit 1
export SSE_EXT="$root/target/release/libsse.so"

suite_core()        { cargo clippy --release --all-targets -p ext-sse -p sse-core -- -D warnings && cargo test --release -p sse-core; }
suite_php()         { php -d extension="$SSE_EXT" /usr/bin/phpunit -c phpunit.xml.dist; }
suite_conformance() { tests/conformance/run.sh; }
suite_package()     { tests/package/run.sh; }
suite_stacks()      { tests/stacks/run.sh; }
suite_browser()     { tests/browser/run.sh; }
suite_fuzz()        { tests/fuzz/run.sh; }
suite_memcheck()    { bench/memcheck.sh; }

all=(core php conformance fuzz memcheck package stacks browser)
selected=("${@:-${all[@]}}")
passed=0 failed=0 failures=()
for name in "${selected[@]}"; do
  echo
  echo "=== suite: $name"
  start=$(date +%s)
  if "suite_$name"; then
    passed=$((passed + 1))
    echo "=== suite $name: ok ($(( $(date +%s) - start )) s)"
  else
    failed=$((failed + 1)); failures+=("$name")
    echo "=== suite $name: FAILED ($(( $(date +%s) - start )) s)"
  fi
done
echo
((failed)) && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
((failed == 0))
