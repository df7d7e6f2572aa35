#!/usr/bin/env bash
# Undoes scripts/install.sh: disables sse for every SAPI, removes its ini and .so, and reloads
# the system's php-fpm / apache2 if they run.
exec "$(dirname "$0")/install.sh" --uninstall
