<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;

/** Intervals must be finite and at least 1 ms; callbacks must be callable. */
final class TimerArgumentsTest extends TestCase
{
    /** @return iterable<string, array{string, float}> */
    public static function badIntervals(): iterable
    {
        foreach (['every', 'after'] as $method) {
            yield "$method(0)" => [$method, 0.0];
            yield "$method(INF)" => [$method, INF];
            yield "$method(NAN)" => [$method, NAN];
            yield "$method(-1)" => [$method, -1.0];
            yield "$method(0.0005)" => [$method, 0.0005];
        }
    }

    /** @dataProvider badIntervals */
    #[\PHPUnit\Framework\Attributes\DataProvider('badIntervals')]
    public function testABadIntervalIsRefused(string $method, float $seconds): void
    {
        $sse = new SseEmitter(['clock' => 'virtual']);
        try {
            $sse->$method($seconds, 'is_object');
        } catch (\InvalidArgumentException $e) {
            self::assertStringStartsWith('Invalid argument $seconds: ', $e->getMessage());

            return;
        }
        self::fail("$method($seconds) was accepted");
    }

    public function testOneMillisecondIsTheShortestInterval(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 0.0105]);
        $ticks = 0;
        $sse->every(0.001, static function () use (&$ticks): void {
            $ticks++;
        });
        ob_start();
        try {
            $sse->run();
        } finally {
            ob_end_clean();
        }

        self::assertSame(10, $ticks);
    }

    /** @return iterable<string, array{mixed}> */
    public static function notCallable(): iterable
    {
        yield 'unknown function' => ['no_such_function_anywhere'];
        yield 'plain string' => ['tick'];
        yield 'array without a method' => [[new \stdClass(), 'nope']];
        yield 'integer' => [42];
        yield 'null' => [null];
        yield 'object without __invoke' => [new \stdClass()];
    }

    /** @dataProvider notCallable */
    #[\PHPUnit\Framework\Attributes\DataProvider('notCallable')]
    public function testANonCallableIsRefusedByEvery(mixed $callback): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('Invalid argument $callback: must be callable');

        (new SseEmitter(['clock' => 'virtual']))->every(1, $callback);
    }

    /** @dataProvider notCallable */
    #[\PHPUnit\Framework\Attributes\DataProvider('notCallable')]
    public function testANonCallableIsRefusedByAfter(mixed $callback): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('Invalid argument $callback: must be callable');

        (new SseEmitter(['clock' => 'virtual']))->after(1, $callback);
    }

    /** @dataProvider notCallable */
    #[\PHPUnit\Framework\Attributes\DataProvider('notCallable')]
    public function testANonCallableIsRefusedByOnClose(mixed $callback): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('Invalid argument $callback: must be callable');

        (new SseEmitter(['clock' => 'virtual']))->onClose($callback);
    }

    /** @return iterable<string, array{float}> */
    public static function badSleeps(): iterable
    {
        yield 'negative' => [-1.0];
        yield 'INF' => [INF];
        yield 'NAN' => [NAN];
    }

    /** @dataProvider badSleeps */
    #[\PHPUnit\Framework\Attributes\DataProvider('badSleeps')]
    public function testABadSleepIsRefused(float $seconds): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('Invalid argument $seconds');

        (new SseEmitter(['clock' => 'virtual']))->sleep($seconds);
    }

    public function testARefusedTimerIsNotArmed(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual', 'heartbeat' => 0, 'maxDuration' => 5]);
        try {
            $sse->every(NAN, static function (): void {
                throw new \LogicException('a refused timer fired');
            });
        } catch (\InvalidArgumentException) {
        }
        ob_start();
        try {
            $sse->run();
        } finally {
            ob_end_clean();
        }

        self::assertSame(5.0, $sse->elapsed());
    }
}
