<?php

/**
 * The storage dir of the test apps (tests/laravel-app, tests/laravel13-app): everything Laravel
 * writes (logs, caches, compiled files) goes to SSE_APP_STORAGE (a temp dir the tests create),
 * so the checkout stays read-only for the web server's user. SSE_APP_STORAGE may come from the
 * process environment or, under php-fpm, from a pool `env[...]` line or a FastCGI param.
 * Returns the directory.
 */

$storage = $_SERVER['SSE_APP_STORAGE'] ?? getenv('SSE_APP_STORAGE');
if (!is_string($storage) || $storage === '') {
    $user = function_exists('posix_geteuid') ? posix_geteuid() : getmyuid();
    $storage = sys_get_temp_dir() . '/sse-laravel-app-' . $user;
}
foreach (['logs', 'framework/cache', 'framework/views', 'bootstrap-cache'] as $dir) {
    // Checked again after mkdir: two first requests may race to create it.
    if (!is_dir("$storage/$dir") && !@mkdir("$storage/$dir", 0700, true) && !is_dir("$storage/$dir")) {
        throw new RuntimeException("cannot create $storage/$dir: point SSE_APP_STORAGE at a directory the PHP user may write");
    }
}

// Laravel puts its manifest caches in bootstrap/cache unless these are set; they follow the
// storage dir (tests boot several apps, each with its own).
foreach (['PACKAGES' => 'packages', 'SERVICES' => 'services', 'CONFIG' => 'config', 'ROUTES' => 'routes-v7', 'EVENTS' => 'events'] as $key => $file) {
    $_SERVER["APP_{$key}_CACHE"] = "$storage/bootstrap-cache/$file.php";
}

return $storage;
