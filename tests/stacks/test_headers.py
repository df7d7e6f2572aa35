"""Issue 3: the response headers of an event stream, on every stack.

PHP's own header list is read inside the script (headers_list()) because servers add or strip
headers on the way (php -S always says `Connection: close`, nginx hides X-Accel-*): what must
hold is that PHP itself sends no hop-by-hop header, and that the client sees no compression.
"""
import json

from harness import client

HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te")


def stream_headers(stack):
    with client.Stream(stack, "headers.php") as s:
        events = s.events_until_end()
    assert s.status == 200, s.body
    assert events, f"no events; body {s.body[:300]!r}"
    assert events[0].type == "php", events[0]
    php_headers = {}
    for line in json.loads(events[0].data)["headers"]:
        name, _, value = line.partition(":")
        php_headers.setdefault(name.strip().lower(), []).append(value.strip())
    return s, events, php_headers


def test_stream_headers_on_the_wire(stack):
    s, events, _ = stream_headers(stack)
    assert s.header("content-type") == "text/event-stream; charset=utf-8"
    assert "no-cache" in (s.header("cache-control") or ""), s.headers
    assert s.header("content-encoding") is None, \
        f"stream was compressed ({s.header('content-encoding')}) despite zlib={stack.zlib}: {s.headers}"
    assert s.header("content-length") is None, s.headers
    if stack.http2:
        assert s.protocol == "HTTP/2"
        assert not [n for n, _ in s.headers if n in HOP_BY_HOP], s.headers
    assert events[1].data == "compressible data " * 200
    assert b"discarded" not in s.body


def test_php_sends_no_hop_by_hop_header(stack):
    _, _, php = stream_headers(stack)
    assert php.get("x-accel-buffering") == ["no"], php
    assert php.get("content-type") == ["text/event-stream; charset=utf-8"], php
    sent = sorted(set(php) & set(HOP_BY_HOP + ("content-length", "content-encoding")))
    assert not sent, f"PHP added {sent}: {php}"


def test_plain_pages_are_compressed_where_the_stack_compresses(stack):
    """The control for the test above: compression really is on where we claim it is."""
    page = client.get(stack, "plain.php", {"Accept-Encoding": "gzip"})
    assert page.status == 200
    expected = "gzip" if stack.compresses_html else None
    assert page.header("content-encoding") == expected, page.headers
    assert b"compressible text" in page.body


def test_reject_answers_204_without_body(stack):
    with client.Stream(stack, "reject.php") as s:
        s.events_until_end(timeout=5)
    assert s.status == 204, (s.status, s.body)
    assert s.body == b""
    assert s.header("content-type") != "text/event-stream; charset=utf-8"


def test_reject_ends_the_answer_nothing_written_afterwards_is_sent(stack):
    """reject(401); echo "x"; must be a 401 without a body (and no text/html type for it)."""
    r = client.get(stack, "reject_then_echo.php")
    assert r.status == 401, (r.status, r.headers, r.body)
    assert r.body == b"", r.body
    assert r.header("www-authenticate") == "Bearer", r.headers
    assert not (r.header("content-type") or "").startswith("text/html"), r.headers


def test_reject_after_the_stream_started_says_so(stack):
    with client.Stream(stack, "reject_after_start.php") as s:
        events = s.events_until_end(timeout=5)
    assert s.status == 200, s.body
    assert [e.type for e in events] == ["started", "refused"], s.body
    message = events[1].data
    assert "the event stream has already started" in message, message
    assert "unknown:0" not in message, message
