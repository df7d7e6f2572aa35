"""Issue 4: a client that hangs up is noticed promptly, and its worker is free again.

The scripts record (wall clock) when they noticed; the test compares with when it hung up.
Where the emitter can watch the client's socket (php -S, php-fpm behind nginx, mod_php) it sees
the close without writing; behind Apache's mod_proxy_fcgi it learns of it from its heartbeat
writes, within one heartbeat (see Stack.heartbeats_to_notice).
"""
import pytest

from harness.hangup import hang_ups_noticed

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
    # Every worker holds a stream, so a stuck one would also block the request made afterwards.
    hang_ups_noticed(stack, marks, f"{script}?heartbeat={HEARTBEAT}&mark={{mark}}", limit, "probe.php")
