<?php

// ShouldBroadcast events go through the queue; `sync` runs them within the request.
return [
    'default' => 'sync',
    'connections' => [
        'sync' => ['driver' => 'sync'],
    ],
];
