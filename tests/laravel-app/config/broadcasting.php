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
            'stream' => [
                'retry' => 500,
                // SSE_STREAM_MAX_DURATION: lets a test end its streams on their own.
                'maxDuration' => (float) env('SSE_STREAM_MAX_DURATION', 0),
            ],
        ],
    ],
];
