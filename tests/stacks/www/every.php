<?php
// A timer every 200 ms, closed after the fifth tick. Each tick carries the server's time of
// sending (`at`) and the time just before the timer was armed (`armed`): the test checks the
// extension's schedule from those, not from when a busy machine delivered them.
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$n = 0;
$armed = microtime(true);
$sse->every(0.2, function (Sse\SseEmitter $sse) use (&$n, $armed) {
    $sse->send(['event' => 'tick', 'id' => ++$n, 'data' => ['n' => $n, 'at' => microtime(true), 'armed' => $armed]]);
    if ($n === 5) {
        $sse->close();
    }
});
$sse->run();
