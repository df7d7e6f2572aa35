"""Issue 3: each event reaches the client when it is sent, not batched by a buffer on the way."""
import time
from itertools import pairwise

import pytest

from harness import client

TOLERANCE = 0.05


def gaps(events):
    return [round(b.t - a.t, 3) for a, b in pairwise(events)]


def test_events_arrive_300ms_apart(stack):
    with client.Stream(stack, "timing.php") as s:
        events = s.events_until_end(timeout=10)
    assert [e.data for e in events] == [f"event {i}" for i in range(1, 6)], s.body
    assert [e.id for e in events] == ["1", "2", "3", "4", "5"]
    assert b"discarded" not in s.body
    first = events[0].t - s.started
    assert first < 0.25, f"first event took {first:.3f}s: held back before the first flush"
    assert all(abs(g - 0.3) <= TOLERANCE for g in gaps(events)), f"arrival gaps {gaps(events)}"


@pytest.mark.parametrize("running_stack", ["nginx-h2"], indirect=True)
def test_http2_delivers_each_event_at_once(stack):
    with client.Stream(stack, "timing.php") as s:
        events = s.events_until_end(timeout=10)
    assert s.protocol == "HTTP/2"
    assert len(events) == 5, s.body
    assert all(abs(g - 0.3) <= TOLERANCE for g in gaps(events)), f"arrival gaps {gaps(events)}"


def test_every_timer_events_arrive_200ms_apart(stack):
    with client.Stream(stack, "every.php") as s:
        events = s.events_until_end(timeout=10)
    assert [(e.type, e.data) for e in events] == [("tick", str(i)) for i in range(1, 6)], s.body
    assert s.ended
    assert all(abs(g - 0.2) <= TOLERANCE for g in gaps(events)), f"arrival gaps {gaps(events)}"


def test_headers_arrive_before_any_event(stack):
    """EventSource fires `open` on the headers: they must not wait for the first frame."""
    with client.Stream(stack, "heartbeat.php") as s:
        took = s.headers_at - s.started
    assert took < 0.25, f"headers arrived {took:.3f}s after the request, with the first frame"


def test_idle_stream_heartbeat_each_second(stack):
    with client.Stream(stack, "heartbeat.php") as s:
        s.events_until_end(timeout=10)
    # A frame right at start (some emitters open with a comment) is not a heartbeat.
    times = [round(c.t - s.started, 3) for c in s.parser.comments]
    beats = [c for c in s.parser.comments if c.t - s.started > 0.5]
    assert len(beats) == 3, f"comments at {times}s, expected at 1, 2, 3 s"
    assert all(abs(g - 1.0) <= 0.1 for g in gaps(beats)), f"heartbeat gaps {gaps(beats)}"
    assert abs(beats[0].t - s.started - 1.0) <= 0.15, f"comments at {times}s"
    assert s.ended


def test_close_ends_the_response(stack):
    """close() then 1.5 s of other work in the script: under php-fpm the client sees the end at
    close(); php -S and mod_php can only end the response when the script returns."""
    with client.Stream(stack, "close_then_work.php") as s:
        events = s.events_until_end(timeout=5)
        ended = time.monotonic() - s.started
    assert [e.data for e in events] == ["only"]
    if stack.ends_response_at_close:
        assert ended < 0.3, f"the response ended {ended:.2f}s in, when the script returned"
    else:
        assert 1.4 <= ended < 2.0, f"the response ended {ended:.2f}s in (script returns at 1.5 s)"
