<?php

declare(strict_types=1);

namespace Sse\Laravel;

use Illuminate\Container\Container;
use Illuminate\Contracts\Debug\ExceptionHandler;
use Illuminate\Http\StreamedEvent;
use Sse\SseEmitter;
use Sse\Support\Extension;
use Sse\Support\StreamBody;
use Symfony\Component\HttpFoundation\StreamedResponse;

/**
 * A Server-Sent Events response for Laravel (and any Symfony HttpFoundation app):
 *
 * ```php
 * return response()->sse(function (SseEmitter $sse) {
 *     foreach (Order::cursor() as $order) {
 *         yield ['event' => 'order', 'data' => $order, 'id' => $order->id];
 *     }
 * }, ['retry' => 2000]);
 * ```
 *
 * The SSE headers are set on the response object too, so middleware sees them and may add
 * its own (cookies, CORS); Symfony sends them, then the emitter adds what the stream needs. The body is
 * served by Sse\SseEmitter: every event bypasses PHP's and the server's buffers.
 *
 * An exception thrown by the stream callback is reported through Laravel's exception handler
 * and is never written to the client (an error page cannot follow a 200 event stream, and its
 * text may hold secrets); the stream is closed cleanly, so the client sees an ordinary end.
 *
 * Bad options throw here, when the response is built, not once it is being sent: by then the
 * 200 and its event-stream head are out, and all the client would get is an empty stream it
 * reconnects to forever.
 */
class SseResponse extends StreamedResponse
{
    /** What SseEmitter sends by default; the caller's headers win. */
    public const DEFAULT_HEADERS = [
        'Content-Type' => 'text/event-stream; charset=utf-8',
        'Cache-Control' => 'no-cache, no-store, no-transform',
        'X-Accel-Buffering' => 'no',
    ];

    /**
     * The id of the last event SseEmitter::finish() sends: a client that reconnects with it
     * gets 204 and stops, and the stream callback does not run.
     */
    public const FINISHED_ID = 'sse-end';

    /** @var callable(SseEmitter): mixed */
    private $stream;
    private ?SseEmitter $emitter = null;

    /**
     * @param callable(SseEmitter): mixed $stream may send, arm timers, or return a Generator
     * @param array<string, mixed> $options SseEmitter options (retry, heartbeat, maxDuration, cors, status, ...)
     * @param array<string, string> $headers extra or replacing response headers
     */
    public function __construct(callable $stream, private array $options = [], array $headers = [])
    {
        $this->stream = $stream;
        // The emitter sets the caller's headers again when the stream starts (so they win over
        // its defaults); headers added later by middleware were already sent by Symfony.
        $this->options['headers'] = $headers + ($options['headers'] ?? []);
        self::validate($this->options);
        if ((new SseEmitter())->lastEventId() === self::FINISHED_ID) {
            // Decided here, not by the emitter: once sendContent() runs, Symfony has sent a 200.
            parent::__construct(static function (): void {
            }, 204);
            return;
        }
        parent::__construct(fn () => $this->serve(), (int) ($options['status'] ?? 200), self::DEFAULT_HEADERS);
        if (isset($options['cors'])) {
            $this->headers->set('Access-Control-Allow-Origin', (string) $options['cors']);
        }
        foreach ($this->options['headers'] as $name => $value) {
            $this->headers->set($name, $value);
        }
    }

    /**
     * Laravel's `response()->eventStream()` served by the emitter (`response()->sseEventStream()`):
     * the same arguments and the same events. Each value the callback yields is an `update`
     * event, a StreamedEvent one of its own name; data that is not a string or a number is
     * Laravel's JSON of it (Js::encode()); and unless $endStreamWith is empty, a last
     * `update` event carries it (`</stream>`, what Laravel's JavaScript helpers wait for).
     *
     * What differs is how it gets there: every event bypasses PHP's and the server's buffers,
     * a value with line breaks is one `data:` line each (eventStream() writes it as it is, and
     * the lines after the first are lost), and a gone client stops the generator at the
     * first yield after it left.
     *
     * @param \Closure(): iterable<mixed> $callback
     * @param array<string, string> $headers
     * @param \Illuminate\Http\StreamedEvent|string|null $endStreamWith
     * @param array<string, mixed> $options SseEmitter options (retry, heartbeat, ...)
     */
    public static function eventStream(\Closure $callback, array $headers = [], $endStreamWith = '</stream>', array $options = []): self
    {
        $end = is_string($endStreamWith) && trim($endStreamWith) === '' ? null : $endStreamWith;
        return new self(static function (SseEmitter $sse) use ($callback, $end): void {
            foreach ($callback() as $message) {
                if (!$sse->send(self::laravelEvent($message))) {
                    return;
                }
            }
            if ($end !== null) {
                $sse->send(self::laravelEvent($end));
            }
        }, $options, $headers);
    }

    /** What eventStream() writes for a yielded value: a StreamedEvent as it is, else an update. */
    private static function laravelEvent(mixed $message): mixed
    {
        if ($message instanceof StreamedEvent) {
            return $message;
        }
        // A Laravel older than eventStream() has no StreamedEvent either: plain fields there.
        return class_exists(StreamedEvent::class) ? new StreamedEvent('update', $message) : ['event' => 'update', 'data' => $message];
    }

    /** The emitter serving this response, once sendContent() has started it. */
    public function emitter(): ?SseEmitter
    {
        return $this->emitter;
    }

    /**
     * Throws what the emitter would throw for these options (an \InvalidArgumentException
     * naming the option), or that the extension is missing. An emitter that never starts
     * sends nothing.
     *
     * @param array<string, mixed> $options
     */
    private static function validate(array $options): void
    {
        Extension::require(self::class);
        new SseEmitter($options);
    }

    private function serve(): void
    {
        try {
            $sse = $this->emitter = new SseEmitter($this->options);
            StreamBody::serve($this->stream, $sse);
        } catch (\Throwable $e) {
            $this->report($e);
        } finally {
            if ($this->emitter?->isClosed() === false) {
                $this->emitter->close();
            }
        }
    }

    private function report(\Throwable $e): void
    {
        $container = Container::getInstance();
        if (!$container->bound(ExceptionHandler::class)) {
            throw $e;
        }
        try {
            $container->make(ExceptionHandler::class)->report($e);
        } catch (\Throwable) {
            // The stream must still end cleanly; a failing reporter has nobody else to tell.
            error_log('sse: could not report ' . get_class($e) . ': ' . $e->getMessage());
        }
    }
}
