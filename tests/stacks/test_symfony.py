"""The Symfony row: the test app's Sse\\Symfony\\EventStreamResponse routes behind nginx + php-fpm.

What must hold through the framework (Symfony 7.4 from Debian sid, the kernel run by
public/index.php): ServerEvent objects on the wire as the emitter frames them, on time, with the
headers the emitter sets; resuming; a failure logged by the app and not streamed; a hung-up
client noticed at once (onClose runs) and freeing its worker; a bad option as the app's error
page; the bundle's broker, for streams served in the worker and for streams that detach and
free it; and the bundle's boot check when php-fpm lacks the extension. Without Symfony 7.4 every
test here skips (or fails, when SSE_REQUIRE_SYMFONY is set).
"""
from itertools import pairwise
import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from harness import broadcast, client, symfony
from harness.fixtures import wait_for_file

WORKERS = 3


@pytest.fixture(scope="module")
def broker_dir():
    # php-fpm runs as root here (harness/fpm.py: -R); 0777 keeps it writable for any pool user.
    path = Path(tempfile.mkdtemp(prefix="sse-symfony-broker-", dir="/tmp"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def running_stack(broker_dir):
    """Overrides the parametrized stacks: every test here runs on the Symfony stack only."""
    stack = symfony.start(children=WORKERS, fastcgi_params={"SSE_BROKER": f"local://{broker_dir}"})
    yield stack
    stack.stop()


def test_the_app_runs_on_symfony_7_4(stack):
    r = client.get(stack, "version")
    assert r.status == 200, r.body
    assert r.body.decode().split()[0] == symfony.VERSION, r.body


def test_server_events_through_the_framework(stack):
    with client.Stream(stack, "events") as s:
        events = s.events_until_end()
    assert s.status == 200, s.body
    assert s.header("content-type") == "text/event-stream; charset=utf-8"
    assert s.header("cache-control") == "no-cache, no-store, no-transform", s.headers
    assert s.header("content-encoding") is None and s.header("content-length") is None, s.headers
    assert s.header("x-stream") == "events"
    assert [(e.type, e.data, e.id) for e in events] == [
        ("greeting", "hello", "1"), ("lines", "line 1\nline 2", "2"), ("0", "zero\ntype", "0"),
    ], s.body
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
    assert [(e.type, e.data) for e in events] == [("before", "ok")], s.body
    assert b"secret failure detail" not in s.body
    assert s.ended and s.transport.complete, "the stream did not end cleanly"
    deadline = time.monotonic() + 2
    while "secret failure detail" not in symfony.app_log(stack) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "[error] Event stream failed: secret failure detail" in symfony.app_log(stack)


def test_bad_option_is_an_error_page_not_an_empty_stream(stack):
    r = client.get(stack, "bad-option")
    assert r.status == 500, (r.status, r.headers, r.body)
    assert (r.header("content-type") or "").startswith("text/html"), r.headers
    assert 'Invalid option "retyr"' in symfony.app_log(stack)


def test_hang_up_noticed_by_on_close_within_half_a_second(stack, marks):
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
    assert ping.status == 200
    assert time.monotonic() - start < 0.5, "workers still held after the hang-up"


def test_finish_then_the_reconnect_with_its_id_gets_204(stack):
    with client.Stream(stack, "finish") as s:
        events = s.events_until_end(timeout=5)
    assert [(e.type, e.data, e.id) for e in events] == [
        ("message", "token 1", "1"), ("message", "token 2", "2"), ("end", "", "sse-end")], s.body
    with client.Stream(stack, "finish", {"Last-Event-ID": "sse-end"}) as again:
        again.events_until_end(timeout=5)
    assert again.status == 204, (again.status, again.headers, again.body)
    assert again.body == b""


def publish(stack, topic, n, prefix):
    r = client.get(stack, f"broadcast/publish?topics={topic}&n={n}&prefix={prefix}", timeout=20)
    assert r.status == 200, r.body[:500]
    return json.loads(r.body)["ids"]


def test_a_subscribed_stream_gets_what_the_bundles_broker_publishes(stack):
    topic = f"orders-{time.monotonic_ns()}"
    with client.Stream(stack, f"broadcast/stream?topics={topic}", timeout=20) as s:
        broadcast.wait_subscribed(s)
        ids = publish(stack, topic, 3, "o")
        events = broadcast.take(s, 3)
        assert [(e.type, e.data, e.id) for e in events] == [("news", f"o{i}", ids[i]) for i in range(3)]
        # A reconnect with the last id gets what it missed, and nothing twice.
        missed = publish(stack, topic, 2, "m")
    with client.Stream(stack, f"broadcast/stream?topics={topic}", {"Last-Event-ID": ids[-1]}, timeout=20) as again:
        assert [(e.data, e.id) for e in broadcast.take(again, 2)] == [("m0", missed[0]), ("m1", missed[1])]


def test_detached_streams_free_the_workers(stack, marks):
    topic = f"news-{time.monotonic_ns()}"
    streams = []
    try:
        for i in range(stack.workers * 3):
            s = client.Stream(stack, f"broadcast/detached?topics={topic}&mark={marks / f'{i}.json'}", timeout=20)
            streams.append(s)
            assert s.status == 200, s.body
            broadcast.wait_subscribed(s)
        ping = client.get(stack, "ping", timeout=5)
        assert (ping.status, ping.body) == (200, b"pong"), "a detached stream still holds its worker"
        for i in range(len(streams)):
            mark = wait_for_file(marks / f"{i}.json", timeout=5)
            assert mark and mark["detached"] is True, mark
        ids = publish(stack, topic, 2, "d")
        for s in streams:
            assert [(e.data, e.id) for e in broadcast.take(s, 2)] == [("d0", ids[0]), ("d1", ids[1])]
    finally:
        for s in streams:
            s.close()


def test_missing_extension_fails_at_boot_with_the_fix():
    """php-fpm without the extension: every request is a 500, and the log says what to do (not a
    bare "Class not found" on the first stream)."""
    stack = symfony.start("symfony-no-ext", extension=False)
    try:
        for path in ("ping", "events"):
            r = client.get(stack, path, timeout=30)
            assert r.status == 500, (path, r.status, r.headers, r.body)
            assert not (r.header("content-type") or "").startswith("text/event-stream"), r.headers
        log = stack.log_text_since({})
        assert "Sse\\Symfony\\SseBundle needs the sse PHP extension" in log, log[-2000:]
        assert "extension=/path/to/ext-sse/target/release/libsse.so" in log
        assert "fpm-fcgi" in log
    finally:
        stack.stop()
