<?php

namespace App\Exceptions;

use Illuminate\Foundation\Exceptions\Handler as ExceptionHandler;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpKernel\Exception\HttpExceptionInterface;
use Throwable;

/** Laravel's handler (reports to the log), with plain-text error pages: the app has no views. */
class Handler extends ExceptionHandler
{
    public function render($request, Throwable $e)
    {
        return self::plainText($e);
    }

    /** The error page of both skeletons (tests/laravel13-app renders it from withExceptions()). */
    public static function plainText(Throwable $e): Response
    {
        $status = $e instanceof HttpExceptionInterface ? $e->getStatusCode() : 500;
        return response($status === 404 ? 'Not Found' : 'Server Error', $status, ['Content-Type' => 'text/plain']);
    }
}
