<?php

// Class loading without a vendor directory: Laravel from Debian's php-laravel-framework (on the
// default include_path), the ext-sse package from the repository's php/ folder, and the App\
// classes of this app (which tests/laravel13-app shares).

require_once 'Illuminate/autoload.php';

spl_autoload_register(static function (string $class): void {
    $map = [
        'App\\' => dirname(__DIR__) . '/app/',
        'Sse\\' => dirname(__DIR__, 3) . '/php/',
    ];
    foreach ($map as $prefix => $dir) {
        if (strncmp($class, $prefix, strlen($prefix)) === 0) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
