<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;
use Sse\Tests\Support\Output;

/**
 * every(), after() and cancel() on the virtual clock, where a schedule runs in no time and
 * elapsed() inside a callback is exactly the deadline it fired at.
 */
final class TimersTest extends TestCase
{
    public function testTimersFireInDeadlineOrderWithTheRightCounts(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 10]);
        $log = [];
        $sse->every(3, self::logger($log, 'a'));
        $sse->every(2, self::logger($log, 'b'));
        $sse->after(5, self::logger($log, 'c'));

        Output::capture(static fn () => $sse->run());

        // At 6 both are due: the one armed earlier goes first. At 10 the last tick fires,
        // then maxDuration ends it all.
        self::assertSame(['2 b', '3 a', '4 b', '5 c', '6 a', '6 b', '8 b', '9 a', '10 b'], $log);
    }

    public function testAnIntervalFiresOncePerPeriod(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 10.5]);
        $log = [];
        $sse->every(1, self::logger($log, 't'));

        Output::capture(static fn () => $sse->run());

        self::assertSame(['1 t', '2 t', '3 t', '4 t', '5 t', '6 t', '7 t', '8 t', '9 t', '10 t'], $log);
    }

    public function testFractionalIntervalsDoNotDrift(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 1.01]);
        $times = [];
        $sse->every(0.1, static function (SseEmitter $sse) use (&$times): void {
            $times[] = $sse->elapsed();
        });

        Output::capture(static fn () => $sse->run());

        self::assertCount(10, $times);
        foreach ($times as $i => $t) {
            self::assertEqualsWithDelta(($i + 1) * 0.1, $t, 1e-6, "tick $i");
        }
    }

    public function testAfterFiresOnce(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 60]);
        $log = [];
        $sse->after(2.5, self::logger($log, 'once'));

        Output::capture(static fn () => $sse->run());

        self::assertSame(['2.5 once'], $log);
        self::assertSame(60.0, $sse->elapsed(), 'the stream went on until maxDuration');
    }

    public function testTheCallbackGetsTheEmitter(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 2]);
        $given = [];
        $sse->after(1, static function (...$args) use (&$given): void {
            $given = $args;
        });

        Output::capture(static fn () => $sse->run());

        self::assertCount(1, $given);
        self::assertSame($sse, $given[0]);
    }

    public function testATimerThatSendsWritesItsEvents(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 3.5]);
        $sse->every(1, static fn (SseEmitter $sse) => $sse->send(['event' => 'tick', 'data' => (string) $sse->elapsed()]));

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame("event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\nevent: tick\ndata: 3\n\n", $out);
    }

    public function testTimerIdsAreDistinct(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual']);
        $ids = [$sse->every(1, 'is_object'), $sse->after(1, 'is_object'), $sse->every(2, 'is_object')];

        self::assertCount(3, array_unique($ids));
    }

    public function testCancelOutsideACallback(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 5]);
        $log = [];
        $gone = $sse->every(1, self::logger($log, 'cancelled'));
        $once = $sse->after(2, self::logger($log, 'cancelled once'));
        $sse->after(3, self::logger($log, 'kept'));
        $sse->cancel($gone);
        $sse->cancel($once);

        Output::capture(static fn () => $sse->run());

        self::assertSame(['3 kept'], $log);
    }

    public function testCancelBetweenSleeps(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $log = [];
        $id = $sse->every(1, self::logger($log, 't'));

        Output::capture(static function () use ($sse, $id): void {
            $sse->sleep(2.5);
            $sse->cancel($id);
            $sse->sleep(5);
        });

        self::assertSame(['1 t', '2 t'], $log);
    }

    public function testATimerCancelsItselfInItsCallback(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 10]);
        $calls = 0;
        $id = null;
        $id = $sse->every(1, static function (SseEmitter $sse) use (&$calls, &$id): void {
            if (++$calls === 3) {
                $sse->cancel($id);
            }
        });

        Output::capture(static fn () => $sse->run());

        self::assertSame(3, $calls);
    }

    public function testACallbackCancelsAnotherTimer(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 10]);
        $log = [];
        $victim = $sse->every(1.5, self::logger($log, 'victim'));
        $sse->after(2, static function (SseEmitter $sse) use (&$log, $victim): void {
            $log[] = $sse->elapsed() . ' cancel';
            $sse->cancel($victim);
        });

        Output::capture(static fn () => $sse->run());

        self::assertSame(['1.5 victim', '2 cancel'], $log);
    }

    public function testACallbackArmsANewTimer(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 10]);
        $log = [];
        $sse->after(2, static function (SseEmitter $sse) use (&$log): void {
            $log[] = $sse->elapsed() . ' first';
            $sse->after(3, self::logger($log, 'second'));
        });

        Output::capture(static fn () => $sse->run());

        self::assertSame(['2 first', '5 second'], $log);
    }

    public function testCancellingUnknownIdsIsIgnored(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 2]);
        $log = [];
        $sse->every(1, self::logger($log, 't'));
        $sse->cancel(12345);
        $sse->cancel(-1);
        $sse->cancel(0);

        Output::capture(static fn () => $sse->run());

        self::assertSame(['1 t', '2 t'], $log);
    }

    /**
     * @param list<string> $log
     * @return \Closure(SseEmitter): void
     */
    private static function logger(array &$log, string $label): \Closure
    {
        return static function (SseEmitter $sse) use (&$log, $label): void {
            $log[] = $sse->elapsed() . ' ' . $label;
        };
    }
}
