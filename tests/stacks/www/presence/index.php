<?php
// A Mercure hub with active subscriptions, as the front controller: nginx hands it
// /.well-known/mercure and everything under it (the subscription API included).
(new Sse\MercureHub(null, [
    'jwtKey' => 'stack-test-secret-of-at-least-256-bits!',
    'subscriptions' => true,
    'heartbeat' => 5,
]))->serve();
