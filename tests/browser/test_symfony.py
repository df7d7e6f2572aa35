"""The Symfony test app (tests/symfony-app, Symfony 7.4 from Debian sid) behind nginx + php-fpm,
read by a real EventSource in headless Chromium: ServerEvent objects as the page receives them,
a stream that completes and stops the browser, and a detached stream of the bundle's broker
that gets every published event once, in order. The recorder page is the one of the other
browser tests, served by the app's /browser/eventsource.html route (same origin). Without
Symfony 7.4 every test here skips (or fails, when SSE_REQUIRE_SYMFONY is set).
"""
import json
import shutil
import threading
import time
from urllib.parse import quote

import pytest

import cdp
from harness import client, symfony
from harness.stack import make_tmp


@pytest.fixture(scope="module")
def app():
    broker = make_tmp("browser-symfony") / "broker"
    stack = symfony.start("symfony-browser", children=3, fastcgi_params={"SSE_BROKER": f"local://{broker}"})
    yield stack
    stack.stop()
    shutil.rmtree(broker.parent, ignore_errors=True)


def page(stack, src: str, names: str = "", until: int = 0, timeout: float = 15.0) -> list:
    url = stack.url(f"browser/eventsource.html?src={quote(src)}&names={names}&until={until}")
    try:
        result = cdp.record(url, timeout)
    except cdp.BrowserError as e:
        pytest.fail(f"browser run failed: {e}\n{stack.describe()}", pytrace=False)
    log = (result["recorded"] or {}).get("log", [])
    assert not result["timedOut"], f"the page never finished; page log {log}\n{stack.describe()}"
    return log


def events(log) -> list:
    return [(e["type"], e["data"], e["lastEventId"]) for e in log if e["kind"] == "event"]


def test_server_events_reach_the_page_with_zero_ids_and_types_and_every_line(app):
    log = page(app, "/events", names="greeting,lines,0", until=3)
    assert events(log) == [
        ("greeting", "hello", "1"), ("lines", "line 1\nline 2", "2"), ("0", "zero\ntype", "0"),
    ], log


def test_a_finished_stream_stops_the_browser(app):
    """finish()'s last event, then the one reconnect (Last-Event-ID sse-end) answered 204."""
    log = page(app, "/finish", names="end")
    assert [e["kind"] for e in log] == ["open", "event", "event", "event", "error", "error"], log
    assert events(log) == [("message", "token 1", "1"), ("message", "token 2", "2"), ("end", "", "sse-end")]
    assert [e["readyState"] for e in log if e["kind"] == "error"] == [0, 2], log


def test_a_detached_stream_gets_every_published_event_once_in_order(app):
    topic = f"symfony-{time.monotonic_ns()}"
    count = 20
    published, failures = [], []

    def publisher():
        try:
            time.sleep(1.0)  # the page opens its stream meanwhile; earlier events are replayed anyway
            for i in range(count):
                r = client.get(app, f"broadcast/publish?topics={topic}&prefix=e", timeout=10)
                assert r.status == 200, r.body[:300]
                published.extend(json.loads(r.body)["ids"])
                time.sleep(0.05)
        except AssertionError as e:
            failures.append(str(e))

    # The stream starts from the topic's beginning: ?lastEventId= of an id published first.
    first = json.loads(client.get(app, f"broadcast/publish?topics={topic}&prefix=start").body)["ids"][0]
    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        log = page(app, f"/broadcast/detached?topics={topic}&lastEventId={quote(first)}", names="news",
                   until=count, timeout=30)
    finally:
        thread.join()
    assert not failures, failures
    received = [e for e in log if e["kind"] == "event"]
    assert [e["data"] for e in received] == ["e0"] * count, log
    assert [e["lastEventId"] for e in received] == published, "lost, repeated or out of order"
