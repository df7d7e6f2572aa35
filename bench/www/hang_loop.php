<?php
// Hang-up, the tutorial loop: sleep(1), echo a heartbeat, flush, connection_aborted().
// A write to a gone client aborts the script (ignore_user_abort is off), so the mark is
// written by a shutdown function.
require __DIR__ . '/mark.php';
register_shutdown_function(fn () => bench_mark('end', []));
header('Content-Type: text/event-stream');
header('Cache-Control: no-cache');
header('X-Accel-Buffering: no');
echo ": open\n\n";
ob_flush();
flush();
while (true) {
    sleep(1);
    echo ": heartbeat\n\n";
    ob_flush();
    flush();
    if (connection_aborted()) {
        break;
    }
}
