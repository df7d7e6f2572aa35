<?php

/**
 * Framing speed: ns per `(string) new Sse\ServerSentEvents($fields)` against PhpFramer, in one
 * PHP process. Both must produce the same bytes before anything is timed. Each measurement is
 * a timed loop of enough iterations to last about RUN_SECONDS; the two sides alternate run by
 * run (so drift hits both) and the best of RUNS runs is reported, as a markdown table, with the
 * speed-up of the medians beside it. Best of N because the machine is shared: other work only
 * ever adds time to a run, so the fastest run is the one closest to the code's own cost.
 *
 *   php -d extension=$SSE_EXT bench/framing/bench.php [runs] [seconds per run]
 *
 * Exit status: 0, or 1 when the frames differ, 2 without the extension, 3 when a target is
 * missed (the table is printed either way).
 */

declare(strict_types=1);

use Sse\ServerSentEvents;

require __DIR__ . '/PhpFramer.php';

if (!extension_loaded('sse')) {
    fwrite(STDERR, "bench/framing: the sse extension is not loaded (php -d extension=\$SSE_EXT)\n");
    exit(2);
}

const RUNS = 15;
const RUN_SECONDS = 0.1;
$runs = (int) ($argv[1] ?? RUNS);
$runSeconds = (float) ($argv[2] ?? RUN_SECONDS);

$cases = require __DIR__ . '/cases.php';

/** Seconds for $n frames of $fields by one side. */
function timeLoop(bool $native, array $fields, int $n): float
{
    $start = hrtime(true);
    if ($native) {
        for ($i = 0; $i < $n; $i++) {
            $frame = (string) new ServerSentEvents($fields);
        }
    } else {
        for ($i = 0; $i < $n; $i++) {
            $frame = PhpFramer::frame($fields);
        }
    }
    return (hrtime(true) - $start) / 1e9;
}

/** Iterations that make one run last about $seconds, from a growing trial loop. */
function calibrate(bool $native, array $fields, float $seconds): int
{
    $n = 16;
    while (($elapsed = timeLoop($native, $fields, $n)) < 0.02) {
        $n *= 4;
    }
    return max(1, (int) ($n * $seconds / $elapsed));
}

function median(array $values): float
{
    sort($values);
    $mid = intdiv(count($values), 2);
    return count($values) % 2 === 1 ? $values[$mid] : ($values[$mid - 1] + $values[$mid]) / 2;
}

$failed = false;
$rows = [];
foreach ($cases as $name => [$fields, $target]) {
    $native = (string) new ServerSentEvents($fields);
    $php = PhpFramer::frame($fields);
    if ($native !== $php) {
        fwrite(STDERR, "bench/framing: '$name' frames differ; nothing timed.\n  ext: " . json_encode(substr($native, 0, 200))
            . "\n  php: " . json_encode(substr($php, 0, 200)) . "\n");
        exit(1);
    }
    $iterations = ['ext' => calibrate(true, $fields, $runSeconds), 'php' => calibrate(false, $fields, $runSeconds)];
    $ns = ['ext' => [], 'php' => []];
    for ($run = 0; $run < $runs; $run++) {
        foreach (['ext' => true, 'php' => false] as $side => $isNative) {
            $ns[$side][] = timeLoop($isNative, $fields, $iterations[$side]) * 1e9 / $iterations[$side];
        }
    }
    $ext = min($ns['ext']);
    $phpNs = min($ns['php']);
    $speedup = $phpNs / $ext;
    $medianSpeedup = median($ns['php']) / median($ns['ext']);
    $met = $speedup >= $target;
    $failed = $failed || !$met;
    $rows[] = sprintf(
        '| %s | %d | %s | %s | %.2fx | %.2fx | %s | %s |',
        $name,
        strlen($native),
        number_format($ext, 0),
        number_format($phpNs, 0),
        $speedup,
        $medianSpeedup,
        $target > 1.0 ? sprintf('≥ %.0fx', $target) : 'no slower',
        $met ? 'yes' : 'NO',
    );
    fwrite(STDERR, sprintf("%s: ext runs %s ns, php runs %s ns\n", $name,
        implode(' ', array_map(static fn ($v) => (int) $v, $ns['ext'])),
        implode(' ', array_map(static fn ($v) => (int) $v, $ns['php']))));
}

echo "| case | frame bytes | ext ns/frame | PHP ns/frame | speed-up | median speed-up | target | met |\n";
echo "|---|---:|---:|---:|---:|---:|---|---|\n";
echo implode("\n", $rows), "\n\n";
printf("Best of %d runs of ~%.2f s each; PHP %s, %s, opcache.enable_cli=%s, JIT %s.\n",
    $runs, $runSeconds, PHP_VERSION, PHP_OS, ini_get('opcache.enable_cli') ?: '0',
    function_exists('opcache_get_status') && (opcache_get_status(false)['jit']['on'] ?? false) ? 'on' : 'off');
exit($failed ? 3 : 0);
