<?php

/**
 * The test app in the skeleton of Laravel 11 and later (Application::configure(), no HTTP kernel
 * class, providers in bootstrap/providers.php). Its routes, channels, controllers, events,
 * middleware and config are those of tests/laravel-app, the same app in Laravel 8's skeleton:
 * both answer the same requests the same way.
 */

use Illuminate\Foundation\Application;
use Illuminate\Foundation\Configuration\Exceptions;
use Illuminate\Foundation\Configuration\Middleware;
use Illuminate\Support\Facades\Route;

$shared = dirname(__DIR__, 2) . '/laravel-app';
require_once "$shared/bootstrap/autoload.php";
$storage = require "$shared/bootstrap/storage.php";

$app = Application::configure(basePath: dirname(__DIR__))
    ->withRouting(
        // No 'web' group, as in the other skeleton: sessions and CSRF are not what these tests
        // are about (Sse\Laravel\Broadcasting::routes() still defaults to it).
        using: static fn () => Route::group([], "$shared/routes/web.php"),
        channels: "$shared/routes/channels.php",
    )
    ->withMiddleware(static function (Middleware $middleware): void {
        $middleware->alias(['stream.cookie' => App\Http\Middleware\AddStreamCookie::class]);
    })
    ->withExceptions(static function (Exceptions $exceptions): void {
        $exceptions->render(static fn (Throwable $e) => App\Exceptions\Handler::plainText($e));
    })
    ->create();
// Debian's php-laravel-framework installs the framework's default config files in
// /usr/share/php/Illuminate/config, but Laravel looks for them four directories above its
// LoadConfiguration class (the layout of a Composer vendor tree): /usr/share/config, which does
// not exist, and booting fails. The app's own config/ holds all it needs instead.
$app->dontMergeFrameworkConfiguration();
$app->useAppPath("$shared/app");
$app->useStoragePath($storage);

return $app;
