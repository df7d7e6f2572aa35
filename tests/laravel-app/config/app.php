<?php

return [
    'name' => 'ext-sse test app',
    'env' => env('APP_ENV', 'testing'),
    // Off: an error page must never leak into an event stream or a test's output.
    'debug' => (bool) env('APP_DEBUG', false),
    'url' => 'http://127.0.0.1',
    'timezone' => 'UTC',
    'locale' => 'en',
    'fallback_locale' => 'en',
    // A fixed key for a test app that stores nothing; override with APP_KEY.
    'key' => env('APP_KEY', 'base64:c3NlLXRlc3QtYXBwLWtleS0zMi1ieXRlcy1sb25nIQ=='),
    'cipher' => 'AES-256-CBC',
    'providers' => [
        Illuminate\Cookie\CookieServiceProvider::class,
        Illuminate\Encryption\EncryptionServiceProvider::class,
        Illuminate\Filesystem\FilesystemServiceProvider::class,
        // The response factory needs a view factory, even for responses without views.
        Illuminate\View\ViewServiceProvider::class,
        // Broadcasting: the manager, its queue (sync) and bus, and the users that channel callbacks check.
        Illuminate\Auth\AuthServiceProvider::class,
        Illuminate\Broadcasting\BroadcastServiceProvider::class,
        Illuminate\Bus\BusServiceProvider::class,
        Illuminate\Queue\QueueServiceProvider::class,
        // Listed explicitly: there is no vendor/composer/installed.json for package discovery.
        Sse\Laravel\SseServiceProvider::class,
        App\Providers\AuthServiceProvider::class,
        App\Providers\BroadcastServiceProvider::class,
        App\Providers\RouteServiceProvider::class,
    ],
    'aliases' => [],
];
