<?php
// reject() once the stream has started: refused, and the message says why. The stream goes on
// and reports the message as an event.
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->send(['event' => 'started', 'data' => '']);
try {
    Sse\SseEmitter::reject();
    $sse->send(['event' => 'rejected', 'data' => 'no exception']);
} catch (Sse\SseException $e) {
    $sse->send(['event' => 'refused', 'data' => $e->getMessage()]);
}
