#!/usr/bin/env bash
# Runs the real-stack suite: php -S, nginx+php-fpm, Apache+mod_php, Apache+php-fpm, Caddy, nginx
# over TLS/HTTP/2, zlib.output_compression variants, Redis and Valkey, the Laravel and Symfony
# test apps, each started on free 127.0.0.1 ports in temp dirs of its own, in SSE_TEST_WORKERS
# (default 3) pytest-xdist workers. About two minutes (SSE_TEST_WORKERS=1: one at a time, five).
#   SSE_EXT=/path/to/libsse.so tests/stacks/run.sh [pytest args, e.g. -k nginx-fpm]
# SSE_EXT defaults to target/release/libsse.so. Exits non-zero if any test fails.
exec "$(dirname "$0")/../lib/run-pytest.sh" "$(dirname "$0")" --parallel "$@"
