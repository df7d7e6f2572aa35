<?php
// An idle stream: only heartbeat comments, one per second, until maxDuration.
$sse = new Sse\SseEmitter(['heartbeat' => 1.0, 'maxDuration' => 3.5]);
$sse->start();
$sse->run();
