<?php

// Front controller, for php-fpm (document root tests/laravel13-app/public) and for
// `php -S 127.0.0.1:PORT -t tests/laravel13-app/public tests/laravel13-app/public/index.php`.

use Illuminate\Http\Request;

$app = require __DIR__ . '/../bootstrap/app.php';

$app->handleRequest(Request::capture());
