<?php
// A stream subscribed to ?topics=a,b on the broker of php.ini's sse.broker (or ?broker=),
// ending after ?seconds= (default 30). ?history= and ?historyAge= set the broker's history;
// a broker that refuses (SseException) is a 503 with its message.
$options = isset($_GET['history']) ? ['history' => (int) $_GET['history']] : [];
if (isset($_GET['historyAge'])) {
    $options['historyAge'] = (float) $_GET['historyAge'];
}
try {
    $broker = new Sse\Broker($_GET['broker'] ?? null, $options);
} catch (Sse\SseException $e) {
    http_response_code(503);
    header('Content-Type: text/plain');
    echo $e->getMessage();
    return;
}
$sse = new Sse\SseEmitter(['retry' => 200, 'heartbeat' => 1, 'maxDuration' => (float) ($_GET['seconds'] ?? 30)]);
$sse->subscribe(explode(',', $_GET['topics'] ?? 'news'), $broker);
$sse->comment('subscribed');
$sse->run();
