<?php

// run() with the default 15 s heartbeat and nothing else to do for ~2 s must sleep, not poll.
// Reports the CPU time (user + system, all threads of the process) the run used.

declare(strict_types=1);

function cpu_us(): int
{
    $u = getrusage();

    return $u['ru_utime.tv_sec'] * 1000000 + $u['ru_utime.tv_usec']
        + $u['ru_stime.tv_sec'] * 1000000 + $u['ru_stime.tv_usec'];
}

$sse = new Sse\SseEmitter(['heartbeat' => 15, 'maxDuration' => 2]);
ob_start();
$sse->start();
$before = cpu_us();
$wall = hrtime(true);
$sse->run();
$wall = hrtime(true) - $wall;
$cpu = cpu_us() - $before;
ob_end_clean();

echo json_encode(['cpu_us' => $cpu, 'wall_ns' => $wall]), "\n";
