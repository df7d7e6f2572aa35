<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Emitter\Support\PhpProcess;

/**
 * One background thread per process, started lazily by the first real wait (never by module
 * startup, which php-fpm runs before forking), named so that it can be told apart in top/ps.
 */
final class RuntimeThreadTest extends TestCase
{
    public function testOneNamedThreadAfterTheFirstRealWaitAndStillOneAfterManyStreams(): void
    {
        $result = PhpProcess::start('runtime_thread.php')->wait(30);

        self::assertSame(0, $result->exitCode, $result->describe());
        $report = $result->report();
        self::assertSame([], $report['before'], 'no thread but the main one at startup');
        self::assertSame([], $report['after_virtual_wait'], 'the virtual clock needs no thread');
        self::assertSame(['sse-runtime'], $report['after_first_wait']);
        self::assertSame(['sse-runtime'], $report['after_many_streams']);
    }
}
