<?php
// The benchmark's hub: anonymous subscribers, HS256 publishers, on the embedded broker in
// $SSE_BENCH_BROKER (the php-fpm pool's environment).
(new Sse\MercureHub(new Sse\Broker('local://' . getenv('SSE_BENCH_BROKER')), [
    'jwtKey' => 'bench-mercure-secret-of-at-least-256-bits!!',
    'anonymous' => true,
]))->serve();
