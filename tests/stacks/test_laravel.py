"""The Laravel row: the test app's response()->sse() routes behind nginx + php-fpm.

What must hold through the framework: the headers (middleware adds to them, nothing strips
them), events on time, resuming, maxDuration rotation without loss or repeat, reject() from a
controller, a failure reported to the log and not streamed, and a hung-up client noticed at once
(onClose runs) and freeing its worker. The shared scenarios of the other stacks
(test_last_event_id.py, test_headers.py, test_hangup.py) are repeated here through routes.
"""
from itertools import pairwise
import time

import pytest

from harness import client, laravel
from harness.fixtures import wait_for_file


@pytest.fixture(scope="module")
def running_stack():
    """Overrides the parametrized stacks: every test here runs on the Laravel stack only."""
    stack = laravel.start()
    yield stack
    stack.stop()


def test_the_app_is_the_installed_laravels_skeleton(stack):
    r = client.get(stack, "version")
    assert r.status == 200, r.body
    assert r.body.decode() == f"{laravel.VERSION} {laravel.APP.name}", r.body


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


def test_max_duration_rotation_loses_and_repeats_nothing(stack):
    """/rotate: four connections of ~1 s (three reconnects), each with the last id received."""
    ids, retry, last = [], None, None
    for connection in range(4):
        headers = {"Last-Event-ID": last} if last else None
        with client.Stream(stack, "rotate", headers) as s:
            events = s.events_until_end(timeout=5)
        assert s.status == 200, s.body
        assert s.ended and s.transport.complete, f"connection {connection} was not ended by the server"
        assert len(events) >= 5, f"connection {connection}: {s.body!r}"
        ids += [int(e.id) for e in events]
        assert [e.data for e in events] == [f"n={e.id}" for e in events]
        retry = s.parser.retry
        last = s.parser.last_id
    assert ids == list(range(1, len(ids) + 1)), f"ids across reconnects: {ids}"
    assert retry == 100


def test_reject_from_a_controller_answers_204_without_body(stack):
    with client.Stream(stack, "reject") as s:
        s.events_until_end(timeout=5)
    assert s.status == 204, (s.status, s.headers, s.body)
    assert s.body == b"", s.body
    assert s.header("content-type") != "text/event-stream; charset=utf-8", s.headers


def test_hang_up_noticed_by_on_close_within_half_a_second(stack, marks):
    # Occupy every worker, so a stuck one would also block the request made afterwards.
    streams, files = [], []
    try:
        for i in range(stack.workers):
            files.append(marks / f"{i}.json")
            s = client.Stream(stack, f"hangup?heartbeat=1&mark={files[-1]}")
            streams.append(s)
            ready = s.next_event(timeout=5)
            assert ready and ready.type == "ready", f"stream {i}: {s.status} {s.body[:300]!r}"
        hung_up = [s.hang_up() for s in streams]
        for i, path in enumerate(files):
            mark = wait_for_file(path, timeout=3.5)
            assert mark is not None, f"stream {i}: onClose never ran after the hang-up"
            late = mark["noticed"] - hung_up[i]
            assert late <= 0.5, f"stream {i}: noticed {late:.3f}s after the hang-up (limit 0.5s)"
            assert mark["connected"] is False, mark
    finally:
        for s in streams:
            s.close()
    start = time.monotonic()
    ping = client.get(stack, "ping", timeout=5)
    took = time.monotonic() - start
    assert ping.status == 200
    assert took < 0.5, f"/ping took {took:.3f}s: workers still held after the hang-up"


def test_bad_option_is_an_error_page_not_an_empty_stream(stack):
    """A misspelt option must fail when the response is built: the app's 500 page, not a 200
    event stream with an empty body that an EventSource reconnects to forever."""
    r = client.get(stack, "bad-option")
    assert r.status == 500, (r.status, r.headers, r.body)
    assert r.body == b"Server Error", r.body
    assert not (r.header("content-type") or "").startswith("text/event-stream"), r.headers
    assert 'Invalid option "retyr"' in laravel.laravel_log(stack)


def test_missing_extension_fails_at_boot_with_the_fix():
    """php-fpm without the extension: every request is the app's error page, and the log says
    what to do (not a bare "Class not found" on the first stream)."""
    stack = laravel.start("laravel-no-ext", extension=False)
    try:
        for path in ("ping", "events"):
            r = client.get(stack, path)
            assert r.status == 500, (path, r.status, r.headers, r.body)
            assert not (r.header("content-type") or "").startswith("text/event-stream"), r.headers
        log = laravel.laravel_log(stack)
        assert "needs the sse PHP extension" in log, log[-2000:]
        assert "extension=/path/to/ext-sse/target/release/libsse.so" in log
        assert "fpm-fcgi" in log
    finally:
        stack.stop()


def test_finish_then_the_reconnect_with_its_id_gets_204(stack):
    with client.Stream(stack, "finish") as s:
        events = s.events_until_end(timeout=5)
    assert [(e.type, e.data, e.id) for e in events] == [
        ("message", "token 1", "1"), ("message", "token 2", "2"), ("end", "", "sse-end")], s.body
    with client.Stream(stack, "finish", {"Last-Event-ID": "sse-end"}) as again:
        again.events_until_end(timeout=5)
    assert again.status == 204, (again.status, again.headers, again.body)
    assert again.body == b""
