<?php
// A timer every 200 ms, closed after the fifth tick.
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$n = 0;
$sse->every(0.2, function (Sse\SseEmitter $sse) use (&$n) {
    $sse->send(['event' => 'tick', 'id' => ++$n, 'data' => (string) $n]);
    if ($n === 5) {
        $sse->close();
    }
});
$sse->run();
