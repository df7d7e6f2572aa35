<?php
// A plain page: warms a worker up so that its baseline RSS includes PHP's own first request.
header('Content-Type: text/plain');
echo 'ok pid=', getmypid(), "\n";
