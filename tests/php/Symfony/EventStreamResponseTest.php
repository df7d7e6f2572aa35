<?php

declare(strict_types=1);

namespace Sse\Tests\Symfony;

use PHPUnit\Framework\TestCase;
use Psr\Log\AbstractLogger;
use Sse\Broker;
use Sse\InvalidEventException;
use Sse\SseEmitter;
use Sse\SseException;
use Sse\Symfony\EventStreamResponse;
use Sse\Testing\RecordedStream;
use Sse\Tests\Support\LastEventIdIsolation;
use Symfony\Component\HttpFoundation\EventStreamResponse as SymfonyEventStreamResponse;
use Symfony\Component\HttpFoundation\ServerEvent;

/** Sse\Symfony\EventStreamResponse on its own: ServerEvent on the wire, callback styles, headers, failures. */
final class EventStreamResponseTest extends TestCase
{
    use LastEventIdIsolation;

    protected function setUp(): void
    {
        Symfony::require();
    }

    public function testServerEventsAreFramedWithZeroValuesKeptAndEveryLineSplit(): void
    {
        $response = new EventStreamResponse(static function (EventStreamResponse $response) {
            $response->sendEvent(new ServerEvent('hello', type: 'greeting', id: '1'));
            $response->sendEvent(new ServerEvent(['line 1', "line 2\r\nline 3"], type: 'lines'));
            $response->sendEvent(new ServerEvent('0', type: '0', id: '0', comment: '0'));
            $response->sendEvent(new ServerEvent('', comment: "only\na comment"));
            $response->sendEvent(new ServerEvent('', retry: 500));
            $response->sendEvent(new ServerEvent(['', 'after an empty line']));
            $response->sendEvent(new ServerEvent([1, 2.5]));
        }, options: ['heartbeat' => 0]);

        $body = RecordedStream::fromResponse($response)->body();

        self::assertSame(<<<'SSE'
            event: greeting
            id: 1
            data: hello

            event: lines
            data: line 1
            data: line 2
            data: line 3

            : 0
            event: 0
            id: 0
            data: 0

            : only
            : a comment

            retry: 500

            data: 
            data: after an empty line

            data: 1
            data: 2.5


            SSE, $body);
    }

    public function testAGeneratorOfServerEventsIsSentAsItYieldsAndLearnsTheClientIsThere(): void
    {
        $seen = [];
        $response = new EventStreamResponse(static function () use (&$seen) {
            $seen[] = yield new ServerEvent('one', type: 'word', id: '1');
            $seen[] = yield ['event' => 'word', 'data' => 'two', 'id' => '2'];
            $seen[] = yield 'three';
        }, options: ['heartbeat' => 0]);

        RecordedStream::fromResponse($response)
            ->assertSentCount(3)
            ->assertSentData('word', 'one')
            ->assertSentData('word', 'two')
            ->assertSentData('message', 'three')
            ->assertLastEventId('2');
        self::assertSame([true, true, true], $seen, 'each yield evaluates to whether the client is still there');
    }

    public function testARecordingKnowsTheStreamWasClosedAndSeesTheEmittersHeaders(): void
    {
        $response = new EventStreamResponse(static function () {
            yield new ServerEvent('only', type: 'word');
        }, options: ['heartbeat' => 0, 'headers' => ['X-Stream' => 'words']]);

        RecordedStream::fromResponse($response)
            ->assertSentCount(1)
            ->assertClosed()
            ->assertHeader('Content-Type', 'text/event-stream; charset=utf-8')
            ->assertHeader('X-Stream', 'words');
    }

    public function testAnIterableThatIsNotAGeneratorIsSentToo(): void
    {
        $response = new EventStreamResponse(static fn () => [new ServerEvent('a'), new ServerEvent('b', type: 'x')], options: ['heartbeat' => 0]);

        self::assertSame("data: a\n\nevent: x\ndata: b\n\n", RecordedStream::fromResponse($response)->body());
    }

