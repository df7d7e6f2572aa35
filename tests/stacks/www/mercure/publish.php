<?php
// Publishes ?n= updates (default 1) to ?topic= with mercure_publish(), data ?prefix= and the
// update's number, private when ?private=1, with the publisher's id ?idPrefix= and the number
// when given; answers their ids as JSON (503 and the reason when the broker refuses).
header('Content-Type: application/json');
try {
    $ids = [];
    for ($i = 0; $i < (int) ($_GET['n'] ?? 1); $i++) {
        $id = isset($_GET['idPrefix']) ? $_GET['idPrefix'] . $i : null;
        $ids[] = mercure_publish($_GET['topic'] ?? 'news', ($_GET['prefix'] ?? '') . $i, ($_GET['private'] ?? '') === '1', $id);
    }
    echo json_encode(['ids' => $ids]);
} catch (Sse\SseException $e) {
    http_response_code(503);
    echo json_encode(['error' => $e->getMessage()]);
}
