<?php
// Peer: phpredis subscribe(). Blocks in SUBSCRIBE on ?channel and echoes each message as an
// event, flush. Ends when Redis closes the connection (the benchmark ends its subscribers with
// CLIENT KILL TYPE pubsub: phpredis 5.3 goes on looping after exit() or an exception in the
// callback), on a write to a client that left, or when Redis has sent nothing for ?d seconds.
if (isset($_GET['pidfile'])) {
    file_put_contents($_GET['pidfile'], getmypid()); // for the benchmark's strace
}
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
        echo "event: e\ndata: $message\n\n";
        ob_flush();
        flush();
    });
} catch (RedisException $e) {
    // connection closed or read time-out: the stream ends
}
