#!/usr/bin/env bash
# Builds the extension the way PIE and PECL do, from a copy of the checkout:
# phpize && ./configure --enable-sse && make && make test (run-tests.php over
# tests/package/phpt) && make install INSTALL_ROOT=<temp>, then loads the installed sse.so into
# php. The copy and cargo's cache live in target/phpize-check at fixed
# paths, so only the first run compiles everything.
#   tests/package/phpize_check.sh WORKDIR
set -euo pipefail
work=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CARGO_TARGET_DIR:-$repo/target}/phpize-check # target/php8.4/phpize-check under --php 8.4
src=$cache/src
stage=$work/stage
mkdir -p "$src" "$stage" "$work/root"
# The sources as they are now (committed or not), without build output or git data. Only files
# whose content changed are copied over, with a fresh mtime: cargo then rebuilds exactly what
# changed (carrying the original mtimes along could hide an edit made during an earlier build).
# (fuzz/ is its own cargo workspace, and its corpus changes while a fuzzer runs.)
tar -C "$repo" --exclude=./target --exclude=./.git --exclude=./fuzz -cf - . | tar -C "$stage" -xf -
(cd "$stage" && find . -type f) | while IFS= read -r f; do
  if ! cmp -s "$stage/$f" "$src/$f"; then
    mkdir -p "$(dirname "$src/$f")"
    cp "$stage/$f" "$src/$f"
  fi
done
# A first run starts from a copy of the build scripts/test.sh made for this PHP (target/release,
# target/php8.4 under --php 8.4), under cargo's lock: the dependencies are not compiled again.
seed=${CARGO_TARGET_DIR:-$repo/target}
if [ ! -d "$cache/cargo/release" ] && [ -d "$seed/release/.fingerprint" ]; then
  mkdir -p "$cache/cargo"
  flock "$seed/release/.cargo-lock" cp -a "$seed/release" "$cache/cargo/"
fi
export CARGO_TARGET_DIR=$cache/cargo
cd "$src"
phpize >"$work/phpize.log" 2>&1 || { cat "$work/phpize.log"; exit 1; }
./configure --enable-sse >"$work/configure.log" 2>&1 || { tail -n 20 "$work/configure.log"; exit 1; }
make >"$work/make.log" 2>&1 || { tail -n 30 "$work/make.log"; exit 1; }
NO_INTERACTION=1 make test >"$work/test.log" 2>&1 || { tail -n 30 "$work/test.log"; exit 1; }
# run-tests.php's summary: every test passed, none failed or was skipped.
grep -E '^Tests (passed|failed|skipped) ' "$work/test.log"
grep -qE '^Tests passed +: +[1-9]' "$work/test.log" && ! grep -qE '^Tests (failed|skipped) +: +[1-9]' "$work/test.log" \
  || { tail -n 30 "$work/test.log"; exit 1; }
make install INSTALL_ROOT="$work/root" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
so=$work/root$(php-config --extension-dir)/sse.so
ls -l "$so"
php -n -d "extension=$so" -r 'echo new Sse\ServerSentEvents(["event" => "built", "data" => "by phpize"]);' | tee "$work/out.txt"
grep -qx 'event: built' "$work/out.txt"
