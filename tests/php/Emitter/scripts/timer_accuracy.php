<?php

// every(0.02) on the real clock for 20 ticks; reports when each tick ran, in ns after the
// moment just before the timer was armed (hrtime and the extension both use CLOCK_MONOTONIC).
// Also reports how late a plain usleep(20 ms) wakes up on this machine right now, before and
// after the ticks: the scheduler's own lateness, which no timer can beat.

declare(strict_types=1);

/** The worst oversleep of ten plain 20 ms sleeps, in ns. */
function usleep_lateness(): int
{
    $worst = 0;
    for ($i = 0; $i < 10; $i++) {
        $start = hrtime(true);
        usleep(20000);
        $worst = max($worst, hrtime(true) - $start - 20_000_000);
    }

    return $worst;
}

$baseline = usleep_lateness();

ob_start();
$sse = new Sse\SseEmitter(['heartbeat' => 0, 'maxDuration' => 10]);
$ticks = [];
$armed = hrtime(true);
$sse->every(0.02, static function (Sse\SseEmitter $sse) use (&$ticks, $armed): void {
    $ticks[] = hrtime(true) - $armed;
    if (count($ticks) === 20) {
        $sse->close();
    }
});
$sse->run();
ob_end_clean();

echo json_encode(['ticks' => $ticks, 'usleep_lateness_ns' => max($baseline, usleep_lateness())]), "\n";
