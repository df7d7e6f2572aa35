"""The Symfony row: the test app's Sse\\Symfony\\EventStreamResponse routes behind nginx + php-fpm.

What only Symfony's app has (Symfony 7.4 from Debian sid, the kernel run by public/index.php):
ServerEvent objects on the wire as the emitter frames them, with the headers the emitter sets,
and the bundle's broker, for streams served in the worker and for streams that detach and free
it. What holds alike for Laravel and Symfony (events on time, resuming, failures, hang-ups,
finish(), the boot check) is test_frameworks.py. Without Symfony 7.4 every test here skips (or
fails, when SSE_REQUIRE_SYMFONY is set).
"""
import json
import time

import pytest

from harness import broadcast, client, symfony
from harness.fixtures import broker_dir, wait_for_file  # noqa: F401 - broker_dir is a fixture

WORKERS = 3


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
