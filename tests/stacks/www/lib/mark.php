<?php
// Scenario scripts report what happened server-side (e.g. when they noticed a hang-up) by
// writing JSON into a file the test names in ?mark=. Only files in the harness's temp dirs.
function mark(array $data): void
{
    $path = $_GET['mark'] ?? '';
    if (!preg_match('~^/tmp/sse-[\w.-]+/marks-\d+/[\w.-]+\.json$~', $path)) {
        return;
    }
    file_put_contents("$path.part", json_encode($data + ['pid' => getmypid()]));
    rename("$path.part", $path); // the test never reads half a file
}
