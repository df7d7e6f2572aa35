"""The Laravel row: the test app's response()->sse() routes behind nginx + php-fpm.

What only Laravel's app has: the headers (middleware adds to them, nothing strips them), both
workers freed when their streams hang up, maxDuration rotation without loss or repeat, and
reject() from a controller. What holds alike for Laravel and Symfony (events on time, resuming,
failures, hang-ups, finish(), the boot check) is test_frameworks.py.
"""

import pytest

from harness import client, laravel
from harness.resume import rotate
from harness.hangup import hang_up_all


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


def test_hang_up_frees_the_workers(stack):
    hang_up_all(stack, "ticks?count=50&interval=0.5", "ping")


def test_max_duration_rotation_loses_and_repeats_nothing(stack):
    """/rotate: four connections of ~1 s (three reconnects), each with the last id received."""
    ids, retry = rotate(stack, "rotate", clean=True)
    assert ids == list(range(1, len(ids) + 1)), f"ids across reconnects: {ids}"
    assert retry == 100


def test_reject_from_a_controller_answers_204_without_body(stack):
    with client.Stream(stack, "reject") as s:
        s.events_until_end(timeout=5)
    assert s.status == 204, (s.status, s.headers, s.body)
    assert s.body == b"", s.body
    assert s.header("content-type") != "text/event-stream; charset=utf-8", s.headers
