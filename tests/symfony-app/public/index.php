<?php

// Front controller, for php-fpm (document root tests/symfony-app/public) and for
// `php -S 127.0.0.1:PORT -t tests/symfony-app/public tests/symfony-app/public/index.php`.
// Symfony's Runtime component is what a Composer install uses (vendor/autoload_runtime.php,
// which Composer generates); without Composer the kernel is run by hand, as it does.

use App\Kernel;
use Symfony\Component\HttpFoundation\Request;

require dirname(__DIR__) . '/bootstrap/autoload.php';

$kernel = new Kernel('prod', false);
$request = Request::createFromGlobals();
$response = $kernel->handle($request);
$response->send();
$kernel->terminate($request, $response);
