<?php
// Timer lateness: how late each tick of a 10 ms timer runs, in microseconds.
//   php -d extension=libsse.so timers.php emitter|usleep [ticks] [interval_s]
// emitter: $sse->every($interval) in run(); the deadline of tick n is t0 + n * interval
//          (the emitter's timers keep a fixed grid), measured with hrtime().
// usleep:  the loop tutorials show: usleep($interval), then hrtime(); lateness is how much
//          later than asked each usleep() returned (its own drift is reported apart).
$mode = $argv[1] ?? 'emitter';
$ticks = (int) ($argv[2] ?? 1000);
$interval = (float) ($argv[3] ?? 0.01);
$step = (int) round($interval * 1e9);
$late = [];

if ($mode === 'emitter') {
    $sse = new Sse\SseEmitter(['heartbeat' => 0]);
    $n = 0;
    $t0 = hrtime(true);
    $sse->every($interval, function (Sse\SseEmitter $sse) use (&$n, &$late, $t0, $step, $ticks) {
        $now = hrtime(true);
        $n++;
        $late[] = ($now - ($t0 + $n * $step)) / 1000;
        if ($n >= $ticks) {
            $sse->close();
        }
    });
    $sse->run();
    $drift = $late[count($late) - 1];
} else {
    $t0 = hrtime(true);
    for ($n = 1; $n <= $ticks; $n++) {
        $before = hrtime(true);
        usleep((int) ($interval * 1e6));
        $now = hrtime(true);
        $late[] = ($now - $before - $step) / 1000;
    }
    $drift = ($now - ($t0 + $ticks * $step)) / 1000;
}
$ru = getrusage();
echo json_encode([
    'mode' => $mode,
    'ticks' => count($late),
    'late_us' => $late,
    'grid_drift_us' => $drift,
    'cpu_s' => $ru['ru_utime.tv_sec'] + $ru['ru_utime.tv_usec'] / 1e6 + $ru['ru_stime.tv_sec'] + $ru['ru_stime.tv_usec'] / 1e6,
]), "\n";
