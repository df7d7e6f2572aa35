"""Laravel's own response()->eventStream() in a php-fpm that loads the extension, beside the
extension's response()->sseEventStream(), on the test app behind nginx (Debian's production
php.ini: output_buffering = 4096). Laravel 13.

Both routes serve one generator (App\\Http\\Controllers\\EventStreamController): strings, numbers,
an array, a bool, null, a Collection and two StreamedEvents, ?interval seconds apart. What a
client gets must be the same events, each when it was yielded.
"""
import json

import pytest

from harness import client, laravel
from harness.hangup import hang_up_all
from harness.schedule import not_batched

INTERVAL = 0.3
EXPECTED = [
    ("update", "plain text"),
    ("update", "42"),
    ("update", "1.5"),
    # Laravel's Js::encode(): <, >, &, ' and " escaped inside strings, slashes too.
    ("update", '{"n":1,"html":"\\u003Cb\\u003ETom \\u0026 Jerry\\u0027s \\u0022cat\\u0022\\u003C\\/b\\u003E",'
               '"city":"Zürich","path":"\\/a\\/b"}'),
    ("update", "true"),
    ("update", "null"),
    ("update", "[1,2,3]"),
    ("custom", '{"ok":true}'),
    ("count", "7"),
    ("update", "</stream>"),
]


@pytest.fixture(scope="module")
def running_stack():
    """Overrides the parametrized stacks: the Laravel app only, when it is Laravel 13."""
    laravel.require_laravel13()
    stack = laravel.start("laravel-event-stream")
    yield stack
    stack.stop()


@pytest.mark.parametrize("route", ["laravel", "sse"])
def test_each_event_arrives_when_it_is_yielded(stack, route):
    with client.Stream(stack, f"event-stream/{route}?interval={INTERVAL}") as s:
        events = s.events_until_end(timeout=15)
    assert s.status == 200, s.body
    assert (s.header("content-type") or "").startswith("text/event-stream"), s.headers
    assert s.header("content-length") is None and s.header("content-encoding") is None, s.headers
    assert [(e.type, e.data) for e in events] == EXPECTED, s.body
    assert json.loads(events[3].data)["html"] == "<b>Tom & Jerry's \"cat\"</b>"
    # One yield every INTERVAL seconds; the end event follows the last yield at once.
    not_batched(events[:-1], INTERVAL)
    assert events[-1].t - events[-2].t < INTERVAL / 2, f"{route}: the end event came a yield later"


def test_the_two_differ_only_in_cache_control_and_the_opening_comment(stack):
    with client.Stream(stack, "event-stream/laravel") as laravel_stream:
        laravel_stream.events_until_end()
    with client.Stream(stack, "event-stream/sse") as sse_stream:
        sse_stream.events_until_end()
    # Symfony adds the charset to Laravel's text/event-stream.
    assert laravel_stream.header("content-type") == sse_stream.header("content-type") == "text/event-stream; charset=utf-8"
    assert laravel_stream.header("cache-control") == "no-cache, private"
    assert sse_stream.header("cache-control") == "no-cache, no-store, no-transform"
    # The extension opens with a comment frame, so that proxies pass the response head at once.
    assert sse_stream.body == b": \n\n" + laravel_stream.body, (sse_stream.body, laravel_stream.body)


@pytest.mark.parametrize("route", ["laravel", "sse"])
def test_a_hang_up_frees_the_worker_at_the_next_yield(stack, route):
    """Every worker streams (a yield a second, for 8 s); after the hang-ups, a request is served
    once each generator has yielded again, not when the streams would have ended."""
    hang_up_all(stack, f"event-stream/{route}?interval=1", "ping", f"{route}: ", timeout=10)
