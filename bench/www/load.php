<?php
// One of many concurrent streams: an event a second (id 1, 2, ...) carrying hrtime(), a
// heartbeat after ?hb seconds of silence, ended after ?d seconds by maxDuration.
$d = (float) ($_GET['d'] ?? 60);
$sse = new Sse\SseEmitter(['heartbeat' => (float) ($_GET['hb'] ?? 0.5), 'maxDuration' => $d + 0.5]);
$n = 0;
$sse->every(1.0, function (Sse\SseEmitter $sse) use (&$n) {
    $n++;
    $sse->send(['id' => $n, 'event' => 'tick', 'data' => '{"n":' . $n . ',"t":' . hrtime(true) . '}']);
});
$sse->run();
