<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;
use Sse\Tests\Support\ProcessResult;

/**
 * Fatal errors inside a callback unwind through the extension's frames (a longjmp): the
 * process must end the way PHP ends on a fatal error (exit code 255, the message, shutdown
 * functions), without a crash, and without the runtime thread keeping it alive.
 */
final class FatalErrorTest extends TestCase
{
    /** @return iterable<string, array{string}> */
    public static function timeLimitModes(): iterable
    {
        yield 'set_time_limit(1) inside the callback' => ['inside'];
        yield 'set_time_limit(1) before the stream, keepTimeLimit' => ['kept'];
    }

    /** @dataProvider timeLimitModes */
    #[\PHPUnit\Framework\Attributes\DataProvider('timeLimitModes')]
    public function testTheTimeLimitStillEndsACallbackThatSpins(string $mode): void
    {
        $result = PhpProcess::start('time_limit.php', [$mode])->wait(30);

        self::assertNoCrash($result);
        self::assertSame(255, $result->exitCode, $result->describe());
        self::assertStringContainsString('SPINNING', $result->stdout);
        self::assertStringNotContainsString('NOT REACHED', $result->stdout);
        self::assertStringContainsString('Maximum execution time of 1 second exceeded', $result->stderr, $result->describe());
    }

    public function testTheMemoryLimitInsideACallbackEndsTheProcessCleanly(): void
    {
        $result = PhpProcess::start('memory_limit.php')->wait(30);

        self::assertNoCrash($result);
        self::assertSame(255, $result->exitCode, $result->describe());
        self::assertStringContainsString('Allowed memory size of 16777216 bytes exhausted', $result->stderr, $result->describe());
        self::assertStringContainsString('TICK', $result->stdout, 'real waits happened before the fatal error');
        self::assertStringContainsString("SHUTDOWN\n", $result->stdout, 'PHP shut down as after any fatal error');
        self::assertStringNotContainsString('NOT REACHED', $result->stdout);
        // A runtime thread left running (or joined forever) would keep the process alive.
        self::assertLessThan(10.0, $result->seconds, 'the process took long to exit');
    }

    private static function assertNoCrash(ProcessResult $result): void
    {
        self::assertFalse($result->timedOut, 'the child hung: ' . $result->describe());
        self::assertNotContains($result->exitCode, [128 + 6, 128 + 11], 'killed by SIGABRT/SIGSEGV: ' . $result->describe());
        self::assertStringNotContainsString('Segmentation fault', $result->stdout . $result->stderr);
        self::assertStringNotContainsString('panicked', $result->stdout . $result->stderr);
        self::assertStringNotContainsString('Rust panic', $result->stdout . $result->stderr);
    }
}
