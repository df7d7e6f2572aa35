<?php

declare(strict_types=1);

namespace Sse\Laravel;

use Illuminate\Broadcasting\Broadcasters\Broadcaster;
use Illuminate\Broadcasting\BroadcastException;
use Illuminate\Http\Request;
use Illuminate\Support\Str;
use Sse\Broker;
use Sse\SseException;
use Symfony\Component\HttpKernel\Exception\AccessDeniedHttpException;

/**
 * Laravel's `sse` broadcasting driver: `broadcast(new OrderShipped($order))` publishes the event
 * once to an Sse\Broker, with each of the event's channels as a topic, and every stream
 * subscribed to one of them (Sse\Laravel\Broadcasting::routes()) writes it.
 *
 * config/broadcasting.php:
 *
 * ```php
 * 'default' => env('BROADCAST_DRIVER', 'sse'),
 * 'connections' => [
 *     'sse' => [
 *         'driver' => 'sse',
 *         'url' => env('SSE_BROKER'),           // null: php.ini sse.broker (default 'local')
 *         'options' => ['history' => 10000],    // Sse\Broker options
 *         'stream' => ['retry' => 2000],        // SseEmitter options of the stream route
 *     ],
 * ],
 * ```
 *
 * The topic is the channel's full name as Laravel formats it: `news`, `private-orders.1`,
 * `presence-room.2`. The SSE event is named by broadcastAs() (else the event's class name) and
 * its data is the JSON of broadcastWith() (else the public properties), as Laravel builds the
 * payload for every broadcaster. Laravel's `socket` key (toOthers()) is dropped: an event
 * stream has no socket id, so toOthers() excludes nobody.
 */
class SseBroadcaster extends Broadcaster
{
    private ?Broker $broker = null;

    /**
     * @param string|null $url the broker URL; null: the sse.broker ini setting
     * @param array<string, mixed> $options Sse\Broker options (history, historyAge, publishTimeout)
     * @param array<string, mixed> $streamOptions SseEmitter options for the streams of this connection
     */
    public function __construct(
        private ?string $url = null,
        private array $options = [],
        private array $streamOptions = [],
    ) {
    }

    /**
     * Builds the driver from a config/broadcasting.php connection.
     *
     * @param array<string, mixed> $config
     */
    public static function fromConfig(array $config): self
    {
        foreach (['options', 'stream'] as $key) {
            if (isset($config[$key]) && !is_array($config[$key])) {
                throw new \InvalidArgumentException(
                    "broadcasting connection of driver [sse]: [$key] must be an array, " . get_debug_type($config[$key]) . ' given',
                );
            }
        }
        $url = $config['url'] ?? null;
        if ($url !== null && !is_string($url)) {
            throw new \InvalidArgumentException('broadcasting connection of driver [sse]: [url] must be a string or null, ' . get_debug_type($url) . ' given');
        }
        return new self($url === '' ? null : $url, $config['options'] ?? [], $config['stream'] ?? []);
    }

    /** The broker events are published to and streams subscribe to; created on first use. */
    public function broker(): Broker
    {
        return $this->broker ??= new Broker($this->url, $this->options === [] ? null : $this->options);
    }

    /** @return array<string, mixed> SseEmitter options for the streams of this connection */
    public function streamOptions(): array
    {
        return $this->streamOptions;
    }

    /**
     * Publishes the event once to all of its channels.
     *
     * @param array<int, \Illuminate\Broadcasting\Channel|string> $channels
     * @param string $event
     * @param array<string, mixed> $payload
     * @throws BroadcastException the broker could not store the event (nothing was published)
     */
    public function broadcast(array $channels, $event, array $payload = [])
    {
        if ($channels === []) {
            return;
        }
        $topics = $this->formatChannels($channels);
        unset($payload['socket']);
        try {
            $this->broker()->publish($topics, [
                'event' => (string) $event,
                // An empty payload is still an object to the page's JSON.parse().
                'data' => $payload === [] ? new \stdClass() : $payload,
            ]);
        } catch (SseException $e) {
            throw new BroadcastException(sprintf(
                'Could not broadcast [%s] to [%s] through the sse broker %s: %s',
                $event,
                implode(', ', $topics),
                $this->broker?->url() ?? ($this->url ?? 'of the sse.broker ini setting'),
                $e->getMessage(),
            ), 0, $e);
        }
    }

    /**
     * Authorizes one channel for Laravel's `/broadcasting/auth` endpoint (the request's
     * `channel_name`), with the app's Broadcast::channel() callbacks.
     *
     * @throws AccessDeniedHttpException
     */
    public function auth($request)
    {
        $channel = (string) $request->input('channel_name', '');
        if ($channel === '' || ($this->isGuarded($channel) && !$this->retrieveUser($request, $this->channelRoute($channel)))) {
            throw new AccessDeniedHttpException();
        }
        return $this->verifyUserCanAccessChannel($request, $this->channelRoute($channel));
    }

    /**
     * `true` for a private channel; for a presence channel, the user's id and what the
     * channel callback returned about them.
     */
    public function validAuthenticationResponse($request, $result)
    {
        if (is_bool($result)) {
            return json_encode($result);
        }
        $channel = (string) $request->input('channel_name', '');
        $user = $this->retrieveUser($request, $this->channelRoute($channel));
        $id = method_exists($user, 'getAuthIdentifierForBroadcasting')
            ? $user->getAuthIdentifierForBroadcasting()
            : $user->getAuthIdentifier();
        return json_encode(['channel_data' => ['user_id' => $id, 'user_info' => $result]]);
    }

    /**
     * Whether the request's user may listen on the channel (its full name). Public channels
     * are open to everyone, as with Pusher and Redis; `private-` and `presence-` channels need
     * a user and a Broadcast::channel() callback that returns a truthy value for them.
     */
    public function mayListen(Request $request, string $channel): bool
    {
        if (!$this->isGuarded($channel)) {
            return true;
        }
        $route = $this->channelRoute($channel);
        if (!$this->retrieveUser($request, $route)) {
            return false;
        }
        foreach ($this->channels as $pattern => $callback) {
            if (!$this->channelNameMatchesPattern($route, $pattern)) {
                continue;
            }
            try {
                $parameters = $this->extractAuthParameters($pattern, $route, $callback);
            } catch (AccessDeniedHttpException) {
                return false; // a route-model binding found no model
            }
            $handler = $this->normalizeChannelHandlerToCallable($callback);
            if ($handler($this->retrieveUser($request, $route), ...$parameters)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the channel needs authorization (`private-...`, `presence-...`). */
    public function isGuarded(string $channel): bool
    {
        return Str::startsWith($channel, ['private-', 'presence-']);
    }

    /** The name Broadcast::channel() patterns are written for: the full name without its prefix. */
    private function channelRoute(string $channel): string
    {
        foreach (['private-encrypted-', 'private-', 'presence-'] as $prefix) {
            if (str_starts_with($channel, $prefix)) {
                return substr($channel, strlen($prefix));
            }
        }
        return $channel;
    }
}
