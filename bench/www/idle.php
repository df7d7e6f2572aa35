<?php
// An idle stream: nothing to send, a heartbeat every ?hb seconds, ended after ?d seconds.
$sse = new Sse\SseEmitter([
    'heartbeat' => (float) ($_GET['hb'] ?? 15),
    'maxDuration' => (float) ($_GET['d'] ?? 60),
]);
$sse->comment('pid=' . getmypid());
if (isset($_GET['once'])) {
    // Warm-up: the same code and headers, but no wait, so no runtime thread is started.
    return;
}
$sse->run();
