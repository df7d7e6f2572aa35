<?php

namespace App\Http\Controllers;

use Illuminate\Http\Request;
use Sse\ServerSentEvents;
use Sse\SseEmitter;

/** One action per way of writing a stream with response()->sse(). */
class StreamController
{
    /** Plain sends: fields, a value object, and data alone. */
    public function events()
    {
        return response()->sse(function (SseEmitter $sse) {
            $sse->send(['event' => 'greeting', 'data' => 'hello', 'id' => '1']);
            $sse->send(ServerSentEvents::message(['n' => 2], 'count', 2));
            $sse->send('plain data');
        }, ['retry' => 1500], ['X-Stream' => 'events']);
    }

    /** A generator: each yield is sent as it comes. */
    public function generator()
    {
        return response()->sse(function () {
            foreach (['one', 'two', 'three'] as $i => $word) {
                yield ['event' => 'word', 'data' => $word, 'id' => (string) ($i + 1)];
            }
        });
    }

    /** Timers: ?count ticks (1-50, default 5) every ?interval seconds (0.01-2, default 0.2). */
    public function ticks(Request $request)
    {
        $count = max(1, min(50, (int) $request->query('count', '5')));
        $interval = max(0.01, min(2.0, (float) $request->query('interval', '0.2')));
        return response()->sse(function (SseEmitter $sse) use ($count, $interval) {
            $sent = 0;
            $sse->every($interval, function (SseEmitter $sse) use (&$sent, $count) {
                $sse->send(['event' => 'tick', 'data' => (string) ++$sent, 'id' => (string) $sent]);
                if ($sent >= $count) {
                    $sse->close();
                }
            });
        }, ['heartbeat' => 0]);
    }

    /** Fails after the first event: the failure is reported, never streamed. */
    public function fails()
    {
        return response()->sse(function (SseEmitter $sse) {
            $sse->send(['event' => 'before', 'data' => 'ok']);
            throw new \RuntimeException('secret failure detail');
        });
    }

    /** Tells the client which id it resumed from (Last-Event-ID or ?lastEventId). */
    public function resume()
    {
        return response()->sse(function (SseEmitter $sse) {
            $sse->send(['event' => 'resume', 'data' => $sse->lastEventId() ?? 'none']);
        });
    }
}
