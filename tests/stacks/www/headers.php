<?php
// The headers of a stream, as the client sees them and as PHP itself holds them.
echo "discarded text before start()\n";
$sse = new Sse\SseEmitter();
$sse->start();
$sse->send(['event' => 'php', 'data' => [
    'headers' => headers_list(),
    'ob_level' => ob_get_level(),
    'zlib' => ini_get('zlib.output_compression'),
]]);
$sse->send(str_repeat('compressible data ', 200)); // enough for any compressor to engage
$sse->close();
