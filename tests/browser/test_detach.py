"""Issue 11 in a real browser: a page's EventSource on a detached stream, while the php-fpm
worker holding it is recycled (pm.max_requests) again and again; the page reconnects through
the workers that replaced it and gets every published event once, in order."""
import shutil
import time
from urllib.parse import quote

import pytest

from harness import nginx_fpm
from harness.fixtures import checked
from harness.stack import make_tmp
from published import publish_one, record_while_publishing


@pytest.fixture(scope="module")
def recycling_pool():
    broker = make_tmp("browser-detach") / "broker"
    stack = nginx_fpm.start(name="detach-browser", ini={"sse.broker": f"local://{broker}"}, children=2,
                            pool_extra="pm.max_requests = 6", fpm_global="process_control_timeout = 10s")
    yield checked(stack)
    stack.stop()
    shutil.rmtree(broker.parent, ignore_errors=True)


def test_a_page_resumes_through_recycled_workers_losing_nothing(recycling_pool):
    stack = recycling_pool
    topic = f"recycled-{time.monotonic_ns()}"
    start = publish_one(stack, topic, "start-")
    src = f"/detach/stream.php?topics={topic}&lastEventId={quote(start)}"
    # Each publish is a request too: with max_requests 6, a worker is replaced every few.
    log, published = record_while_publishing(stack, src, topic, 40, 0.08)
    events = [e for e in log if e["kind"] == "event"]
    assert [e["data"] for e in events] == [f"{i}-0" for i in range(40)], log
    assert [e["lastEventId"] for e in events] == published
    assert [e["kind"] for e in log].count("open") >= 2, f"no worker was recycled under the page: {log}"
