"""What holds alike through Laravel's response()->sse() and Symfony's EventStreamResponse: the
test apps (tests/laravel-app or laravel13-app, tests/symfony-app) serve the same routes, and each
test here runs against both, behind nginx + php-fpm.

Generator yields as events, timer events as sent, resuming from Last-Event-ID (header or query),
a failure logged by the app and not streamed, a bad option as the app's error page, a hung-up
client noticed at once (onClose runs) and freeing its worker, finish() and the 204 of the
reconnect, and the boot check when php-fpm lacks the extension. What only one framework has
stays in test_laravel.py and test_symfony.py. Without Symfony 7.4 its half skips (or fails,
when SSE_REQUIRE_SYMFONY is set).
"""
import time
from dataclasses import dataclass

import pytest

from harness import client, laravel, symfony
from harness.hangup import hang_ups_noticed
from harness.schedule import not_batched


@dataclass
class App:
    name: str
    start: object           # (name, extension) -> a started stack
    log: object             # stack -> the app's log
    failure_logged: str     # what the app's log says about the route that throws
    error_page: object      # response -> whether it is the app's error page
    boot_log: object        # stack -> where the boot check's message goes
    boot_message: str       # what it says


APPS = {
    "laravel": App("laravel", lambda name="laravel", extension=True: laravel.start(name, extension=extension),
                   laravel.laravel_log, "secret failure detail",
                   lambda r: r.body == b"Server Error", laravel.laravel_log, "needs the sse PHP extension"),
    "symfony": App("symfony", lambda name="symfony", extension=True: symfony.start(name, extension=extension,
                                                                                  children=3),
                   symfony.app_log, "[error] Event stream failed: secret failure detail",
                   lambda r: (r.header("content-type") or "").startswith("text/html"),
                   lambda stack: stack.log_text_since({}), "Sse\\Symfony\\SseBundle needs the sse PHP extension"),
}


@pytest.fixture(scope="module", params=list(APPS))
def app(request):
    return APPS[request.param]


@pytest.fixture(scope="module")
def running_stack(app):
    """Overrides the parametrized stacks: each framework's app in turn."""
    stack = app.start()
    yield stack
    stack.stop()


def test_generator_yields_are_events(stack):
    with client.Stream(stack, "generator") as s:
        events = s.events_until_end()
    assert [(e.type, e.data, e.id) for e in events] == [
        ("word", "one", "1"), ("word", "two", "2"), ("word", "three", "3")]


def test_timer_events_arrive_as_sent(stack):
    with client.Stream(stack, "ticks?count=5&interval=0.3") as s:
        events = s.events_until_end(timeout=10)
    assert [e.data for e in events] == ["1", "2", "3", "4", "5"], s.body
    not_batched(events, 0.3)


@pytest.mark.parametrize("path, headers, expected", [
    ("resume", {"Last-Event-ID": "41"}, "41"),
    ("resume?lastEventId=7", None, "7"),
    ("resume", None, "none"),
], ids=["header", "query", "none"])
def test_resume(stack, path, headers, expected):
    with client.Stream(stack, path, headers) as s:
        events = s.events_until_end()
    assert [(e.type, e.data) for e in events] == [("resume", expected)]


def test_failure_is_logged_not_streamed(stack, app):
    with client.Stream(stack, "fails") as s:
        events = s.events_until_end()
    assert [(e.type, e.data) for e in events] == [("before", "ok")], s.body
    assert b"secret failure detail" not in s.body
    assert s.ended and s.transport.complete, "the stream did not end cleanly"
    deadline = time.monotonic() + 2
    while app.failure_logged not in app.log(stack) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.failure_logged in app.log(stack), "the exception was not reported"


def test_bad_option_is_an_error_page_not_an_empty_stream(stack, app):
    """A misspelt option must fail when the response is built: the app's 500 page, not a 200
    event stream with an empty body that an EventSource reconnects to forever."""
    r = client.get(stack, "bad-option")
    assert r.status == 500, (r.status, r.headers, r.body)
    assert app.error_page(r), (r.headers, r.body[:500])
    assert not (r.header("content-type") or "").startswith("text/event-stream"), r.headers
    assert 'Invalid option "retyr"' in app.log(stack)


def test_hang_up_noticed_by_on_close_within_half_a_second(stack, marks):
    # Every worker holds a stream, so a stuck one would also block the request made afterwards.
    hang_ups_noticed(stack, marks, "hangup?heartbeat=1&mark={mark}", 0.5, "ping")


def test_finish_then_the_reconnect_with_its_id_gets_204(stack):
    with client.Stream(stack, "finish") as s:
        events = s.events_until_end(timeout=5)
    assert [(e.type, e.data, e.id) for e in events] == [
        ("message", "token 1", "1"), ("message", "token 2", "2"), ("end", "", "sse-end")], s.body
    with client.Stream(stack, "finish", {"Last-Event-ID": "sse-end"}) as again:
        again.events_until_end(timeout=5)
    assert again.status == 204, (again.status, again.headers, again.body)
    assert again.body == b""


def test_missing_extension_fails_at_boot_with_the_fix(app):
    """php-fpm without the extension: every request is the app's error page, and the log says
    what to do (not a bare "Class not found" on the first stream)."""
    stack = app.start(f"{app.name}-no-ext", extension=False)
    try:
        for path in ("ping", "events"):
            r = client.get(stack, path, timeout=30)
            assert r.status == 500, (path, r.status, r.headers, r.body)
            assert not (r.header("content-type") or "").startswith("text/event-stream"), r.headers
        log = app.boot_log(stack)
        assert app.boot_message in log, log[-2000:]
        assert "extension=/path/to/ext-sse/target/release/libsse.so" in log
        assert "fpm-fcgi" in log
    finally:
        stack.stop()
