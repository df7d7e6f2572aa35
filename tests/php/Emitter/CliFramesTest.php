<?php

declare(strict_types=1);

namespace Sse\Tests\Emitter;

use PHPUnit\Framework\TestCase;
use Sse\EventStreamParser;
use Sse\InvalidEventException;
use Sse\ServerSentEvents;
use Sse\SseEmitter;
use Sse\SseException;
use Sse\Tests\Support\Output;

/** Under the CLI SAPI the frames go through PHP's output layer, so ob_start() captures them. */
final class CliFramesTest extends TestCase
{
    public function testSendTakesAnEventItsFieldsOrDataOnly(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        $results = [];
        $out = Output::capture(static function () use ($sse, &$results): void {
            $results[] = $sse->send(ServerSentEvents::message('first', 'greeting', 1));
            $results[] = $sse->send(['event' => 'multi', 'data' => "a\nb", 'id' => '2']);
            $results[] = $sse->send('only data');
        });

        self::assertSame(
            "event: greeting\nid: 1\ndata: first\n\n"
            . "event: multi\nid: 2\ndata: a\ndata: b\n\n"
            . "data: only data\n\n",
            $out,
        );
        self::assertSame([true, true, true], $results, 'send() is true while the client is there');
    }

    /**
     * `event: ping` + empty line is never dispatched by EventSource (no data line): refused,
     * with nothing written, instead of vanishing on the client.
     */
    public function testAnEventTypeWithoutDataIsRefused(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        foreach ([['event' => 'ping'], ['event' => 'ping', 'id' => '3', 'data' => null], new ServerSentEvents(['event' => 'ping'])] as $event) {
            $out = Output::capture(static function () use ($sse, $event): void {
                try {
                    $sse->send($event);
                    self::fail('accepted an event type without data');
                } catch (InvalidEventException $e) {
                    self::assertStringStartsWith('Invalid event field "data": missing; an event "ping" without data is never dispatched', $e->getMessage());
                    self::assertStringContainsString("'data' => ''", $e->getMessage());
                }
            });
            self::assertSame('', $out, 'nothing is written');
        }
    }

    public function testAnEventWithEmptyDataOrAnIdAloneIsSent(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        $out = Output::capture(static function () use ($sse): void {
            $sse->send(['event' => 'ping', 'data' => '']);
            $sse->send(['id' => '9']);
        });
        $events = EventStreamParser::parse($out);
        self::assertSame([['event' => 'ping', 'data' => '', 'id' => '']], $events, $out);
        self::assertStringEndsWith("id: 9\n\n", $out);
    }

    /** As the README says: booleans are sent in PHP's string form, JSON only inside arrays. */
    public function testBooleanDataIsSentAsPhpWritesIt(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        $out = Output::capture(static function () use ($sse): void {
            $sse->send(['event' => 'flag', 'data' => true]);
            $sse->send(['event' => 'flag', 'data' => false]);
            $sse->send(['event' => 'flag', 'data' => ['ok' => false]]);
        });
        self::assertSame(['1', '', '{"ok":false}'], array_column(EventStreamParser::parse($out), 'data'));
    }

    public function testArrayDataIsSentAsJson(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        $out = Output::capture(static fn () => $sse->send(['data' => ['url' => 'https://x.test/é']]));

        self::assertSame("data: {\"url\":\"https://x.test/é\"}\n\n", $out);
    }

    public function testCommentFrames(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        $out = Output::capture(static function () use ($sse): void {
            self::assertTrue($sse->comment('keep going'));
            self::assertTrue($sse->comment());
        });

        self::assertSame(": keep going\n\n: \n\n", $out);
        self::assertSame([], EventStreamParser::parse($out), 'comments dispatch no event');
    }

    public function testRetryIsSentOnceAtStart(): void
    {
        $sse = new SseEmitter(['retry' => 2500, 'heartbeat' => 0]);
        $out = Output::capture(static function () use ($sse): void {
            $sse->start();
            $sse->start();
            $sse->send('one');
            $sse->send('two');
        });

        self::assertSame("retry: 2500\n\ndata: one\n\ndata: two\n\n", $out);
        self::assertSame(1, substr_count($out, 'retry:'));
    }

    public function testTheFirstSendStartsTheStreamAndSendsRetryFirst(): void
    {
        $sse = new SseEmitter(['retry' => 0, 'heartbeat' => 0]);
        self::assertFalse($sse->isStarted());
        $out = Output::capture(static fn () => $sse->send('x'));

        self::assertTrue($sse->isStarted());
        self::assertSame("retry: 0\n\ndata: x\n\n", $out, 'retry 0 is a value, not "none"');
    }

