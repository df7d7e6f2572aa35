<?php

declare(strict_types=1);

namespace Sse\Tests\Testing;

use PHPUnit\Framework\TestCase;
use Sse\ServerSentEvents;
use Sse\SseEmitter;
use Sse\Testing\EventStreamRecorder;

/** EventStreamRecorder runs real SseEmitter streams in-process, on the virtual clock. */
final class EventStreamRecorderTest extends TestCase
{
    public function testRecordsWhatTheCallbackSends(): void
    {
        EventStreamRecorder::record(static function (SseEmitter $sse): void {
            $sse->send(['event' => 'greeting', 'data' => 'hello', 'id' => '1']);
            $sse->send(ServerSentEvents::message(['n' => 2], 'count', 2));
            $sse->send('just data');
            $sse->comment('note');
        })
            ->assertSentCount(3)
            ->assertSentData('greeting', 'hello')
            ->assertSentData('count', ['n' => 2])
            ->assertSentData('message', 'just data')
            ->assertLastEventId('2')
            ->assertCommentCount(1);
    }

    public function testHeadersAndOptionsComeFromTheEmitter(): void
    {
        EventStreamRecorder::record(static fn (SseEmitter $sse) => $sse->send('x'), [
            'retry' => 2000,
            'headers' => ['X-Stream' => 'demo'],
            'cors' => 'https://example.test',
        ])
            ->assertRetry(2000)
            ->assertHeader('Content-Type', 'text/event-stream; charset=utf-8')
            ->assertHeader('Cache-Control', 'no-cache, no-store, no-transform')
            ->assertHeader('X-Accel-Buffering', 'no')
            ->assertHeader('X-Stream', 'demo')
            ->assertHeader('Access-Control-Allow-Origin', 'https://example.test');
    }

    public function testAGeneratorIsSentAsItYields(): void
    {
        $answers = [];
        EventStreamRecorder::record(static function (SseEmitter $sse) use (&$answers): \Generator {
            $answers[] = yield ['event' => 'a', 'data' => '1'];
            $answers[] = yield ServerSentEvents::message('2', 'b');
            $answers[] = yield 'three';
        })
            ->assertSentCount(3)
            ->assertSentData('a', '1')
            ->assertSentData('b', '2')
            ->assertSentData('message', 'three');
        // Each yield evaluates to send()'s answer: the client is still there.
        self::assertSame([true, true, true], $answers);
    }

    public function testMinutesOfTimersRunInAnInstant(): void
    {
        // Ten minutes of a tick every 15 s: at 15, 30, ... 600 s (a tick due when maxDuration
        // is reached still fires), then the stream ends. Real time: milliseconds.
        EventStreamRecorder::record(static function (SseEmitter $sse): void {
            $sse->every(15, static fn (SseEmitter $sse) => $sse->send(['event' => 'tick', 'data' => sprintf('%.0f', $sse->elapsed())]));
        }, ['maxDuration' => 600, 'heartbeat' => 0])
            ->assertSentCount(40, 'tick')
            ->assertSentData('tick', '15')
            ->assertSentData('tick', '600')
            ->assertClosed();
    }

    public function testHeartbeatsFollowTheVirtualClock(): void
    {
        // Silence from 0 to 60 s with a 15 s heartbeat: comments at 15, 30 and 45 s.
        EventStreamRecorder::record(static function (SseEmitter $sse): void {
            $sse->after(60, static fn (SseEmitter $sse) => $sse->close());
        }, ['heartbeat' => 15])
            ->assertCommentCount(3)
            ->assertNothingSent()
            ->assertClosed();
    }

    public function testAStreamThatNeverEndsIsCutAtTheVirtualLimit(): void
    {
        // No close(), no maxDuration: the recorder's limit (one virtual day) is its maxDuration;
        // a timer due at that very instant still runs, as with any maxDuration.
        $limit = (int) EventStreamRecorder::VIRTUAL_LIMIT;
        EventStreamRecorder::record(static function (SseEmitter $sse): void {
            $sse->every(60, static fn (SseEmitter $sse) => $sse->send(['event' => 'tick', 'data' => '']));
        }, ['heartbeat' => 0])
            ->assertSentCount(intdiv($limit, 60), 'tick')
            ->assertClosed();
    }

    public function testAStreamWithoutTimersIsNotRunAndIsClosedAfterwards(): void
    {
        $closedBy = null;
        EventStreamRecorder::record(static function (SseEmitter $sse) use (&$closedBy): void {
            $sse->onClose(static function () use (&$closedBy): void {
                $closedBy = 'the recorder';
            });
            $sse->send('only this');
        })
            ->assertSentCount(1)
            ->assertCommentCount(0)
            ->assertNotClosed();
        self::assertSame('the recorder', $closedBy);
    }

    public function testACallbackThatRunsTheStreamItselfIsNotRunAgain(): void
    {
        EventStreamRecorder::record(static function (SseEmitter $sse): void {
            $sse->after(1, static fn (SseEmitter $sse) => $sse->send('once'));
            $sse->run();
        }, ['maxDuration' => 5, 'heartbeat' => 0])
            ->assertSentCount(1)
            ->assertClosed();
    }

    public function testAStreamThatClosesItselfIsClosed(): void
    {
        EventStreamRecorder::record(static function (SseEmitter $sse): void {
            $sse->send('bye');
            $sse->close();
        })->assertClosed()->assertSentCount(1);
    }

    public function testTheRealClockCanBeChosen(): void
    {
        $started = microtime(true);
        EventStreamRecorder::record(static function (SseEmitter $sse): void {
            $ticks = 0;
            $sse->every(0.02, static function (SseEmitter $sse) use (&$ticks): void {
                $sse->send('tick');
                if (++$ticks === 3) {
                    $sse->close();
                }
            });
        }, ['clock' => 'real', 'heartbeat' => 0])->assertSentCount(3)->assertClosed();
        // Three real 20 ms waits happened (the virtual clock would have taken no time).
        self::assertGreaterThanOrEqual(0.055, microtime(true) - $started);
    }

    public function testAnExceptionFromTheStreamPropagatesAndLeavesNoBufferOpen(): void
    {
        $level = ob_get_level();
        try {
            EventStreamRecorder::record(static function (SseEmitter $sse): void {
                $sse->send('before');
                throw new \LogicException('broken stream');
            });
            self::fail('the exception did not propagate');
        } catch (\LogicException $e) {
            self::assertSame('broken stream', $e->getMessage());
        }
        self::assertSame($level, ob_get_level());
    }

    public function testAnExceptionFromATimerPropagates(): void
    {
        $this->expectException(\RuntimeException::class);
        $this->expectExceptionMessage('tick failed');
        EventStreamRecorder::record(static function (SseEmitter $sse): void {
            $sse->every(1, static fn () => throw new \RuntimeException('tick failed'));
        });
    }
}
