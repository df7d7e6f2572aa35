<?php

// One guard: the X-Test-User header names the user (App\Providers\AuthServiceProvider). A real
// app uses the session guard behind the `web` middleware; what the stream route checks is the
// same $request->user().
return [
    'defaults' => ['guard' => 'header'],
    'guards' => [
        'header' => ['driver' => 'test-header'],
    ],
];
