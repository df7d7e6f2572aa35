<?php

declare(strict_types=1);

namespace Sse\Testing;

use Sse\SseEmitter;
use Sse\Support\StreamBody;
use Symfony\Component\HttpFoundation\Response;

/**
 * Runs a stream in-process, on the virtual clock, and records what it sent:
 *
 * ```php
 * $stream = EventStreamRecorder::record(function (SseEmitter $sse) {
 *     $sse->every(15, fn (SseEmitter $sse) => $sse->send(['event' => 'tick', 'data' => 'now']));
 * }, ['maxDuration' => 600, 'heartbeat' => 0]);
 * $stream->assertSentCount(40, 'tick')->assertClosed();   // ten minutes, in milliseconds
 * ```
 *
 * The callback is served as a Laravel response serves it (Sse\Support\StreamBody): it may
 * send, return a Generator, or arm timers; armed timers are run() to the end of the stream.
 * On the virtual clock every wait returns at once, so minutes of timers take milliseconds.
 */
final class EventStreamRecorder
{
    /**
     * A stream that never ends on its own (timers, no maxDuration, no close()) gets this many
     * virtual seconds as its maxDuration, so that a test cannot hang. (An option, not a timer
     * of the recorder's own: a stream that detach()es may have no PHP timers.)
     */
    public const VIRTUAL_LIMIT = 86400.0;

    /**
     * @param callable(SseEmitter): mixed $stream
     * @param array<string, mixed> $options SseEmitter options; `clock` defaults to 'virtual'
     */
    public static function record(callable $stream, array $options = []): RecordedStream
    {
        $options += ['clock' => 'virtual'];
        if ($options['clock'] === 'virtual' && empty($options['maxDuration'])) {
            $options['maxDuration'] = self::VIRTUAL_LIMIT;
        }
        $sse = new SseEmitter($options);
        $closed = false;
        $body = OutputCapture::run(static function () use ($sse, $stream, $options, &$closed): void {
            try {
                StreamBody::serve($stream, $sse);
            } finally {
                $closed = $sse->isClosed();
                if (!$closed) {
                    // What the end of a request does: the stream ends, onClose callbacks run.
                    $sse->close();
                }
            }
        });
        return new RecordedStream($body, $sse->headers(), $closed);
    }

    /** Records a streamed Symfony or Laravel response; see RecordedStream::fromResponse(). */
    public static function fromResponse(Response $response): RecordedStream
    {
        return RecordedStream::fromResponse($response);
    }
}
