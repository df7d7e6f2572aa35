<?php
// Throughput, the pure-PHP loop tutorials show: echo a frame, ob_flush(), flush(),
// connection_aborted(). The same bytes as emit_emitter.php.
require __DIR__ . '/mark.php';
$n = (int) ($_GET['n'] ?? 100000);
header('Content-Type: text/event-stream');
header('Cache-Control: no-cache');
header('X-Accel-Buffering: no');
$c0 = bench_cpu();
$t0 = hrtime(true);
for ($i = 0; $i < $n; $i++) {
    echo "id: $i\ndata: payload $i\n\n";
    ob_flush();
    flush();
    if (connection_aborted()) {
        break;
    }
}
bench_mark('emit', ['sent' => $i, 'loop_cpu_s' => bench_cpu() - $c0, 'loop_ns' => hrtime(true) - $t0]);
