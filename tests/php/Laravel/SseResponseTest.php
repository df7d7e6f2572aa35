<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use Illuminate\Container\Container;
use Illuminate\Contracts\Debug\ExceptionHandler;
use PHPUnit\Framework\TestCase;
use Sse\Laravel\SseResponse;
use Sse\SseEmitter;
use Sse\Testing\RecordedStream;
use Symfony\Component\HttpFoundation\StreamedResponse;

/** SseResponse on its own: headers, how the callback is served, and failures. */
final class SseResponseTest extends TestCase
{
    private RecordingExceptionHandler $handler;

    protected function setUp(): void
    {
        if (!class_exists(StreamedResponse::class) || !class_exists(Container::class)) {
            self::markTestSkipped('Laravel (php-laravel-framework) is not installed');
        }
        $container = new Container();
        $this->handler = new RecordingExceptionHandler();
        $container->instance(ExceptionHandler::class, $this->handler);
        Container::setInstance($container);
    }

    protected function tearDown(): void
    {
        Container::setInstance(null);
    }

    public function testTheSseHeadersAreOnTheResponseObject(): void
    {
        $response = new SseResponse(static fn () => null);
        self::assertInstanceOf(StreamedResponse::class, $response);
        self::assertSame('text/event-stream; charset=utf-8', $response->headers->get('Content-Type'));
        self::assertStringContainsString('no-cache', (string) $response->headers->get('Cache-Control'));
        self::assertSame('no', $response->headers->get('X-Accel-Buffering'));
        self::assertFalse($response->headers->has('Access-Control-Allow-Origin'));
        self::assertSame(200, $response->getStatusCode());
    }

    public function testItsDefaultsAreTheEmittersDefaults(): void
    {
        // Middleware must see what the stream will really send.
        self::assertSame((new SseEmitter())->headers(), SseResponse::DEFAULT_HEADERS);
    }

    public function testTheCallersHeadersAndOptionsWin(): void
    {
        $response = new SseResponse(static fn () => null, [
            'cors' => 'https://app.test',
            'status' => 201,
            'headers' => ['X-From-Options' => 'o', 'X-Both' => 'options'],
        ], ['X-Accel-Buffering' => 'yes', 'X-Both' => 'argument']);
        self::assertSame(201, $response->getStatusCode());
        self::assertSame('https://app.test', $response->headers->get('Access-Control-Allow-Origin'));
        self::assertSame('yes', $response->headers->get('X-Accel-Buffering'));
        self::assertSame('o', $response->headers->get('X-From-Options'));
        self::assertSame('argument', $response->headers->get('X-Both'));

        // The emitter gets the same headers, so they also win over its own defaults.
        $response->sendContent();
        self::assertSame('argument', $response->emitter()?->headers()['X-Both'] ?? null);
        self::assertSame('yes', $response->emitter()?->headers()['X-Accel-Buffering'] ?? null);
    }

    public function testTheEmitterExistsOnlyOnceStreamingStartedAndIsClosedAtTheEnd(): void
    {
        $response = new SseResponse(static fn (SseEmitter $sse) => $sse->send('x'));
        self::assertNull($response->emitter());
        RecordedStream::fromResponse($response)
            ->assertSentCount(1)
            ->assertClosed()
            // What the client gets: the emitter's value, not Symfony's computed one (", private").
            ->assertHeader('Cache-Control', 'no-cache, no-store, no-transform');
        self::assertInstanceOf(SseEmitter::class, $response->emitter());
        self::assertSame([], $this->handler->reported);
    }

    public function testAGeneratorIsStreamedItemByItem(): void
    {
        $response = new SseResponse(static function (): \Generator {
            yield ['event' => 'a', 'data' => '1', 'id' => '10'];
            yield 'two';
        });
        RecordedStream::fromResponse($response)
            ->assertSentData('a', '1')
            ->assertSentData('message', 'two')
            ->assertLastEventId('10');
    }

    public function testTimersRunOnTheVirtualClockWhenAskedTo(): void
    {
        $response = new SseResponse(static function (SseEmitter $sse): void {
            $sse->every(10, static fn (SseEmitter $sse) => $sse->send(['event' => 'tick', 'data' => '']));
        }, ['clock' => 'virtual', 'maxDuration' => 60, 'heartbeat' => 0]);
        // Ticks at 10, 20, ... 60 s; maxDuration then ends the stream.
        RecordedStream::fromResponse($response)->assertSentCount(6, 'tick')->assertClosed();
    }

    public function testAnExceptionIsReportedNotStreamedAndTheStreamEndsCleanly(): void
    {
        $failure = new \RuntimeException('database password is hunter2');
        $response = new SseResponse(static function (SseEmitter $sse) use ($failure): \Generator {
            yield ['event' => 'first', 'data' => 'ok'];
            throw $failure;
        });
        RecordedStream::fromResponse($response)
            ->assertSentCount(1, 'first')
            ->assertSentCount(1)
            ->assertBodyNotContains('hunter2')
            ->assertClosed();
        self::assertSame([$failure], $this->handler->reported);
    }

    /**
     * A bad option throws when the response is built, before any header is sent: the app's
     * error page answers, not a 200 event stream with an empty body.
     */
    public function testInvalidOptionsThrowWhenTheResponseIsBuilt(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('Invalid option "heartbeet"');
        new SseResponse(static fn (SseEmitter $sse) => $sse->send('never'), ['heartbeet' => 5]);
    }

    public function testNumericStringOptionsAreAccepted(): void
    {
        $response = new SseResponse(static fn (SseEmitter $sse) => $sse->send('x'), ['retry' => '2000', 'status' => '200']);
        RecordedStream::fromResponse($response)->assertRetry(2000)->assertSentCount(1);
        self::assertSame(200, $response->getStatusCode());
    }

    /** Laravel's eventStream() conventions, also where Laravel has no StreamedEvent (before 13 here). */
    public function testEventStreamSendsEachYieldAsAnUpdateAndEndsWithItsMarker(): void
    {
        $stream = static function (): \Generator {
            yield 'first';
            yield 2;
        };
        RecordedStream::fromResponse(SseResponse::eventStream($stream, ['X-From' => 'headers'], '</stream>', ['retry' => 300]))
            ->assertHeader('X-From', 'headers')
            ->assertRetry(300)
            ->assertSentCount(3, 'update')
            ->assertSentCount(3)
            ->assertSentData('update', 'first')
            ->assertSentData('update', '2')
            ->assertSentData('update', '</stream>')
            ->assertClosed();
        foreach ([null, '', '  '] as $noEnd) {
            RecordedStream::fromResponse(SseResponse::eventStream($stream, [], $noEnd))
                ->assertSentCount(2, 'update')
                ->assertBodyNotContains('</stream>');
        }
    }

    public function testWithoutAnExceptionHandlerTheExceptionPropagates(): void
    {
        Container::setInstance(new Container());
        $response = new SseResponse(static fn () => throw new \DomainException('nobody to report to'));
        $this->expectException(\DomainException::class);
        RecordedStream::fromResponse($response);
    }
}
