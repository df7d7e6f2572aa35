#!/usr/bin/env bash
# Runs the README's "PHPUnit test" recipes exactly as written, each in a scratch directory
# outside the repository: the test class of the section's php block is saved under the name its
# first line gives, then each sh block is run with only its `EXT_SSE=/path/to/ext-sse` line
# pointed at this checkout. The extension must NOT be installed system-wide (the recipes load it
# with php -d), so run.sh runs this before scripts/install.sh. A recipe passes when PHPUnit
# reports the test as passed.
#   tests/package/readme_phpunit_check.sh WORKDIR
set -euo pipefail
work=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
# The recipes load $EXT_SSE/target/release/libsse.so, the file a plain `cargo build --release`
# makes. When the build under test is another one (SSE_EXT: e.g. target/php8.4 under
# `scripts/test.sh --php 8.4`), EXT_SSE is a view of this checkout in which that path is it.
ext_sse=$repo
if [ -n "${SSE_EXT:-}" ] && [ "$(realpath "$SSE_EXT")" != "$(realpath -m "$repo/target/release/libsse.so")" ]; then
  ext_sse=$work/checkout
  mkdir -p "$ext_sse/target/release"
  for entry in "$repo"/* "$repo"/.[!.]*; do
    [ "$(basename "$entry")" = target ] || ln -s "$entry" "$ext_sse/"
  done
  ln -s "$(realpath "$SSE_EXT")" "$ext_sse/target/release/libsse.so"
fi
export COMPOSER_HOME=$work/composer-home COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_NO_INTERACTION=1

# The fenced blocks of the section, each into blocks/N.LANG.
mkdir -p "$work/blocks"
awk -v out="$work/blocks" '
  /^## / { in_section = ($0 == "## PHPUnit test") }
  in_section && /^```/ {
    if (lang == "") { lang = substr($0, 4); n++; next }
    lang = ""; next
  }
  in_section && lang != "" { print > (out "/" n "." lang) }
' "$repo/README.md"
php_block=$(ls "$work/blocks"/*.php)
test_file=$(head -n 1 "$php_block" | sed -n 's#^<?php // \([A-Za-z0-9_/.-]*\.php\)$#\1#p')
[ -n "$test_file" ] || { echo "the php block does not start with '<?php // path/of/the/test.php'"; exit 1; }
recipes=("$work"/blocks/*.sh)
[ "${#recipes[@]}" -ge 2 ] || { echo "expected two sh recipes (without and with Composer), found ${#recipes[@]}"; exit 1; }

for recipe in "${recipes[@]}"; do
  name=$(basename "$recipe" .sh)
  grep -qx 'EXT_SSE=/path/to/ext-sse' "$recipe" || { echo "recipe $name: no EXT_SSE=/path/to/ext-sse line"; exit 1; }
  project=$work/project-$name
  mkdir -p "$project/$(dirname "$test_file")"
  cp "$php_block" "$project/$test_file"
  # "In a project with a composer.json", as the Composer recipe says.
  echo '{"name": "scratch/app", "type": "project", "license": "MIT"}' >"$project/composer.json"
  sed "s#^EXT_SSE=/path/to/ext-sse\$#EXT_SSE=$ext_sse#" "$recipe" >"$work/run-$name.sh"
  echo "--- recipe $name in $project"
  cat "$recipe"
  # The README's commands, run by a plain shell that stops at the first failing one.
  if ! (cd "$project" && timeout 300 bash -e "$work/run-$name.sh") >"$work/out-$name.log" 2>&1; then
    cat "$work/out-$name.log"
    echo "recipe $name failed"
    exit 1
  fi
  cat "$work/out-$name.log"
  grep -q '^OK (1 test, ' "$work/out-$name.log" || { echo "recipe $name: PHPUnit did not pass the test"; exit 1; }
done
