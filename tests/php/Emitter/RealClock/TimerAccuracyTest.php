<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Emitter\Support\PhpProcess;

/** On the real clock a timer fires on time: no tick early, none much late, and no drift. */
final class TimerAccuracyTest extends TestCase
{
    private const INTERVAL_NS = 20_000_000;
    /** Generous for a loaded 2-core machine: the wake-up crosses two threads. */
    private const LATE_NS = 15_000_000;
    /** The reference was read just before every() armed the timer: a hair of slack. */
    private const EARLY_NS = 1_000_000;

    public function testEvery20MsFor20Ticks(): void
    {
        $result = PhpProcess::start('timer_accuracy.php')->wait(20);
        self::assertSame(0, $result->exitCode, $result->describe());
        $ticks = $result->report()['ticks'];

        self::assertCount(20, $ticks);
        $offsets = [];
        foreach ($ticks as $i => $at) {
            $offsets[] = round(($at - ($i + 1) * self::INTERVAL_NS) / 1e6, 2);
        }
        $report = 'tick offsets from their deadlines (ms): ' . implode(', ', $offsets);
        foreach ($ticks as $i => $at) {
            $due = ($i + 1) * self::INTERVAL_NS;
            self::assertGreaterThanOrEqual($due - self::EARLY_NS, $at, "tick $i came early; $report");
            self::assertLessThanOrEqual($due + self::LATE_NS, $at, "tick $i came late; $report");
        }
    }
}
