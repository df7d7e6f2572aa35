"""A real EventSource (headless Chromium) against each stack: what the page recorded.

The page (stacks/www/browser/eventsource.html) logs opens, events and errors with their times;
the test reads that log after the source closed for good.
"""
import json
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

HERE = Path(__file__).resolve().parent


def run_page(stack, src: str, names: str = "", until: int = 0, timeout_ms: int = 15000) -> list:
    url = stack.url(f"browser/eventsource.html?src={quote(src)}&names={names}&until={until}")
    done = subprocess.run(["node", HERE / "record.mjs", url, str(timeout_ms)], cwd=HERE,
                          capture_output=True, text=True, timeout=timeout_ms / 1000 + 30)
    if done.returncode != 0:
        pytest.fail(f"browser run failed ({done.returncode}):\n{done.stderr}\n{stack.describe()}", pytrace=False)
    result = json.loads(done.stdout)
    log = (result["recorded"] or {}).get("log", [])
    assert not result["timedOut"], f"the source never closed for good; page log {log}; console {result['console']}"
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
