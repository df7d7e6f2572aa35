<?php
// This worker's detached-stream counters, and its pid.
header('Content-Type: application/json');
echo json_encode(['pid' => getmypid()] + Sse\SseEmitter::detachedStats());
