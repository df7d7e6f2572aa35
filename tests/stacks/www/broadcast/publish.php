<?php
// Publishes ?n= events (default 1) named ?event= to ?topics=a,b and answers their ids as JSON;
// the data is ?prefix= (or ?size= bytes of x) and the event's number.
// 503 with the exception's message when the broker refuses.
header('Content-Type: application/json');
$options = ['publishTimeout' => (float) ($_GET['timeout'] ?? 2)];
if (isset($_GET['history'])) {
    $options['history'] = (int) $_GET['history'];
}
if (isset($_GET['historyAge'])) {
    $options['historyAge'] = (float) $_GET['historyAge'];
}
try {
    $broker = new Sse\Broker($_GET['broker'] ?? null, $options);
    $ids = [];
    for ($i = 0; $i < (int) ($_GET['n'] ?? 1); $i++) {
        $ids[] = $broker->publish(explode(',', $_GET['topics'] ?? 'news'), [
            'event' => $_GET['event'] ?? 'news',
            'data' => (isset($_GET['size']) ? str_repeat('x', (int) $_GET['size']) : ($_GET['prefix'] ?? '')) . $i,
        ]);
    }
    echo json_encode(['ids' => $ids]);
} catch (Sse\SseException $e) {
    http_response_code(503);
    echo json_encode(['error' => $e->getMessage()]);
}
