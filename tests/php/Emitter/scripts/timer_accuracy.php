<?php

// every(0.02) on the real clock for 20 ticks; reports when each tick ran, in ns after the
// moment just before the timer was armed (hrtime and the extension both use CLOCK_MONOTONIC).

declare(strict_types=1);

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

echo json_encode(['ticks' => $ticks]), "\n";
