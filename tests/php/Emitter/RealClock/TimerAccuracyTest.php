<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;

/**
 * On the real clock a timer fires on time: no tick early, none much late, and no drift.
 * "Late" is counted beyond what a plain usleep() oversleeps on this machine at the same time,
 * so that a saturated machine (other suites building on both cores) does not fail the test
 * while a timer that waits in 100 ms slices, or drifts, still does.
 */
final class TimerAccuracyTest extends TestCase
{
    private const INTERVAL_NS = 20_000_000;
    /** Generous for a loaded 2-core machine, on top of the scheduler's own lateness. */
    private const LATE_NS = 15_000_000;
    /** The reference was read just before every() armed the timer: a hair of slack. */
    private const EARLY_NS = 1_000_000;

    public function testEvery20MsFor20Ticks(): void
    {
        $result = PhpProcess::start('timer_accuracy.php')->wait(20);
        self::assertSame(0, $result->exitCode, $result->describe());
        $report = $result->report();
        $ticks = $report['ticks'];
        $late = self::LATE_NS + $report['usleep_lateness_ns'];

        self::assertCount(20, $ticks);
        $offsets = [];
        foreach ($ticks as $i => $at) {
            $offsets[] = round(($at - ($i + 1) * self::INTERVAL_NS) / 1e6, 2);
        }
        $summary = sprintf(
            'tick offsets from their deadlines (ms): %s; allowed lateness %.1f ms (a plain usleep was %.1f ms late)',
            implode(', ', $offsets),
            $late / 1e6,
            $report['usleep_lateness_ns'] / 1e6,
        );
        foreach ($ticks as $i => $at) {
            $due = ($i + 1) * self::INTERVAL_NS;
            self::assertGreaterThanOrEqual($due - self::EARLY_NS, $at, "tick $i came early; $summary");
            self::assertLessThanOrEqual($due + $late, $at, "tick $i came late; $summary");
        }
    }
}
