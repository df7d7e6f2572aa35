#!/usr/bin/env bash
# Runs the browser suite: headless Chromium (/usr/bin/chromium, driven over the DevTools
# protocol on a pipe) with an EventSource page against php -S, nginx+php-fpm, Apache+mod_php,
# Apache+php-fpm and nginx over HTTP/2; and the live dashboard on php -S as scripts/demo.sh
# serves it (test_dashboard.py, which also refreshes docs/dashboard.png).
#   SSE_EXT=/path/to/libsse.so tests/browser/run.sh [pytest args]
# SSE_EXT defaults to target/release/libsse.so; CHROMIUM overrides the browser binary.
# Exits non-zero if any test fails.
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
