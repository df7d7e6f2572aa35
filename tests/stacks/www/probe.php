<?php
// Lets the harness check that a stack runs the php.ini it wrote, with the extension loaded.
header('Content-Type: application/json');
echo json_encode([
    'emitter' => class_exists('Sse\SseEmitter'),
    'ini' => php_ini_loaded_file(),
    'output_buffering' => ini_get('output_buffering'),
    'zlib' => ini_get('zlib.output_compression'),
    'sapi' => PHP_SAPI,
]);
