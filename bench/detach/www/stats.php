<?php
// The answering worker's detached-stream counters, its pid and open descriptors.
header('Content-Type: application/json');
$fds = @scandir('/proc/self/fd');
echo json_encode(['pid' => getmypid(), 'fds' => $fds === false ? null : count($fds) - 2]
    + Sse\SseEmitter::detachedStats());
