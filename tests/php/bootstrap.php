<?php

/**
 * PHPUnit bootstrap for tests/php: no Composer vendor directory exists here (Packagist is out of
 * reach), so the package's classes are found by a small PSR-4 loader, and Laravel comes from
 * Debian's php-laravel-framework, whose autoloader sits on the default include_path.
 */

declare(strict_types=1);

$root = dirname(__DIR__, 2);

spl_autoload_register(static function (string $class) use ($root): void {
    $map = [
        'Sse\\Tests\\' => $root . '/tests/php/',
        'Sse\\' => $root . '/php/',
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

// Debian's Laravel 8 (Illuminate + its Symfony components); the Laravel tests skip without it.
if (stream_resolve_include_path('Illuminate/autoload.php') !== false) {
    require_once 'Illuminate/autoload.php';
}

if (!extension_loaded('sse')) {
    // phpunit's own -d is ini_set(), which cannot load an extension: php's -d must.
    fwrite(STDERR, "tests/php: the sse extension is not loaded; run: php -d extension=\$SSE_EXT /usr/bin/phpunit -c phpunit.xml.dist\n");
}
