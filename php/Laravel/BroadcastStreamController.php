<?php

declare(strict_types=1);

namespace Sse\Laravel;

use Illuminate\Http\Request;
use Symfony\Component\HttpFoundation\Response;

/**
 * The stream a page opens with EventSource to receive what the app broadcasts:
 *
 * ```js
 * new EventSource('/sse/stream?channels[]=news&channels[]=private-orders.1')
 * ```
 *
 * Every channel asked for is checked before the stream starts:
 * - no channel, or a name that cannot be a topic: 400;
 * - a `private-` or `presence-` channel the user may not listen on (no user, or the app's
 *   Broadcast::channel() callback refuses): 403 naming the channel, and nothing is streamed.
 *   The whole request is refused rather than the channel silently left out: EventSource does
 *   not reconnect after a 4xx, so a page asking for what it may not see fails visibly.
 *
 * Then the stream subscribes to all of them and writes every event broadcast to any of them,
 * each with the broker's id; a reconnecting EventSource resumes after its Last-Event-ID, and an
 * id the broker cannot resume from gets an `sse-reset` event first.
 *
 * Registered by Sse\Laravel\Broadcasting::routes().
 */
class BroadcastStreamController
{
    /** The route action key naming the broadcasting connection (null: the default one). */
    public const CONNECTION_ACTION = 'sseConnection';

    public function stream(Request $request): Response
    {
        $connection = $request->route()?->getAction(self::CONNECTION_ACTION);
        $broadcaster = Broadcasting::broadcaster($connection);

        // Null stands for '' here: the ConvertEmptyStringsToNull middleware of Laravel's default
        // stack turns `?channels=` and `?channels[]=` into nulls.
        $asked = $request->query('channels');
        $channels = match (true) {
            is_string($asked) => [$asked],
            is_array($asked) => array_map(static fn ($channel) => $channel ?? '', $asked),
            $asked === null && $request->query->has('channels') => [''],
            default => [],
        };
        if ($channels === []) {
            return self::refuse(400, 'No channel asked for: open the stream with ?channels[]=NAME (one per channel).');
        }
        if (count($channels) > Broadcasting::MAX_CHANNELS) {
            return self::refuse(400, sprintf('%d channels asked for; at most %d may share a stream.', count($channels), Broadcasting::MAX_CHANNELS));
        }
        foreach ($channels as $channel) {
            if (!is_string($channel)) {
                return self::refuse(400, 'Each channels[] parameter must be a channel name, not a nested array.');
            }
            $reason = Broadcasting::invalidChannelReason($channel);
            if ($reason !== null) {
                return self::refuse(400, "Invalid channel: $reason.");
            }
        }
        $names = array_values(array_unique($channels));

        foreach ($names as $channel) {
            if (!$broadcaster->mayListen($request, $channel)) {
                return self::refuse(403, "Not allowed to listen on channel [$channel].");
            }
        }
        return Broadcasting::stream($names, [], [], $connection);
    }

    private static function refuse(int $status, string $message): Response
    {
        return new Response($message . "\n", $status, [
            'Content-Type' => 'text/plain; charset=utf-8',
            'Cache-Control' => 'no-store',
        ]);
    }
}
