"""The live dashboard (examples/dashboard) in headless Chromium, served as scripts/demo.sh does.

php -S with a production php.ini plus the extension, PHP_CLI_SERVER_WORKERS=4, document root
examples/dashboard, on a free port. The page records every event in window.received; the test
reads that and the DOM, takes a screenshot (docs/dashboard.png, the README's, with UPDATE_SCREENSHOT=1), then restarts the
server under the open page: EventSource reconnects by itself, sends Last-Event-ID, and the
stream counts on from lastEventId(), so the ids go on with nothing lost or repeated.
"""
import base64
import json
import os
import re
import time
from pathlib import Path

import pytest

import cdp
from harness.phpini import scan_dir_env, write_php_ini
from harness.procs import Service, free_port, wait_until_connectable
from harness.stack import CRASH, Stack, make_tmp

REPO = Path(__file__).resolve().parents[2]
DOCROOT = REPO / "examples" / "dashboard"
# The README's screenshot is rewritten only when asked (UPDATE_SCREENSHOT=1), so that a test
# run leaves the work tree as it found it; otherwise it goes to the test's temp dir.
SCREENSHOT = REPO / "docs" / "dashboard.png"
SYMBOLS = {"ACME", "GLOBEX", "INITECH", "UMBRELLA"}

PAGE_STATE = """JSON.stringify({
  clock: document.getElementById('clock').textContent,
  status: document.getElementById('status').textContent,
  rows: [...document.querySelectorAll('#stocks tr')].map(r => r.cells[0].textContent),
  received: window.received || [],
})"""


def serve(stack: Stack):
    """(Re)starts php -S for the dashboard on the stack's port, and waits until it accepts."""
    argv = ["php", "-c", stack.tmp / "php.ini", "-S", f"127.0.0.1:{stack.port}", "-t", DOCROOT]
    env = {"PHP_INI_SCAN_DIR": str(stack.tmp / "conf.d"), "PHP_CLI_SERVER_WORKERS": "4"}
    stack.services[:] = [Service("php-dashboard", argv, stack.tmp, env=env)]
    stack.services[0].start()
    wait_until_connectable(("127.0.0.1", stack.port), stack.services, stack.describe)


@pytest.fixture
def dashboard():
    tmp = make_tmp("dashboard")
    write_php_ini(tmp)  # Debian's production php.ini + the extension line
    scan_dir_env(tmp, "cli")  # Debian's conf.d for the CLI, without any installed copy of ext-sse
    stack = Stack(name="dashboard", port=free_port(), tmp=tmp, workers=4)
    try:
        serve(stack)
        yield stack
        crash = CRASH.search(stack.log_text_since({}))
        assert not crash, f"{crash.group(0)!r} in the server logs:\n{stack.describe()}"
    finally:
        stack.stop()


def wait_for(browser, condition, timeout: float, what: str) -> dict:
    """Polls the page state until condition(state) holds; fails with the last state if not."""
    deadline = time.monotonic() + timeout
    while True:
        state = json.loads(browser.evaluate(PAGE_STATE))
        if condition(state):
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout}s; the page shows {state}", pytrace=False)
        time.sleep(0.05)


def check_events(received: list):
    for e in received:
        assert e["type"] in ("clock", "stock"), e
        if e["type"] == "clock":
            assert re.fullmatch(r"\d\d:\d\d:\d\d", e["data"]), e
        else:
            assert e["data"]["symbol"] in SYMBOLS and e["data"]["price"] > 0, e


def test_dashboard_shows_the_stream_and_resumes_after_a_server_restart(dashboard):
    browser = cdp.Chromium()
    try:
        browser.open(dashboard.url("/"))
        browser.send("Emulation.setDeviceMetricsOverride",  # the screenshot's size
                     {"width": 900, "height": 640, "deviceScaleFactor": 1, "mobile": False})
        # The current state arrives at once (four quotes and the clock, ids 1-5); then a clock
        # and a quote every second. Wait for a few of those, so prices have moved.
        state = wait_for(browser, lambda s: (re.fullmatch(r"\d\d:\d\d:\d\d", s["clock"]) and len(s["rows"]) == 4
                                             and len(s["received"]) >= 9 and s["status"] == "live"),
                         timeout=10, what="no clock, four stock rows and 9 events")
        before = state["received"]
        check_events(before)
        assert sorted(state["rows"]) == sorted(SYMBOLS), state["rows"]
        ids = [int(e["id"]) for e in before]
        assert ids == list(range(1, len(ids) + 1)), f"ids before the restart: {ids}"
        assert {e["type"] for e in before[5:]} == {"clock", "stock"}, "the timers sent no clock or no quote"
        assert state["clock"] == [e for e in before if e["type"] == "clock"][-1]["data"]

        shot = browser.send("Page.captureScreenshot", {"format": "png"})
        target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else dashboard.tmp / "dashboard.png"
        target.write_bytes(base64.b64decode(shot["data"]))
        assert target.stat().st_size > 10_000, "the screenshot is (nearly) empty"

        # Restart the server under the open page: the stream breaks, EventSource reconnects
        # after the stream's retry (1 s) with Last-Event-ID, and the new server goes on from it.
        # `source` is the page's EventSource (a top-level const of its script).
        browser.evaluate("window.drops = 0; window.opens = 0;"
                         "source.addEventListener('error', () => window.drops++);"
                         "source.addEventListener('open', () => window.opens++); true")
        last = int(json.loads(browser.evaluate("JSON.stringify(window.received)"))[-1]["id"])
        dashboard.services[0].stop()
        serve(dashboard)
        state = wait_for(browser, lambda s: len([e for e in s["received"] if int(e["id"]) > last]) >= 7
                         and s["status"] == "live",
                         timeout=10, what="no 7 events after the restart")
        drops, opens = browser.evaluate("[window.drops, window.opens]")
    finally:
        browser.close()
    assert drops >= 1 and opens >= 1, f"the stream was not broken and reopened ({drops} errors, {opens} opens)"
    received = state["received"]
    check_events(received)
    ids = [int(e["id"]) for e in received]
    assert ids == list(range(1, len(ids) + 1)), f"ids across the restart (last before it {last}): {ids}"
    after = [e for e in received if int(e["id"]) > last]
    # The new stream starts with the current state (four quotes and the clock), then its timers.
    assert {e["data"]["symbol"] for e in after[:4]} == SYMBOLS, after[:5]
    assert after[4]["type"] == "clock", after[:5]
    assert {e["type"] for e in after[5:7]} == {"clock", "stock"}, f"the timers did not go on: {after}"
    assert sorted(state["rows"]) == sorted(SYMBOLS), state["rows"]
