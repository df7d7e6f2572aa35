<?php

// The background runtime: no thread until the first real wait, then exactly one more thread,
// named sse-runtime, shared by every later stream (also two streams alive at once).

declare(strict_types=1);

require __DIR__ . '/threads.php';

/** The SigBlk mask (hex) of the thread named $name, or null without one. */
function blocked_signals(string $name): ?string
{
    foreach (glob('/proc/self/task/*') ?: [] as $task) {
        if (trim((string) file_get_contents($task . '/comm')) === $name
            && preg_match('/^SigBlk:\s*([0-9a-f]+)$/m', (string) file_get_contents($task . '/status'), $m) === 1) {
            return $m[1];
        }
    }

    return null;
}

ob_start();
$report = ['before' => threads()];

$virtual = new Sse\SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
$virtual->sleep(60);
$report['after_virtual_wait'] = threads();

$first = new Sse\SseEmitter(['heartbeat' => 0]);
$first->sleep(0.03);
$report['after_first_wait'] = threads();

for ($i = 0; $i < 5; $i++) {
    $sse = new Sse\SseEmitter(['heartbeat' => 0]);
    $sse->every(0.01, static fn () => null);
    $sse->sleep(0.03);
    $sse->close();
}
$a = new Sse\SseEmitter(['heartbeat' => 1]);
$b = new Sse\SseEmitter(['heartbeat' => 1]);
$a->sleep(0.02);
$b->sleep(0.02);
$a->sleep(0.02);
$report['after_many_streams'] = threads();
$report['runtime_blocked_signals'] = blocked_signals('sse-runtime');
$first->close();
$a->close();
$b->close();
ob_end_clean();

echo json_encode($report), "\n";
