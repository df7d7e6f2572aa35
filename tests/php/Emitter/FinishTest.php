<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\SseEmitter;
use Sse\SseException;
use Sse\Testing\EventStreamRecorder;
use Sse\Tests\Support\LastEventIdIsolation;
use Sse\Tests\Support\Output;

/** finish(): the last event of a complete stream, and the 204 for a reconnect after it. */
final class FinishTest extends TestCase
{
    use LastEventIdIsolation;

    public function testFinishSendsTheEndEventAndCloses(): void
    {
        $closed = 0;
        $stream = EventStreamRecorder::record(function (SseEmitter $sse) use (&$closed): void {
            $sse->onClose(function () use (&$closed): void {
                $closed++;
            });
            $sse->send(['id' => 1, 'data' => 'token']);
            self::assertTrue($sse->finish(['tokens' => 1]));
            self::assertTrue($sse->isClosed());
        });
        $stream->assertSentCount(2)->assertSentData('end', ['tokens' => 1])->assertLastEventId('sse-end')->assertClosed();
        self::assertSame(1, $closed);
    }

    public function testFinishWithoutDataSendsEmptyData(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        self::assertSame("event: end\nid: sse-end\ndata: \n\n", Output::capture(static fn () => $sse->finish()));
    }

    public function testFinishAfterCloseThrows(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        Output::capture(static fn () => $sse->close());
        $this->expectException(SseException::class);
        $sse->finish();
    }

    /** The reconnect of a finished stream: nothing is sent and the script's sends are false. */
    public function testAReconnectWithTheEndIdIsAnsweredWithoutAStream(): void
    {
        $_SERVER['HTTP_LAST_EVENT_ID'] = 'sse-end';
        $sse = new SseEmitter(['heartbeat' => 0, 'retry' => 100]);
        $results = [];
        $out = Output::capture(static function () use ($sse, &$results): void {
            $results[] = $sse->send(['id' => 1, 'data' => 'token']);
            $results[] = $sse->send('again');
            $results[] = $sse->finish();
            $sse->run();
        });
        self::assertSame('', $out);
        self::assertSame([false, false, false], $results);
        self::assertTrue($sse->isClosed());
    }
}
