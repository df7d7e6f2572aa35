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

    /**
     * A counter that maxDuration ends every second (with retry 100): a client reconnecting
     * with the last id it got must see the sequence go on with nothing lost or repeated.
     */
    public function rotate()
    {
        return response()->sse(function (SseEmitter $sse) {
            $n = (int) ($sse->lastEventId() ?? 0);
            $sse->every(0.1, function (SseEmitter $sse) use (&$n) {
                $n++;
                $sse->send(['id' => $n, 'data' => "n=$n"]);
            });
        }, ['maxDuration' => 1.0, 'retry' => 100, 'heartbeat' => 0]);
    }

    /**
     * Tells an EventSource to stop reconnecting: 204, no body. Text echoed before is discarded;
     * the ordinary (200) response Laravel sends afterwards cannot change it, the headers are out.
     */
    public function reject()
    {
        echo "discarded\n";
        SseEmitter::reject();
        return response('');
    }

    /** A stream that completes: two tokens, then finish(). */
    public function finish()
    {
        return response()->sse(function (SseEmitter $sse) {
            $sse->send(['id' => 1, 'data' => 'token 1']);
            $sse->send(['id' => 2, 'data' => 'token 2']);
            $sse->finish();
        }, ['retry' => 300]);
    }

    /** A misspelt option: an error page (500), never an empty event stream. */
    public function badOption()
    {
        return response()->sse(function (SseEmitter $sse) {
            $sse->send(['event' => 'never', 'data' => 'sent']);
        }, ['retyr' => 2000]);
    }

    /**
     * Serves a stream until the client leaves (heartbeat ?heartbeat, default 1 s); its onClose
     * writes when it noticed into the file named by ?mark=, as tests/stacks/www/lib/mark.php
     * does. maxDuration bounds it if the hang-up is never noticed.
     */
    public function hangup(Request $request)
    {
        $mark = (string) $request->query('mark', '');
        $heartbeat = max(0.1, min(5.0, (float) $request->query('heartbeat', '1')));
        return response()->sse(function (SseEmitter $sse) use ($mark) {
            $sse->onClose(function (SseEmitter $sse) use ($mark) {
                self::mark($mark, ['noticed' => microtime(true), 'connected' => $sse->isConnected()]);
            });
            $sse->send(['event' => 'ready', 'data' => (string) getmypid()]);
            $sse->run();
        }, ['heartbeat' => $heartbeat, 'maxDuration' => 10]);
    }

    /** Writes $data as JSON to $path, only inside the stack tests' temp dirs, never half a file. */
    private static function mark(string $path, array $data): void
    {
        if (!preg_match('~^/tmp/sse-[\w.-]+/marks-\d+/[\w.-]+\.json$~', $path)) {
            return;
        }
        file_put_contents("$path.part", json_encode($data + ['pid' => getmypid()]));
        rename("$path.part", $path);
    }
}
