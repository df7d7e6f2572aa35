<?php
// A detached stream subscribed to ?topics= on ?broker= (or sse.broker), with ?heartbeat=,
// ?seconds= (maxDuration) and retry 200. Writes "detached" or "served here" to ?mark= after.
$options = isset($_GET['history']) ? ['history' => (int) $_GET['history']] : [];
$broker = new Sse\Broker($_GET['broker'] ?? null, $options);
$sse = new Sse\SseEmitter([
    'retry' => 200,
    'heartbeat' => (float) ($_GET['heartbeat'] ?? 15),
    'maxDuration' => (float) ($_GET['seconds'] ?? 0),
]);
$sse->subscribe(explode(',', $_GET['topics'] ?? 'news'), $broker);
$sse->comment('subscribed');
$detached = $sse->detach();
if (isset($_GET['mark'])) {
    file_put_contents($_GET['mark'], json_encode(['detached' => $detached, 'pid' => getmypid()]));
}
