<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/**
 * Captures what an emitter writes under the CLI SAPI, where frames go through PHP's output
 * layer like any echo. The buffer is removed even when $body throws, so a failing test cannot
 * leave PHPUnit with an extra output level (which it reports as a risky test).
 */
final class Output
{
    /**
     * @param callable(): mixed $body
     * @return string the bytes written while $body ran
     */
    public static function capture(callable $body): string
    {
        ob_start();
        $level = ob_get_level();
        try {
            $body();
        } finally {
            // The emitter must leave the CLI's buffers alone: if it closed ours, fail loudly.
            $output = ob_get_level() === $level ? (string) ob_get_clean() : null;
        }
        if ($output === null) {
            throw new \LogicException('the output buffer opened by the test was closed under it');
        }

        return $output;
    }

    /**
     * Captures $body's output, and the exception it throws.
     * @param callable(): mixed $body
     * @return array{0: string, 1: ?\Throwable}
     */
    public static function captureThrown(callable $body): array
    {
        $thrown = null;
        $output = self::capture(static function () use ($body, &$thrown): void {
            try {
                $body();
            } catch (\Throwable $e) {
                $thrown = $e;
            }
        });

        return [$output, $thrown];
    }
}
