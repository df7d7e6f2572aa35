<?php

namespace App\Http\Middleware;

use Closure;
use Illuminate\Http\Request;
use Symfony\Component\HttpFoundation\Cookie;

/**
 * Middleware runs after the controller returned the SseResponse and before its body streams:
 * the cookie it adds must reach the client, and the Content-Type it saw is echoed back so tests
 * can tell that middleware sees the SSE headers.
 */
class AddStreamCookie
{
    public function handle(Request $request, Closure $next)
    {
        $response = $next($request);
        $response->headers->setCookie(Cookie::create('sse_seen', 'yes', 0, '/', null, false, true, false, 'lax'));
        $response->headers->set('X-Seen-Content-Type', (string) $response->headers->get('Content-Type'));
        return $response;
    }
}
