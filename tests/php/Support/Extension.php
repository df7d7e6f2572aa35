<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/** Where the extension under test is, for tests that start another PHP (php -S, the CLI). */
final class Extension
{
    /**
     * The extension file this PHPUnit process loaded, so that a child tests the same build; when
     * that cannot be read, `SSE_EXT` (scripts/test.sh sets it), else the release build of this
     * checkout.
     */
    public static function path(): string
    {
        $maps = (string) @file_get_contents('/proc/self/maps');
        if (preg_match('~\s(/\S*(?:libsse[^/\s]*|/sse)\.so)$~m', $maps, $m) === 1) {
            return $m[1];
        }
        $env = getenv('SSE_EXT');
        return is_string($env) && $env !== '' ? $env : dirname(__DIR__, 3) . '/target/release/libsse.so';
    }

    /**
     * The argv of a php without php.ini (`-n`) that loads the extension, then `$args`.
     * @return list<string>
     */
    public static function php(string ...$args): array
    {
        return [PHP_BINARY, '-n', '-d', 'extension=' . self::path(), ...$args];
    }
}
