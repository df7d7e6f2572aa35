<?php
// One event, then nothing but heartbeats (if any) until maxDuration: the shape of a quiet
// stream, for what proxies and pools do to it. ?heartbeat= and ?max= in seconds.
require __DIR__ . '/lib/mark.php';
$sse = new Sse\SseEmitter([
    'heartbeat' => (float) ($_GET['heartbeat'] ?? 1),
    'maxDuration' => (float) ($_GET['max'] ?? 3),
    'retry' => 500,
]);
$sse->send(['event' => 'ready', 'data' => (string) getmypid()]);
$sse->run();
mark(['returned' => microtime(true)]);
