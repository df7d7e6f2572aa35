<?php

namespace App\Controller;

use Sse\SseEmitter;
use Sse\Symfony\EventStreamResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpFoundation\ServerEvent;
use Symfony\Component\HttpKernel\Kernel;
use Symfony\Component\Routing\Attribute\Route;

/** One action per way of writing a stream with Sse\Symfony\EventStreamResponse. */
final class StreamController
{
    #[Route('/ping')]
    public function ping(): Response
    {
        return new Response('pong', 200, ['Content-Type' => 'text/plain']);
    }

    #[Route('/version')]
    public function version(): Response
    {
        return new Response(Kernel::VERSION . ' ' . PHP_VERSION, 200, ['Content-Type' => 'text/plain']);
    }

    /**
     * Symfony's style: the callback gets the response and sends ServerEvent objects, here with
     * a "0" type and id, iterable data and multi-line data.
     */
    #[Route('/events')]
    public function events(): EventStreamResponse
    {
        return new EventStreamResponse(function (EventStreamResponse $response) {
            $response->sendEvent(new ServerEvent('hello', type: 'greeting', id: '1'));
            $response->sendEvent(new ServerEvent(['line 1', 'line 2'], type: 'lines', id: '2'));
            $response->sendEvent(new ServerEvent("zero\r\ntype", type: '0', id: '0'));
        }, headers: ['X-Stream' => 'events'], retry: 1500);
    }

    /** A generator of ServerEvent: each is sent as it is yielded. */
    #[Route('/generator')]
    public function generator(): EventStreamResponse
    {
        return new EventStreamResponse(function () {
            foreach (['one', 'two', 'three'] as $i => $word) {
                yield new ServerEvent($word, type: 'word', id: (string) ($i + 1));
            }
        });
    }

    /** The emitter style: ?count ticks (1-50) every ?interval seconds (0.01-2) from a timer. */
    #[Route('/ticks')]
    public function ticks(Request $request): EventStreamResponse
    {
        $count = max(1, min(50, $request->query->getInt('count', 5)));
        $interval = max(0.01, min(2.0, (float) $request->query->get('interval', '0.2')));
        return new EventStreamResponse(function (SseEmitter $sse) use ($count, $interval) {
            $sent = 0;
            $sse->every($interval, function (SseEmitter $sse) use (&$sent, $count) {
                $sent++;
                $sse->send(['event' => 'tick', 'data' => (string) $sent, 'id' => (string) $sent]);
                if ($sent >= $count) {
                    $sse->close();
                }
            });
        }, options: ['heartbeat' => 0]);
    }

    /** Fails after the first event: the failure goes to the app's log, never to the client. */
    #[Route('/fails')]
    public function fails(): EventStreamResponse
    {
        return new EventStreamResponse(function () {
            yield new ServerEvent('ok', type: 'before');
            throw new \RuntimeException('secret failure detail');
        });
    }

    /** Tells the client which id it resumed from (Last-Event-ID or ?lastEventId). */
    #[Route('/resume')]
    public function resume(): EventStreamResponse
    {
        return new EventStreamResponse(function (SseEmitter $sse) {
            $sse->send(['event' => 'resume', 'data' => $sse->lastEventId() ?? 'none']);
        });
    }

    /** A stream that completes: two tokens, then finish(); its reconnect gets a 204. */
    #[Route('/finish')]
    public function finish(): EventStreamResponse
    {
        return new EventStreamResponse(function (SseEmitter $sse) {
            $sse->send(['id' => 1, 'data' => 'token 1']);
            $sse->send(['id' => 2, 'data' => 'token 2']);
            $sse->finish();
        }, retry: 300);
    }

    /** A misspelt option: the app's error page (500), never an empty event stream. */
    #[Route('/bad-option')]
    public function badOption(): EventStreamResponse
    {
        return new EventStreamResponse(function () {
            yield new ServerEvent('never sent');
        }, options: ['retyr' => 2000]);
    }

    /**
     * Serves a stream until the client leaves (heartbeat ?heartbeat, default 1 s); its onClose
     * writes when it noticed into the file named by ?mark=, as tests/stacks/www/lib/mark.php
     * does. maxDuration bounds it if the hang-up is never noticed.
     */
    #[Route('/hangup')]
    public function hangup(Request $request): EventStreamResponse
    {
        $mark = (string) $request->query->get('mark', '');
        $heartbeat = max(0.1, min(5.0, (float) $request->query->get('heartbeat', '1')));
        return new EventStreamResponse(function (SseEmitter $sse) use ($mark) {
            $sse->onClose(function (SseEmitter $sse) use ($mark) {
                self::mark($mark, ['noticed' => microtime(true), 'connected' => $sse->isConnected()]);
            });
            $sse->send(['event' => 'ready', 'data' => (string) getmypid()]);
            $sse->run();
        }, options: ['heartbeat' => $heartbeat, 'maxDuration' => 10]);
    }

    /** The browser tests' recorder page (tests/stacks/www/browser/eventsource.html), same origin. */
    #[Route('/browser/eventsource.html')]
    public function recorderPage(): Response
    {
        $page = dirname(__DIR__, 3) . '/stacks/www/browser/eventsource.html';
        return new Response((string) file_get_contents($page), 200, ['Content-Type' => 'text/html; charset=utf-8']);
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
