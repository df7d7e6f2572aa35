"""Issue 11 in a real browser: a page's EventSource on a detached stream, while the php-fpm
worker holding it is recycled (pm.max_requests) again and again; the page reconnects through
the workers that replaced it and gets every published event once, in order."""
import json
import threading
import time
from urllib.parse import quote

import pytest

import cdp
from harness import client, nginx_fpm
from harness.fixtures import check_loaded
from harness.stack import make_tmp


@pytest.fixture(scope="module")
def recycling_pool():
    broker = make_tmp("browser-detach") / "broker"
    stack = nginx_fpm.start(name="detach-browser", ini={"sse.broker": f"local://{broker}"}, children=2,
                            pool_extra="pm.max_requests = 6", fpm_global="process_control_timeout = 10s")
    try:
        check_loaded(stack)
        yield stack
    finally:
        stack.stop()


def test_a_page_resumes_through_recycled_workers_losing_nothing(recycling_pool):
    stack = recycling_pool
    topic = f"recycled-{time.monotonic_ns()}"
    first = client.get(stack, f"broadcast/publish.php?topics={topic}&prefix=start-")
    assert first.status == 200, first.body
    start = json.loads(first.body)["ids"][0]
    src = f"/detach/stream.php?topics={topic}&lastEventId={quote(start)}"
    url = stack.url(f"browser/eventsource.html?src={quote(src)}&names=news&until=40")
    published, failures = [], []

    def publisher():
        for i in range(40):
            response = client.get(stack, f"broadcast/publish.php?topics={topic}&prefix={i}-")
            if response.status != 200:
                failures.append(response.body)
                return
            published.extend(json.loads(response.body)["ids"])
            # Each publish is a request too: with max_requests 6 a worker is replaced every few.
            time.sleep(0.08)

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        result = cdp.record(url, timeout=30)
    except cdp.BrowserError as e:
        pytest.fail(f"browser run failed: {e}\n{stack.describe()}", pytrace=False)
    finally:
        thread.join()
    assert not failures, failures
    log = (result["recorded"] or {}).get("log", [])
    assert not result["timedOut"], f"the page did not get 40 events; page log {log}"
    events = [e for e in log if e["kind"] == "event"]
    assert [e["data"] for e in events] == [f"{i}-0" for i in range(40)], log
    assert [e["lastEventId"] for e in events] == published
    assert [e["kind"] for e in log].count("open") >= 2, f"no worker was recycled under the page: {log}"
