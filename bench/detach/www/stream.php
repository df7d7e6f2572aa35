<?php
// A detached stream: every event published to 'all' on the benchmark's embedded broker.
$broker = new Sse\Broker('local://' . (getenv('SSE_BENCH_BROKER') ?: '/dev/shm/bench-detach'));
$sse = new Sse\SseEmitter(['retry' => 2000, 'heartbeat' => 15]);
$sse->subscribe('all', $broker);
$sse->detach();
