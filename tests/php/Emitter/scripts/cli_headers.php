<?php

// Starts a stream under the plain CLI and reports, after its frames, what PHP itself knows
// about headers: under the CLI the emitter must send none and leave output buffering alone.

declare(strict_types=1);

echo "before\n";
$sse = new Sse\SseEmitter([
    'retry' => 1000,
    'heartbeat' => 0,
    'cors' => '*',
    'headers' => ['X-Stream' => 'demo'],
]);
$sse->start();
$sse->send(['event' => 'hello', 'data' => 'world']);
$sse->close();

echo json_encode([
    'headers_list' => headers_list(),
    'http_response_code' => http_response_code(),
    'ob_level' => ob_get_level(),
    'headers' => $sse->headers(),
]), "\n";
