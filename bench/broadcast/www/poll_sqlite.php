<?php
// Peer: the polling loop users write today. Every second, SELECT the rows after the last one
// sent, echo them as events, flush. Starts after the newest row (like a live subscription).
// Ends on a row whose data is `end`, when the client is gone, or after ?d seconds.
if (isset($_GET['pidfile'])) {
    file_put_contents($_GET['pidfile'], getmypid()); // for the benchmark's strace
}
header('Content-Type: text/event-stream');
header('Cache-Control: no-cache');
header('X-Accel-Buffering: no');
$db = new PDO('sqlite:' . $_GET['db']);
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
$db->exec('PRAGMA busy_timeout = 5000');
$last = (int) $db->query('SELECT COALESCE(MAX(id), 0) FROM events')->fetchColumn();
$until = microtime(true) + (float) ($_GET['d'] ?? 120);
$select = $db->prepare('SELECT id, data FROM events WHERE id > ? ORDER BY id');
echo ": ok\n\n";
ob_flush();
flush();
while (microtime(true) < $until) {
    $select->execute([$last]);
    foreach ($select->fetchAll(PDO::FETCH_NUM) as [$id, $data]) {
        if ($data === 'end') {
            exit;
        }
        echo "id: $id\nevent: e\ndata: $data\n\n";
        $last = $id;
    }
    ob_flush();
    flush();
    if (connection_aborted()) {
        break;
    }
    sleep(1);
}
