<?php

// Laravel's defaults (Debian's copy of the framework's config/app.php) under tests/laravel-app's
// settings, as Laravel merges them when it finds its own config (see bootstrap/app.php). Its
// providers are Laravel's default ones, to which this skeleton adds bootstrap/providers.php,
// without the session (as in tests/laravel-app: no route has the `web` group that starts one).
// With it, PHP 8.6 could not run the app: it warns that Laravel 13.31's session handlers lack
// validateId() and create_sid(), and Laravel turns that warning into an exception as soon as
// any response needs the redirector, which takes the session store when it is bound.
return array_merge(
    require 'Illuminate/config/app.php',
    array_diff_key(require dirname(__DIR__, 2) . '/laravel-app/config/app.php', ['providers' => true, 'aliases' => true]),
    ['providers' => Illuminate\Support\ServiceProvider::defaultProviders()->except([Illuminate\Session\SessionServiceProvider::class])->toArray()],
);
