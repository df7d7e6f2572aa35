"""Issue 10 in a real browser: a page's EventSource receives events published while it is
open, and resumes after each time the server ends its stream (every second here), without
losing or repeating one. The page stops after 60 events; the test publishes them over ~4 s."""
import time
from urllib.parse import quote

import pytest

from published import publish_one, record_while_publishing


def test_published_events_reach_the_page_across_reconnects_once_each(stack):
    if stack.workers < 2:
        pytest.skip(f"{stack.name} serves one request at a time: a publish would wait for the stream")
    broker = f"local://{stack.tmp}/browser-broker"
    topic = f"page-{time.monotonic_ns()}"
    # The broker's directory is made by the server's user. The page starts from the id of this
    # first event (as a page rendered with $broker->lastEventId() would), so it gets every
    # event published after it however long the browser takes to start.
    start = publish_one(stack, "warmup", "start-", broker)
    src = f"/broadcast/subscribe.php?topics={topic}&seconds=1&broker={quote(broker)}&lastEventId={quote(start)}"
    log, published = record_while_publishing(stack, src, topic, 60, 0.07, broker=broker)
    events = [e for e in log if e["kind"] == "event"]
    assert [e["data"] for e in events] == [f"{i}-0" for i in range(60)], log
    assert [e["lastEventId"] for e in events] == published
    assert [e["kind"] for e in log].count("open") >= 2, f"the page should have reconnected: {log}"
