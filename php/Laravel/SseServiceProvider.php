<?php

declare(strict_types=1);

namespace Sse\Laravel;

use Illuminate\Routing\ResponseFactory;
use Illuminate\Support\ServiceProvider;
use Sse\Support\Extension;

/**
 * Adds `response()->sse($callback, $options, $headers)` to Laravel, returning an SseResponse,
 * and `response()->sseEventStream()`, Laravel's eventStream() served by the extension (see
 * SseResponse::eventStream()). Discovered through composer.json's extra.laravel.providers.
 *
 * Without the sse extension, booting fails with the fix in the message, so that every request
 * answers with the app's error page instead of streams that are empty 200s. Console commands
 * boot anyway (Composer's package:discover, queue workers: their PHP often lacks the extension);
 * there response()->sse() throws the same message.
 */
class SseServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        if (!$this->app->runningInConsole()) {
            Extension::require(self::class);
        }
        // Not a static closure: Macroable binds macros to the factory instance.
        ResponseFactory::macro(
            'sse',
            fn (callable $callback, array $options = [], array $headers = []): SseResponse
                => new SseResponse($callback, $options, $headers),
        );
        ResponseFactory::macro(
            'sseEventStream',
            fn (\Closure $callback, array $headers = [], $endStreamWith = '</stream>', array $options = []): SseResponse
                => SseResponse::eventStream($callback, $headers, $endStreamWith, $options),
        );
        // The `sse` broadcasting driver (config/broadcasting.php 'driver' => 'sse').
        Broadcasting::registerDriver($this->app);
    }
}
