"""finish(): a stream that completes must stop the browser, not be replayed by its reconnects.

finish.php sends three events and finish('done') (retry 300 ms). With the README's client
snippet the page closes its EventSource on the `end` event; without it the browser reconnects
once, with Last-Event-ID sse-end, is answered 204 and stops for good. Either way the server sees
no further request while the page stays open well past the retry time.
"""
import json
import time
from urllib.parse import quote

import pytest

import cdp

LINGER = 2.0  # seconds the page stays open after it is done: about seven retry periods


def run(stack, marks, close_on: str):
    mark = marks / "finish.json"
    src = f"/browser/finish.php?mark={mark}"
    url = stack.url(f"browser/eventsource.html?src={quote(src)}&names=end&closeOn={close_on}")
    try:
        result = cdp.record(url, timeout=15, linger=LINGER)
    except cdp.BrowserError as e:
        pytest.fail(f"browser run failed: {e}\n{stack.describe()}", pytrace=False)
    log = (result["recorded"] or {}).get("log", [])
    assert not result["timedOut"], f"the source never closed for good; page log {log}"
    time.sleep(0.2)
    path = marks / "finish.requests"
    requests = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return log, requests


def test_the_client_snippet_closes_on_the_end_event(stack, marks):
    log, requests = run(stack, marks, close_on="end")
    assert [e["kind"] for e in log] == ["open", "event", "event", "event", "event", "closed"], log
    events = [(e["type"], e["data"], e["lastEventId"]) for e in log if e["kind"] == "event"]
    assert events == [("message", "token 1", "1"), ("message", "token 2", "2"),
                      ("message", "token 3", "3"), ("end", "done", "sse-end")]
    assert [r["lastEventId"] for r in requests] == [None], f"requests the server saw: {requests}"


def test_without_the_snippet_the_reconnect_gets_204_and_the_browser_stops(stack, marks):
    log, requests = run(stack, marks, close_on="")
    kinds = [e["kind"] for e in log]
    # The stream ends (error, CONNECTING), one reconnect answered 204 (error, CLOSED).
    assert kinds == ["open", "event", "event", "event", "event", "error", "error"], log
    assert [e["readyState"] for e in log if e["kind"] == "error"] == [0, 2], log
    assert [r["lastEventId"] for r in requests] == [None, "sse-end"], f"requests the server saw: {requests}"
