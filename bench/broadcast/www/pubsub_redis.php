<?php
// Peer: phpredis subscribe(). Blocks in SUBSCRIBE on ?channel and echoes each message as an
// event, flush. Ends on a message `end`, on a write to a client that left, or when Redis has
// sent nothing for ?d seconds (the read time-out).
header('Content-Type: text/event-stream');
header('Cache-Control: no-cache');
header('X-Accel-Buffering: no');
$redis = new Redis();
$redis->connect('127.0.0.1', (int) $_GET['port'], 2.0);
$redis->setOption(Redis::OPT_READ_TIMEOUT, (float) ($_GET['d'] ?? 120));
echo ": ok\n\n";
ob_flush();
flush();
try {
    $redis->subscribe([$_GET['channel'] ?? 'bench'], function ($redis, $channel, $message) {
        if ($message === 'end') {
            exit;
        }
        echo "event: e\ndata: $message\n\n";
        ob_flush();
        flush();
    });
} catch (RedisException $e) {
    // read time-out: the stream ends
}
