<?php
// PHP errors once the stream has started, for test_display_errors.py (served with
// display_errors = On): a warning between two events, then a fatal error. Neither may be
// written into the event stream; both go to PHP's error log.
$sse = new Sse\SseEmitter(['heartbeat' => 0]);
$sse->send(['event' => 'before', 'data' => 'ok']);
$list = [];
$sse->send(['event' => 'after-warning', 'data' => (string) ($list['missing key'] ?? 'default') . $undefinedVariable]);
sse_test_function_that_does_not_exist();
