<?php
// Tells an EventSource to stop reconnecting.
echo "discarded\n";
Sse\SseEmitter::reject();
