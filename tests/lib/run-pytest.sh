#!/usr/bin/env bash
# Runs pytest in a suite's directory with SSE_EXT set (default: target/release/libsse.so).
# pytest comes from pip where pip may install it, else from Debian's python3-pytest (a fresh
# Debian 12 has no pip; scripts/setup.sh installs the package).
#   tests/lib/run-pytest.sh SUITE_DIR [--parallel] [pytest args]
# --parallel: the tests run in SSE_TEST_WORKERS (default 3) pytest-xdist workers, each module's
# tests in one worker (--dist loadscope, so a module's servers start once); pytest-xdist comes
# from pip or Debian's python3-pytest-xdist, and without it (or with SSE_TEST_WORKERS=1, or
# when the arguments already name -n) the tests run in this one process.
set -euo pipefail
suite="$(cd "$1" && pwd)"
shift
export SSE_EXT="${SSE_EXT:-$suite/../../target/release/libsse.so}"
parallel=()
if [ "${1:-}" = --parallel ]; then
  shift
  workers=${SSE_TEST_WORKERS:-3}
  case " $* " in *" -n "*|*" -n"[0-9]*|*" --numprocesses"*) workers=1 ;; esac
  [ "$workers" -gt 1 ] && parallel=(-n "$workers" --dist loadscope)
fi

py=python3
if ! "$py" -c 'import pytest' 2>/dev/null; then
  "$py" -m pip install --quiet pytest 2>/dev/null ||
    { apt-get install -y -qq python3-pytest >/dev/null && py=/usr/bin/python3; }
fi
if ((${#parallel[@]})) && ! "$py" -c 'import xdist' 2>/dev/null; then
  "$py" -m pip install --quiet pytest-xdist 2>/dev/null ||
    apt-get install -y -qq python3-pytest-xdist >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq python3-pytest-xdist >/dev/null 2>&1; } || true
  if ! "$py" -c 'import xdist' 2>/dev/null; then
    echo "run-pytest: pytest-xdist is not installed: the tests run one at a time" >&2
    parallel=()
  fi
fi
cd "$suite"
exec "$py" -m pytest "${parallel[@]}" "$@"
