<?php

declare(strict_types=1);

namespace Sse\Symfony;

use Psr\Log\LoggerAwareInterface;
use Psr\Log\LoggerInterface;
use Sse\ServerSentEvents;
use Sse\SseEmitter;
use Sse\SseException;
use Sse\Support\Extension;
use Sse\Support\StreamBody;
use Symfony\Component\HttpFoundation\EventStreamResponse as SymfonyEventStreamResponse;
use Symfony\Component\HttpFoundation\ServerEvent;
use Symfony\Component\HttpFoundation\StreamedResponse;

/**
 * Symfony's EventStreamResponse served by Sse\SseEmitter: the same arguments, the same
 * callback and ServerEvent objects, so that moving a controller onto the extension is its
 * `use` line.
 *
 * ```php
 * use Sse\Symfony\EventStreamResponse;   // was Symfony\Component\HttpFoundation\EventStreamResponse
 *
 * return new EventStreamResponse(function () {
 *     foreach ($this->orders->newest() as $order) {
 *         yield new ServerEvent(json_encode($order), type: 'order', id: (string) $order->getId());
 *     }
 * }, retry: 2000);
 * ```
 *
 * The callback gets the response, as Symfony's does (`$response->sendEvent(...)`), or the
 * emitter itself when its first parameter is declared `Sse\SseEmitter` (timers, subscribe(),
 * detach(), run(): see the README). It may return events (a generator or any iterable of
 * ServerEvent, Sse\ServerSentEvents, field arrays or data strings): each is sent as soon as it
 * is produced, a `yield` evaluates to whether the client is still there, and iteration stops
 * when it left. Timers it armed and topics it subscribed are served until the stream ends.
 *
 * What the emitter changes: every event bypasses PHP's and the server's buffers, a hang-up is
 * noticed without a write, a heartbeat keeps proxies from cutting a quiet stream, "0" ids and
 * types are sent (see ServerEventFields), and no hop-by-hop `Connection` header is sent. The
 * SSE headers are set on this object too, so listeners see them; the caller's win.
 *
 * An exception thrown while streaming is logged through the logger the bundle hands over
 * (SseBundle's kernel.response listener) and ends the stream cleanly: an error page cannot
 * follow a 200 event stream, and its text may hold secrets. Without a logger it is thrown on,
 * once the stream is closed. Bad options throw here, when the response is built, while the
 * app can still answer with its error page.
 */
class EventStreamResponse extends SymfonyEventStreamResponse implements LoggerAwareInterface
{
    /**
     * The id of the last event SseEmitter::finish() sends: a client that reconnects with it
     * gets 204 and stops, and the callback does not run.
     */
    public const FINISHED_ID = 'sse-end';

    /** @var \Closure(self|SseEmitter): mixed */
    private \Closure $stream;
    /** @var array<string, mixed> */
    private array $options;
    private ?SseEmitter $emitter = null;
    private ?LoggerInterface $logger = null;
    /** A reconnect after finish(): answered 204, the callback never runs. */
    private bool $finished = false;

    /**
     * @param callable|null $callback gets this response (or the emitter, see above); may return events
     * @param int $status HTTP status
     * @param array<string, string> $headers extra or replacing response headers
     * @param int|null $retry the client's reconnection time in ms, sent when the stream starts (the `retry` option)
     * @param array<string, mixed> $options SseEmitter options (heartbeat, maxDuration, cors, clock, ...)
     * @throws \InvalidArgumentException for a bad option, as SseEmitter throws it
     */
    public function __construct(?callable $callback = null, int $status = 200, array $headers = [], ?int $retry = null, array $options = [])
    {
        Extension::require(self::class);
        $options['headers'] = $headers + ($options['headers'] ?? []);
        if ($retry !== null) {
            $options['retry'] = $retry;
        }
        $options['status'] = $status;
        // Validates the options now: an emitter that is never started sends nothing.
        $emitter = new SseEmitter($options);
        $this->options = $options;
        $this->stream = static function (): void {
        };
        if ($emitter->lastEventId() === self::FINISHED_ID) {
            // Decided here: once sendContent() runs, Symfony has sent the 200.
            $this->finished = true;
            StreamedResponse::__construct(null, 204);
            $this->callback = static function (): void {
            };
            return;
        }
        // StreamedResponse's, not Symfony's EventStreamResponse's: its default headers include
        // the hop-by-hop `Connection`, which HTTP/2 forbids; the emitter's are set instead.
        StreamedResponse::__construct($callback, $status, $emitter->headers());
    }

