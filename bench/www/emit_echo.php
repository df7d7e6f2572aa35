<?php
// The floor: the same bytes as emit_emitter.php written by PHP in one single echo.
require __DIR__ . '/mark.php';
$n = (int) ($_GET['n'] ?? 100000);
header('Content-Type: text/event-stream');
header('Cache-Control: no-cache');
header('X-Accel-Buffering: no');
$frames = [];
for ($i = 0; $i < $n; $i++) {
    $frames[] = "id: $i\ndata: payload $i\n\n";
}
$all = implode('', $frames);
unset($frames);
$c0 = bench_cpu();
$t0 = hrtime(true);
echo $all;
flush();
bench_mark('emit', ['sent' => $n, 'loop_cpu_s' => bench_cpu() - $c0, 'loop_ns' => hrtime(true) - $t0]);
