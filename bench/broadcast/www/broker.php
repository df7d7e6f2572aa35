<?php
// A stream subscribed to ?topic of the broker ?url: every event published there, written by the
// extension; resumes after Last-Event-ID. Ends when the client leaves or after ?d seconds.
// With ?detach=1 it detach()es (served by the runtime, no worker held).
if (isset($_GET['pidfile'])) {
    file_put_contents($_GET['pidfile'], getmypid()); // for the benchmark's strace
}
$broker = new Sse\Broker($_GET['url'], ['history' => (int) ($_GET['history'] ?? 20000)]);
$sse = new Sse\SseEmitter(['heartbeat' => 15, 'maxDuration' => (float) ($_GET['d'] ?? 120)]);
$sse->subscribe($_GET['topic'] ?? 'bench', $broker);
if (isset($_GET['detach'])) {
    $sse->detach(); // the worker is free at once; the runtime serves the stream
} else {
    $sse->run();
}