    /**
     * As in Symfony's EventStreamResponse: the first callback is the stream's; once there is
     * one, a callback replaces the whole body (HttpKernel wraps the body this way, to keep
     * the request on its stack while the stream runs).
     */
    public function setCallback(callable $callback): static
    {
        if ($this->finished) {
            return $this;
        }
        if ($this->callback !== null) {
            return StreamedResponse::setCallback($callback);
        }
        $this->stream = $callback(...);
        $this->callback = fn () => $this->serve();
        return $this;
    }

    /**
     * Sends one event now, from a callback that got this response (what Symfony's sendEvent()
     * does). Accepts what SseEmitter::send() accepts too.
     *
     * @throws SseException when the stream is not being served (before sendContent(), or after it ended)
     * @throws \Sse\InvalidEventException for a bad field; nothing is written
     */
    public function sendEvent(ServerEvent|ServerSentEvents|array|string $event): static
    {
        $this->sending()->send(self::fields($event));
        return $this;
    }

    /** Whether the client is still there (connection_aborted() does not see what the emitter sees). */
    public function isConnected(): bool
    {
        return $this->emitter !== null && $this->emitter->isConnected();
    }

    /** The emitter serving this response, once sendContent() has started it. */
    public function emitter(): ?SseEmitter
    {
        return $this->emitter;
    }

    public function getRetry(): ?int
    {
        return isset($this->options['retry']) ? (int) $this->options['retry'] : null;
    }

    /** Before the stream starts: the `retry` it starts with; while it runs: sent at once. */
    public function setRetry(int $retry): void
    {
        if ($this->emitter === null) {
            new SseEmitter(['retry' => $retry] + $this->options);
            $this->options['retry'] = $retry;
            return;
        }
        $this->emitter->send(['retry' => $retry]);
        $this->options['retry'] = $retry;
    }

    public function setLogger(LoggerInterface $logger): void
    {
        $this->logger = $logger;
    }

    /** A ServerEvent as the emitter's fields; anything else as it is. */
    private static function fields(mixed $event): mixed
    {
        return $event instanceof ServerEvent ? ServerEventFields::of($event) : $event;
    }

    private function sending(): SseEmitter
    {
        if ($this->emitter === null || $this->emitter->isClosed()) {
            throw new SseException('EventStreamResponse::sendEvent() works only while the stream is served: from the callback, once sendContent() has started it');
        }
        return $this->emitter;
    }

    private function serve(): void
    {
        $failure = null;
        try {
            $sse = $this->emitter = new SseEmitter(['status' => $this->getStatusCode()] + $this->options);
            StreamBody::serve(fn (SseEmitter $sse) => $this->invoke($sse), $sse);
        } catch (\Throwable $e) {
            $failure = $e;
        } finally {
            if ($this->emitter?->isClosed() === false) {
                $this->emitter->close();
            }
        }
        if ($failure === null) {
            return;
        }
        if ($this->logger === null) {
            throw $failure;
        }
        $this->logger->error('Event stream failed: {message}', ['message' => $failure->getMessage(), 'exception' => $failure]);
    }

    /** The user's callback, given this response or the emitter; its events converted. */
    private function invoke(SseEmitter $sse): mixed
    {
        $result = ($this->stream)($this->wantsEmitter() ? $sse : $this);
        return is_iterable($result) ? self::converted($result) : $result;
    }

    /** Whether the callback's first parameter is declared as the emitter. */
    private function wantsEmitter(): bool
    {
        $first = (new \ReflectionFunction($this->stream))->getParameters()[0] ?? null;
        $type = $first?->getType();
        return $type instanceof \ReflectionNamedType && is_a($type->getName(), SseEmitter::class, true);
    }

    /**
     * The events, ServerEvent converted, as a generator StreamBody drains: what its yield
     * evaluates to (false once the client is gone) goes back to the user's generator.
     *
     * @param iterable<mixed> $events
     */
    private static function converted(iterable $events): \Generator
    {
        if (!$events instanceof \Generator) {
            foreach ($events as $event) {
                if (!(yield self::fields($event))) {
                    return;
                }
            }
            return;
        }
        while ($events->valid()) {
            $connected = yield self::fields($events->current());
            $events->send($connected);
        }
    }
}
