"""Issue 19: a plain PHP Mercure hub (www/mercure/hub.php) behind nginx + php-fpm.

Two stacks on their own ports share one real redis-server ("two machines"): updates published
to either (over HTTP with a publisher's token, or with mercure_publish()) reach every
subscriber on both, each once and in publish order, also across a Redis restart; private
updates reach only subscribers whose token allows them. Hostile input gets a clear 4xx and
publishes nothing. Every event is counted on every stream.
"""
import base64
import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import quote, urlencode

import pytest

from harness import client
from harness import redis as redis_harness
from harness.broadcast import machines_sharing, take, take_all
from harness.stack import CRASH

KEY = b"stack-test-secret-of-at-least-256-bits!"
HUB = "mercure/hub.php"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims: dict, key: bytes = KEY, alg: str = "HS256") -> str:
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return f"{head}.{body}.{b64(hmac.new(key, f'{head}.{body}'.encode(), digest).digest())}"


PUBLISHER = {"Authorization": "Bearer " + token({"mercure": {"publish": ["*"]}})}


def post(stack, fields, headers=None, body=None):
    """A publish: (status, body). `fields` is a list of pairs, so that `topic` repeats."""
    data = body if body is not None else urlencode(fields).encode()
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=15)
    try:
        conn.request("POST", "/" + HUB, body=data,
                     headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def publish_http(stack, topic, n, prefix=""):
    ids = []
    for i in range(n):
        status, body = post(stack, [("topic", topic), ("data", f"{prefix}{i}")], PUBLISHER)
        assert status == 200, body
        ids.append(body)
    return ids


def publish_function(stack, topic, n, prefix="", private=False):
    query = urlencode({"topic": topic, "n": n, "prefix": prefix, "private": "1" if private else ""})
    response = client.get(stack, f"mercure/publish.php?{query}", timeout=15)
    return response.status, json.loads(response.body or b"{}")


def subscribe(stack, selectors, headers=None, query="", seconds=60):
    path = f"{HUB}?" + "&".join("topic=" + quote(s, safe="") for s in selectors) + query
    s = client.Stream(stack, path, headers, timeout=seconds)
    assert s.status == 200, s.body
    return s


def last_id(stack):
    return client.get(stack, "mercure/last.php").body.decode()


def no_crash(*stacks):
    for stack in stacks:
        for log in stack.log_files():
            # PHP itself parses a form body into $_POST before any script runs, and warns at
            # more than max_input_vars (1000) fields: the thousand-topic publish below does
            # that on purpose. The hub reads the raw body and answers 400 all the same.
            text = "".join(line for line in log.read_text(errors="replace").splitlines(keepends=True)
                           if "Input variables exceeded 1000" not in line)
            found = CRASH.search(text)
            assert not found, f"{stack.name}: {found.group(0)!r} in {log}: {text[max(0, found.start() - 200):found.end() + 400]}"


@pytest.fixture(scope="module")
def two_machines():
    yield from machines_sharing(redis_harness.start(), "mercure", children=4, check=no_crash)


def test_updates_published_to_either_machine_reach_every_subscriber_once_in_order(two_machines):
    server, (a, b) = two_machines
    # Six detached streams on a pool of four workers per machine: the workers stay free.
    streams = [subscribe(m, ["https://example.com/books/{id}"]) for m in (a, b) for _ in range(3)]
    try:
        assert all(s.header("last-event-id") for s in streams)
        ids = []
        for round_ in range(4):
            for machine in (a, b):
                ids += publish_http(machine, f"https://example.com/books/{round_}", 5, prefix=f"{machine.name}-{round_}-")
                status, published = publish_function(machine, f"https://example.com/books/f{round_}", 5)
                assert status == 200, published
                ids += published["ids"]
                # Not matched by the selector: never delivered.
                publish_http(machine, f"https://example.com/books/{round_}/reviews", 1)
        for stream in streams:
            events = take_all(stream, len(ids), timeout=15)
            assert [e.id for e in events] == ids
    finally:
        for stream in streams:
            stream.close()


def test_private_updates_reach_only_subscribers_whose_token_matches(two_machines):
    server, (a, b) = two_machines
    allowed = token({"mercure": {"subscribe": ["https://example.com/users/7/{+rest}"]}})
    anonymous = subscribe(a, ["*"])
    user7 = subscribe(a, ["*"], {"Cookie": f"mercureAuthorization={allowed}"})
    user8 = subscribe(b, ["*"], query="&authorization=" + token({"mercure": {"subscribe": ["https://example.com/users/8/{+rest}"]}}))
    try:
        status, private = publish_function(b, "https://example.com/users/7/orders", 3, private=True)
        assert status == 200, private
        status, body = post(a, [("topic", "https://example.com/users/7/orders"), ("data", "http"), ("private", "on")], PUBLISHER)
        assert status == 200, body
        public = publish_http(b, "https://example.com/news", 2)
        assert [e.id for e in take(user7, 6)] == private["ids"] + [body] + public
        assert [e.id for e in take(anonymous, 2)] == public
        assert [e.id for e in take(user8, 2)] == public
        for stream in (anonymous, user7, user8):
            assert take(stream, 1, timeout=0.3) == []
    finally:
        for stream in (anonymous, user7, user8):
            stream.close()


def test_redis_restarted_mid_stream_loses_nothing_and_publishes_fail_fast_meanwhile(two_machines):
    server, (a, b) = two_machines
    streams = [subscribe(m, ["restart"]) for m in (a, b)]
    try:
        before = publish_http(a, "restart", 10, prefix="before-")
        server.stop()
        started = time.monotonic()
        status, body = post(b, [("topic", "restart"), ("data", "while down")], PUBLISHER)
        assert status == 503, body
        assert body.startswith(f"Broker {server.url}: "), body
        assert time.monotonic() - started < 4
        time.sleep(1.5)  # the readers retry with back-off meanwhile
        server.start()
        after = publish_http(b, "restart", 10, prefix="after-")
        for stream in streams:
            events = take_all(stream, 20, timeout=15)
            assert [e.id for e in events] == before + after
            assert [e.data for e in events] == [f"before-{i}" for i in range(10)] + [f"after-{i}" for i in range(10)]
            assert not stream.ended
    finally:
        for stream in streams:
            stream.close()


def test_a_subscriber_resumes_on_the_other_machine(two_machines):
    server, (a, b) = two_machines
    with subscribe(a, ["hop"]) as on_a:
        first = publish_http(b, "hop", 6)
        seen = take(on_a, 3)
    more = publish_http(a, "hop", 2)
    with subscribe(b, ["hop"], {"Last-Event-ID": seen[-1].id}) as on_b:
        events = take_all(on_b, 5)
    assert [e.id for e in events] == first[3:] + more
    with subscribe(a, ["hop"], query="&lastEventID=" + quote(first[4])) as by_query:
        assert [e.id for e in take(by_query, 3)] == first[5:] + more


def test_hostile_input_gets_a_clear_4xx_and_publishes_nothing(two_machines):
    server, (a, b) = two_machines
    before = last_id(a)
    now = int(time.time())
    star = {"mercure": {"publish": ["*"]}}
    refused_publishes = [
        (401, {"Authorization": "Bearer " + token(star, b"forged key")}, None),
        (401, {"Authorization": "Bearer " + token({**star, "exp": now - 60})}, None),
        (401, {"Authorization": "Bearer " + token(star, alg="none")}, None),
        (401, {"Authorization": "Bearer " + token(star, alg="HS512")}, None),
        (401, {"Authorization": "Bearer not-a-jwt"}, None),
        (401, {}, None),
        (403, {"Authorization": "Bearer " + token({"mercure": {"publish": ["https://example.com/books/{id}"]}})}, None),
        (403, {"Cookie": "mercureAuthorization=" + token(star), "Origin": "http://evil.example.test"}, None),
        (400, PUBLISHER, urlencode([("topic", f"t{i}") for i in range(1000)] + [("data", "x")]).encode()),
        (400, PUBLISHER, b"topic=a&data=%FF%FE"),
        (400, PUBLISHER, b"topic=a&type=x%0Aevent%3A%20evil&data=x"),
        (413, PUBLISHER, urlencode([("topic", "a"), ("data", "x" * (2 << 20))]).encode()),
    ]
    for status, headers, body in refused_publishes:
        fields = [("topic", "https://example.com/books/1"), ("topic", "https://example.com/users/1"), ("data", "x")]
        got, text = post(a, fields, headers, body)
        assert got == status, (status, headers, text[:300])
    for selectors, status in [(["https://example.com/{id"], 400), ([f"t{i}" for i in range(150)], 400),
                              ([f"t{i}" for i in range(1000)], None), ([], 400)]:
        path = f"{HUB}?" + "&".join("topic=" + quote(s, safe="") for s in selectors)
        response = client.get(a, path)
        assert 400 <= response.status < 500 if status is None else response.status == status, response.body[:300]
    response = client.get(a, f"{HUB}?topic=x", {"Authorization": "Bearer " + token({"mercure": {"subscribe": ["*"]}}, alg="none")})
    assert response.status == 401
    assert b"malformed" in response.body
    assert last_id(a) == before == last_id(b), "nothing was published"
