<?php
// Two streams one after the other in one process, on the broker argv[1]: the first ends, so the
// process stops following the broker; the second must start following again. Each stream
// lasts argv[2] seconds while another process publishes "n" to topic t.
$broker = new Sse\Broker($argv[1]);
foreach ([1, 2] as $n) {
    $sse = new Sse\SseEmitter(['maxDuration' => (float) $argv[2], 'heartbeat' => 0]);
    $sse->subscribe('t', $broker);
    $publisher = proc_open([PHP_BINARY, '-n', '-d', 'extension=' . $argv[3], __DIR__ . '/publish.php', $argv[1], 't', '3', "stream$n"], [], $pipes);
    $sse->run();
    proc_close($publisher);
    unset($sse);
}
