<?php
// RSS over many timer ticks, each sending an event, on the virtual clock (no waiting).
//   php -d extension=libsse.so ticks_rss.php [ticks] [sample_every] > /dev/null
// Frames go to stdout (the CLI SAPI); the samples go to the file named by SSE_BENCH_OUT as
// "tick,rss_kb" lines, read from /proc/self/status.
$ticks = (int) ($argv[1] ?? 1000000);
$every = (int) ($argv[2] ?? 10000);
$out = fopen(getenv('SSE_BENCH_OUT') ?: 'php://stderr', 'w');
function rss_kb(): int
{
    preg_match('/VmRSS:\s+(\d+)/', file_get_contents('/proc/self/status'), $m);
    return (int) $m[1];
}
$sse = new Sse\SseEmitter(['clock' => 'virtual', 'heartbeat' => 0]);
$n = 0;
fwrite($out, "0," . rss_kb() . "\n");
$sse->every(0.001, function (Sse\SseEmitter $sse) use (&$n, $ticks, $every, $out) {
    $n++;
    $sse->send(['id' => $n, 'event' => 'tick', 'data' => "tick $n"]);
    if ($n % $every === 0) {
        fwrite($out, "$n," . rss_kb() . "\n");
    }
    if ($n >= $ticks) {
        $sse->close();
    }
});
$sse->run();
fwrite($out, "end," . rss_kb() . "," . memory_get_peak_usage() . "\n");
