#!/usr/bin/env bash
# Runs the real-stack suite: php -S, nginx+php-fpm, Apache+mod_php, nginx over TLS/HTTP/2, and
# zlib.output_compression variants, each started on free 127.0.0.1 ports in temp dirs.
#   SSE_EXT=/path/to/libsse.so tests/stacks/run.sh [pytest args, e.g. -k nginx-fpm]
# SSE_EXT defaults to target/release/libsse.so. Exits non-zero if any test fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export SSE_EXT="${SSE_EXT:-$here/../../target/release/libsse.so}"

python3 -c 'import pytest' 2>/dev/null || python3 -m pip install --quiet pytest

cd "$here"
exec python3 -m pytest "$@"
