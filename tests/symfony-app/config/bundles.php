<?php

return [
    Symfony\Bundle\FrameworkBundle\FrameworkBundle::class => ['all' => true],
    Sse\Symfony\SseBundle::class => ['all' => true],
] + (class_exists(Symfony\Bundle\MercureBundle\MercureBundle::class) && is_file(__DIR__ . '/packages/mercure.yaml')
    ? [Symfony\Bundle\MercureBundle\MercureBundle::class => ['all' => true]]
    : []);
