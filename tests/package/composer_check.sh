#!/usr/bin/env bash
# Installs this checkout with Composer into a fresh project (a path repository; Packagist is
# disabled, so nothing is downloaded) and checks that the package autoloads and that Laravel
# discovers Sse\Laravel\SseServiceProvider from composer.json's extra.laravel.providers.
# The platform check is real: ext-sse must be loaded in the CLI (install it first).
#   tests/package/composer_check.sh WORKDIR
set -euo pipefail
work=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work/project"
cat >"$work/project/composer.json" <<JSON
{
    "name": "ext-sse/install-check",
    "type": "project",
    "license": "MIT",
    "minimum-stability": "dev",
    "require": {"sse-php/sse": "*"},
    "repositories": [
        {"type": "path", "url": "$repo", "options": {"symlink": true}},
        {"packagist.org": false}
    ]
}
JSON
export COMPOSER_HOME=$work/composer-home COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_NO_INTERACTION=1
# The path package is symlinked (a copy would drag target/ along); its version comes from the
# checkout's branch.
timeout 120 composer install -d "$work/project" --no-progress --quiet
php "$(dirname "$0")/fixtures/discover.php" "$work/project"
