<?php
// Latency, the tutorial loop: the same events as lat_emitter.php, echo + ob_flush() + flush().
require __DIR__ . '/mark.php';
$n = (int) ($_GET['n'] ?? 10000);
$gap = (int) ($_GET['gap_us'] ?? 1000);
header('Content-Type: text/event-stream');
header('Cache-Control: no-cache');
header('X-Accel-Buffering: no');
for ($i = 0; $i < $n; $i++) {
    usleep($gap);
    echo "id: $i\ndata: ", hrtime(true), "\n\n";
    ob_flush();
    flush();
    if (connection_aborted()) {
        break;
    }
}
bench_mark('lat', ['sent' => $i]);
