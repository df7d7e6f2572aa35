<?php
// close() and then more work in the same request (cleanup, logging): the client should see the
// stream end at close(), not when the script finally returns.
$sse = new Sse\SseEmitter();
$sse->send(['id' => 1, 'data' => 'only']);
$sse->close();
usleep(1500000);
