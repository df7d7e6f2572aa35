<?php
// reject() answers the request: what the script writes afterwards must not become a body
// (a framework's error page, a stray echo). ?status= (default 401).
Sse\SseEmitter::reject((int) ($_GET['status'] ?? 401), ['WWW-Authenticate' => 'Bearer']);
echo "x";
ob_start();
echo "buffered";
ob_end_flush();
flush();
print "after flush";
