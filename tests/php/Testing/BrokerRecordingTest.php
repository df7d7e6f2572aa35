<?php

declare(strict_types=1);

namespace Sse\Tests\Testing;

use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\SseEmitter;
use Sse\Testing\EventStreamRecorder;
use Sse\Tests\Support\LastEventIdIsolation;

/**
 * A stream subscribed to a `memory` broker, recorded on the virtual clock: the test publishes
 * from timers (`$sse->after(...)`), as requests would while the stream is open, and asserts
 * what the stream wrote, ids included.
 */
final class BrokerRecordingTest extends TestCase
{
    use LastEventIdIsolation;

    public function testEventsPublishedWhileTheStreamRunsAreWrittenInOrderWithTheBrokersIds(): void
    {
        $broker = new Broker('memory');
        $ids = [];
        $stream = EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker, &$ids): void {
            $sse->subscribe(['orders', 'news'], $broker);
            $sse->after(1, static function () use ($broker, &$ids): void {
                $ids[] = $broker->publish('orders', ['event' => 'shipped', 'data' => ['order' => 1]]);
                $ids[] = $broker->publish(['news', 'orders'], ['event' => 'headline', 'data' => 'both topics, once']);
            });
            $sse->after(2, static function () use ($broker): void {
                $broker->publish('weather', ['event' => 'forecast', 'data' => 'not subscribed']);
            });
            $sse->after(3, static function () use ($broker, &$ids): void {
                $ids[] = $broker->publish('news', ['event' => 'headline', 'data' => 'last']);
            });
            $sse->after(4, static fn (SseEmitter $sse) => $sse->close());
        }, ['heartbeat' => 0]);

        $stream->assertSentCount(3)
            ->assertNotSent('forecast')
            ->assertSentData('shipped', ['order' => 1])
            ->assertLastEventId($ids[2])
            ->assertClosed();
        self::assertSame(
            [['shipped', '{"order":1}', $ids[0]], ['headline', 'both topics, once', $ids[1]], ['headline', 'last', $ids[2]]],
            array_map(static fn (array $e) => [$e['event'], $e['data'], $e['id']], $stream->events()),
        );
    }

    public function testASubscribedCallbackNeedsNoRunCall(): void
    {
        // Nothing but subscribe(): the recorder (like response()->sse()) still serves the stream,
        // here until the recorder's virtual limit, since nothing else ends it.
        $broker = new Broker('memory');
        $before = $broker->publish('news', ['data' => 'missed, no Last-Event-ID']);
        $stream = EventStreamRecorder::record(
            static fn (SseEmitter $sse) => $sse->subscribe('news', $broker),
            ['heartbeat' => 0],
        );
        $stream->assertNothingSent()->assertClosed();
        self::assertNotSame('', $before);

        $live = EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker): void {
            $sse->subscribe('news', $broker);
            $sse->after(5, static fn () => $broker->publish('news', ['event' => 'live', 'data' => '1']));
        }, ['heartbeat' => 0]);
        $live->assertSentCount(1, 'live')->assertSentCount(1)->assertClosed();
    }

    public function testAReconnectingClientGetsWhatItMissedThenLiveEvents(): void
    {
        $broker = new Broker('memory');
        $seen = $broker->publish('news', ['event' => 'n', 'data' => '1']);
        $broker->publish('news', ['event' => 'n', 'data' => '2']);
        $broker->publish('other', ['event' => 'n', 'data' => 'elsewhere']);
        $broker->publish('news', ['event' => 'n', 'data' => '3']);

        $_SERVER['HTTP_LAST_EVENT_ID'] = $seen;
        $stream = EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker): void {
            $sse->subscribe('news', $broker);
            $sse->after(1, static fn () => $broker->publish('news', ['event' => 'n', 'data' => '4']));
            $sse->after(2, static fn (SseEmitter $sse) => $sse->close());
        }, ['heartbeat' => 0]);

        self::assertSame(['2', '3', '4'], array_column($stream->events(), 'data'));
        $stream->assertNotSent('sse-reset')->assertLastEventId($broker->lastEventId());
    }

    public function testAnIdTheBrokerNeverIssuedGetsAResetFirst(): void
    {
        $broker = new Broker('memory');
        $_SERVER['HTTP_LAST_EVENT_ID'] = 'not-an-id-of-this-broker';
        $stream = EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker): void {
            $sse->subscribe('news', $broker);
            $sse->after(1, static fn () => $broker->publish('news', ['event' => 'n', 'data' => 'after the reset']));
            $sse->after(2, static fn (SseEmitter $sse) => $sse->close());
        }, ['heartbeat' => 0]);

        self::assertSame(['sse-reset', 'n'], array_column($stream->events(), 'event'));
        $stream->assertSentData('sse-reset', ['reason' => 'unknown-id']);
    }
}
