<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter\RealClock;

use PHPUnit\Framework\TestCase;
use Sse\Tests\Support\PhpProcess;

/**
 * On the real clock a timer fires on time: no tick early, and no drift. Earliness is the
 * extension's alone and is checked for every tick. Lateness is partly the machine's (a busy
 * core delays any wake-up), so it is judged by the median tick, beyond what a plain usleep()
 * oversleeps on this machine at the same time: a few ticks delayed by a saturated machine do
 * not fail the test, while a timer that waits in 100 ms slices, or drifts (each tick later
 * than the last), still does.
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
        }
        $lateness = array_map(static fn (int $i, int $at): int => $at - ($i + 1) * self::INTERVAL_NS, array_keys($ticks), $ticks);
        sort($lateness);
        $median = $lateness[intdiv(count($lateness), 2)];
        self::assertLessThanOrEqual($late, $median, "the median tick came late; $summary");
        // Drift: the last ticks are no later than the first ones (within the same allowance).
        $firstFive = array_slice(array_map(static fn (float $ms): float => $ms * 1e6, $offsets), 0, 5);
        $lastFive = array_slice(array_map(static fn (float $ms): float => $ms * 1e6, $offsets), -5);
        self::assertLessThanOrEqual(min($firstFive) + $late, min($lastFive), "the ticks drift later; $summary");
    }
}
