<?php
// Hang-up, emitter polled by the script: isConnected() once a second, nothing written.
require __DIR__ . '/mark.php';
register_shutdown_function(fn () => bench_mark('end', []));
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->comment('open');
while ($sse->isConnected()) {
    sleep(1);
}
