"""Mercure 1.0 tokens behind nginx + php-fpm (www/mercure10/index.php, the front controller).

One hub serves clients of both drafts, set up as the Go hub's conformance suite sets up its
own: a 1.0 publisher's access token (RFC 9068, grants in RFC 9396 authorization_details)
publishes; every bad variant of such a token is a 401 invalid_token challenge and publishes
nothing; a 1.0 subscriber whose token comes in the __Secure-mercure_access_token cookie gets the
private updates it is granted and nothing else; a draft-07 publisher and subscriber keep
working beside them; the RFC 9728 metadata document is served at its own path, which nginx
hands to the hub's script like any other path of the app. Every event is counted.
"""
import base64
import hashlib
import hmac
import http.client
import json
import shutil
import tempfile
import time
from urllib.parse import quote, urlencode

import pytest

from harness import client, nginx_fpm
from harness.broadcast import take
from harness.stack import CRASH, WWW

KEY = b"!ChangeThisMercureHubJWTSecretKey!"
ISSUER = "https://localhost"
RESOURCE = "https://localhost/.well-known/mercure"
DETAIL = "https://mercure.rocks/authorization-detail"
HUB = "/.well-known/mercure"
METADATA = "/.well-known/oauth-protected-resource/.well-known/mercure"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: dict, claims: dict, key: bytes = KEY) -> str:
    head, body = b64(json.dumps(header).encode()), b64(json.dumps(claims).encode())
    if header.get("alg") == "none":
        return f"{head}.{body}."
    return f"{head}.{body}.{b64(hmac.new(key, f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


def grant(actions, topics):
    return {"type": DETAIL, "actions": actions, "topics": topics}


def access_token(details, header=None, key=KEY, **claims) -> str:
    """A valid access token; `header` and `claims` (None: removed) change it."""
    body = {"iss": ISSUER, "aud": RESOURCE, "exp": int(time.time()) + 600, "authorization_details": details, **claims}
    head = {"alg": "HS256", "typ": "at+jwt", **(header or {})}
    return sign({k: v for k, v in head.items() if v is not None}, {k: v for k, v in body.items() if v is not None}, key)


def draft07_token(claims: dict) -> str:
    return sign({"alg": "HS256", "typ": "JWT"}, claims)


PUBLISH_ALL = [grant(["publish"], [{"match": "*"}])]


def post(stack, fields, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=15)
    try:
        conn.request("POST", HUB, body=urlencode(fields).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
        response = conn.getresponse()
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response.read().decode(errors="replace")
    finally:
        conn.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def publish(stack, fields, token=None) -> str:
    status, _, body = post(stack, fields, bearer(token or access_token(PUBLISH_ALL)))
    assert status == 200, body
    return body


def subscribe(stack, topics, headers=None):
    path = HUB + "?" + "&".join("topic=" + quote(t, safe="") for t in topics)
    stream = client.Stream(stack, path, headers, timeout=60)
    assert stream.status == 200, stream.body
    return stream


def challenge(stack, error):
    return f'Bearer error="{error}", resource_metadata="http://127.0.0.1:{stack.port}{METADATA}"'


@pytest.fixture(scope="module")
def hub():
    broker = tempfile.mkdtemp(prefix="sse-mercure10-", dir="/tmp")
    # Its own document root (the front controller alone), so not the shared probe.php check.
    stack = nginx_fpm.start(name="mercure10", ini={"sse.broker": f"local://{broker}/hub"}, children=4,
                            root=WWW / "mercure10", front_controller=True)
    try:
        if client.get(stack, METADATA).status != 200:
            pytest.fail(f"the hub did not answer its metadata path\n{stack.describe()}", pytrace=False)
        yield stack
        for log in stack.log_files():
            text = log.read_text(errors="replace")
            found = CRASH.search(text)
            assert not found, f"{found.group(0)!r} in {log}: {text[max(0, found.start() - 200):found.end() + 400]}"
    finally:
        stack.stop()
        shutil.rmtree(broker, ignore_errors=True)


def test_a_1_0_publisher_token_publishes(hub):
    stream = subscribe(hub, ["https://example.com/books/1"])
    try:
        token = access_token([grant(["publish"], [{"match": "https://example.com/books/:id", "match_type": "urlpattern"}])])
        status, headers, body = post(hub, [("topic", "https://example.com/books/1"), ("data", "one")], bearer(token))
        assert status == 200, body
        assert headers["content-type"].startswith("text/plain")
        # Not granted: another path segment.
        status, headers, _ = post(hub, [("topic", "https://example.com/books/1/x"), ("data", "no")], bearer(token))
        assert status == 403
        assert headers["www-authenticate"] == challenge(hub, "insufficient_scope")
        assert [(e.id, e.data) for e in take(stream, 2, timeout=1)] == [(body, "one")]
    finally:
        stream.close()


def bad_tokens():
    now = int(time.time())
    yield "no typ", access_token(PUBLISH_ALL, header={"typ": None})
    yield "typ JWT", access_token(PUBLISH_ALL, header={"typ": "JWT"})
    yield "alg none", access_token(PUBLISH_ALL, header={"alg": "none"})
    yield "exp removed", access_token(PUBLISH_ALL, exp=None)
    yield "exp past", access_token(PUBLISH_ALL, exp=now - 60)
    yield "other aud", access_token(PUBLISH_ALL, aud="https://other/.well-known/mercure")
    yield "other iss", access_token(PUBLISH_ALL, iss="https://evil")
    yield "forged", access_token(PUBLISH_ALL, key=b"another key")
    yield "bad grant", access_token(PUBLISH_ALL + [grant(["publish"], [{"match": "x", "match_type": "URLPattern"}])])


def test_every_bad_1_0_token_is_401_invalid_token_and_publishes_nothing(hub):
    stream = subscribe(hub, ["*"])
    try:
        for what, token in bad_tokens():
            status, headers, body = post(hub, [("topic", "bad"), ("data", what)], bearer(token))
            assert status == 401, f"{what}: {status} {body}"
            assert headers.get("www-authenticate") == challenge(hub, "invalid_token"), what
            assert body == "the token is not valid\n", what
        marker = publish(hub, [("topic", "marker"), ("data", "marker")])
        # The first event after all of them is the marker: none of them was published.
        assert [e.id for e in take(stream, 1, timeout=5)] == [marker]
        assert take(stream, 1, timeout=0.3) == []
    finally:
        stream.close()


def test_two_authorization_headers_are_400_and_publish_nothing(hub):
    stream = subscribe(hub, ["*"])
    token = access_token(PUBLISH_ALL)
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=15)
    try:
        body = b"topic=x&data=twice"
        conn.putrequest("POST", HUB)
        for _ in range(2):
            conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        # nginx refuses a repeated Authorization header itself (400, before PHP runs); where a
        # server joins them instead (php -S), the hub answers 400 invalid_request
        # (Mercure10TokenTest).
        assert response.status == 400, text
        marker = publish(hub, [("topic", "marker"), ("data", "marker")])
        assert [e.id for e in take(stream, 1, timeout=5)] == [marker]
    finally:
        conn.close()
        stream.close()


