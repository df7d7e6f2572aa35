<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;
use Sse\Tests\Support\ProcessResult;

/** exit() inside a callback or a signal handler ends the process as it would anywhere else. */
final class ExitTest extends TestCase
{
    public function testExitInsideACallback(): void
    {
        self::assertExitedWith3(PhpProcess::start('exit.php', ['callback'])->wait(20));
    }

    public function testExitInsideAnAsyncSignalHandler(): void
    {
        $child = PhpProcess::start('exit.php', ['signal']);
        if ($child->readLine(10) !== 'READY') {
            self::fail("the child did not get ready:\n" . $child->wait(5)->describe());
        }
        usleep(100_000);
        posix_kill($child->pid(), SIGTERM);

        self::assertExitedWith3($child->wait(20));
    }

    private static function assertExitedWith3(ProcessResult $result): void
    {
        self::assertFalse($result->timedOut, $result->describe());
        self::assertSame(3, $result->exitCode, $result->describe());
        self::assertStringContainsString("SHUTDOWN\n", $result->stdout);
        self::assertStringNotContainsString('NOT REACHED', $result->stdout);
        self::assertSame('', $result->stderr, 'no error, warning or panic');
        self::assertLessThan(10.0, $result->seconds, 'exited long before maxDuration');
    }
}
