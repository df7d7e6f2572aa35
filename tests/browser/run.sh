#!/usr/bin/env bash
# Runs the browser suite: headless Chromium (/usr/bin/chromium, driven over the DevTools
# protocol on a pipe) with an EventSource page against php -S, nginx+php-fpm, Apache+mod_php,
# Apache+php-fpm and nginx over HTTP/2.
#   SSE_EXT=/path/to/libsse.so tests/browser/run.sh [pytest args]
# SSE_EXT defaults to target/release/libsse.so; CHROMIUM overrides the browser binary.
# Exits non-zero if any test fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export SSE_EXT="${SSE_EXT:-$here/../../target/release/libsse.so}"

python3 -c 'import pytest' 2>/dev/null || python3 -m pip install --quiet pytest
cd "$here"
exec python3 -m pytest "$@"
