<?php

// The app has no views; Laravel's response factory still needs a view factory to exist.
return [
    'paths' => [],
    'compiled' => storage_path('framework/views'),
];
