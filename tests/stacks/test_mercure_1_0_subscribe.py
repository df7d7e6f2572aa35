"""Issue 29, item 1: Mercure 1.0 subscriptions on the plain PHP hub (www/mercure/hub.php)
behind nginx + php-fpm, on the embedded broker, beside a draft-07 subscriber on the same hub.

EventSource-like clients subscribe with `match=`, `match_exact=` and `match_urlpattern=`
(absolute and relative patterns); every update published reaches exactly the streams whose
matchers match one of its topics, each once and in publish order, counted. The QUERY method
(form body merged with the query), resume by `last_event_id` and the `Last-Event-ID` header
with the `Mercure-Last-Event-ID` response header, and the refusals are checked over HTTP.
"""
import http.client
import socket
import time
from urllib.parse import quote, urlencode

import pytest

from harness import client, nginx_fpm
from harness.broadcast import take
from harness.fixtures import checked
from harness.sse import Parser
from test_mercure import HUB, PUBLISHER, no_crash, post, token


def query_string(pairs):
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)


def subscribe(stack, pairs, headers=None):
    """An EventSource-like GET subscription with 1.0 (or draft-07) parameters."""
    s = client.Stream(stack, f"{HUB}?{query_string(pairs)}", headers, timeout=60)
    assert s.status == 200, s.body
    return s


def publish(stack, topic, data, private=False):
    fields = [("topic", topic), ("data", data)] + ([("private", "on")] if private else [])
    status, body = post(stack, fields, PUBLISHER)
    assert status == 200, body
    return body


