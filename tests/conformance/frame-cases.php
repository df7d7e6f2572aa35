<?php

/**
 * Frames every case of cases.php with the extension and writes, as JSON on stdout, each
 * frame (base64: the bytes exactly as they would go on the wire) beside what the case says a
 * client must see, and what Sse\EventStreamParser reads from it. check.mjs does the comparing,
 * so that the reference parser is one nobody here wrote.
 */

declare(strict_types=1);

if (!extension_loaded('sse')) {
    fwrite(STDERR, "frame-cases.php: the sse extension is not loaded (php -d extension=\$SSE_EXT)\n");
    exit(2);
}

$cases = require __DIR__ . '/cases.php';

$out = [];
foreach ($cases as $case) {
    $frame = null;
    $error = null;
    try {
        $event = isset($case['build']) ? ($case['build'])() : new Sse\ServerSentEvents($case['fields']);
        $frame = (string) $event;
    } catch (Throwable $e) {
        $error = get_class($e) . ': ' . $e->getMessage();
    }
    $out[] = [
        'name' => $case['name'],
        'frame' => $frame === null ? null : base64_encode($frame),
        'error' => $error,
        'refused' => $case['refused'] ?? false,
        'events' => array_map(static fn (array $e): array => [
            'data' => $e['data'],
            'event' => $e['event'] ?? null,
            'id' => $e['id'] ?? null,
        ], $case['events'] ?? []),
        'comments' => $case['comments'] ?? [],
        'retry' => $case['retry'] ?? [],
        // What the extension's own client side reads from the frame, checked against the
        // independent parser too.
        'ownParse' => $frame === null ? null : Sse\EventStreamParser::parse($frame),
    ];
}

echo json_encode($out, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
