<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;

/** An idle stream sleeps: no busy loop, in the PHP thread or in the runtime thread. */
final class IdleCpuTest extends TestCase
{
    public function testTwoIdleSecondsCostAlmostNoCpu(): void
    {
        $result = PhpProcess::start('idle_cpu.php')->wait(30);

        self::assertSame(0, $result->exitCode, $result->describe());
        $report = $result->report();
        self::assertGreaterThan(1.9e9, $report['wall_ns'], 'run() lasted its maxDuration');
        // Waking every 100 ms for signals costs ~1 ms in 2 s; a poll loop costs the whole core.
        self::assertLessThan(50_000, $report['cpu_us'], sprintf('%.1f ms of CPU in 2 s idle', $report['cpu_us'] / 1000));
    }
}
