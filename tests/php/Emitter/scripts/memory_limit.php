<?php

// A callback that exhausts memory_limit: a fatal error in the middle of run(). The process
// must end with PHP's fatal message (not a crash) and must not be held up by the runtime
// thread. The shutdown function shows that PHP's own shutdown still ran.

declare(strict_types=1);

ini_set('memory_limit', '16M');
register_shutdown_function(static function (): void {
    fwrite(STDOUT, "SHUTDOWN\n");
});
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->every(0.02, static function (): void {
    fwrite(STDOUT, "TICK\n");
});
$sse->after(0.1, static function (): void {
    $hog = [];
    while (true) {
        $hog[] = str_repeat('x', 1 << 20);
    }
});
ob_start();
$sse->run();
fwrite(STDOUT, "NOT REACHED\n");
