"""A real EventSource (headless Chromium) against each stack: what the page recorded.

The page (stacks/www/browser/eventsource.html) logs opens, events and errors with their times;
the test reads that log after the source closed for good.
"""
from urllib.parse import quote

import pytest

import cdp
from harness.fixtures import wait_for_file


def run_page(stack, src: str, names: str = "", until: int = 0, close_after: int = 0,
             close_delay_ms: int = 0, linger: float = 0.0, timeout: float = 15.0) -> list:
    url = stack.url(f"browser/eventsource.html?src={quote(src)}&names={names}&until={until}"
                    f"&closeAfter={close_after}&closeDelay={close_delay_ms}")
    try:
        result = cdp.record(url, timeout, linger)
    except cdp.BrowserError as e:
        pytest.fail(f"browser run failed: {e}\n{stack.describe()}", pytrace=False)
    log = (result["recorded"] or {}).get("log", [])
    assert not result["timedOut"], f"the source never closed for good; page log {log}"
    return log


def test_reconnects_resumes_and_stops_on_204(stack):
    log = run_page(stack, "/browser/sequence.php", names="hello,tick")
    kinds = [e["kind"] for e in log]
    # Two streams of hello + 3 events, each ended by the server; then the 204 that closes.
    assert kinds == ["open"] + ["event"] * 4 + ["error", "open"] + ["event"] * 4 + ["error", "error"], log
    events = [e for e in log if e["kind"] == "event"]
    assert [(e["type"], e["data"], e["lastEventId"]) for e in events] == [
        ("hello", "(none)", ""),
        ("message", "plain 1", "1"),
        ("tick", '{"n":2}', "2"),
        ("message", "two\nlines 3", "3"),
        ("hello", "3", "3"),  # the browser sent Last-Event-ID: 3 on its own
        ("message", "plain 4", "4"),
        ("tick", '{"n":5}', "5"),
        ("message", "two\nlines 6", "6"),
    ]
    errors = [e for e in log if e["kind"] == "error"]
    assert [e["readyState"] for e in errors] == [0, 0, 2], "CONNECTING twice, then CLOSED after the 204"
    # The server said retry: 300; Chromium's own default is 3 s.
    for ended, asked_again in ((errors[0], log[6]), (errors[1], errors[2])):
        delay = asked_again["t"] - ended["t"]
        assert 250 <= delay <= 1500, f"reconnected {delay} ms after the stream ended (retry 300)"


def test_max_duration_rotation_loses_and_repeats_nothing(stack):
    """rotate.php ends each stream after 1 s; the page stops at 25 events (3 connections)."""
    log = run_page(stack, "/rotate.php", until=25)
    events = [e for e in log if e["kind"] == "event"]
    assert [e["lastEventId"] for e in events] == [str(i) for i in range(1, 26)], log
    assert [e["data"] for e in events] == [f"n={i}" for i in range(1, 26)]
    assert [e["kind"] for e in log].count("open") >= 3, log


def test_close_in_the_page_is_noticed_by_the_server(stack, marks):
    """EventSource.close() with the page still open: over HTTP/2 only the stream is reset (the
    connection stays), over HTTP/1.1 the connection is dropped. The server must notice either
    way, long before the browser itself goes away (`linger`). The page closes 300 ms after the
    first event, when the server is idle in run() between heartbeats."""
    mark = marks / "closed.json"
    linger = 3.0
    log = run_page(stack, f"/hangup_run.php?heartbeat=1&mark={mark}", names="ready",
                   close_after=1, close_delay_ms=300, linger=linger)
    closed = [e for e in log if e["kind"] == "closed"]
    assert closed, log
    closed_at = closed[0]["wall"] / 1000
    noticed = wait_for_file(mark, timeout=5)
    assert noticed and noticed["noticed"], f"the server never noticed the close: {noticed}"
    late = noticed["noticed"] - closed_at
    limit = 0.5 if stack.sees_hangup_without_write else stack.heartbeats_to_notice * 1.0 + 0.5
    assert late <= limit, f"noticed {late:.3f}s after close() (limit {limit}s, browser left at {linger}s)"
