<?php
// A CLI stream subscribed to argv[2] on the broker argv[1], for argv[3] seconds. With argv[4] =
// "wait-first" it waits (sleep) before it subscribes: its wait began with no inbox to be woken
// by. It says "subscribed" on stderr once it is.
$broker = new Sse\Broker($argv[1]);
$sse = new Sse\SseEmitter(['maxDuration' => (float) $argv[3], 'heartbeat' => 0]);
if (($argv[4] ?? '') === 'wait-first') {
    $sse->sleep(0.2);
}
$sse->subscribe($argv[2], $broker);
fwrite(STDERR, "subscribed\n");
$sse->run();
