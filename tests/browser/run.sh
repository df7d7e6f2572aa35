#!/usr/bin/env bash
# Runs the browser suite: headless Chromium (/usr/bin/chromium, driven over the DevTools
# protocol on a pipe) with an EventSource page against php -S, nginx+php-fpm, Apache+mod_php,
# Apache+php-fpm and nginx over HTTP/2; and the live dashboard on php -S as scripts/demo.sh
# serves it (test_dashboard.py, which also refreshes docs/dashboard.png). The tests run in
# SSE_TEST_WORKERS (default 3) pytest-xdist workers, as the stacks do.
#   SSE_EXT=/path/to/libsse.so tests/browser/run.sh [pytest args]
# SSE_EXT defaults to target/release/libsse.so; CHROMIUM overrides the browser binary.
# Exits non-zero if any test fails.
exec "$(dirname "$0")/../lib/run-pytest.sh" "$(dirname "$0")" --parallel "$@"
