<?php
// Hang-up, emitter: nothing to send, run() until the client is gone.
require __DIR__ . '/mark.php';
register_shutdown_function(fn () => bench_mark('end', []));
$sse = new Sse\SseEmitter(['heartbeat' => 15]);
$sse->comment('open');
$sse->run();
