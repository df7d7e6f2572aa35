#!/usr/bin/env bash
# Runs the real-stack suite: php -S, nginx+php-fpm, Apache+mod_php, Apache+php-fpm, nginx over
# TLS/HTTP/2, zlib.output_compression variants and the Laravel test app, each started on free
# 127.0.0.1 ports in temp dirs. About two minutes.
#   SSE_EXT=/path/to/libsse.so tests/stacks/run.sh [pytest args, e.g. -k nginx-fpm]
# SSE_EXT defaults to target/release/libsse.so. Exits non-zero if any test fails.
exec "$(dirname "$0")/../lib/run-pytest.sh" "$(dirname "$0")" --parallel "$@"
