#!/bin/sh
# Conformance of the extension's frames with eventsource-parser (npm), a parser nobody here
# wrote. Installs it from package-lock.json when missing or stale, frames the cases with PHP,
# then compares in Node. Exit status 0 only when every check passed.
#   SSE_EXT=/path/to/libsse.so tests/conformance/run.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ext=${SSE_EXT:-$repo/target/release/libsse.so}

if [ ! -f "$ext" ]; then
    echo "conformance: extension not found at $ext (build it or set SSE_EXT)" >&2
    exit 2
fi

# npm ci rewrites node_modules every time; only run it when the lock file changed since.
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

cases=$(mktemp "${TMPDIR:-/tmp}/sse-conformance.XXXXXX")
trap 'rm -f "$cases"' EXIT

php -n -d extension="$ext" -d display_errors=stderr -d error_reporting=-1 \
    "$here/frame-cases.php" >"$cases"
node "$here/check.mjs" "$cases"
