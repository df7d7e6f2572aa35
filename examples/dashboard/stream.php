<?php

declare(strict_types=1);

// The live dashboard's event stream (see Dashboard.php), as a plain PHP endpoint.
require __DIR__ . '/Dashboard.php';

Examples\Dashboard\Dashboard::serve(new Sse\SseEmitter(Examples\Dashboard\Dashboard::OPTIONS));
