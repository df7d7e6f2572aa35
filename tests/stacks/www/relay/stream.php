<?php
// A stream subscribed to ?topics=a,b on php.ini's sse.broker, for the relay tests: after the
// subscription it writes the comments `pid <the worker's pid>` and `subscribed`, then serves
// events until the client leaves or ?seconds= (default 90) pass. With ?detach=1 it is
// detached (the worker is free at once, its runtime serves the stream).
$sse = new Sse\SseEmitter(['retry' => 200, 'heartbeat' => 1, 'maxDuration' => (float) ($_GET['seconds'] ?? 90)]);
$sse->subscribe(explode(',', $_GET['topics'] ?? 'news'), new Sse\Broker());
$sse->comment('pid ' . getmypid());
$sse->comment('subscribed');
if (isset($_GET['detach'])) {
    $sse->detach();
} else {
    $sse->run();
}