    public function testNoRetryFrameUnlessConfigured(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        $out = Output::capture(static fn () => $sse->start());

        self::assertSame('', $out);
    }

    public function testStartIsIdempotentAndReturnsTheSameObject(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        $first = $second = null;
        Output::capture(static function () use ($sse, &$first, &$second): void {
            $first = $sse->start();
            $second = $sse->start();
        });

        self::assertSame($sse, $first);
        self::assertSame($sse, $second);
        self::assertTrue($sse->isStarted());
        self::assertFalse($sse->isClosed());
    }

    public function testSendAfterCloseThrows(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        [$out, $thrown] = Output::captureThrown(static function () use ($sse): void {
            $sse->send('before');
            $sse->close();
            $sse->send('after');
        });

        self::assertInstanceOf(SseException::class, $thrown);
        self::assertSame('Cannot send: the stream is closed', $thrown->getMessage());
        self::assertSame("data: before\n\n", $out, 'nothing is written after close()');
        self::assertTrue($sse->isClosed());
        self::assertFalse($sse->isConnected());
    }

    public function testCommentAfterCloseThrows(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        [$out, $thrown] = Output::captureThrown(static function () use ($sse): void {
            $sse->close();
            $sse->comment('late');
        });

        self::assertInstanceOf(SseException::class, $thrown);
        self::assertSame('Cannot comment: the stream is closed', $thrown->getMessage());
        self::assertSame('', $out);
    }

    public function testCloseTwiceIsHarmless(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        $closed = 0;
        $sse->onClose(static function () use (&$closed): void {
            $closed++;
        });
        Output::capture(static function () use ($sse): void {
            $sse->close();
            $sse->close();
        });

        self::assertSame(1, $closed);
    }

    /** @return iterable<string, array{mixed, string}> */
    public static function badEvents(): iterable
    {
        yield 'line feed in event' => [['event' => "a\nb", 'data' => 'x'], 'Invalid event field "event"'];
        yield 'carriage return in id' => [['id' => "1\r2", 'data' => 'x'], 'Invalid event field "id"'];
        yield 'NUL in id' => [['id' => "1\0", 'data' => 'x'], 'Invalid event field "id"'];
        yield 'negative retry' => [['retry' => -1], 'Invalid event field "retry"'];
        yield 'unknown key' => [['date' => 'x'], 'Unknown event field "date"'];
        yield 'invalid UTF-8 data' => ["\xff\xfe", 'Invalid event field "data"'];
        yield 'an object that is no event' => [new \stdClass(), 'Invalid event field "data"'];
    }

    /** @dataProvider badEvents */
    #[\PHPUnit\Framework\Attributes\DataProvider('badEvents')]
    public function testABadEventThrowsAndWritesNothing(mixed $event, string $message): void
    {
        $sse = new SseEmitter(['retry' => 1000, 'heartbeat' => 0]);
        [$out, $thrown] = Output::captureThrown(static fn () => $sse->send($event));

        self::assertInstanceOf(InvalidEventException::class, $thrown);
        self::assertStringStartsWith($message, $thrown->getMessage());
        self::assertSame('', $out, 'not even the retry frame: the stream did not start');
        self::assertFalse($sse->isStarted());
    }

    public function testABadEventOnAStartedStreamWritesNothingAndKeepsItOpen(): void
    {
        $sse = new SseEmitter(['heartbeat' => 0]);
        [$out, $thrown] = Output::captureThrown(static function () use ($sse): void {
            $sse->send('ok');
            try {
                $sse->send(['event' => "x\ry", 'data' => 'never']);
            } finally {
                $sse->send('still open');
            }
        });

        self::assertInstanceOf(InvalidEventException::class, $thrown);
        self::assertSame("data: ok\n\ndata: still open\n\n", $out);
    }

    public function testFramesAreWhatAClientParses(): void
    {
        $sse = new SseEmitter(['retry' => 3000, 'heartbeat' => 0]);
        $out = Output::capture(static function () use ($sse): void {
            $sse->send(['event' => 'a', 'data' => 'x', 'id' => '7']);
            $sse->comment('between');
            $sse->send('y');
        });

        $parser = new EventStreamParser();
        self::assertSame(
            [['event' => 'a', 'data' => 'x', 'id' => '7'], ['event' => 'message', 'data' => 'y', 'id' => '7']],
            $parser->feed($out),
        );
        self::assertSame(3000, $parser->retry());
    }
}
