<?php
// The baseline of the same run: a plain ext-sse stream subscribed to `bench` on the same
// broker, detached (what the hub's subscriptions are, without selectors, tokens or filter).
(new Sse\SseEmitter())->subscribe('bench', new Sse\Broker('local://' . getenv('SSE_BENCH_BROKER')))->detach();
