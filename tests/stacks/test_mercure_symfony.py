"""Issue 19: Symfony's MercureBundle (Debian sid: php-symfony-mercure-bundle, with Symfony 7.4)
and ext-sse as its hub, in the test app behind nginx + php-fpm.

A controller publishes `new Update(...)` through `HubInterface::publish()`, once through the
bundle's built-in detection (its FrankenPhpHub calls `mercure_publish()`) and once over HTTP to
the app's own hub route (the bundle's Hub, with the bundle's JWT); subscribers of that route get
both, with topics and URI templates, resume without loss or repeat, and a private update reaches
the page holding the cookie of the bundle's Authorization helper and not the anonymous one.
Without Symfony 7.4 every test here skips (or fails, when SSE_REQUIRE_SYMFONY is set).
"""
import json
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from harness import client, symfony
from harness.broadcast import take, take_all

HUB = ".well-known/mercure"


@pytest.fixture(scope="module")
def app():
    broker_dir = Path(tempfile.mkdtemp(prefix="sse-mercure-symfony-", dir="/tmp"))
    broker_dir.chmod(0o777)
    # One broker for mercure_publish() and the hub: php.ini's sse.broker, which the SseBundle's
    # broker (no url configured) is too. The bundle's `http` hub posts to this same stack: nginx
    # fills in its port.
    stack = symfony.start("mercure-symfony", children=4, ini={"sse.broker": f"local://{broker_dir}"},
                          fastcgi_params={"MERCURE_URL": f"http://127.0.0.1:$server_port/{HUB}"})
    yield stack
    stack.stop()
    shutil.rmtree(broker_dir, ignore_errors=True)


def publish(stack, topic, data, via="builtin", private=False):
    query = urlencode({"topic": topic, "data": data, "via": via, "private": "1" if private else ""})
    response = client.get(stack, f"mercure/publish?{query}", timeout=20)
    assert response.status == 200, response.body[-2000:]
    return json.loads(response.body)


def subscribe(stack, selectors, headers=None, query=""):
    path = f"{HUB}?" + "&".join("topic=" + quote(s, safe="") for s in selectors) + query
    s = client.Stream(stack, path, headers, timeout=60)
    assert s.status == 200, s.body
    return s


def test_the_bundle_publishes_through_mercure_publish_and_over_http(app):
    with subscribe(app, ["https://example.com/books/{id}"]) as stream:
        builtin = publish(app, "https://example.com/books/1", "built-in")
        http = publish(app, "https://example.com/books/2", "over HTTP", via="http")
        publish(app, "https://example.com/authors/1", "not subscribed")
        assert builtin["hub"] == "Symfony\\Component\\Mercure\\FrankenPhpHub"
        assert http["hub"] == "Symfony\\Component\\Mercure\\Hub"
        events = take_all(stream, 2)
        assert [(e.id, e.data) for e in events] == [(builtin["id"], "built-in"), (http["id"], "over HTTP")]


def test_a_subscriber_resumes_without_loss_or_repeat(app):
    with subscribe(app, ["https://example.com/resume/{id}"]) as first:
        ids = [publish(app, f"https://example.com/resume/{i}", f"r{i}", via=("http" if i % 2 else "builtin"))["id"]
               for i in range(6)]
        seen = take(first, 3)
    more = [publish(app, "https://example.com/resume/x", "after")["id"]]
    with subscribe(app, ["https://example.com/resume/{id}"], {"Last-Event-ID": seen[-1].id}) as second:
        events = take_all(second, 4)
    assert [e.id for e in seen + events] == ids + more


def test_a_private_update_reaches_the_page_with_the_bundles_cookie_only(app):
    topic = "https://example.com/users/7/orders"
    response = client.get(app, "mercure/cookie?" + urlencode({"topic[]": "https://example.com/users/7/{+rest}"}))
    assert response.status == 200, response.body[-2000:]
    cookie = next(v.split(";")[0] for n, v in response.headers if n == "set-cookie" and v.startswith("mercureAuthorization="))
    authorized = subscribe(app, [topic, "https://example.com/news"], {"Cookie": cookie})
    anonymous = subscribe(app, [topic, "https://example.com/news"])
    try:
        private = publish(app, topic, "secret", private=True)
        private_http = publish(app, topic, "secret too", via="http", private=True)
        public = publish(app, "https://example.com/news", "for all")
        assert [e.id for e in take(authorized, 3)] == [private["id"], private_http["id"], public["id"]]
        assert [e.id for e in take(anonymous, 2, timeout=1)] == [public["id"]]
    finally:
        authorized.close()
        anonymous.close()