def test_a_1_0_subscriber_cookie_receives_its_granted_private_updates_only(hub):
    token = access_token([grant(["subscribe"], [{"match": "https://example.com/users/7/:what", "match_type": "urlpattern"}])])
    user7 = subscribe(hub, ["*"], {"Cookie": f"__Secure-mercure_access_token={token}"})
    anonymous = subscribe(hub, ["*"])
    # Draft-07's cookie never carries an access token: this one is anonymous.
    old_cookie = subscribe(hub, ["*"], {"Cookie": f"mercureAuthorization={token}"})
    try:
        mine = publish(hub, [("topic", "https://example.com/users/7/orders"), ("data", "7"), ("private", "on")])
        publish(hub, [("topic", "https://example.com/users/8/orders"), ("data", "8"), ("private", "on")])
        publish(hub, [("topic", "https://example.com/users/7/orders/1"), ("data", "deeper"), ("private", "on")])
        public = publish(hub, [("topic", "https://example.com/news"), ("data", "public")])
        assert [e.id for e in take(user7, 2, timeout=5)] == [mine, public]
        assert take(user7, 1, timeout=0.3) == []
        for stream in (anonymous, old_cookie):
            assert [e.id for e in take(stream, 1, timeout=5)] == [public]
            assert take(stream, 1, timeout=0.3) == []
        # In the URL, an access token is no token: the hub is anonymous, so no private update.
        url = client.Stream(hub, f"{HUB}?topic=*&authorization={token}", None, timeout=60)
        assert url.status == 200, url.body
        publish(hub, [("topic", "https://example.com/users/7/orders"), ("data", "7 again"), ("private", "on")])
        later = publish(hub, [("topic", "https://example.com/news"), ("data", "public again")])
        assert [e.id for e in take(url, 1, timeout=5)] == [later]
        url.close()
    finally:
        for stream in (user7, anonymous, old_cookie):
            stream.close()


def test_draft_07_publisher_and_subscriber_still_work_on_the_same_hub(hub):
    subscriber = draft07_token({"mercure": {"subscribe": ["https://example.com/users/{id}/orders"]}})
    old = subscribe(hub, ["https://example.com/users/{id}/orders"], {"Cookie": f"mercureAuthorization={subscriber}"})
    new = subscribe(hub, ["https://example.com/users/{id}/orders"],
                    bearer(access_token([grant(["subscribe"], [{"match": "*"}])])))
    try:
        publisher = draft07_token({"mercure": {"publish": ["https://example.com/users/{id}/orders"]}})
        first = publish(hub, [("topic", "https://example.com/users/1/orders"), ("data", "old"), ("private", "on")], publisher)
        second = publish(hub, [("topic", "https://example.com/users/2/orders"), ("data", "new")])
        for stream in (old, new):
            assert [e.id for e in take(stream, 2, timeout=5)] == [first, second]
        # draft-07's answers: 403 for an uncovered topic, 401 with the reason for a forged token.
        status, _, body = post(hub, [("topic", "https://example.com/books/1")], bearer(publisher))
        assert status == 403, body
        status, _, body = post(hub, [("topic", "x")], bearer(draft07_token({"mercure": {"publish": ["*"]}}) + "x"))
        assert status == 401 and "signature" in body, body
    finally:
        old.close()
        new.close()


def test_the_metadata_document(hub):
    response = client.get(hub, METADATA)
    assert response.status == 200, response.body
    assert response.header("content-type").startswith("application/json")
    assert json.loads(response.body) == {
        "resource": RESOURCE,
        "bearer_methods_supported": ["header"],
        "authorization_details_types_supported": [DETAIL],
        "mercure_cookie": "__Secure-mercure_access_token",
    }
    # A publish without a token points to it, beside draft-07's realm.
    status, headers, _ = post(hub, [("topic", "x"), ("data", "y")])
    assert status == 401
    assert headers["www-authenticate"] == f'Bearer realm="mercure", resource_metadata="http://127.0.0.1:{hub.port}{METADATA}"'
