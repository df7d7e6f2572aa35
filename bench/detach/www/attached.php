<?php
// The same stream served by its worker: run() instead of detach().
$broker = new Sse\Broker('local://' . (getenv('SSE_BENCH_BROKER') ?: '/dev/shm/bench-detach'));
$sse = new Sse\SseEmitter(['retry' => 2000, 'heartbeat' => 15]);
$sse->subscribe('all', $broker);
$sse->run();
