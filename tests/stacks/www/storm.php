<?php
// For the disconnect storm: records that the request reached PHP ("started"), then streams
// until the client leaves. ?idle=1 sends nothing but heartbeats; otherwise an event every 50 ms.
// onClose appends a line to "closed" each time it runs. maxDuration only bounds a stream whose
// hang-up is never noticed (the test then sees a close long after the start).
require __DIR__ . '/lib/append.php';
append_mark('started', []);
$sse = new Sse\SseEmitter([
    'heartbeat' => (float) ($_GET['heartbeat'] ?? 0.2),
    'maxDuration' => (float) ($_GET['max'] ?? 8),
]);
$sse->onClose(function (Sse\SseEmitter $sse) {
    append_mark('closed', ['elapsed' => $sse->elapsed()]);
});
if (empty($_GET['idle'])) {
    $n = 0;
    $sse->every(0.05, function (Sse\SseEmitter $sse) use (&$n) {
        $n++;
        $sse->send(['event' => 'tick', 'id' => $n, 'data' => str_repeat("payload $n ", 8)]);
    });
}
$sse->run();
