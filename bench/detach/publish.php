<?php
// php bench/detach/publish.php DIR: one event to 'all' on the embedded broker in DIR, whose data
// is the time (CLOCK_REALTIME, ns, to the µs) taken just before publish().
$broker = new Sse\Broker('local://' . $argv[1]);
$t = (int) round(microtime(true) * 1e6) * 1000;
$broker->publish('all', ['event' => 'e', 'data' => (string) $t]);
echo $t, "\n";
