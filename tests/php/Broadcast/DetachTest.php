<?php

declare(strict_types=1);

namespace Sse\Tests\Broadcast;

use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\SseEmitter;
use Sse\SseException;
use Sse\Testing\EventStreamRecorder;

/**
 * detach() outside php-fpm: the same code serves the stream in the worker, as run() would,
 * and returns false. And what can never be detached: a stream with PHP code to run.
 */
final class DetachTest extends TestCase
{
    public function testOutsidePhpFpmTheStreamIsServedHereAndDetachReturnsFalse(): void
    {
        $broker = new Broker('memory');
        $returned = null;
        $stream = EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker, &$returned): void {
            $sse->subscribe('news', $broker);
            // Published from outside the stream (no PHP code of the stream runs when detached).
            $broker->publish('news', 'before');
            $returned = $sse->detach();
        }, ['maxDuration' => 30, 'heartbeat' => 10, 'retry' => 1500]);
        self::assertFalse($returned);
        self::assertSame(['before'], array_column($stream->events(), 'data'));
        $stream->assertRetry(1500)->assertCommentCount(2)->assertClosed();
    }

    public function testTheCatchUpIsWrittenBeforeTheStreamIsHandedOver(): void
    {
        $broker = new Broker('memory');
        $ids = [$broker->publish('news', 'one'), $broker->publish('news', 'two'), $broker->publish('news', 'three')];
        $server = $_SERVER;
        $_SERVER['HTTP_LAST_EVENT_ID'] = $ids[0];
        try {
            $stream = EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker): void {
                $sse->subscribe('news', $broker)->detach();
            }, ['maxDuration' => 5]);
        } finally {
            $_SERVER = $server;
        }
        self::assertSame(['two', 'three'], array_column($stream->events(), 'data'));
        self::assertSame([$ids[1], $ids[2]], array_column($stream->events(), 'id'));
    }

    public function testAStreamWithPhpTimersRefusesToDetach(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual']);
        $sse->every(1, static fn () => null);
        $this->expectException(SseException::class);
        $this->expectExceptionMessage('Cannot detach: the stream has PHP timers (every(), after()), and a detached stream runs no PHP code');
        $sse->detach();
    }

    public function testAStreamWithOnCloseCallbacksRefusesToDetach(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual']);
        $sse->onClose(static fn () => null);
        try {
            $sse->detach();
            self::fail('no exception');
        } catch (SseException $e) {
            self::assertStringStartsWith('Cannot detach: the stream has onClose callbacks', $e->getMessage());
        }
        self::assertFalse($sse->isStarted(), 'nothing was sent');
    }

    public function testAClosedStreamCannotDetach(): void
    {
        $sse = new SseEmitter(['clock' => 'virtual']);
        $sse->close();
        $this->expectException(SseException::class);
        $this->expectExceptionMessage('Cannot detach: the stream is closed');
        $sse->detach();
    }

    public function testStatsStartAtZeroOutsidePhpFpm(): void
    {
        self::assertSame(
            ['streams' => 0, 'events' => 0, 'bytesQueued' => 0, 'slowClientCloses' => 0, 'hangUps' => 0],
            SseEmitter::detachedStats(),
        );
    }

    public function testPhpinfoShowsTheBrokerSettingAndTheDetachedStreams(): void
    {
        ob_start();
        phpinfo(INFO_MODULES);
        $info = (string) ob_get_clean();
        self::assertMatchesRegularExpression('/broker \(sse\.broker\) => local/', $info);
        foreach (['detached streams open in this process', 'events written by detached streams', 'bytes queued for slow clients',
                  'detached streams closed as too slow', 'detached streams ended by hang-ups'] as $row) {
            self::assertStringContainsString("$row => 0", $info);
        }
    }
}