    public function testACallbackWhoseFirstParameterIsTheEmitterGetsTheEmitter(): void
    {
        $got = null;
        $response = new EventStreamResponse(static function (SseEmitter $sse) use (&$got) {
            $got = $sse;
            $n = 0;
            $sse->every(10, static function (SseEmitter $sse) use (&$n) {
                $sse->send(['event' => 'tick', 'data' => (string) ++$n]);
            });
        }, options: ['clock' => 'virtual', 'maxDuration' => 60, 'heartbeat' => 0]);

        RecordedStream::fromResponse($response)->assertSentCount(6, 'tick');
        self::assertSame($response->emitter(), $got);
        self::assertTrue($got->isClosed());
    }

    public function testAnUntypedCallbackGetsTheResponseAsSymfonysDoes(): void
    {
        $got = null;
        $response = new EventStreamResponse(static function ($response) use (&$got) {
            $got = $response;
        });
        RecordedStream::fromResponse($response);
        self::assertSame($response, $got);
        self::assertInstanceOf(SymfonyEventStreamResponse::class, $response, 'code typed on Symfony\'s class accepts it');
    }

    public function testTheRetryArgumentStartsTheStream(): void
    {
        $response = new EventStreamResponse(static fn () => yield new ServerEvent('x'), retry: 2000, options: ['heartbeat' => 0]);
        self::assertSame(2000, $response->getRetry());
        $response->setRetry(1500);
        self::assertSame(1500, $response->getRetry());

        $stream = RecordedStream::fromResponse($response);
        self::assertStringStartsWith("retry: 1500\n\n", $stream->body());
        $stream->assertRetry(1500);
    }

    public function testTheEmittersHeadersAreOnTheResponseObjectAndTheCallersWin(): void
    {
        $response = new EventStreamResponse(null, 201, ['Cache-Control' => 'no-cache', 'X-Stream' => 'yes'], options: ['cors' => '*']);

        self::assertSame(201, $response->getStatusCode());
        self::assertSame('text/event-stream; charset=utf-8', $response->headers->get('Content-Type'));
        self::assertSame('no', $response->headers->get('X-Accel-Buffering'));
        self::assertSame('yes', $response->headers->get('X-Stream'));
        self::assertSame('*', $response->headers->get('Access-Control-Allow-Origin'));
        self::assertStringStartsWith('no-cache', (string) $response->headers->get('Cache-Control'));
        self::assertFalse($response->headers->has('Connection'), 'hop-by-hop, forbidden in HTTP/2');

        $response->setCallback(static fn () => yield new ServerEvent('x'));
        $emitterHeaders = (function () use ($response) {
            RecordedStream::fromResponse($response);
            return $response->emitter()?->headers();
        })();
        self::assertSame('no-cache', $emitterHeaders['Cache-Control'] ?? null);
    }

    public function testABadOptionThrowsWhenTheResponseIsBuilt(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('Invalid option "retyr"');
        new EventStreamResponse(static fn () => null, options: ['retyr' => 2000]);
    }

    public function testALineBreakInTheTypeIsRefusedAndNothingOfTheEventIsWritten(): void
    {
        $response = new EventStreamResponse(static function () {
            yield new ServerEvent('ok', type: 'first');
            yield new ServerEvent('x', type: "a\ndata: forged");
        }, options: ['heartbeat' => 0]);

        $body = '';
        try {
            ob_start();
            try {
                $response->sendContent();
            } finally {
                $body = (string) ob_get_clean();
            }
            self::fail('the forged type was accepted');
        } catch (InvalidEventException $e) {
            self::assertStringContainsString('"event"', $e->getMessage());
        }
        self::assertSame("event: first\ndata: ok\n\n", $body);
        self::assertTrue($response->emitter()?->isClosed());
    }

    public function testAnItemOfDataThatIsNoTextIsRefusedNamingIt(): void
    {
        $response = new EventStreamResponse(static fn () => yield new ServerEvent(['a', ['b']]), options: ['heartbeat' => 0]);

        $this->expectException(InvalidEventException::class);
        $this->expectExceptionMessage('item 1 of the ServerEvent\'s data is array');
        RecordedStream::fromResponse($response);
    }

