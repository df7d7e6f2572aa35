<?php
// A CLI stream subscribed to argv[2] on the broker argv[1], for argv[3] seconds. It says
// "subscribed" on stderr once it is, so the test starts publishing only then.
$broker = new Sse\Broker($argv[1]);
$sse = new Sse\SseEmitter(['maxDuration' => (float) $argv[3], 'heartbeat' => 0]);
$sse->subscribe(explode(',', $argv[2]), $broker);
fwrite(STDERR, "subscribed\n");
$sse->run();
