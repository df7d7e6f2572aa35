<?php

// pcntl_fork() after timers ran. The forked child runs a new emitter (its runtime thread did
// not survive the fork and must be rebuilt) and also keeps serving the emitter it inherited;
// the parent keeps ticking meanwhile. argv[1]: a file for the child's report.

declare(strict_types=1);

require __DIR__ . '/threads.php';

$file = $argv[1];
ob_start();
$parentTicks = 0;
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->every(0.01, static function () use (&$parentTicks): void {
    $parentTicks++;
});
$sse->sleep(0.1);
$beforeFork = $parentTicks;

$pid = pcntl_fork();
if ($pid === 0) {
    $report = ['threads_at_fork' => threads()];
    $inheritedBefore = $parentTicks;
    $fresh = new Sse\SseEmitter(['heartbeat' => 0]);
    $freshTicks = 0;
    $fresh->every(0.01, static function (Sse\SseEmitter $fresh) use (&$freshTicks): void {
        if (++$freshTicks === 10) {
            $fresh->close();
        }
    });
    $start = hrtime(true);
    $fresh->run();
    $report['fresh_ticks'] = $freshTicks;
    $report['fresh_seconds'] = (hrtime(true) - $start) / 1e9;
    $sse->sleep(0.1);
    $report['inherited_ticks'] = $parentTicks - $inheritedBefore;
    $report['threads_after'] = threads();
    file_put_contents($file, json_encode($report));
    ob_end_clean();
    // Skip the parent's shutdown functions and buffers; the extension's shutdown still runs.
    exit(0);
}

$sse->sleep(0.2);
$afterFork = $parentTicks - $beforeFork;
$waited = pcntl_waitpid($pid, $status);
$sse->sleep(0.05);
$sse->close();
ob_end_clean();

echo json_encode([
    'before_fork' => $beforeFork,
    'parent_after_fork' => $afterFork,
    'parent_after_wait' => $parentTicks - $beforeFork,
    'child_exit' => $waited === $pid && pcntl_wifexited($status) ? pcntl_wexitstatus($status) : -1,
    'child' => json_decode((string) @file_get_contents($file), true),
]), "\n";
