<?php
// Five events 300 ms apart: each must reach the client on its own, not in one batch at the end.
// Each carries the server's time of sending (`at`), which the test compares with the arrivals.
echo "this text is discarded by start()\n";
$sse = new Sse\SseEmitter();
$sse->start();
for ($i = 1; $i <= 5; $i++) {
    $sse->send(['id' => $i, 'data' => ['n' => $i, 'text' => "event $i", 'at' => microtime(true)]]);
    if ($i < 5) {
        usleep(300000);
    }
}
$sse->close();
