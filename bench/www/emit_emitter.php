<?php
// Throughput, emitter side: ?n small events through $sse->send(), each flushed on its own.
require __DIR__ . '/mark.php';
$n = (int) ($_GET['n'] ?? 100000);
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->start();
$c0 = bench_cpu();
$t0 = hrtime(true);
for ($i = 0; $i < $n; $i++) {
    if (!$sse->send(['id' => $i, 'data' => "payload $i"])) {
        break;
    }
}
bench_mark('emit', ['sent' => $i, 'loop_cpu_s' => bench_cpu() - $c0, 'loop_ns' => hrtime(true) - $t0]);
