<?php

// A callback that spins forever must still be ended by the execution time limit.
// argv[1]: "inside" sets the limit in the callback; "kept" sets it before the stream and
// asks the emitter to keep it (by default the stream lifts max_execution_time).

declare(strict_types=1);

$mode = $argv[1];
if ($mode === 'kept') {
    set_time_limit(1);
}
$sse = new Sse\SseEmitter(['heartbeat' => 0, 'keepTimeLimit' => $mode === 'kept']);
$sse->after(0.05, static function () use ($mode): void {
    if ($mode === 'inside') {
        set_time_limit(1);
    }
    fwrite(STDOUT, "SPINNING\n");
    for ($i = 0; ; $i++) {
        // spin
    }
});
$sse->run();
fwrite(STDOUT, "NOT REACHED\n");
