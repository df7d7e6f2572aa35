<?php

/**
 * The test app's Application, in the skeleton of Laravel 8 to 10 (an HTTP kernel class of the
 * app's own). tests/laravel13-app is the same app in the skeleton of Laravel 11 and later.
 */

require_once __DIR__ . '/autoload.php';

$storage = require __DIR__ . '/storage.php';

$app = new Illuminate\Foundation\Application(dirname(__DIR__));
$app->useStoragePath($storage);

$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, Illuminate\Foundation\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, App\Exceptions\Handler::class);

return $app;
