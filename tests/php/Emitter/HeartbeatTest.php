<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;
use Sse\Tests\Support\Output;

/** A heartbeat is a comment frame written only after `heartbeat` seconds without any write. */
final class HeartbeatTest extends TestCase
{
    private const BEAT = ": \n\n";

    public function testAnIdleStreamBeatsEveryPeriod(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 15, 'maxDuration' => 60]);

        $out = Output::capture(static fn () => $sse->run());

        // 15, 30 and 45; at 60 the stream ends instead.
        self::assertSame(str_repeat(self::BEAT, 3), $out);
    }

    public function testNoBeatBeforeThePeriodOfSilence(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 15]);
        $beats = [];
        $out = Output::capture(static function () use ($sse, &$beats): void {
            $sse->start();
            $sse->sleep(14.999);
            $beats[] = ob_get_length();
            $sse->sleep(0.001);
            $beats[] = ob_get_length();
        });

        self::assertSame([0, strlen(self::BEAT)], $beats);
        self::assertSame(self::BEAT, $out);
    }

    public function testASendResetsTheSilence(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 15]);
        $out = Output::capture(static function () use ($sse): void {
            $sse->start();
            $sse->sleep(10);
            $sse->send('at 10');
            $sse->sleep(14.9); // 24.9: no beat at 15, the next is due at 25
            $sse->comment('at 24.9');
            $sse->sleep(15); // 39.9: beat at 39.9
        });

        self::assertSame("data: at 10\n\n: at 24.9\n\n" . self::BEAT, $out);
    }

    public function testATimerThatSendsKeepsHeartbeatsAway(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 15, 'maxDuration' => 120]);
        $sse->every(10, static fn (SseEmitter $sse) => $sse->send((string) $sse->elapsed()));

        $out = Output::capture(static fn () => $sse->run());

        self::assertStringNotContainsString(self::BEAT, $out);
        self::assertSame(12, substr_count($out, 'data: '), '10, 20, ... 120: a tick due at maxDuration still fires');
    }

    public function testATimerThatSendsOnlyResetsTheCount(): void
    {
        // Writes at 20, 40 and 60 (due at maxDuration, so it fires); beats after 15 s of
        // silence each time: 15, 35, 55.
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 15, 'maxDuration' => 60]);
        $sse->every(20, static fn (SseEmitter $sse) => $sse->send((string) $sse->elapsed()));

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame(self::BEAT . "data: 20\n\n" . self::BEAT . "data: 40\n\n" . self::BEAT . "data: 60\n\n", $out);
    }

    public function testASilentTimerDoesNotResetIt(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 15, 'maxDuration' => 50]);
        $calls = 0;
        $sse->every(4, static function () use (&$calls): void {
            $calls++;
        });

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame(12, $calls);
        self::assertSame(str_repeat(self::BEAT, 3), $out, '15, 30, 45');
    }

    public function testZeroTurnsHeartbeatsOff(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 3600]);
        $sse->every(60, 'is_object');

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame('', $out);
    }

    public function testTheDefaultIsFifteenSeconds(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'maxDuration' => 31]);

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame(str_repeat(self::BEAT, 2), $out);
    }
}
