"""Issue 7: faults inside user callbacks, on a php-fpm pool of one worker.

With `pm = static` and one child, the request after the fault runs in the same process. For an
exception, a fatal error (memory_limit), exit() and a callback that blocks past the heartbeat:
the faulty response ends as it should (or, for the blocking callback, carries on), the worker
survives (same pid, nothing in the logs about signals or crashes), and the next request streams
on time with no thread or timer left over from the previous one.
"""
import json
import re
import time

import pytest

from harness import client, nginx_fpm
from harness.fixtures import checked, marks_dir
from harness.schedule import each_before_the_next, on_schedule

# The crash markers of harness.stack.CRASH, without PHP's own errors: the fatal-error case logs one.
CRASH = re.compile(
    r"segfault|SIGSEGV|SIGABRT|SIGBUS|exited on signal|exit signal|core dumped|bailout"
    r"|Rust panic|panicked at|zend_mm_heap corrupted|double free",
    re.IGNORECASE,
)
PHP_ERROR = re.compile(r"PHP (?:Warning|Fatal error|Parse error)[^\n]*")
FAULT_AT = 0.3  # when fault.php's callback goes wrong
HEARTBEAT = 0.2


@pytest.fixture(scope="module")
def one_worker():
    stack = checked(nginx_fpm.start("nginx-fpm-one-worker", children=1))
    yield stack
    stack.stop()


@pytest.fixture
def marks(one_worker):
    return marks_dir(one_worker)


def lines(path) -> list:
    try:
        return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    except FileNotFoundError:
        return []


def fresh_request(stack):
    """The next request on the worker: its info and ticks, checked to be on time and clean."""
    with client.Stream(stack, "fresh.php", timeout=10) as s:
        events = s.events_until_end(timeout=10)
    assert s.status == 200 and s.transport.complete, (s.status, s.body[:500])
    types = [e.type for e in events]
    assert "stale" not in types, f"a timer of the previous request fired in this one: {s.body[:500]!r}"
    assert types == ["info"] + ["tick"] * 5, types
    info = json.loads(events[0].data)
    ticks = [json.loads(e.data) for e in events[1:]]
    on_schedule([t["at"] for t in ticks], ticks[0]["armed"], 0.1, late=0.08)
    each_before_the_next(events[1:])
    others = [n for n in info["names"] if n != info["main"]]
    assert info["threads"] <= 2 and len(others) <= 1 and set(others) <= {"sse-runtime"}, \
        f"threads left in the worker: {info}"
    return info


@pytest.mark.parametrize("kind", ["exception", "fatal", "exit", "block"])
def test_fault_in_callback_leaves_worker_healthy(one_worker, marks, kind):
    stack = one_worker
    baseline = fresh_request(stack)  # the worker's pid, with the runtime thread started
    sizes = stack.log_sizes()
    mark = marks / "fault.json"
    max_duration = 2.5 if kind == "block" else 3
    with client.Stream(stack, f"fault.php?kind={kind}&max={max_duration}&mark={mark}", timeout=10) as s:
        events = s.events_until_end(timeout=8)
        lasted = time.monotonic() - s.started
    assert s.status == 200 and events and events[0].type == "ready", (s.status, s.body[:300])
    assert int(events[0].data) == baseline["pid"]
    assert s.transport.complete, f"the response was cut instead of ended: {s.body[-300:]!r}"
    time.sleep(0.2)  # the worker finishes logging
    closed, caught, returned = (lines(marks / f"fault.{n}") for n in ("closed", "caught", "returned"))
    logs = stack.log_text_since(sizes)
    php_errors = PHP_ERROR.findall(logs)

    if kind == "block":
        types = [e.type for e in events]
        assert types[:3] == ["ready", "blocking", "unblocked"], types
        unblocked = events[2].t
        assert unblocked - events[1].t >= 0.75, "the callback did not block"
        after = [c.t for c in s.parser.comments if c.t > unblocked]
        # Heartbeats resume 200 ms after the last write, and keep coming until maxDuration.
        assert len(after) >= 3, f"{len(after)} heartbeats after the blocking callback"
        first_gap = after[0] - max([unblocked] + [e.t for e in events if e.t < after[0]])
        # Before a second heartbeat would be due (arrival times: a busy machine delays them).
        assert first_gap < 2 * HEARTBEAT, f"first heartbeat {first_gap:.3f}s after the last write"
        assert max_duration - 0.2 <= lasted <= max_duration + 0.7, f"lasted {lasted:.2f}s"
        assert len(closed) == 1 and returned and not caught, (closed, caught, returned)
        assert not php_errors, php_errors
    else:
        assert lasted <= FAULT_AT + 1.0, f"the stream lasted {lasted:.2f}s after a fault at {FAULT_AT}s"
        stale = [e for e in events if e.type == "stale"]
        assert stale, "the stale timer never ran: the fault came before anything streamed"
        assert all(e.t <= s.started + FAULT_AT + 0.2 for e in stale), "stale events after the fault"
        if kind == "exception":
            assert caught and caught[0]["class"] == "RuntimeException" \
                and caught[0]["message"] == "boom from a timer", f"run() did not rethrow: {caught}"
            assert len(closed) == 1 and returned, (closed, returned)
            assert not php_errors, php_errors
        elif kind == "exit":
            assert len(closed) == 1, f"onClose ran {len(closed)} times after exit()"
            assert not caught and not returned, "the script went on after exit()"
            assert not php_errors, php_errors
        else:  # fatal: no user code runs after it, onClose included (documented)
            assert any("Allowed memory size" in e for e in php_errors), f"no memory error logged:\n{logs}"
            assert len(php_errors) == 1, php_errors
            assert not closed and not caught and not returned, (closed, caught, returned)

    found = CRASH.search(logs)
    assert not found, f"{found.group(0)!r} in the server logs:\n{logs[-4000:]}"
    after = fresh_request(stack)
    assert after["pid"] == baseline["pid"], "the worker was replaced"
    time.sleep(0.1)
    logs = stack.log_text_since(sizes)
    found = CRASH.search(logs)
    assert not found, f"{found.group(0)!r} in the server logs:\n{logs[-4000:]}"
