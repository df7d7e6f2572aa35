"""A page's EventSource recorded while the test publishes events to it (the broadcast and
detach browser tests)."""
import json
import threading
import time
from urllib.parse import quote

import pytest

import cdp
from harness import client


def publish_one(stack, topic, prefix, broker=None):
    query = f"topics={topic}&prefix={prefix}" + (f"&broker={broker}" if broker else "")
    response = client.get(stack, f"broadcast/publish.php?{query}")
    assert response.status == 200, response.body
    return json.loads(response.body)["ids"][0]


def record_while_publishing(stack, src: str, topic: str, count: int, pause: float, broker=None,
                            timeout: float = 30) -> tuple:
    """Opens eventsource.html on `src` (listening for `news` events, until `count` of them)
    while a thread publishes `count` events ("0-0", "1-0", ...) `pause` seconds apart.
    Returns (page log, published ids); fails the test if the page did not get them all."""
    url = stack.url(f"browser/eventsource.html?src={quote(src)}&names=news&until={count}")
    published, failures = [], []

    def publisher():
        try:
            for i in range(count):
                published.append(publish_one(stack, topic, f"{i}-", broker))
                time.sleep(pause)
        except AssertionError as e:
            failures.append(str(e))

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        result = cdp.record(url, timeout=timeout)
    except cdp.BrowserError as e:
        pytest.fail(f"browser run failed: {e}\n{stack.describe()}", pytrace=False)
    finally:
        thread.join()
    assert not failures, failures
    log = (result["recorded"] or {}).get("log", [])
    assert not result["timedOut"], f"the page did not get {count} events; page log {log}"
    return log, published
