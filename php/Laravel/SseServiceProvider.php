<?php

declare(strict_types=1);

namespace Sse\Laravel;

use Illuminate\Routing\ResponseFactory;
use Illuminate\Support\ServiceProvider;

/**
 * Adds `response()->sse($callback, $options, $headers)` to Laravel, returning an SseResponse.
 * Discovered through composer.json's extra.laravel.providers.
 */
class SseServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        // Not a static closure: Macroable binds macros to the factory instance.
        ResponseFactory::macro(
            'sse',
            fn (callable $callback, array $options = [], array $headers = []): SseResponse
                => new SseResponse($callback, $options, $headers),
        );
        // The `sse` broadcasting driver (config/broadcasting.php 'driver' => 'sse').
        Broadcasting::registerDriver($this->app);
    }
}
