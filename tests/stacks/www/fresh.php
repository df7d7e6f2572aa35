<?php
// The request after a fault on the same php-fpm worker: reports its pid and the process's
// threads (main + at most the sse-runtime one), then five ticks 100 ms apart and closes. Each
// tick carries the server's time of sending (`at`) and of arming the timer (`armed`).
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
$armed = microtime(true);
$sse->every(0.1, function (Sse\SseEmitter $sse) use (&$n, $armed) {
    $sse->send(['event' => 'tick', 'id' => ++$n, 'data' => ['n' => $n, 'at' => microtime(true), 'armed' => $armed]]);
    if ($n === 5) {
        $sse->close();
    }
});
$sse->run();
