<?php

declare(strict_types=1);

namespace Sse\Laravel;

use Illuminate\Broadcasting\BroadcastManager;
use Illuminate\Contracts\Container\Container;
use Illuminate\Contracts\Foundation\CachesRoutes;
use Illuminate\Support\Facades\Route;
use Sse\SseEmitter;

/**
 * Laravel broadcasting over Server-Sent Events: the `sse` driver and the stream route pages
 * open with EventSource.
 *
 * In routes/web.php (or a route service provider):
 *
 * ```php
 * Sse\Laravel\Broadcasting::routes();   // GET /sse/stream?channels[]=news&channels[]=private-orders.1
 * ```
 */
final class Broadcasting
{
    public const URI = '/sse/stream';
    public const ROUTE_NAME = 'sse.stream';
    public const DRIVER = 'sse';

    /** The most channels one stream may ask for (the broker's limit of topics per subscription). */
    public const MAX_CHANNELS = 100;

    /** The longest channel name, in bytes (the broker's limit for a topic). */
    public const MAX_CHANNEL_BYTES = 200;

    /**
     * Registers the stream route, `GET /sse/stream` named `sse.stream`.
     *
     * @param array<string, mixed>|null $attributes route group attributes; null: the `web`
     *        middleware group, as Broadcast::routes() uses, so session users are known
     * @param string|null $connection the broadcasting connection (driver sse); null: the default
     */
    public static function routes(?array $attributes = null, string $uri = self::URI, ?string $connection = null): void
    {
        $app = \Illuminate\Container\Container::getInstance();
        if ($app instanceof CachesRoutes && $app->routesAreCached()) {
            return;
        }
        Route::group($attributes ?? ['middleware' => ['web']], static function () use ($uri, $connection): void {
            Route::get($uri, [
                'uses' => BroadcastStreamController::class . '@stream',
                BroadcastStreamController::CONNECTION_ACTION => $connection,
            ])->name(self::ROUTE_NAME);
        });
    }

    /**
     * An event stream of what is broadcast to $channels (their full names), resuming after the
     * request's Last-Event-ID. Under php-fpm the stream is detached: the extension serves it
     * and the worker takes its next request at once; elsewhere it is served in the worker. It
     * does not authorize: check private channels before calling it (the stream route does).
     *
     * @param string|string[] $channels
     * @param array<string, mixed> $options SseEmitter options, over the connection's `stream` options
     * @param array<string, string> $headers extra response headers
     */
    public static function stream(string|array $channels, array $options = [], array $headers = [], ?string $connection = null): SseResponse
    {
        $broadcaster = self::broadcaster($connection);
        // Created now, not in the stream: a broker that cannot be opened fails the request
        // through the exception handler (a 500 the client sees) rather than a closed stream.
        $broker = $broadcaster->broker();
        $topics = array_values(array_map('strval', (array) $channels));
        return new SseResponse(
            static function (SseEmitter $sse) use ($topics, $broker): void {
                $sse->subscribe($topics, $broker)->detach();
            },
            $options + $broadcaster->streamOptions(),
            $headers,
        );
    }

    /**
     * The `sse` broadcaster of a connection.
     *
     * @throws \LogicException the connection's driver is not sse
     */
    public static function broadcaster(?string $connection = null): SseBroadcaster
    {
        $manager = \Illuminate\Container\Container::getInstance()->make(BroadcastManager::class);
        $broadcaster = $manager->connection($connection);
        if (!$broadcaster instanceof SseBroadcaster) {
            $name = $connection ?? $manager->getDefaultDriver();
            throw new \LogicException(sprintf(
                "Broadcasting connection [%s] is a %s, not the '%s' driver: set its 'driver' => '%s' in config/broadcasting.php, "
                . 'or name an sse connection in Sse\Laravel\Broadcasting::routes()',
                $name,
                get_debug_type($broadcaster),
                self::DRIVER,
                self::DRIVER,
            ));
        }
        return $broadcaster;
    }

    /**
     * Why a channel name cannot be a topic, or null when it can. Mirrors the broker's own check
     * so that a bad name is answered with a 400 before the stream starts.
     */
    public static function invalidChannelReason(string $channel): ?string
    {
        if ($channel === '') {
            return 'a channel name is empty';
        }
        $shown = json_encode(substr($channel, 0, 40), JSON_INVALID_UTF8_SUBSTITUTE | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
        if (strlen($channel) > self::MAX_CHANNEL_BYTES) {
            return sprintf('channel %s... is %d bytes long; the limit is %d', $shown, strlen($channel), self::MAX_CHANNEL_BYTES);
        }
        if (!mb_check_encoding($channel, 'UTF-8')) {
            return "channel $shown is not valid UTF-8";
        }
        if (preg_match('/\p{Cc}/u', $channel, $m, PREG_OFFSET_CAPTURE) === 1) {
            return sprintf('channel %s contains the control character U+%04X at byte %d', $shown, mb_ord($m[0][0], 'UTF-8'), $m[0][1]);
        }
        return null;
    }

    /**
     * Registers the `sse` driver with Laravel's BroadcastManager, when the app has one; called
     * by SseServiceProvider::boot().
     */
    public static function registerDriver(Container $app): void
    {
        if (!class_exists(BroadcastManager::class)) {
            return;
        }
        $extend = static function (BroadcastManager $manager): void {
            $manager->extend(self::DRIVER, static fn ($app, array $config) => SseBroadcaster::fromConfig($config));
        };
        // The manager is usually deferred: extend it when it is first made, not at every boot.
        if ($app->resolved(BroadcastManager::class)) {
            $extend($app->make(BroadcastManager::class));
        } else {
            $app->afterResolving(BroadcastManager::class, $extend);
        }
    }
}
