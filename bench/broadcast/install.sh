#!/usr/bin/env bash
# Installs what bench/broadcast/run.py needs beyond scripts/setup.sh: redis-server (started by
# the benchmark on a loopback port of its own, never as a service), phpredis and SQLite for
# the peers. Idempotent: packages already present are left alone.
set -euo pipefail
packages=(redis-server php8.2-redis php8.2-sqlite3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "broadcast: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts redis-server on 6379 when it installs it; the benchmark runs its own.
  if [[ " ${missing[*]} " == *" redis-server "* ]]; then
    service redis-server stop >/dev/null 2>&1 || true
  fi
fi
for m in redis sqlite3 pdo_sqlite; do
  php -r "exit(extension_loaded('$m') ? 0 : 1);" || { echo "broadcast: PHP module $m missing (phpenmod $m?)" >&2; exit 1; }
done
