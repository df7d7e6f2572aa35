<?php
// Echoes the id the client says it has, then continues the sequence after it.
$sse = new Sse\SseEmitter();
$last = $sse->lastEventId();
$sse->send(['event' => 'last', 'data' => $last ?? 'null']);
$n = ctype_digit((string) $last) ? (int) $last : 0;
for ($i = $n + 1; $i <= $n + 3; $i++) {
    $sse->send(['id' => $i, 'data' => "event $i"]);
}
$sse->close();
