<?php
// A counter served three ids per connection, then closed by the server: the browser must
// reconnect after `retry`, send Last-Event-ID and get the next three. From id 6 on, the
// server answers 204 and the browser must stop for good.
$sse = new Sse\SseEmitter(['retry' => 300]);
$last = $sse->lastEventId();
$n = ctype_digit((string) $last) ? (int) $last : 0;
if ($n >= 6) {
    Sse\SseEmitter::reject();
    return;
}
// What the browser sent, so the page can show it: the header itself, not our parse of it.
$sse->send(['event' => 'hello', 'data' => $_SERVER['HTTP_LAST_EVENT_ID'] ?? '(none)']);
$sse->send(['id' => $n + 1, 'data' => 'plain ' . ($n + 1)]);
$sse->send(['id' => $n + 2, 'event' => 'tick', 'data' => ['n' => $n + 2]]);
$sse->send(['id' => $n + 3, 'data' => "two\nlines " . ($n + 3)]);
$sse->close();
