<?php
// One publisher of bench/redis/ceiling.py, a CLI process on the machine of the clients:
//   php publish.php URL TOPIC PREFIX FIRST STRIDE COUNT RATE START_US
// publishes COUNT events to TOPIC on the broker URL with Sse\Broker::publish(), event `e`, data
// "PREFIX SEQ MICROS": SEQ = FIRST, FIRST + STRIDE, ... (the publishers of a run share one
// sequence), MICROS the CLOCK_REALTIME time in µs taken just before the call. The i-th event is
// due at START_US + i / RATE s (CLOCK_REALTIME); a late publisher publishes at once until it has
// caught up, so the rate it reached is COUNT over its first-to-last span. Prints one JSON line.
[, $url, $topic, $prefix, $first, $stride, $count, $rate, $start] = $argv;
[$first, $stride, $count, $rate, $start] = [(int) $first, (int) $stride, (int) $count, (float) $rate, (int) $start];

function cpu(): float
{
    $ru = getrusage();
    return $ru['ru_utime.tv_sec'] + $ru['ru_utime.tv_usec'] / 1e6 + $ru['ru_stime.tv_sec'] + $ru['ru_stime.tv_usec'] / 1e6;
}

$broker = new Sse\Broker($url, ['history' => 20000]);
$broker->lastEventId(); // connects before the clock starts
$calls = [];
$failed = [];
$firstUs = $lastUs = 0;
$lateMaxUs = 0;
$cpu0 = cpu();
for ($i = 0; $i < $count; $i++) {
    $due = $start + (int) ($i * 1e6 / $rate);
    $now = (int) (microtime(true) * 1e6);
    if ($due > $now) {
        usleep($due - $now);
    } else {
        $lateMaxUs = max($lateMaxUs, $now - $due);
    }
    $seq = $first + $i * $stride;
    $t0 = hrtime(true);
    $us = (int) (microtime(true) * 1e6);
    try {
        $broker->publish($topic, ['event' => 'e', 'data' => "$prefix $seq $us"]);
    } catch (Sse\SseException $e) {
        $failed[] = $seq;
    }
    $calls[] = (hrtime(true) - $t0) / 1e3;
    $firstUs = $firstUs ?: $us;
    $lastUs = $us;
}
$cpu = cpu() - $cpu0;
sort($calls);
$n = count($calls);
echo json_encode([
    'events' => $n - count($failed), 'failed' => $failed, 'first_us' => $firstUs, 'last_us' => $lastUs,
    'late_max_us' => $lateMaxUs, 'call_p50_us' => $n ? $calls[intdiv($n, 2)] : null,
    'call_p99_us' => $n ? $calls[min($n - 1, (int) ceil($n * 0.99) - 1)] : null, 'cpu_s' => $cpu,
]), "\n";
