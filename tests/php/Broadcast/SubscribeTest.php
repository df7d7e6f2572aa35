<?php

declare(strict_types=1);

namespace Sse\Tests\Broadcast;

use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\SseEmitter;
use Sse\SseException;
use Sse\Testing\EventStreamRecorder;
use Sse\Testing\RecordedStream;
use Sse\Tests\Support\LastEventIdIsolation;

/**
 * subscribe() on the virtual clock with a `memory` broker: order, ids, topics, resuming with
 * Last-Event-ID and the sse-reset event. Every test counts what the stream wrote.
 */
final class SubscribeTest extends TestCase
{
    use LastEventIdIsolation;

    /** A stream subscribed to $topics while $publish runs one second into it. */
    private static function stream(Broker $broker, array|string $topics, callable $publish, array $options = []): RecordedStream
    {
        return EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker, $topics, $publish): void {
            $sse->subscribe($topics, $broker);
            $sse->after(1, static fn () => $publish($broker));
            $sse->run();
        }, $options + ['maxDuration' => 10]);
    }

    public function testWritesEveryEventOfItsTopicsInPublishOrderWithTheBrokersIds(): void
    {
        $broker = new Broker('memory');
        $ids = [];
        $stream = self::stream($broker, ['orders', 'chat'], static function (Broker $broker) use (&$ids): void {
            for ($i = 0; $i < 50; $i++) {
                $ids[] = $broker->publish($i % 3 === 2 ? 'other' : ($i % 2 ? 'chat' : 'orders'), ['event' => 'n', 'data' => (string) $i]);
            }
        });
        $expected = array_values(array_filter(range(0, 49), static fn (int $i) => $i % 3 !== 2));
        $events = $stream->eventsOf('n');
        self::assertSame(array_map('strval', $expected), array_column($events, 'data'));
        self::assertSame(array_map(static fn (int $i) => $ids[$i], $expected), array_column($events, 'id'));
        $stream->assertNotSent('sse-reset')->assertClosed();
    }

    public function testAnInboxThatOverflowedCatchesUpFromTheLogEveryEventOnceInOrder(): void
    {
        // 3,000 events published in one timer callback: the stream's inbox (1,024 events)
        // overflows while the callback runs, and the stream reads the rest back from the log.
        $broker = new Broker('memory');
        $ids = [];
        $stream = self::stream($broker, 'burst', static function (Broker $broker) use (&$ids): void {
            for ($i = 0; $i < 3000; $i++) {
                $ids[] = $broker->publish('burst', ['event' => 'n', 'data' => (string) $i]);
            }
        });
        $events = $stream->eventsOf('n');
        self::assertCount(3000, $events);
        self::assertSame(array_map('strval', range(0, 2999)), array_column($events, 'data'));
        self::assertSame($ids, array_column($events, 'id'));
        $stream->assertNotSent('sse-reset')->assertClosed();
    }

    public function testAnEventForSeveralSubscribedTopicsIsWrittenOnce(): void
    {
        $broker = new Broker('memory');
        $stream = self::stream($broker, ['a', 'b'], static fn (Broker $b) => $b->publish(['a', 'b', 'c'], 'once'));
        $stream->assertSentCount(1);
    }

    public function testEventsPublishedBeforeSubscribingAreNotWrittenWithoutALastEventId(): void
    {
        $broker = new Broker('memory');
        $broker->publish('t', 'old');
        $stream = self::stream($broker, 't', static fn (Broker $b) => $b->publish('t', 'new'));
        self::assertSame(['new'], array_column($stream->events(), 'data'));
    }

    public function testResumesAfterTheLastEventIdWithExactlyTheMissedEvents(): void
    {
        $broker = new Broker('memory');
        $ids = [];
        for ($i = 0; $i < 30; $i++) {
            $ids[] = $broker->publish($i % 2 ? 'mine' : 'theirs', (string) $i);
        }
        $_SERVER['HTTP_LAST_EVENT_ID'] = $ids[9];
        $stream = self::stream($broker, 'mine', static fn (Broker $b) => $b->publish('mine', 'live'));
        $missed = array_map('strval', array_values(array_filter(range(10, 29), static fn (int $i) => $i % 2 === 1)));
        self::assertSame([...$missed, 'live'], array_column($stream->events(), 'data'));
        $stream->assertNotSent('sse-reset');
    }

    public function testAnIdFromAnotherBrokerGetsAResetThenLiveEvents(): void
    {
        $other = new Broker('local://' . sys_get_temp_dir() . '/sse-subscribe-other-' . getmypid());
        $_SERVER['HTTP_LAST_EVENT_ID'] = $other->publish('t', 'x');
        $broker = new Broker('memory');
        $broker->publish('t', 'before');
        $stream = self::stream($broker, 't', static fn (Broker $b) => $b->publish('t', 'live'));
        $events = $stream->events();
        self::assertCount(2, $events);
        self::assertSame(['sse-reset', '{"reason":"unknown-id"}'], [$events[0]['event'], $events[0]['data']]);
        self::assertSame('live', $events[1]['data']);
        // The reset's id resumes from where it was sent: nothing is replayed twice.
        self::assertSame($broker->lastEventId(), $events[1]['id']);
        self::assertNotSame($events[0]['id'], $events[1]['id']);
        exec('rm -rf ' . escapeshellarg(sys_get_temp_dir() . '/sse-subscribe-other-' . getmypid()));
    }

    public function testForgedIdsGetAReset(): void
    {
        $broker = new Broker('memory');
        $epoch = explode(':', $broker->publish('t', 'x'))[0];
        foreach (['42', "$epoch:999999", 'zzzzzzzzzzzz:1', "$epoch:-1", "$epoch:1:2"] as $forged) {
            $_SERVER['HTTP_LAST_EVENT_ID'] = $forged;
            $stream = self::stream($broker, 't', static fn (Broker $b) => $b->publish('t', 'live'));
            self::assertSame(['sse-reset', 'message'], array_column($stream->events(), 'event'), $forged);
            self::assertSame('{"reason":"unknown-id"}', $stream->events()[0]['data'], $forged);
        }
    }

    public function testAnIdOlderThanTheHistoryGetsAResetThenLiveEvents(): void
    {
        $broker = new Broker('memory', ['history' => 5]);
        $first = $broker->publish('t', '0');
        for ($i = 1; $i < 20; $i++) {
            $broker->publish('t', (string) $i);
        }
        $_SERVER['HTTP_LAST_EVENT_ID'] = $first;
        $stream = self::stream($broker, 't', static fn (Broker $b) => $b->publish('t', 'live'));
        self::assertSame(['sse-reset', 'message'], array_column($stream->events(), 'event'));
        self::assertSame(['{"reason":"history-lost"}', 'live'], array_column($stream->events(), 'data'));
    }

    public function testAnIdWithinTheHistoryResumesWithoutReset(): void
    {
        $broker = new Broker('memory', ['history' => 5]);
        $ids = [];
        for ($i = 0; $i < 20; $i++) {
            $ids[] = $broker->publish('t', (string) $i);
        }
        $_SERVER['HTTP_LAST_EVENT_ID'] = $ids[15];
        $stream = self::stream($broker, 't', static fn (Broker $b) => null);
        self::assertSame(['16', '17', '18', '19'], array_column($stream->events(), 'data'));
    }

    public function testTimersHeartbeatsAndMaxDurationKeepWorking(): void
    {
        $broker = new Broker('memory');
        $stream = EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker): void {
            $sse->subscribe('t', $broker);
            $sse->every(10, static fn (SseEmitter $sse) => $sse->send(['event' => 'tick', 'data' => 'x']));
            $sse->every(25, static fn () => $broker->publish('t', ['event' => 'news', 'data' => 'y']));
        }, ['maxDuration' => 100, 'heartbeat' => 3, 'retry' => 500]);
        $stream->assertSentCount(10, 'tick')->assertSentCount(4, 'news')->assertRetry(500)->assertClosed();
        self::assertGreaterThan(0, count($stream->comments()));
    }

    public function testSubscribingTwiceOrAfterCloseIsRefused(): void
    {
        $broker = new Broker('memory');
        $sse = new SseEmitter(['clock' => 'virtual']);
        $sse->subscribe('a', $broker);
        try {
            $sse->subscribe('b', $broker);
            self::fail('no exception');
        } catch (SseException $e) {
            self::assertSame('Cannot subscribe twice: pass every topic to one subscribe() call', $e->getMessage());
        }
        $closed = new SseEmitter(['clock' => 'virtual']);
        $closed->close();
        $this->expectException(SseException::class);
        $this->expectExceptionMessage('Cannot subscribe: the stream is closed');
        $closed->subscribe('a', $broker);
    }

    public function testBadTopicsAreRefusedBeforeAnythingIsSent(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual']);
        try {
            $sse->subscribe(["ok", "bad\r"], new Broker('memory'));
            self::fail('no exception');
        } catch (\InvalidArgumentException $e) {
            self::assertStringContainsString('U+000D', $e->getMessage());
        }
        self::assertFalse($sse->isStarted());
    }
}
