<?php
// Publishes argv[3] events named argv[4] to topic argv[2] on broker argv[1], as fast as it can.
$broker = new Sse\Broker($argv[1]);
for ($i = 0; $i < (int) $argv[3]; $i++) {
    $broker->publish($argv[2], ['event' => $argv[4], 'data' => (string) $i]);
}
