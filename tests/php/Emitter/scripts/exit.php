<?php

// exit() while run() serves the stream: from a timer callback, or from an async SIGTERM
// handler (the usual way to stop a CLI worker). PHP unwinds through the extension's frames;
// the process must end with the requested code and run its shutdown functions.
// argv[1]: "callback" or "signal".

declare(strict_types=1);

$mode = $argv[1];
register_shutdown_function(static function (): void {
    fwrite(STDOUT, "SHUTDOWN\n");
});
$sse = new Sse\SseEmitter(['heartbeat' => 0, 'maxDuration' => 30]);
if ($mode === 'signal') {
    pcntl_async_signals(true);
    pcntl_signal(SIGTERM, static function (): void {
        exit(3);
    });
    $sse->after(0.05, static function (): void {
        fwrite(STDOUT, "READY\n");
    });
} else {
    $sse->every(0.01, static fn () => null);
    $sse->after(0.05, static function (): void {
        exit(3);
    });
}
ob_start();
$sse->run();
fwrite(STDOUT, "NOT REACHED\n");
