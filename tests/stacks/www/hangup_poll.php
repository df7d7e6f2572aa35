<?php
// Waits for the client to leave by polling isConnected(), writing nothing, and records when
// it noticed. Gives up after 10 s so a missed hang-up cannot hold the worker forever.
require __DIR__ . '/lib/mark.php';
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->send(['event' => 'ready', 'data' => (string) getmypid()]);
$started = microtime(true);
while ($sse->isConnected() && microtime(true) - $started < 10) {
    usleep(50000);
}
mark(['noticed' => microtime(true), 'connected' => $sse->isConnected()]);
