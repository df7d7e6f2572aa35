#!/usr/bin/env bash
# The live dashboard: builds and loads the extension, then serves examples/dashboard with
# PHP's built-in server under a production php.ini. Ctrl-C (or SIGTERM) stops it and its workers.
#   scripts/demo.sh             on 127.0.0.1:8080
#   PORT=9000 scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
port=${PORT:-8080}
ini=$(mktemp --suffix=.ini)
trap 'rm -f "$ini"' EXIT
cp /usr/lib/php/8.2/php.ini-production "$ini"
echo "extension=$(pwd)/target/release/libsse.so" >> "$ini"
cat <<MSG

  Live dashboard:  http://127.0.0.1:$port/
  Raw frames:      curl -N http://127.0.0.1:$port/stream.php

MSG
# PHP_CLI_SERVER_WORKERS: one open stream occupies a worker; a few let several tabs and curl
# watch at once. php -S forks its workers and does not stop them when it is itself terminated,
# so it runs in a process group of its own (set -m) and every way out of this script (Ctrl-C,
# SIGTERM, SIGHUP, the server dying) stops that whole group.
set -m
PHP_CLI_SERVER_WORKERS=${PHP_CLI_SERVER_WORKERS:-4} php -c "$ini" -S "127.0.0.1:$port" -t examples/dashboard &
server=$!
set +m
stop() { kill -TERM -- "-$server" 2>/dev/null || true; rm -f "$ini"; }
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
wait "$server"
