<?php

/**
 * The inputs of the framing benchmark (issues 2 and 20), shared by bench.php (time) and
 * loop.php (instruction counts): name => [fields, minimum speed-up of the extension over PHP].
 */

declare(strict_types=1);

$jsonObject = [];
for ($i = 0; $i < 40; $i++) {
    $jsonObject["field_$i"] = match ($i % 5) {
        0 => "value $i with a/slash",
        1 => $i * 1000,
        2 => $i % 2 === 0,
        3 => null,
        4 => "Zoë $i 😀",
    };
}

/** $n lines of 64 bytes with their line feeds: 64 KiB for 1,024 lines. */
$lines = static function (int $n): string {
    $lines = [];
    for ($i = 0; $i < $n; $i++) {
        $lines[] = sprintf('%05d ', $i) . substr(str_repeat('the quick brown fox jumps over the lazy dog ', 2), 0, 57);
    }
    return implode("\n", $lines);
};

return [
    'small event (event, id, short data)' => [['event' => 'update', 'id' => '12345', 'data' => 'hello, world'], 2.0],
    '40-key array as JSON' => [['event' => 'state', 'data' => $jsonObject], 1.0],
    '64 KiB of data in 1024 lines' => [['data' => $lines(1024)], 2.0],
    '1 MiB of data in 16384 lines' => [['data' => $lines(16384)], 3.0],
];
