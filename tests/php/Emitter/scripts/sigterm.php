<?php

// A SIGTERM handler registered with pcntl_async_signals must run while run() waits. Prints
// READY from a timer (so run() is already serving), then waits with nothing due for 30 s.
// The handler writes its hrtime (CLOCK_MONOTONIC, as in the parent) to argv[1] and ends the
// stream.

declare(strict_types=1);

$file = $argv[1];
pcntl_async_signals(true);
$sse = new Sse\SseEmitter(['heartbeat' => 0, 'maxDuration' => 30]);
pcntl_signal(SIGTERM, static function () use ($file, $sse): void {
    file_put_contents($file, (string) hrtime(true));
    $sse->close();
});
$sse->after(0.05, static function (): void {
    fwrite(STDOUT, "READY\n");
});
ob_start();
$sse->run();
ob_end_clean();
fwrite(STDOUT, json_encode(['closed' => $sse->isClosed(), 'elapsed' => $sse->elapsed()]) . "\n");
