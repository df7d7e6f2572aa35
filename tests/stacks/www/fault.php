<?php
// A callback that goes wrong, for test_faults.py: ?kind=exception|fatal|exit|block.
// The first three arm a timer that would keep sending "stale" events every 50 ms, then fail
// 300 ms in; the next request on the same worker must see none of it. "block" sleeps 800 ms
// inside a callback (longer than the 200 ms heartbeat); the stream must carry on afterwards.
// onClose appends to "closed"; a rethrown exception is recorded in "caught".
require __DIR__ . '/lib/append.php';
ini_set('memory_limit', '32M');
$kind = $_GET['kind'] ?? '';
$sse = new Sse\SseEmitter(['heartbeat' => 0.2, 'maxDuration' => (float) ($_GET['max'] ?? 3)]);
$sse->onClose(function () {
    append_mark('closed', []);
});
$sse->send(['event' => 'ready', 'data' => (string) getmypid()]);
if ($kind === 'block') {
    $sse->every(0.9, fn (Sse\SseEmitter $sse) => $sse->send(['event' => 'stale', 'data' => 'old']));
    $sse->after(0.3, function (Sse\SseEmitter $sse) {
        $sse->send(['event' => 'blocking', 'data' => '']);
        usleep(800000);
        $sse->send(['event' => 'unblocked', 'data' => '']);
    });
} else {
    $sse->every(0.05, fn (Sse\SseEmitter $sse) => $sse->send(['event' => 'stale', 'data' => 'old']));
    $sse->after(0.3, function () use ($kind) {
        switch ($kind) {
            case 'exception':
                throw new RuntimeException('boom from a timer');
            case 'fatal':
                $hog = [];
                while (true) {
                    $hog[] = str_repeat('x', 1 << 20);
                }
            case 'exit':
                exit();
        }
    });
}
try {
    $sse->run();
} catch (Throwable $e) {
    append_mark('caught', ['class' => get_class($e), 'message' => $e->getMessage()]);
}
append_mark('returned', []);
