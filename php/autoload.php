<?php

/**
 * The package's classes (Sse\Laravel\..., Sse\Symfony\..., Sse\Testing\..., Sse\Support\...) without Composer:
 *
 *     php -d extension=/path/to/ext-sse/target/release/libsse.so /usr/bin/phpunit \
 *         --bootstrap /path/to/ext-sse/php/autoload.php tests
 *
 * or `require '/path/to/ext-sse/php/autoload.php';` in a bootstrap of your own. With Composer,
 * vendor/autoload.php does the same (composer.json maps Sse\ to this directory). The classes
 * of the extension itself (Sse\SseEmitter, ...) need the extension loaded, not this file.
 */

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'Sse\\', 4) !== 0) {
        return;
    }
    $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, 4)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
