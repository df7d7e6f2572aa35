<?php
// A stream subscribed to ?topics=a,b on the broker of php.ini's sse.broker (or ?broker=),
// ending after ?seconds= (default 30). ?history= sets the broker's history count.
$options = isset($_GET['history']) ? ['history' => (int) $_GET['history']] : [];
$broker = new Sse\Broker($_GET['broker'] ?? null, $options);
$sse = new Sse\SseEmitter(['retry' => 200, 'heartbeat' => 1, 'maxDuration' => (float) ($_GET['seconds'] ?? 30)]);
$sse->subscribe(explode(',', $_GET['topics'] ?? 'news'), $broker);
$sse->comment('subscribed');
$sse->run();
