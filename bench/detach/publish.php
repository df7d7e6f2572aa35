<?php
// php bench/detach/publish.php DIR: one event to 'all' on the embedded broker in DIR, whose data
// is hrtime(true) (CLOCK_MONOTONIC ns) taken just before publish().
$broker = new Sse\Broker('local://' . $argv[1]);
$t = hrtime(true);
$broker->publish('all', ['event' => 'e', 'data' => (string) $t]);
echo $t, "\n";
