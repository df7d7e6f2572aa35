<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;
use Sse\Tests\Support\Output;

/** How a stream ends: close(), maxDuration or a callback that throws; onClose runs once. */
final class LifecycleTest extends TestCase
{
    public function testMaxDurationEndsWithTheRetryFrame(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'retry' => 3000, 'heartbeat' => 0, 'maxDuration' => 5]);
        $sse->after(1, static fn (SseEmitter $sse) => $sse->send('one'));

        $out = Output::capture(static fn () => $sse->run());

        // The final retry tells the client when to come back for the next stream.
        self::assertSame("retry: 3000\n\ndata: one\n\nretry: 3000\n\n", $out);
        self::assertTrue($sse->isClosed());
        self::assertSame(5.0, $sse->elapsed());
    }

    public function testMaxDurationWithoutRetryEndsQuietly(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 5]);
        $sse->after(1, static fn (SseEmitter $sse) => $sse->send('one'));

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame("data: one\n\n", $out);
        self::assertTrue($sse->isClosed());
    }

    /** A tick due at maxDuration is part of the stream: it fires, then the stream ends. */
    public function testATimerDueAtMaxDurationFiresBeforeTheEnd(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'retry' => 1, 'heartbeat' => 0, 'maxDuration' => 4]);
        $times = [];
        $sse->every(2, static function (SseEmitter $sse) use (&$times): void {
            $times[] = $sse->elapsed();
            $sse->send((string) $sse->elapsed());
        });

        $out = Output::capture(static fn () => $sse->run());

        self::assertSame([2.0, 4.0], $times);
        self::assertSame("retry: 1\n\ndata: 2\n\ndata: 4\n\nretry: 1\n\n", $out, 'the last tick precedes the closing retry');
    }

    public function testOnCloseRunsOnceOnClose(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $calls = [];
        $returned = $sse->onClose(static function (...$args) use (&$calls): void {
            $calls[] = $args;
        });

        Output::capture(static function () use ($sse): void {
            $sse->send('x');
            $sse->close();
            $sse->close();
            self::assertFalse($sse->sleep(1), 'sleep() on a closed stream');
        });

        self::assertSame($sse, $returned, 'onClose() chains');
        self::assertCount(1, $calls);
        self::assertSame([$sse], $calls[0]);
    }

    public function testRunAfterCloseIsMisuse(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $sse->close();

        $this->expectException(\Sse\SseException::class);
        $this->expectExceptionMessage('the stream is closed');
        $sse->run();
    }

    public function testOnCloseRunsOnceWhenACallbackCloses(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $closed = 0;
        $sse->onClose(static function () use (&$closed): void {
            $closed++;
        });
        $ticks = 0;
        $sse->every(1, static function (SseEmitter $sse) use (&$ticks): void {
            if (++$ticks === 3) {
                $sse->close();
            }
        });

        Output::capture(static fn () => $sse->run());

        self::assertSame(3, $ticks, 'no tick after close()');
        self::assertSame(1, $closed);
        self::assertTrue($sse->isClosed());
    }

    public function testOnCloseRunsOnceAtMaxDurationAfterTheRetryFrame(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'retry' => 10, 'heartbeat' => 0, 'maxDuration' => 2]);
        $seen = [];
        $sse->onClose(static function (SseEmitter $sse) use (&$seen): void {
            $seen[] = [ob_get_contents(), $sse->elapsed(), $sse->isClosed()];
        });

        Output::capture(static fn () => $sse->run());

        self::assertSame([["retry: 10\n\nretry: 10\n\n", 2.0, true]], $seen);
    }

    public function testOnCloseCallbacksRunInOrder(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $order = [];
        $sse->onClose(static function () use (&$order): void {
            $order[] = 'first';
        })->onClose(static function () use (&$order): void {
            $order[] = 'second';
        });

        Output::capture(static fn () => $sse->close());

        self::assertSame(['first', 'second'], $order);
    }

    public function testACallbackThatThrowsEndsTheStreamAndTheExceptionComesOutOfRun(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 60]);
        $closed = 0;
        $sse->onClose(static function () use (&$closed): void {
            $closed++;
        });
        $ticks = 0;
        $sse->every(1, static function (SseEmitter $sse) use (&$ticks): void {
            $sse->send('tick ' . ++$ticks);
            if ($ticks === 2) {
                throw new \DomainException('the feed is gone', 42);
            }
        });

        [$out, $thrown] = Output::captureThrown(static fn () => $sse->run());

        self::assertInstanceOf(\DomainException::class, $thrown);
        self::assertSame('the feed is gone', $thrown->getMessage());
        self::assertSame(42, $thrown->getCode());
        self::assertNull($thrown->getPrevious(), 'passed on, not wrapped');
        self::assertSame(__FILE__, $thrown->getFile());
        self::assertSame("data: tick 1\n\ndata: tick 2\n\n", $out);
        self::assertTrue($sse->isClosed());
        self::assertSame(1, $closed);
        self::assertSame(2, $ticks);
    }

    public function testAnErrorFromACallbackKeepsItsClass(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $sse->after(1, static function (): void {
            throw new \TypeError('not the right type');
        });

        [, $thrown] = Output::captureThrown(static fn () => $sse->run());

        self::assertInstanceOf(\TypeError::class, $thrown);
        self::assertSame('not the right type', $thrown->getMessage());
        self::assertTrue($sse->isClosed());
    }

    public function testAnExceptionFromACallbackComesOutOfSleep(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $closed = false;
        $sse->onClose(static function () use (&$closed): void {
            $closed = true;
        });
        $sse->after(1, static function (): void {
            throw new \LogicException('in sleep');
        });

        [, $thrown] = Output::captureThrown(static fn () => $sse->sleep(5));

        self::assertInstanceOf(\LogicException::class, $thrown);
        self::assertSame('in sleep', $thrown->getMessage());
        self::assertTrue($closed);
        self::assertTrue($sse->isClosed());
    }

    public function testOnCloseCannotSendWhileTheExceptionIsOnItsWay(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $state = null;
        $sse->onClose(static function (SseEmitter $sse) use (&$state): void {
            $state = [$sse->isClosed(), $sse->isConnected()];
        });
        $sse->after(1, static function (): void {
            throw new \RuntimeException('original');
        });

        [$out, $thrown] = Output::captureThrown(static fn () => $sse->run());

        self::assertSame([true, false], $state);
        self::assertSame('', $out);
        self::assertInstanceOf(\RuntimeException::class, $thrown);
        self::assertSame('original', $thrown->getMessage());
    }

    /**
     * An onClose callback is ordinary PHP code: a try/catch inside it must not swallow the
     * exception that ended the stream. (PHP's catch consumes an exception put aside with
     * zend_exception_save(); destructors keep the pending one in a local instead.)
     */
    public function testAnOnCloseCallbackThatCatchesKeepsTheOriginalException(): void
    {
        self::assertOnCloseKeepsTheOriginalException(static function (SseEmitter $sse): void {
            try {
                $sse->send('too late');
            } catch (\Sse\SseException) {
                // expected: the stream is closed
            }
        });
    }

    public function testAnOnCloseCallbackWithAPlainTryCatchKeepsTheOriginalException(): void
    {
        self::assertOnCloseKeepsTheOriginalException(static function (): void {
            try {
                throw new \Exception('handled inside onClose');
            } catch (\Exception) {
            }
        });
    }

    /** A stream with `$onClose` ended by a timer that throws: that exception reaches the caller. */
    private static function assertOnCloseKeepsTheOriginalException(callable $onClose): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $sse->onClose($onClose);
        $sse->after(1, static function (): void {
            throw new \RuntimeException('original');
        });

        [, $thrown] = Output::captureThrown(static fn () => $sse->run());

        self::assertSame(
            [\RuntimeException::class, 'original'],
            [$thrown::class, $thrown->getMessage()],
            'BUG in ext-sse: the exception that ended the stream was lost while onClose ran',
        );
    }

    /**
     * "Run once when the stream ends, for whatever reason": a loop of send() and sleep() that
     * simply stops (or a request that ends) also ends the stream.
     */
    public function testOnCloseRunsWhenAStartedStreamIsDestroyed(): void
    {
        $closed = 0;
        $out = Output::capture(static function () use (&$closed): void {
            $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
            $sse->onClose(static function () use (&$closed): void {
                $closed++;
            });
            $sse->send('only');
            unset($sse);
        });

        self::assertSame("data: only\n\n", $out);
        self::assertSame(1, $closed, 'BUG in ext-sse: onClose never ran for a stream that was dropped without close()');
    }

    public function testRunWithNothingScheduledOnTheVirtualClockEnds(): void
    {
        // Nothing can ever happen: waiting forever would hang the test suite.
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
        $closed = false;
        $sse->onClose(static function () use (&$closed): void {
            $closed = true;
        });

        Output::capture(static fn () => $sse->run());

        self::assertTrue($sse->isClosed());
        self::assertTrue($closed);
    }
}
