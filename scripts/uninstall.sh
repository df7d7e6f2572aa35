#!/usr/bin/env bash
# Undoes scripts/install.sh: disables the extension for every SAPI, removes its ini and .so,
# and reloads running php-fpm / apache2 services.
set -euo pipefail
php_config=${PHP_CONFIG:-php-config}
version=$("$php_config" --version | cut -d. -f1,2)
ext_dir=$("$php_config" --extension-dir)
ini=/etc/php/$version/mods-available/sse.ini

# phpdismod needs the ini to find the links (their names carry its priority): it goes first.
if [ -f "$ini" ]; then
  phpdismod -p -v "$version" sse   # -p: forget the enabled/disabled state too
fi
rm -f "$ini" "$ext_dir/sse.so"

for service in "php$version-fpm" apache2; do
  if service "$service" status >/dev/null 2>&1; then
    service "$service" reload >/dev/null
    echo "uninstall: reloaded $service"
  fi
done
echo "uninstall: sse removed from PHP $version"
