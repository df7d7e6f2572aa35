<?php

// The app's providers (Laravel's own are its defaults). SseServiceProvider is listed because
// there is no vendor/composer/installed.json for package discovery to read.
return [
    Sse\Laravel\SseServiceProvider::class,
    App\Providers\AuthServiceProvider::class,
];
