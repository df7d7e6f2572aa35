<?php

declare(strict_types=1);

namespace Sse\Tests\Laravel;

use App\Http\Controllers\EventStreamController;
use Illuminate\Contracts\Support\Jsonable;
use Illuminate\Http\Request;
use Illuminate\Http\StreamedEvent;
use PHPUnit\Framework\TestCase;
use Sse\Broker;
use Sse\InvalidEventException;
use Sse\Laravel\SseResponse;
use Sse\SseEmitter;
use Sse\Testing\EventStreamRecorder;
use Sse\Testing\OutputCapture;
use Sse\Testing\RecordedStream;
use Symfony\Component\HttpFoundation\StreamedResponse;

/**
 * Laravel 13's StreamedEvent given to send() and publish(), and response()->sseEventStream(),
 * compared byte for byte with what Laravel's own response()->eventStream() writes.
 */
final class StreamedEventTest extends TestCase
{
    private TestApp $laravel;

    protected function setUp(): void
    {
        TestApp::requireLaravel13();
        $this->laravel = new TestApp();
        $this->laravel->kernel->bootstrap();
        $this->laravel->app->instance('request', Request::create('/'));
    }

    protected function tearDown(): void
    {
        $this->laravel->destroy();
    }

    /** What Laravel's eventStream() echoes for these messages (its ob_flush() stays in here). */
    private static function laravelWrites(array $messages, StreamedEvent|string|null $end = null): string
    {
        $response = response()->eventStream(static fn () => yield from $messages, [], $end);
        self::assertInstanceOf(StreamedResponse::class, $response);
        return OutputCapture::run(static function () use ($response): void {
            ob_start();
            $response->sendContent();
            ob_end_flush();
        });
    }

    private static function sent(mixed $event): string
    {
        return EventStreamRecorder::record(static fn (SseEmitter $sse) => $sse->send($event))->body();
    }

    public function testSendWritesWhatEventStreamWritesForEveryKindOfValue(): void
    {
        foreach (EventStreamController::messages() as $message) {
            $event = $message instanceof StreamedEvent ? $message : new StreamedEvent('update', $message);
            self::assertSame(self::laravelWrites([$message]), self::sent($event), 'for ' . get_debug_type($message));
        }
        // Laravel's encoder, not PHP's default: <, >, &, ' and " escaped, slashes too.
        self::assertSame(
            "event: update\ndata: {\"n\":1,\"html\":\"\\u003Cb\\u003ETom \\u0026 Jerry\\u0027s \\u0022cat\\u0022\\u003C\\/b\\u003E\",\"city\":\"Zürich\",\"path\":\"\\/a\\/b\"}\n\n",
            self::sent(new StreamedEvent('update', EventStreamController::messages()[3])),
        );
        self::assertSame("event: flag\ndata: false\n\nevent: none\ndata: null\n\n", self::sent(new StreamedEvent('flag', false)) . self::sent(new StreamedEvent('none', null)));
    }

    public function testSseEventStreamWritesWhatEventStreamWrites(): void
    {
        $messages = EventStreamController::messages();
        foreach (['</stream>', new StreamedEvent('done', 'at 3'), null, '', ' '] as $end) {
            $laravel = self::laravelWrites($messages, $end);
            $ours = RecordedStream::fromResponse(SseResponse::eventStream(static fn () => yield from $messages, [], $end));
            self::assertSame($laravel, $ours->body(), 'ending with ' . var_export($end, true));
        }
        self::assertStringEndsWith("\n\nevent: update\ndata: </stream>\n\n", self::laravelWrites($messages, '</stream>'));

        // eventStream() writes the data of its end event without encoding it: an array fails
        // there (an "Array to string conversion" the exception handler gets) and no end is sent.
        $end = new StreamedEvent('done', ['at' => 3]);
        self::assertStringEndsWith("data: 7\n\nevent: done\n", self::laravelWrites($messages, $end));
        self::assertStringEndsWith("data: 7\n\nevent: done\ndata: {\"at\":3}\n\n", RecordedStream::fromResponse(SseResponse::eventStream(static fn () => yield from $messages, [], $end))->body());
    }

