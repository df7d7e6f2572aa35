<?php
// Like mark(), but appends one JSON line per call to "<?mark= without .json>.<suffix>", so a
// test can tell a callback that ran twice from one that ran once. Only in the harness's temp dirs.
function append_mark(string $suffix, array $data): void
{
    $path = $_GET['mark'] ?? '';
    if (!preg_match('~^/tmp/sse-[\w.-]+/marks-\d+/[\w.-]+\.json$~', $path)) {
        return;
    }
    $line = json_encode($data + ['pid' => getmypid(), 't' => microtime(true)]) . "\n";
    file_put_contents(substr($path, 0, -5) . ".$suffix", $line, FILE_APPEND | LOCK_EX);
}
