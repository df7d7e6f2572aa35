<?php
// A counter stream that maxDuration ends every second: the client reconnects with the last id
// it got, and the sequence must go on with nothing lost or repeated.
$sse = new Sse\SseEmitter(['maxDuration' => 1.0, 'retry' => 100, 'heartbeat' => 0]);
$n = (int) ($sse->lastEventId() ?? 0);
$sse->every(0.1, function (Sse\SseEmitter $sse) use (&$n) {
    $n++;
    $sse->send(['id' => $n, 'data' => "n=$n"]);
});
$sse->run();
