<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;
use Sse\Tests\Support\Output;

/**
 * Callbacks call back into the emitter that runs them. None of this may trip the extension's
 * own state (a Rust borrow held across a callback shows up as an \Error "Rust panic").
 */
final class ReentrancyTest extends TestCase
{
    public function testSleepInsideACallbackServesTheOtherTimers(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 5]);
        $log = [];
        $sse->every(1, static function (SseEmitter $sse) use (&$log): void {
            $log[] = $sse->elapsed();
            if (count($log) === 1) {
                self::assertTrue($sse->sleep(2.5));
            }
        });

        Output::capture(static fn () => $sse->run());

        self::assertSame([1.0, 2.0, 3.0, 4.0, 5.0], $log);
    }

    public function testEverythingACallbackMayDoToItsEmitter(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'retry' => 7, 'heartbeat' => 0, 'maxDuration' => 10]);
        $seen = [];
        $sse->after(1, static function (SseEmitter $sse) use (&$seen): void {
            $seen[] = [$sse->isStarted(), $sse->isClosed(), $sse->isConnected()];
            $sse->start();
            $sse->comment('inside');
            $id = $sse->every(1, static fn (SseEmitter $sse) => $sse->send('tick'));
            $sse->after(2.5, static fn (SseEmitter $sse) => $sse->cancel($id));
            $sse->onClose(static function (SseEmitter $sse) use (&$seen): void {
                $seen[] = 'closed at ' . $sse->elapsed();
            });
            $seen[] = $sse->headers()['X-Accel-Buffering'];
            $seen[] = $sse->lastEventId();
        });
        $sse->after(6, static fn (SseEmitter $sse) => $sse->close());

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame([[true, false, true], 'no', null, 'closed at 6'], $seen);
        self::assertSame("retry: 7\n\n: inside\n\ndata: tick\n\ndata: tick\n\n", $out);
    }

    public function testANestedRunEndsWithTheStream(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 3]);
        $calls = 0;
        $sse->every(1, static function (SseEmitter $sse) use (&$calls): void {
            if (++$calls === 1) {
                $sse->run();
            }
        });

        Output::capture(static fn () => $sse->run());

        self::assertSame(3, $calls);
        self::assertTrue($sse->isClosed());
    }

    public function testTheCallerDropsItsVariableInsideACallback(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 3]);
        $calls = 0;
        $sse->every(1, static function () use (&$sse, &$calls): void {
            $calls++;
            $sse = null;
        });

        Output::capture(static fn () => $sse->run());

        self::assertSame(3, $calls);
    }
}
