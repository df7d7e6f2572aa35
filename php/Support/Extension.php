<?php

declare(strict_types=1);

namespace Sse\Support;

/**
 * The check that the native extension is loaded, with the fix in its message: without it every
 * class of this package fails on its first use with a bare "Class not found", far from the
 * cause (a php-fpm or Apache PHP that does not load the extension the CLI loads).
 *
 * @internal
 */
final class Extension
{
    public static function isLoaded(): bool
    {
        return extension_loaded('sse');
    }

    /** @throws \RuntimeException naming the PHP that lacks the extension and how to load it */
    public static function require(string $who): void
    {
        if (self::isLoaded()) {
            return;
        }
        $ini = php_ini_loaded_file();
        throw new \RuntimeException(sprintf(
            '%s needs the sse PHP extension, which this PHP (%s %s, php.ini: %s) does not load. '
            . 'Add the line "extension=/path/to/ext-sse/target/release/libsse.so" to that php.ini '
            . '(or to a file of its conf.d), or install it system-wide with scripts/install.sh; '
            . 'then restart php-fpm or Apache. See "Installing" in the ext-sse README.',
            $who,
            PHP_SAPI,
            PHP_VERSION,
            $ini === false ? 'none' : $ini,
        ));
    }
}
