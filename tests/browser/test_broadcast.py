"""Issue 10 in a real browser: a page's EventSource receives events published while it is
open, and resumes after each time the server ends its stream (every second here), without
losing or repeating one. The page stops after 60 events; the test publishes them over ~4 s."""
import json
import threading
import time
from urllib.parse import quote

import pytest

import cdp
from harness import client


def test_published_events_reach_the_page_across_reconnects_once_each(stack):
    if stack.workers < 2:
        pytest.skip(f"{stack.name} serves one request at a time: a publish would wait for the stream")
    broker = f"local://{stack.tmp}/browser-broker"
    topic = f"page-{time.monotonic_ns()}"
    # The broker's directory is made by the server's user. The page starts from the id of this
    # first event (as a page rendered with $broker->lastEventId() would), so it gets every
    # event published after it however long the browser takes to start.
    first = client.get(stack, f"broadcast/publish.php?topics=warmup&broker={broker}")
    assert first.status == 200, first.body
    start = json.loads(first.body)["ids"][0]
    src = f"/broadcast/subscribe.php?topics={topic}&seconds=1&broker={quote(broker)}&lastEventId={quote(start)}"
    url = stack.url(f"browser/eventsource.html?src={quote(src)}&names=news&until=60")
    published, failures = [], []

    def publisher():
        for i in range(60):
            response = client.get(stack, f"broadcast/publish.php?topics={topic}&prefix={i}-&broker={broker}")
            if response.status != 200:
                failures.append(response.body)
                return
            published.extend(json.loads(response.body)["ids"])
            time.sleep(0.07)

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        result = cdp.record(url, timeout=25)
    except cdp.BrowserError as e:
        pytest.fail(f"browser run failed: {e}\n{stack.describe()}", pytrace=False)
    finally:
        thread.join()
    assert not failures, failures
    log = (result["recorded"] or {}).get("log", [])
    assert not result["timedOut"], f"the page did not get 60 events; page log {log}"
    events = [e for e in log if e["kind"] == "event"]
    assert [e["data"] for e in events] == [f"{i}-0" for i in range(60)], log
    assert [e["lastEventId"] for e in events] == published
    assert [e["kind"] for e in log].count("open") >= 2, f"the page should have reconnected: {log}"
