"""The Laravel row: the test app's response()->sse() routes behind nginx + php-fpm.

What must hold through the framework: the headers (middleware adds to them, nothing strips
them), events on time, resuming, a failure reported to the log and not streamed, and a hung-up
client freeing its worker.
"""
from itertools import pairwise
import time

import pytest

from harness import client, laravel


@pytest.fixture(scope="module")
def running_stack():
    """Overrides the parametrized stacks: every test here runs on the Laravel stack only."""
    stack = laravel.start()
    yield stack
    stack.stop()


def test_headers_through_the_framework(stack):
    with client.Stream(stack, "events") as s:
        events = s.events_until_end()
    assert s.status == 200, s.body
    assert s.header("content-type") == "text/event-stream; charset=utf-8"
    assert "no-cache" in (s.header("cache-control") or "")
    assert s.header("content-encoding") is None and s.header("content-length") is None, s.headers
    assert s.header("x-stream") == "events"
    assert "sse_seen=yes" in (s.header("set-cookie") or ""), "the middleware's cookie was lost"
    assert s.header("x-seen-content-type") == "text/event-stream; charset=utf-8"
    assert [(e.type, e.data, e.id) for e in events] == [
        ("greeting", "hello", "1"), ("count", '{"n":2}', "2"), ("message", "plain data", "2"),
    ]
    assert s.parser.retry == 1500


def test_generator_yields_are_events(stack):
    with client.Stream(stack, "generator") as s:
        events = s.events_until_end()
    assert [(e.type, e.data, e.id) for e in events] == [
        ("word", "one", "1"), ("word", "two", "2"), ("word", "three", "3")]


def test_timer_events_arrive_as_sent(stack):
    with client.Stream(stack, "ticks?count=5&interval=0.3") as s:
        events = s.events_until_end(timeout=10)
    assert [e.data for e in events] == ["1", "2", "3", "4", "5"], s.body
    gaps = [round(b.t - a.t, 3) for a, b in pairwise(events)]
    assert all(abs(g - 0.3) <= 0.05 for g in gaps), f"arrival gaps {gaps}"


@pytest.mark.parametrize("path, headers, expected", [
    ("resume", {"Last-Event-ID": "41"}, "41"),
    ("resume?lastEventId=7", None, "7"),
    ("resume", None, "none"),
], ids=["header", "query", "none"])
def test_resume(stack, path, headers, expected):
    with client.Stream(stack, path, headers) as s:
        events = s.events_until_end()
    assert [(e.type, e.data) for e in events] == [("resume", expected)]


def test_failure_is_logged_not_streamed(stack):
    with client.Stream(stack, "fails") as s:
        events = s.events_until_end()
    assert [(e.type, e.data) for e in events][:1] == [("before", "ok")]
    assert b"secret failure detail" not in s.body
    deadline = time.monotonic() + 2
    while "secret failure detail" not in laravel.laravel_log(stack) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "secret failure detail" in laravel.laravel_log(stack), "the exception was not reported"


def test_hang_up_frees_the_workers(stack):
    streams = [client.Stream(stack, "ticks?count=50&interval=0.5") for _ in range(stack.workers)]
    try:
        for s in streams:
            assert s.next_event(timeout=5), s.body
        for s in streams:
            s.hang_up()
        start = time.monotonic()
        ping = client.get(stack, "ping", timeout=5)
        took = time.monotonic() - start
    finally:
        for s in streams:
            s.close()
    assert ping.status == 200
    assert took < 1.0, f"/ping took {took:.2f}s after both streams hung up: workers still held"
