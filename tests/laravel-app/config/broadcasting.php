<?php

// Laravel broadcasting over the `sse` driver (Sse\Laravel\SseBroadcaster). SSE_BROKER names
// the broker: the stack tests point it at a local:///tmp/... directory they create; unset, it
// is php.ini's sse.broker (default: the embedded broker in /dev/shm/ext-sse).
return [
    'default' => env('BROADCAST_DRIVER', 'sse'),
    'connections' => [
        'sse' => [
            'driver' => 'sse',
            'url' => env('SSE_BROKER'),
            'options' => ['history' => 1000],
            'stream' => ['retry' => 500],
        ],
        // The same broker, for /sse/rotating: streams that end after a second (maxDuration),
        // so clients reconnect with Last-Event-ID while events keep coming.
        'sse-rotating' => [
            'driver' => 'sse',
            'url' => env('SSE_BROKER'),
            'stream' => ['retry' => 100, 'maxDuration' => 1.0],
        ],
    ],
];
