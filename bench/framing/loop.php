<?php

/**
 * Frames one benchmark case N times with one side and nothing else, for instruction counting
 * under valgrind (instructions.sh runs it twice with different N and takes the difference, so
 * PHP's start-up cancels out).
 *
 *   php -d extension=$SSE_EXT bench/framing/loop.php <case number, from 0> <ext|php> <N>
 */

declare(strict_types=1);

require __DIR__ . '/PhpFramer.php';

$cases = array_values(require __DIR__ . '/cases.php');
[$fields] = $cases[(int) $argv[1]];
$n = (int) $argv[3];

if ($argv[2] === 'ext') {
    for ($i = 0; $i < $n; $i++) {
        $frame = (string) new Sse\ServerSentEvents($fields);
    }
} else {
    for ($i = 0; $i < $n; $i++) {
        $frame = PhpFramer::frame($fields);
    }
}
