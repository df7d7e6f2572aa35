<?php
// The request after a fault on the same php-fpm worker: reports its pid and the process's
// threads (main + at most the sse-runtime one), then five ticks 100 ms apart and closes.
$threads = [];
foreach (scandir('/proc/self/task') as $tid) {
    if ($tid !== '.' && $tid !== '..') {
        $threads[] = trim((string) @file_get_contents("/proc/self/task/$tid/comm"));
    }
}
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->send(['event' => 'info', 'data' => [
    'pid' => getmypid(),
    'threads' => count(scandir('/proc/self/task')) - 2,
    'names' => $threads,
    'main' => trim((string) file_get_contents('/proc/self/comm')),
]]);
$n = 0;
$sse->every(0.1, function (Sse\SseEmitter $sse) use (&$n) {
    $sse->send(['event' => 'tick', 'id' => ++$n, 'data' => (string) $n]);
    if ($n === 5) {
        $sse->close();
    }
});
$sse->run();
