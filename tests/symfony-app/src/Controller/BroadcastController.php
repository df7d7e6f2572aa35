<?php

namespace App\Controller;

use Sse\Broker;
use Sse\SseEmitter;
use Sse\Symfony\EventStreamResponse;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\Routing\Attribute\Route;

/**
 * Broadcast through the bundle's broker (sse.broker, autowired): a publishing action, a stream
 * subscribed in the worker, and one that detaches. Topics come from ?topics=a,b here because
 * this is a test app; a real app picks them itself, after authorizing the user.
 */
final class BroadcastController
{
    /** Publishes ?n= `news` events (default 1) to ?topics=, data ?prefix= and the event's number; their ids. */
    #[Route('/broadcast/publish')]
    public function publish(Request $request, Broker $broker): JsonResponse
    {
        $ids = [];
        for ($i = 0; $i < max(1, min(1000, $request->query->getInt('n', 1))); $i++) {
            $ids[] = $broker->publish(self::topics($request), [
                'event' => 'news',
                'data' => $request->query->get('prefix', '') . $i,
            ]);
        }
        return new JsonResponse(['ids' => $ids]);
    }

    /** A stream subscribed to ?topics=, served by this worker until the client leaves. */
    #[Route('/broadcast/stream')]
    public function stream(Request $request, Broker $broker): EventStreamResponse
    {
        $topics = self::topics($request);
        return new EventStreamResponse(function (SseEmitter $sse) use ($topics, $broker) {
            $sse->subscribe($topics, $broker);
            $sse->comment('subscribed');
        }, retry: 200, options: ['heartbeat' => 1]);
    }

    /**
     * The same stream detached: under php-fpm the worker is free once it is handed over;
     * elsewhere it is served here. Writes "detached" and the pid to ?mark= afterwards.
     */
    #[Route('/broadcast/detached')]
    public function detached(Request $request, Broker $broker): EventStreamResponse
    {
        $topics = self::topics($request);
        $mark = (string) $request->query->get('mark', '');
        return new EventStreamResponse(function (SseEmitter $sse) use ($topics, $broker, $mark) {
            $sse->subscribe($topics, $broker);
            $sse->comment('subscribed');
            $detached = $sse->detach();
            if (preg_match('~^/tmp/sse-[\w.-]+/marks-\d+/[\w.-]+\.json$~', $mark)) {
                file_put_contents($mark, json_encode(['detached' => $detached, 'pid' => getmypid()]));
            }
        }, retry: 200, options: ['heartbeat' => 1]);
    }

    /** @return list<string> */
    private static function topics(Request $request): array
    {
        return explode(',', (string) $request->query->get('topics', 'news'));
    }
}
