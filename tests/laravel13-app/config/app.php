<?php

// Laravel's defaults (Debian's copy of the framework's config/app.php: its providers, to which
// this skeleton adds bootstrap/providers.php) under tests/laravel-app's settings, as Laravel
// merges them when it finds its own config (see bootstrap/app.php).
return array_merge(
    require 'Illuminate/config/app.php',
    array_diff_key(require dirname(__DIR__, 2) . '/laravel-app/config/app.php', ['providers' => true, 'aliases' => true]),
);
