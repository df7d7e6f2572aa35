#!/usr/bin/env bash
# Runs the real-stack suite: php -S, nginx+php-fpm, Apache+mod_php, Apache+php-fpm, nginx over
# TLS/HTTP/2, zlib.output_compression variants and the Laravel test app, each started on free
# 127.0.0.1 ports in temp dirs. About two minutes.
#   SSE_EXT=/path/to/libsse.so tests/stacks/run.sh [pytest args, e.g. -k nginx-fpm]
# SSE_EXT defaults to target/release/libsse.so. Exits non-zero if any test fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export SSE_EXT="${SSE_EXT:-$here/../../target/release/libsse.so}"

# pytest from pip where pip may install it, else Debian's package (a fresh Debian 12 has no pip).
py=python3
if ! "$py" -c 'import pytest' 2>/dev/null; then
  "$py" -m pip install --quiet pytest 2>/dev/null ||
    { apt-get install -y -qq python3-pytest >/dev/null && py=/usr/bin/python3; }
fi

cd "$here"
exec "$py" -m pytest "$@"
