<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\EventStreamParser;
use Sse\SseEmitter;
use Sse\Tests\Support\Output;

/**
 * The virtual clock jumps straight to the next deadline, so long schedules run in no time and
 * give the sequence of events real time would give.
 */
final class VirtualClockTest extends TestCase
{
    public function testSleepAdvancesElapsedAndDispatchesDueTimers(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $ticks = [];
        $sse->every(1, static function (SseEmitter $sse) use (&$ticks): void {
            $ticks[] = $sse->elapsed();
        });
        $results = [];

        Output::capture(static function () use ($sse, &$results): void {
            $results[] = $sse->sleep(3.5);
            $results[] = $sse->elapsed();
            $results[] = $sse->sleep(0);
            $results[] = $sse->sleep(0.5);
        });

        self::assertSame([true, 3.5, true, true], $results);
        self::assertSame([1.0, 2.0, 3.0, 4.0], $ticks);
        self::assertSame(4.0, $sse->elapsed());
    }

    public function testSleepStartsTheStream(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'retry' => 100, 'heartbeat' => 0]);

        $out = Output::capture(static fn () => $sse->sleep(1));

        self::assertTrue($sse->isStarted());
        self::assertSame("retry: 100\n\n", $out);
    }

    public function testSleepIsFalseOnceTheStreamEnded(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 2]);
        $results = [];

        Output::capture(static function () use ($sse, &$results): void {
            $results[] = $sse->sleep(1);
            $results[] = $sse->sleep(5);
            $results[] = $sse->sleep(1);
        });

        self::assertSame([true, false, false], $results);
        self::assertSame(2.0, $sse->elapsed(), 'the clock stopped at maxDuration');
    }

    public function testTheVirtualClockStandsStillOutsideWaits(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual']);
        usleep(20000);

        self::assertSame(0.0, $sse->elapsed());
    }

    /**
     * A tick every 15 s for 10 minutes: the first 20 ticks send, the rest stay silent, so the
     * second half is kept alive by heartbeats (each due at the same instant as a tick, after it).
     */
    public function testTenMinutesOfTicksRunInMilliseconds(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'retry' => 5000, 'heartbeat' => 15, 'maxDuration' => 600]);
        $ticks = 0;
        $sse->every(15, static function (SseEmitter $sse) use (&$ticks): void {
            if (++$ticks <= 20) {
                $sse->send(['event' => 'tick', 'data' => (string) $sse->elapsed(), 'id' => (string) $ticks]);
            }
        });

        $wall = hrtime(true);
        $out = Output::capture(static fn () => $sse->run());
        $wall = (hrtime(true) - $wall) / 1e9;

        $expected = "retry: 5000\n\n";
        for ($i = 1; $i <= 20; $i++) {
            $expected .= "event: tick\nid: $i\ndata: " . ($i * 15) . "\n\n";
        }
        // 315, 330, ... 585; at 600 the silent tick fires and the stream ends, no beat.
        $expected .= str_repeat(": \n\n", 19);
        $expected .= "retry: 5000\n\n";
        self::assertSame($expected, $out);
        self::assertSame(40, $ticks, '15 .. 600: a tick due at maxDuration still fires');
        self::assertSame(600.0, $sse->elapsed());
        self::assertCount(20, EventStreamParser::parse($out));
        // Ten minutes of schedule; a generous bound that only a real wait would break.
        self::assertLessThan(5.0, $wall, 'the virtual clock did not wait for real');
    }

    public function testTenMinutesOfSendingTicksNeedNoHeartbeat(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 15, 'maxDuration' => 600]);
        $sse->every(15, static fn (SseEmitter $sse) => $sse->send('tick'));

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame(str_repeat("data: tick\n\n", 40), $out);
    }

    /**
     * The same short schedule on both clocks gives the same events in the same order. The
     * last tick (0.30 s) is 45 ms before maxDuration, so a loaded machine does not lose it.
     */
    public function testVirtualAndRealClocksGiveTheSameSequence(): void
    {
        $virtual = self::shortSchedule('virtual');
        $real = self::shortSchedule('real');

        self::assertSame(
            ['tick', 'tick', 'once', 'tick', 'tick', 'tick', 'tick', 'close'],
            $virtual,
        );
        self::assertSame($virtual, $real);
    }

    /** @return list<string> */
    private static function shortSchedule(string $clock): array
    {
        $sse = new SseEmitter(['clock' => $clock, 'heartbeat' => 0, 'maxDuration' => 0.345]);
        $sse->every(0.05, static fn (SseEmitter $sse) => $sse->send(['event' => 'tick', 'data' => '.']));
        $sse->after(0.12, static fn (SseEmitter $sse) => $sse->send(['event' => 'once', 'data' => '.']));
        $sse->onClose(static fn (SseEmitter $sse) => print("event: close\ndata: .\n\n"));

        $out = Output::capture(static fn () => $sse->run());

        return array_column(EventStreamParser::parse($out), 'event');
    }
}
