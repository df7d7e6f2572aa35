<?php
// The id of the newest event of the stack's broker: a test compares it before and after
// requests that must publish nothing.
header('Content-Type: text/plain');
echo (new Sse\Broker())->lastEventId();
