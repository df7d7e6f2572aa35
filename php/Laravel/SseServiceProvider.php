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
        ResponseFactory::macro(
            'sse',
            static fn (callable $callback, array $options = [], array $headers = []): SseResponse
                => new SseResponse($callback, $options, $headers),
        );
    }
}
