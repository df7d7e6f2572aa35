"""Mercure 1.0 subscriptions (`match=`, `match_urlpattern=`, `last_event_id`) on the plain PHP
hub (tests/stacks/www/mercure/hub.php) behind nginx + php-fpm, read by a real EventSource in
headless Chromium, with updates that carry their publisher's ids: a page gets every update of
the topics it matches once, in publish order, and nothing else; a page that resumes from a
publisher's id gets exactly what followed; a page whose stream ends at a php-fpm reload
reconnects with the publisher's id it last saw, and misses and repeats nothing. Every update is
counted on the page.
"""
import json
import time
from urllib.parse import quote

from harness import client
from harness import fpm as fpm_harness
from test_mercure import hub, page, received  # noqa: F401 - the module's fixture, reused


def publish(stack, topic, n, prefix, id_prefix):
    query = f"topic={quote(topic, safe='')}&n={n}&prefix={prefix}&idPrefix={quote(id_prefix, safe='')}"
    r = client.get(stack, f"mercure/publish.php?{query}", timeout=10)
    assert r.status == 200, r.body[:300]
    return json.loads(r.body)["ids"]


def subscribe_url(exact=(), patterns=(), last=None):
    params = [f"match={quote(s, safe='')}" for s in exact] + [f"match_urlpattern={quote(p, safe='')}" for p in patterns]
    if last:
        params.append(f"last_event_id={quote(last, safe='')}")
    return "/mercure/hub.php?" + "&".join(params)


def test_match_and_url_pattern_subscriptions_get_every_matching_update_once_in_order(hub):  # noqa: F811
    run = time.monotonic_ns()
    book, review, exact, other = (f"https://example.test/books/{run}", f"https://example.test/books/{run}/reviews",
                                  f"urn:run:{run}", f"https://example.test/authors/{run}")
    published = []

    def publisher():
        for i in range(6):
            for topic, tag in ((book, "b"), (exact, "e")):
                [id_] = publish(hub, topic, 1, f"{tag}{i}-", f"urn:{tag}:{run}:{i}:")
                published.append((f"{tag}{i}-0", id_))
            publish(hub, review, 1, f"r{i}", f"urn:r:{run}:{i}:")  # one segment more than :id
            publish(hub, other, 1, f"a{i}", f"urn:a:{run}:{i}:")   # matched by nothing
            time.sleep(0.03)

    [start] = publish(hub, book, 1, "start", f"urn:start:{run}:")
    log = page(hub, subscribe_url([exact], ["https://example.test/books/:id"], last=start), until=12, during=publisher)
    assert received(log) == published, "lost, repeated, out of order, or another topic's update"


def test_a_page_resuming_from_a_publishers_id_gets_exactly_what_followed(hub):  # noqa: F811
    topic = f"https://example.test/resume/{time.monotonic_ns()}"
    ids = publish(hub, topic, 6, "r", f"urn:resume:{time.monotonic_ns()}:")
    log = page(hub, subscribe_url([topic], last=ids[2]), until=3)
    assert received(log) == [(f"r{i}", ids[i]) for i in (3, 4, 5)]


def test_a_page_reconnects_after_a_php_fpm_reload_with_the_publishers_id_and_misses_nothing(hub):  # noqa: F811
    run = time.monotonic_ns()
    topic = f"https://example.test/reload/{run}"
    fpm = hub.services[0]
    published = []

    def publisher():
        published.extend(publish(hub, topic, 5, "before", f"urn:before:{run}:"))
        fpm_harness.reload(fpm)  # every stream ends; the browser reconnects
        published.extend(publish(hub, topic, 5, "after", f"urn:after:{run}:"))

    [start] = publish(hub, topic, 1, "start", f"urn:start:{run}:")
    log = page(hub, subscribe_url(patterns=["https://example.test/reload/:run"], last=start), until=10, timeout=45,
               during=publisher)
    got = received(log)
    assert [id_ for _, id_ in got] == published, f"lost or repeated across the reconnect: {log}"
    assert [data for data, _ in got] == [f"before{i}" for i in range(5)] + [f"after{i}" for i in range(5)]
    assert sum(1 for e in log if e["kind"] == "open") >= 2, f"the stream did not reconnect: {log}"
