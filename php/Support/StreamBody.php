<?php

declare(strict_types=1);

namespace Sse\Support;

use Sse\SseEmitter;

/**
 * Runs a user's stream callback on an emitter, the one way both the Laravel response and the
 * test recorder do it, so that a stream behaves the same in a test as in a request:
 *
 * - the callback gets the emitter and may send, arm timers, call run() itself, or close;
 * - if it returns a Generator, each yielded item (ServerSentEvents, array of fields or data
 *   string) is sent as soon as it is yielded; the `yield` expression evaluates to send()'s
 *   result, false once the client is gone, and iteration stops there;
 * - if it armed timers or subscribed to a broker's topics and left the stream open, run()
 *   serves them until the stream ends.
 *
 * @internal
 */
final class StreamBody
{
    public static function serve(callable $callback, SseEmitter $sse): void
    {
        $mark = self::timerMark($sse);
        $result = $callback($sse);
        if ($result instanceof \Generator) {
            self::drain($result, $sse);
        }
        // Timer ids only grow: a gap of more than one between two probes means the callback
        // armed timers of its own (the emitter has no public timer count). A subscribed stream
        // has work too: the broker's events.
        if ($mark !== null && !$sse->isClosed() && (self::timerMark($sse) - $mark > 1 || $sse->isSubscribed())) {
            $sse->run();
        }
    }

    private static function drain(\Generator $events, SseEmitter $sse): void
    {
        while ($events->valid()) {
            if ($sse->isClosed()) {
                return;
            }
            $connected = $sse->send($events->current());
            if (!$connected) {
                return;
            }
            $events->send($connected);
        }
    }

    /** The id a new timer gets now (the probe is cancelled at once), or null once closed. */
    private static function timerMark(SseEmitter $sse): ?int
    {
        if ($sse->isClosed()) {
            return null;
        }
        $id = $sse->after(3600.0, static function (): void {
        });
        $sse->cancel($id);
        return $id;
    }
}
