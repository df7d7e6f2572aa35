#!/bin/bash
# Runs inside a throwaway copy of a clean Debian root (tests/package/deb_check.sh): installs the
# packages in /check/debs as the README says, checks the module under the CLI and under
# php-fpm behind nginx (a detached stream gets a published event while the only worker serves
# another request), then removes and purges the package and checks that nothing of it stays
# enabled. Prints one ok/FAIL line per check; exits 1 if any failed.
#   deb_inside.sh PHP_VERSION PORT
set -uo pipefail
version=$1 port=$2
cd /check
failed=0

# check NAME COMMAND...: shows the command's output when it fails.
check() {
  local name=$1
  shift
  if "$@" >/check/check.log 2>&1; then
    echo "ok   PHP $version: $name"
  else
    echo "FAIL PHP $version: $name"
    tail -n 20 /check/check.log | sed 's/^/     /'
    failed=1
  fi
}

# grep reads all of php's output (no -q): with pipefail, a php cut short by SIGPIPE would fail.
lists_sse() { "$@" -m | grep -x sse; }
not_lists_sse() { ! "$@" -m | grep -x sse; }
no_toolchain() {
  ! command -v cargo && ! command -v rustc && ! command -v cc \
    && [ -z "$(dpkg-query -W -f='${Package}\n' | grep -E -- '-dev$')" ]
}
enabled_links() { ls /etc/php/"$version"/*/conf.d/ | grep -- '-sse\.ini$'; }
enabled_for_cli_and_fpm() {
  [ -L "/etc/php/$version/cli/conf.d/20-sse.ini" ] && [ -L "/etc/php/$version/fpm/conf.d/20-sse.ini" ]
}
ini_says() { grep -qxF "$1" "/etc/php/$version/mods-available/sse.ini"; }
library_loads() {
  # From PHP's include_path, the way Debian's PHP libraries are loaded.
  "php$version" -r 'require_once "Sse/autoload.php";
    echo Sse\Testing\OutputCapture::run(fn () => print(new Sse\ServerSentEvents(["data" => "lib"])));
    exit(is_file(stream_resolve_include_path("Sse/Laravel/SseServiceProvider.php")) ? 0 : 1);' | grep -x 'data: lib'
}
# Debian's Laravel (its own autoloader, no Composer) registers and boots the provider.
laravel_boots() {
  "php$version" -r 'require "Illuminate/autoload.php"; require "Sse/autoload.php";
    $app = new Illuminate\Foundation\Application("/tmp/laravel-app");
    $app->register(Sse\Laravel\SseServiceProvider::class);
    $app->boot();
    exit(Illuminate\Routing\ResponseFactory::hasMacro("sse") ? 0 : 1);'
}
nothing_left() {
  ! enabled_links && [ -z "$(find /usr/lib/php -name sse.so)" ] && [ ! -e /usr/share/php/Sse ]
}
# php-maintscript-helper keeps a "disabled by the package's scripts" mark in /var/lib/php (for
# every Debian PHP module, after purge too); nothing may say enabled.
purged() {
  local left
  left=$(find /etc/php -name '*sse*'; find /var/lib/php/modules -path '*enabled_by_*' -name sse)
  echo "left: ${left:-nothing}"
  [ -z "$left" ]
}

start_servers() {
  mkdir -p /check/nginx /run/php
  sed "s/@PORT@/$port/g" /check/nginx.conf.in >/check/nginx.conf
  "php-fpm$version" -y /check/php-fpm.conf || return 1
  nginx -c /check/nginx.conf || return 1
  for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/sse-status.php" && return 0
    sleep 0.1
  done
  cat /check/php-fpm.log /check/nginx/error.log
  return 1
}
stop_servers() {
  [ -s /check/nginx.pid ] && kill "$(cat /check/nginx.pid)"
  [ -s /check/php-fpm.pid ] && kill "$(cat /check/php-fpm.pid)"
  return 0
}

# A detached stream on the embedded broker, a second request while it is open (one worker: it
# is served only if detach() freed it), an event published from the CLI, the stream's end.
streams_and_detaches() {
  local url="http://127.0.0.1:$port/detach/stream.php?topics=news&broker=local:///tmp/sse-check&seconds=4&mark=/tmp/mark.json"
  curl -sN --max-time 15 "$url" >/check/stream.out &
  local client=$!
  for _ in $(seq 50); do [ -s /tmp/mark.json ] && break; sleep 0.1; done
  echo "mark: $(cat /tmp/mark.json)"
  grep -q '"detached":true' /tmp/mark.json || return 1
  curl -s --max-time 3 "http://127.0.0.1:$port/sse-status.php" | tee /check/status.out
  grep -qx 'sse loaded (fpm-fcgi)' /check/status.out || return 1
  "php$version" -r '(new Sse\Broker("local:///tmp/sse-check"))->publish("news", ["event" => "hello", "data" => "from the package"]);' || return 1
  wait "$client"
  echo "stream:"; cat /check/stream.out
  grep -qx ': subscribed' /check/stream.out && grep -qx 'event: hello' /check/stream.out \
    && grep -qx 'data: from the package' /check/stream.out
}

install_packages() { apt-get install -y --no-install-recommends ./debs/*.deb 2>&1 | tee /check/install.log; }
# php-maintscript-helper triggers php-fpm's conf.d: a running php-fpm restarts with the module.
fpm_triggered() { grep -F "Processing triggers for php$version-fpm" /check/install.log; }
remove_package() { apt-get remove -y "php$version-sse"; }
purge_package() { apt-get purge -y "php$version-sse"; }

check "the root has no Rust, no C compiler and no -dev package" no_toolchain
check "php$version -m does not list sse before the install" not_lists_sse "php$version"
check "apt-get install ./php$version-sse_*.deb ./php-sse-php-sse_*.deb" install_packages
check "php$version -m lists sse" lists_sse "php$version"
check "the install triggers php$version-fpm (which restarts a running php-fpm)" fpm_triggered
check "php-fpm$version -m lists sse" lists_sse "php-fpm$version"
check "sse.ini in mods-available is enabled for cli and fpm" enabled_for_cli_and_fpm
check "sse.ini carries the sse.broker setting, commented" ini_says ';sse.broker = local'
check "require_once 'Sse/autoload.php' loads the PHP layer from /usr/share/php" library_loads
check "a Laravel app without Composer boots Sse\\Laravel\\SseServiceProvider (response()->sse)" laravel_boots
check "php-fpm and nginx start with the module" start_servers
check "behind nginx: a stream detaches, frees the worker and gets a published event" streams_and_detaches
stop_servers
check "apt-get remove php$version-sse (and the PHP layer that needs it)" remove_package
check "after remove: php$version -m does not list sse" not_lists_sse "php$version"
check "after remove: php-fpm$version -m does not list sse" not_lists_sse "php-fpm$version"
check "after remove: no sse ini enabled for any SAPI, no sse.so, no /usr/share/php/Sse" nothing_left
check "apt-get purge php$version-sse" purge_package
check "after purge: nothing of sse under /etc/php, nothing marks it enabled" purged
exit "$failed"