    public function testTheMacroTakesEventStreamsArgumentsAndSseOptions(): void
    {
        $response = response()->sseEventStream(static fn () => yield 'hi', ['X-Extra' => '1'], new StreamedEvent('bye', 'now'), ['retry' => 900]);
        self::assertInstanceOf(SseResponse::class, $response);
        RecordedStream::fromResponse($response)
            ->assertHeader('X-Extra', '1')
            ->assertHeader('Content-Type', 'text/event-stream; charset=utf-8')
            ->assertRetry(900)
            ->assertSentData('update', 'hi')
            ->assertSentData('bye', 'now')
            ->assertSentCount(2)
            ->assertClosed();
    }

    public function testLineBreaksInDataAreLinesNotABrokenFrame(): void
    {
        // eventStream() writes the text as it is: a client reads "one" and drops "two".
        self::assertSame("event: note\ndata: one\ntwo\n\n", self::laravelWrites([new StreamedEvent('note', "one\ntwo")]));
        self::assertSame("event: note\ndata: one\ndata: two\n\n", self::sent(new StreamedEvent('note', "one\ntwo")));
    }

    public function testPublishStoresAStreamedEventForEverySubscriber(): void
    {
        $broker = new Broker('memory');
        $recorded = EventStreamRecorder::record(static function (SseEmitter $sse) use ($broker): void {
            $sse->subscribe('orders', $broker);
            $sse->after(1, static fn () => $broker->publish('orders', new StreamedEvent('order.shipped', ['id' => 7, 'note' => '<b>'])));
        }, ['heartbeat' => 0, 'maxDuration' => 2]);
        self::assertSame(
            [['order.shipped', '{"id":7,"note":"\u003Cb\u003E"}']],
            array_map(static fn (array $e) => [$e['event'], $e['data']], $recorded->events()),
        );
    }

    public function testASubclassIsAStreamedEventToo(): void
    {
        $event = new class ('typed', ['a' => 1]) extends StreamedEvent {
        };
        self::assertSame("event: typed\ndata: {\"a\":1}\n\n", self::sent($event));
    }

    /** @return iterable<string, array{StreamedEvent, string}> */
    public static function badEvents(): iterable
    {
        yield 'line break in the name' => [new StreamedEvent("a\nb", 'x'), 'Invalid event field "event": contains a line feed (\n) at byte 1'];
        yield 'INF in the data' => [new StreamedEvent('x', ['v' => INF]), 'Invalid event field "data": contains INF or NAN, which JSON cannot encode'];
        yield 'a resource' => [new StreamedEvent('x', [fopen('php://memory', 'r')]), 'Invalid event field "data": contains a value of a type JSON cannot encode'];
        yield 'never constructed' => [(new \ReflectionClass(StreamedEvent::class))->newInstanceWithoutConstructor(), 'Invalid event field "event": the StreamedEvent\'s $event is not set'];
    }

    public function testBadStreamedEventsAreRefusedNamingTheFieldAndNothingIsWritten(): void
    {
        foreach (self::badEvents() as $case => [$event, $message]) {
            foreach (['send' => static fn () => self::sent($event), 'publish' => static fn () => (new Broker('memory'))->publish('t', $event)] as $method => $call) {
                try {
                    $written = $call();
                    self::fail("$case: $method() accepted it and wrote " . var_export($written, true));
                } catch (InvalidEventException $e) {
                    self::assertStringStartsWith($message, $e->getMessage(), "$case, $method()");
                }
            }
        }
    }

    public function testAStreamedEventGivenAsDataIsRefused(): void
    {
        $this->expectException(InvalidEventException::class);
        $this->expectExceptionMessage('Invalid event field "data": is a StreamedEvent object; send it as the event itself, not as data');
        self::sent(['event' => 'x', 'data' => new StreamedEvent('a', 'b')]);
    }

    public function testAnExceptionOfTheDatasOwnToJsonPropagates(): void
    {
        $data = new class implements Jsonable {
            public function toJson($options = 0): string
            {
                throw new \DomainException('no JSON today');
            }
        };
        $this->expectException(\DomainException::class);
        $this->expectExceptionMessage('no JSON today');
        self::sent(new StreamedEvent('x', $data));
    }
}
