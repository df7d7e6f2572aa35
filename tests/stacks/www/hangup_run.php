<?php
// Serves the stream with run() and a heartbeat until the client leaves; records when onClose
// ran and when run() returned. maxDuration bounds it if the hang-up is never noticed.
require __DIR__ . '/lib/mark.php';
$closed = null;
$sse = new Sse\SseEmitter(['heartbeat' => (float) ($_GET['heartbeat'] ?? 1), 'maxDuration' => 10]);
$sse->onClose(function () use (&$closed) {
    $closed = microtime(true);
});
$sse->send(['event' => 'ready', 'data' => (string) getmypid()]);
$sse->run();
mark(['noticed' => $closed, 'returned' => microtime(true), 'connected' => $sse->isConnected()]);