    public function testWithALoggerAFailureIsLoggedNotStreamedAndTheStreamEndsCleanly(): void
    {
        $logger = new class () extends AbstractLogger {
            /** @var list<array{string, string, array<string, mixed>}> */
            public array $records = [];

            public function log($level, string|\Stringable $message, array $context = []): void
            {
                $this->records[] = [(string) $level, (string) $message, $context];
            }
        };
        $response = new EventStreamResponse(static function () {
            yield new ServerEvent('ok', type: 'before');
            throw new \RuntimeException('secret failure detail');
        }, options: ['heartbeat' => 0]);
        $response->setLogger($logger);

        $stream = RecordedStream::fromResponse($response);

        $stream->assertSentCount(1)->assertSentData('before', 'ok')->assertBodyNotContains('secret');
        self::assertTrue($response->emitter()?->isClosed());
        self::assertCount(1, $logger->records);
        [$level, , $context] = $logger->records[0];
        self::assertSame('error', $level);
        self::assertSame('secret failure detail', $context['exception']->getMessage());
    }

    public function testWithoutALoggerTheFailureIsThrownOnceTheStreamIsClosed(): void
    {
        $response = new EventStreamResponse(static function () {
            throw new \DomainException('no logger here');
        });
        try {
            RecordedStream::fromResponse($response);
            self::fail('the exception was swallowed');
        } catch (\DomainException $e) {
            self::assertSame('no logger here', $e->getMessage());
        }
        self::assertTrue($response->emitter()?->isClosed());
    }

    public function testAReconnectAfterFinishIsAnswered204WithoutRunningTheCallback(): void
    {
        $_SERVER['HTTP_LAST_EVENT_ID'] = EventStreamResponse::FINISHED_ID;
        $ran = false;
        $response = new EventStreamResponse(static function () use (&$ran) {
            $ran = true;
            yield new ServerEvent('again');
        });

        self::assertSame(204, $response->getStatusCode());
        self::assertSame('', RecordedStream::fromResponse($response)->body());
        self::assertFalse($ran);
    }

    public function testSendEventOutsideTheStreamIsMisuse(): void
    {
        $response = new EventStreamResponse(static fn () => null);
        $this->expectException(SseException::class);
        $this->expectExceptionMessage('only while the stream is served');
        $response->sendEvent(new ServerEvent('too early'));
    }

    public function testAWrapperSetAroundTheBodyReplacesItAsHttpKernelDoes(): void
    {
        $response = new EventStreamResponse(static fn () => yield new ServerEvent('inside'), options: ['heartbeat' => 0]);
        $body = $response->getCallback();
        $wrapped = 0;
        $response->setCallback(static function () use ($body, &$wrapped) {
            $wrapped++;
            $body();
        });

        self::assertSame("data: inside\n\n", RecordedStream::fromResponse($response)->body());
        self::assertSame(1, $wrapped);
    }

    public function testASubscribedStreamGetsWhatIsPublishedWithTheBrokersIds(): void
    {
        $broker = new Broker('memory');
        $ids = [];
        $response = new EventStreamResponse(static function (SseEmitter $sse) use ($broker, &$ids) {
            $sse->subscribe('orders', $broker);
            $sse->after(1, static function () use ($broker, &$ids) {
                $ids[] = $broker->publish('orders', ['event' => 'shipped', 'data' => '42']);
                $ids[] = $broker->publish('other', ['event' => 'shipped', 'data' => 'not subscribed']);
                $ids[] = $broker->publish('orders', ['event' => 'shipped', 'data' => '43']);
            });
        }, options: ['clock' => 'virtual', 'maxDuration' => 5, 'heartbeat' => 0]);

        $stream = RecordedStream::fromResponse($response);

        self::assertSame([['shipped', '42', $ids[0]], ['shipped', '43', $ids[2]]], array_map(
            static fn (array $e) => [$e['event'], $e['data'], $e['id']],
            $stream->events(),
        ));
    }

    public function testDetachUnderTheCliServesTheStreamHereAndSaysSo(): void
    {
        $broker = new Broker('memory');
        $detached = null;
        $response = new EventStreamResponse(static function (SseEmitter $sse) use ($broker, &$detached) {
            $sse->subscribe('news', $broker);
            $broker->publish('news', ['event' => 'news', 'data' => 'before detach']);
            $detached = $sse->detach();
        }, options: ['clock' => 'virtual', 'maxDuration' => 5, 'heartbeat' => 0]);

        RecordedStream::fromResponse($response)->assertSentData('news', 'before detach');
        self::assertFalse($detached);
        self::assertTrue($response->emitter()?->isClosed());
    }
}
