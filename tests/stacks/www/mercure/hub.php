<?php
// A plain PHP Mercure hub on the stack's broker (the sse.broker ini setting): what
// /.well-known/mercure would run in production.
(new Sse\MercureHub(null, [
    'jwtKey' => 'stack-test-secret-of-at-least-256-bits!',
    'anonymous' => true,
    'corsOrigins' => ['http://app.example.test'],
    'heartbeat' => 5,
]))->serve();
