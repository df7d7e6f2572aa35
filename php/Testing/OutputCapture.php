<?php

declare(strict_types=1);

namespace Sse\Testing;

/**
 * Captures what a piece of code echoes, the way PHPUnit and Symfony's tests do: under the CLI
 * SAPI the emitter leaves output buffers alone, so its frames land in this one.
 *
 * @internal
 */
final class OutputCapture
{
    public static function run(callable $code): string
    {
        $level = ob_get_level();
        ob_start();
        try {
            $code();
        } finally {
            // Code under test may leave its own buffers open (or close ours): fold whatever is
            // above our level back into ours so nothing leaks into the test runner's output.
            while (ob_get_level() > $level + 1) {
                ob_end_flush();
            }
            $output = ob_get_level() > $level ? (string) ob_get_clean() : '';
        }
        return $output;
    }
}
