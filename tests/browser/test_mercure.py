"""The plain PHP Mercure hub (tests/stacks/www/mercure/hub.php) behind nginx + php-fpm, read by
a real EventSource in headless Chromium: a page subscribed with a URI template gets every
update of the topics it matches once, in publish order, and nothing of the others; a page that
resumes with `lastEventID` gets exactly what followed; and a page whose stream ends at a
php-fpm reload reconnects by itself, sends its Last-Event-ID, and misses and repeats nothing.
Every update is counted on the page.
"""
import json
import shutil
import time
from urllib.parse import quote

import pytest

import cdp
from harness import client, nginx_fpm
from harness import fpm as fpm_harness
from harness.fixtures import checked
from harness.stack import make_tmp

HUB = "/mercure/hub.php"


@pytest.fixture(scope="module")
def hub():
    broker = make_tmp("browser-mercure") / "broker"
    stack = checked(nginx_fpm.start(name="mercure-browser", ini={"sse.broker": f"local://{broker}"}, children=3,
                                    fpm_global="process_control_timeout = 10s"))
    yield stack
    stack.stop()
    shutil.rmtree(broker.parent, ignore_errors=True)


def publish(stack, topic, n, prefix):
    r = client.get(stack, f"mercure/publish.php?topic={quote(topic, safe='')}&n={n}&prefix={prefix}", timeout=10)
    assert r.status == 200, r.body[:300]
    return json.loads(r.body)["ids"]


def subscribe_url(*selectors, last=None):
    query = "&".join(f"topic={quote(s, safe='')}" for s in selectors)
    if last:
        query += f"&lastEventID={quote(last, safe='')}"
    return f"{HUB}?{query}"


def page(stack, src, until, timeout=30.0, during=None):
    """Records the page until it got `until` events; `during` runs meanwhile in a thread, from
    the moment the page's stream is open."""
    url = stack.url(f"browser/eventsource.html?src={quote(src)}&until={until}")
    try:
        result = cdp.record(url, timeout, once_open=during)
    except cdp.BrowserError as e:
        pytest.fail(f"browser run failed: {e}\n{stack.describe()}", pytrace=False)
    log = (result["recorded"] or {}).get("log", [])
    assert not result["timedOut"], f"the page never got {until} events; page log {log}\n{stack.describe()}"
    return log


def received(log):
    return [(e["data"], e["lastEventId"]) for e in log if e["kind"] == "event"]


def test_a_template_subscription_gets_every_matching_update_once_in_order(hub):
    run = time.monotonic_ns()
    book, other = f"https://example.test/books/{run}", f"https://example.test/authors/{run}"
    published = []

    def publisher():
        for i in range(10):
            [id_] = publish(hub, book, 1, f"b{i}")
            published.append((f"b{i}0", id_))
            publish(hub, other, 1, f"a{i}")  # matched by no selector of the page
            time.sleep(0.03)

    # The page starts after an update published first, however late Chromium opens it.
    [start] = publish(hub, book, 1, "start")
    log = page(hub, subscribe_url("https://example.test/books/{id}", last=start), until=10, during=publisher)
    assert received(log) == published, "lost, repeated, out of order, or another topic's update"


def test_a_page_resuming_with_last_event_id_gets_exactly_what_followed(hub):
    topic = f"https://example.test/resume/{time.monotonic_ns()}"
    ids = publish(hub, topic, 6, "r")
    log = page(hub, subscribe_url(topic, last=ids[2]), until=3)
    assert received(log) == [(f"r{i}", ids[i]) for i in (3, 4, 5)]


def test_a_page_reconnects_after_a_php_fpm_reload_and_misses_nothing(hub):
    topic = f"https://example.test/reload/{time.monotonic_ns()}"
    fpm = hub.services[0]
    published = []

    def publisher():
        published.extend(publish(hub, topic, 5, "before"))
        fpm_harness.reload(fpm)  # every stream ends; the browser reconnects
        published.extend(publish(hub, topic, 5, "after"))

    [start] = publish(hub, topic, 1, "start")
    log = page(hub, subscribe_url(topic, last=start), until=10, timeout=45, during=publisher)
    got = received(log)
    assert [id_ for _, id_ in got] == published, f"lost or repeated across the reconnect: {log}"
    assert [data for data, _ in got] == [f"before{i}" for i in range(5)] + [f"after{i}" for i in range(5)]
    assert sum(1 for e in log if e["kind"] == "open") >= 2, f"the stream did not reconnect: {log}"