class QueryStream:
    """A QUERY request (form body) whose response is read as an event stream."""

    def __init__(self, stack, query, body, content_type="application/x-www-form-urlencoded", headers=None):
        self.sock = socket.create_connection(("127.0.0.1", stack.port), timeout=15)
        lines = [f"QUERY /{HUB}?{query} HTTP/1.1", f"Host: 127.0.0.1:{stack.port}", "Accept: text/event-stream",
                 f"Content-Type: {content_type}", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            raw += chunk
        head, _, self.rest = raw.partition(b"\r\n\r\n")
        _, self.status, self.headers = client.parse_head(head)
        self.parser = Parser()
        self.chunked = self.header("transfer-encoding") == "chunked"
        self.raw = b""
        self.consumed = 0

    def header(self, name):
        values = [v for n, v in self.headers if n == name]
        return ", ".join(values) if values else None

    def body_text(self, timeout=5.0):
        """The whole body of a refusal (the server closes after it)."""
        deadline = time.monotonic() + timeout
        data = self.rest
        self.sock.settimeout(timeout)
        while time.monotonic() < deadline:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")

    def events(self, count, timeout=5.0):
        """The data of up to `count` events arriving within `timeout`."""
        deadline = time.monotonic() + timeout
        self.raw += self.rest
        self.rest = b""
        self.reparse()
        while len(self.parser.events) < count and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except (TimeoutError, socket.timeout):
                break
            if not chunk:
                break
            self.raw += chunk
            self.reparse()
        return [e.data for e in self.parser.events]

    def reparse(self):
        """Parses the whole body read so far (bodies here are small)."""
        self.parser = Parser()
        self.parser.feed(dechunk(self.raw) if self.chunked else self.raw.decode(errors="replace"), time.monotonic())

    def close(self):
        self.sock.close()


def dechunk(raw):
    out, rest = b"", raw
    while b"\r\n" in rest:
        size_line, _, after = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0 or len(after) < size:
            out += after[:size]
            break
        out += after[:size]
        rest = after[size + 2:]
    return out.decode(errors="replace")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mercure-1-0")
    machine = checked(nginx_fpm.start(name="mercure-1-0", ini={"sse.broker": f"local://{directory}/broker"}, children=4))
    try:
        yield machine
        no_crash(machine)
    finally:
        machine.stop()


def test_matchers_receive_exactly_the_matching_updates_counted(stack):
    base = f"http://127.0.0.1:{stack.port}"
    subscribers = {
        "exact": subscribe(stack, [("match", "https://example.com/books/1")]),
        "exact_and_pattern": subscribe(stack, [("match_exact", "news"), ("match_urlpattern", "https://example.com/books/:id")]),
        "relative": subscribe(stack, [("match_urlpattern", r"/books/:id(\d+)")]),
        "optional": subscribe(stack, [("match_urlpattern", "https://example.com/users{/:id}?")]),
        "star": subscribe(stack, [("match", "*")]),
        "draft07": subscribe(stack, [("topic", "https://example.com/books/{id}")]),
    }
    try:
        # Six detached streams on a pool of four workers: the workers stay free to publish.
        for name, stream in subscribers.items():
            assert stream.header("mercure-last-event-id") is None, name
            assert (stream.header("last-event-id") is not None) == (name == "draft07"), name
        topics = ["https://example.com/books/1", "https://example.com/books/2", "https://example.com/books/1/reviews",
                  "news", "https://example.com/users", "https://example.com/users/9", f"{base}/books/3", "/books/4",
                  "/books/x", "https://EXAMPLE.com/books/5?x=y#z"]
        expected = {name: [] for name in subscribers}
        matches = {
            "exact": lambda t: t == "https://example.com/books/1",
            "exact_and_pattern": lambda t: t == "news" or t in ("https://example.com/books/1", "https://example.com/books/2",
                                                                  "https://EXAMPLE.com/books/5?x=y#z"),
            "relative": lambda t: t in (f"{base}/books/3", "/books/4"),
            "optional": lambda t: t in ("https://example.com/users", "https://example.com/users/9"),
            "star": lambda t: True,
            "draft07": lambda t: t in ("https://example.com/books/1", "https://example.com/books/2"),
        }
        for round_ in range(3):
            for topic in topics:
                published = publish(stack, topic, f"{round_} {topic}")
                for name, match in matches.items():
                    if match(topic):
                        expected[name].append(published)
        for name, stream in subscribers.items():
            events = take(stream, len(expected[name]), timeout=15)
            assert [e.id for e in events] == expected[name], name
            assert take(stream, 1, timeout=0.3) == [], f"{name} got more than it matches"
        assert len(expected["exact"]) == 3 and len(expected["star"]) == 30
    finally:
        for stream in subscribers.values():
            stream.close()


def test_query_method_merges_its_form_body_with_the_query(stack):
    ids = [publish(stack, "query-topic", f"q{i}") for i in range(3)]
    # The body's matchers; the query's last_event_id wins over the body's.
    stream = QueryStream(stack, "last_event_id=" + quote(ids[0], safe=""),
                         urlencode([("match", "query-topic"), ("last_event_id", ids[1])]).encode())
    try:
        assert stream.status == 200
        assert stream.header("mercure-last-event-id") == ids[0]
        assert stream.header("last-event-id") is None
        assert stream.events(3, timeout=1.0) == ["q1", "q2"]
        publish(stack, "other-topic", "not matched")
        live = publish(stack, "query-topic", "live")
        assert stream.events(4, timeout=3.0) == ["q1", "q2", "live"], live
    finally:
        stream.close()
    # A body over 1 MiB: 413, whoever answers it (nginx's client_max_body_size is 1 MiB too).
    huge = QueryStream(stack, "", b"match=" + b"x" * ((1 << 20) + 10))
    assert huge.status == 413
    huge.close()
    wrong = QueryStream(stack, "", b'{"match":"x"}', content_type="application/json")
    assert wrong.status == 415, wrong.body_text()
    wrong.close()
    bad = QueryStream(stack, "", b"Match=x")
    assert bad.status == 400
    assert 'unknown matcher parameter "Match"' in bad.body_text()
    bad.close()
    allowed = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        allowed.request("OPTIONS", "/" + HUB, headers={"Origin": "http://app.example.test", "Access-Control-Request-Method": "QUERY"})
        answer = allowed.getresponse()
        assert answer.status == 204
        assert "QUERY" in (answer.getheader("Access-Control-Allow-Methods") or "")
        assert "Mercure-Last-Event-ID" in (answer.getheader("Access-Control-Expose-Headers") or "")
    finally:
        allowed.close()


def test_resume_with_last_event_id_and_the_mercure_last_event_id_header(stack):
    ids = [publish(stack, "resume-1.0", data) for data in "ABC"]

    def resumed(pairs, headers=None, count=4, timeout=1.0):
        stream = subscribe(stack, [("match", "resume-1.0")] + pairs, headers)
        try:
            assert stream.header("last-event-id") is None, "never draft-07's header in 1.0"
            return stream.header("mercure-last-event-id"), [e.data for e in take(stream, count, timeout=timeout)]
        finally:
            stream.close()

    assert resumed([("last_event_id", ids[0])]) == (ids[0], ["B", "C"])
    assert resumed([("last_event_id", ids[0])], {"Last-Event-ID": ids[1]}) == (ids[1], ["C"])
    assert resumed([("lastEventID", ids[1])]) == (ids[1], ["C"])
    assert resumed([("last_event_id", "earliest")]) == ("earliest", ["A", "B", "C"])
    assert resumed([], count=1, timeout=0.3) == (None, [])
    for unknown in ["made-up", "0123456789ab:7", ""]:
        stream = subscribe(stack, [("match", "resume-1.0"), ("last_event_id", unknown)])
        try:
            assert stream.header("mercure-last-event-id") == "earliest", unknown
            live = publish(stack, "resume-1.0", f"live {unknown}")
            assert [e.id for e in take(stream, 2, timeout=1.0)] == [live], unknown
        finally:
            stream.close()


def test_a_draft07_subscriber_and_refusals_on_the_same_hub(stack):
    old = subscribe(stack, [("topic", "https://example.com/mixed/{id}")])
    new = subscribe(stack, [("match_urlpattern", "https://example.com/mixed/:id")])
    private = subscribe(stack, [("match_urlpattern", "https://example.com/mixed/:id")],
                        {"Authorization": "Bearer " + token({"mercure": {"subscribe": ["https://example.com/mixed/{id}"]}})})
    try:
        assert old.header("last-event-id") and old.header("mercure-last-event-id") is None
        secret = publish(stack, "https://example.com/mixed/1", "secret", private=True)
        both = publish(stack, "https://example.com/mixed/2", "both")
        publish(stack, "https://example.com/mixed/2/x", "neither")
        assert [e.id for e in take(old, 2, timeout=1.0)] == [both]
        assert [e.id for e in take(new, 2, timeout=1.0)] == [both]
        assert [e.id for e in take(private, 3, timeout=1.0)] == [secret, both]
    finally:
        for stream in (old, new, private):
            stream.close()
    for pairs, reason in [
        ([("topic", "a"), ("match", "b")], b"cannot be mixed"),
        ([("match_regexp", "x")], b'unknown matcher parameter "match_regexp"'),
        ([("last_event_id", "x")], b'missing "match" subscription parameter'),
        ([("match_urlpattern", "https://e.com/(")], b"is not a valid URL pattern"),
        ([("match", f"t{i}") for i in range(101)], b"more than 100 matchers"),
        ([("match", "a\u200eb")], b"format character U+200E"),
    ]:
        response = client.get(stack, f"{HUB}?{query_string(pairs)}")
        assert response.status == 400, (pairs[:2], response.body[:300])
        assert reason in response.body, response.body[:300]
