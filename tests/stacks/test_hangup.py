"""Issue 4: a client that hangs up is noticed promptly, and its worker is free again.

The scripts record (wall clock) when they noticed; the test compares with when it hung up.
Where the emitter can watch the client's socket (php -S, php-fpm behind nginx, mod_php) it sees
the close without writing; behind Apache's mod_proxy_fcgi it learns of it from its heartbeat
writes, within one heartbeat (see Stack.heartbeats_to_notice).
"""
import time

import pytest

from harness import client
from harness.fixtures import wait_for_file

HEARTBEAT = 1.0
SLACK = 0.5


def budget(stack, script):
    if stack.sees_hangup_without_write:
        return 0.5
    return stack.heartbeats_to_notice * HEARTBEAT + SLACK if script == "hangup_run.php" else None


@pytest.mark.parametrize("script", ["hangup_poll.php", "hangup_run.php"])
def test_hang_up_noticed_and_worker_freed(stack, marks, script):
    limit = budget(stack, script)
    if limit is None:
        pytest.xfail(f"{stack.name}: isConnected() cannot see a hang-up without writing")
    # Occupy every worker, so a stuck one would also block the request made afterwards.
    streams, files = [], []
    try:
        for i in range(stack.workers):
            files.append(marks / f"{i}.json")
            s = client.Stream(stack, f"{script}?heartbeat={HEARTBEAT}&mark={files[-1]}")
            streams.append(s)
            ready = s.next_event(timeout=5)
            assert ready and ready.type == "ready", f"stream {i}: {s.status} {s.body[:300]!r}"
        hung_up = [s.hang_up() for s in streams]
        for i, path in enumerate(files):
            mark = wait_for_file(path, timeout=limit + 3)
            assert mark is not None, f"stream {i}: the script never noticed the hang-up"
            assert mark["noticed"] is not None, f"stream {i}: onClose did not run: {mark}"
            late = mark["noticed"] - hung_up[i]
            assert late <= limit, f"stream {i}: noticed {late:.3f}s after the hang-up (limit {limit}s)"
            assert mark["connected"] is False
    finally:
        for s in streams:
            s.close()
    start = time.monotonic()
    probe = client.get(stack, "probe.php", timeout=5)
    took = time.monotonic() - start
    assert probe.status == 200
    assert took < 2.0, f"a new request took {took:.3f}s: workers still held after the hang-up"
