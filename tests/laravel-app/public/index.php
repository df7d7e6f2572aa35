<?php

// Front controller, for php-fpm (document root tests/laravel-app/public) and for
// `php -S 127.0.0.1:PORT -t tests/laravel-app/public tests/laravel-app/public/index.php`.

$app = require __DIR__ . '/../bootstrap/app.php';

$kernel = $app->make(Illuminate\Contracts\Http\Kernel::class);
$response = $kernel->handle($request = Illuminate\Http\Request::capture());
$response->send();
$kernel->terminate($request, $response);
