<?php
// A stream that completes, as LLM tokens or a job's progress do: three events, then finish().
// Every request is appended to "<?mark>.requests", so the test sees each reconnect. The
// reconnect that carries finish()'s id is answered 204 by the emitter itself (no code here).
require __DIR__ . '/../lib/append.php';
append_mark('requests', ['lastEventId' => $_SERVER['HTTP_LAST_EVENT_ID'] ?? null]);
$sse = new Sse\SseEmitter(['retry' => 300, 'heartbeat' => 0]);
for ($i = 1; $i <= 3; $i++) {
    $sse->send(['id' => $i, 'data' => "token $i"]);
}
$sse->finish('done');
