"""Issue 3: each event reaches the client when it is sent, not batched by a buffer on the way.

What is asserted is what the extension controls (harness/schedule.py): when the server wrote
each event, against the timer's schedule, and that each event reached the client before the
server wrote the next one. How fast a busy machine delivers an event is bench/latency's figure.
"""
import json
import time

import pytest

from harness import client
from harness.schedule import each_before_the_next, on_schedule


def test_each_event_arrives_before_the_next_is_sent(stack):
    with client.Stream(stack, "timing.php") as s:
        events = s.events_until_end(timeout=10)
    assert [json.loads(e.data)["text"] for e in events] == [f"event {i}" for i in range(1, 6)], s.body
    assert [e.id for e in events] == ["1", "2", "3", "4", "5"]
    assert b"discarded" not in s.body
    # The first event too: nothing holds it back until the first flush.
    each_before_the_next(events)


@pytest.mark.parametrize("running_stack", ["nginx-h2"], indirect=True)
def test_http2_delivers_each_event_at_once(stack):
    with client.Stream(stack, "timing.php") as s:
        events = s.events_until_end(timeout=10)
    assert s.protocol == "HTTP/2"
    assert len(events) == 5, s.body
    each_before_the_next(events)


def test_every_timer_fires_on_its_200ms_schedule(stack):
    with client.Stream(stack, "every.php") as s:
        events = s.events_until_end(timeout=10)
    ticks = [json.loads(e.data) for e in events]
    assert [(e.type, t["n"]) for e, t in zip(events, ticks)] == [("tick", i) for i in range(1, 6)], s.body
    assert s.ended
    on_schedule([t["at"] for t in ticks], ticks[0]["armed"], 0.2)
    each_before_the_next(events)


def test_headers_arrive_before_any_event(stack):
    """EventSource fires `open` on the headers: they must not wait for the first frame, which
    heartbeat.php writes a second after the request at the earliest."""
    with client.Stream(stack, "heartbeat.php") as s:
        took = s.headers_at - s.started
    assert took < 1.0, f"headers arrived {took:.3f}s after the request, with the first frame"


def test_idle_stream_heartbeat_each_second(stack):
    """heartbeat.php: a heartbeat each second, maxDuration 3.5 s: three comments, none before
    its second (the server started after the request), each well before the next is due."""
    with client.Stream(stack, "heartbeat.php") as s:
        s.events_until_end(timeout=10)
    # A frame right at start (some emitters open with a comment) is not a heartbeat.
    times = [round(c.t - s.started, 3) for c in s.parser.comments]
    beats = [round(c.t - s.started, 3) for c in s.parser.comments if c.t - s.started > 0.5]
    assert len(beats) == 3, f"comments at {times}s, expected at 1, 2, 3 s"
    assert all(n - 0.01 <= t <= n + 0.5 for n, t in enumerate(beats, start=1)), f"comments at {times}s"
    assert s.ended


def test_close_ends_the_response(stack):
    """close() then 1.5 s of other work in the script: under php-fpm the client sees the end at
    close(); php -S and mod_php can only end the response when the script returns."""
    with client.Stream(stack, "close_then_work.php") as s:
        events = s.events_until_end(timeout=5)
        ended = time.monotonic() - s.started
    assert [e.data for e in events] == ["only"]
    if stack.ends_response_at_close:
        assert ended < 1.0, f"the response ended {ended:.2f}s in, when the script returned (1.5 s)"
    else:
        assert ended >= 1.4, f"the response ended {ended:.2f}s in, before the script returned (1.5 s)"
