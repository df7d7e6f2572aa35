<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/** Where the extension under test is, for tests that start another PHP (php -S, the CLI). */
final class Extension
{
    /** `SSE_EXT` when set (scripts/test.sh sets it), else the release build of this checkout. */
    public static function path(): string
    {
        $env = getenv('SSE_EXT');
        return is_string($env) && $env !== '' ? $env : dirname(__DIR__, 3) . '/target/release/libsse.so';
    }
}
