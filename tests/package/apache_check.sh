#!/usr/bin/env bash
# Asks a real apache2 + mod_php (the Debian packages, the apache2 SAPI's own php.ini and
# conf.d) whether the sse extension is loaded: starts apache on a free 127.0.0.1 port with a
# throw-away config, requests one script, stops it. Prints the script's answer.
#   tests/package/apache_check.sh WORKDIR
set -euo pipefail
work=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/htdocs"
chmod 755 "$work" "$work/htdocs"
cp "$here/fixtures/sse-status.php" "$work/htdocs/status.php"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mods=/usr/lib/apache2/modules
cat >"$work/httpd.conf" <<CONF
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $work/httpd.pid
ErrorLog $work/error.log
DefaultRuntimeDir $work
Mutex file:$work default
LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule php_module $mods/libphp$(php-config --version | cut -d. -f1,2).so
StartServers 1
MinSpareServers 1
MaxSpareServers 2
User www-data
Group www-data
DocumentRoot $work/htdocs
<Directory $work/htdocs>
    Require all granted
</Directory>
<FilesMatch "\.php$">
    SetHandler application/x-httpd-php
</FilesMatch>
CONF

stop() {
  if [ -f "$work/httpd.pid" ]; then
    apache2 -f "$work/httpd.conf" -k stop 2>/dev/null || true
    for _ in $(seq 50); do [ -f "$work/httpd.pid" ] || break; sleep 0.1; done
  fi
}
trap stop EXIT

timeout 10 apache2 -f "$work/httpd.conf" -k start
# Bounded: apache answers within a second here; give it ten.
curl -sS --retry 20 --retry-connrefused --retry-delay 0 --max-time 10 "http://127.0.0.1:$port/status.php"
