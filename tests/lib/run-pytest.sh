#!/usr/bin/env bash
# Runs pytest in a suite's directory with SSE_EXT set (default: target/release/libsse.so).
# pytest comes from pip where pip may install it, else from Debian's python3-pytest (a fresh
# Debian 12 has no pip; scripts/setup.sh installs the package).
#   tests/lib/run-pytest.sh SUITE_DIR [pytest args]
set -euo pipefail
suite="$(cd "$1" && pwd)"
shift
export SSE_EXT="${SSE_EXT:-$suite/../../target/release/libsse.so}"

py=python3
if ! "$py" -c 'import pytest' 2>/dev/null; then
  "$py" -m pip install --quiet pytest 2>/dev/null ||
    { apt-get install -y -qq python3-pytest >/dev/null && py=/usr/bin/python3; }
fi
cd "$suite"
exec "$py" -m pytest "$@"
