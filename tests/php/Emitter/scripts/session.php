<?php

// A native session's lock would block the user's other requests for the whole stream:
// start() must close an active session (saving it), and must not open one otherwise.
// argv[1]: a directory for the session files; argv[2]: "with" or "without" a session.

declare(strict_types=1);

[, $dir, $mode] = $argv;
session_save_path($dir);
ini_set('session.use_cookies', '0');
// A fixed id to find the file by (PHP 8.6 turns strict mode on, which would replace it).
ini_set('session.use_strict_mode', '0');
if ($mode === 'with') {
    session_id('ssetest');
    session_start();
    $_SESSION['user'] = 'ada';
}
$before = session_status();

ob_start();
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->start();
$sse->send('x');
$after = session_status();
$sse->close();
ob_end_clean();

$file = $dir . '/sess_ssetest';
echo json_encode([
    'before' => $before,
    'after' => $after,
    'saved' => is_file($file) ? file_get_contents($file) : null,
]), "\n";
