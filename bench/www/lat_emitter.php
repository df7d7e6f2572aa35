<?php
// Latency, emitter: ?n isolated events ?gap_us apart, each carrying hrtime() taken just
// before send() (CLOCK_MONOTONIC, the clock of the client's time.monotonic_ns()).
require __DIR__ . '/mark.php';
$n = (int) ($_GET['n'] ?? 10000);
$gap = (int) ($_GET['gap_us'] ?? 1000);
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->start();
for ($i = 0; $i < $n; $i++) {
    usleep($gap);
    if (!$sse->send(['id' => $i, 'data' => (string) hrtime(true)])) {
        break;
    }
}
bench_mark('lat', ['sent' => $i]);
