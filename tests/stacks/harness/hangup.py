"""The hang-up checks that the plain stacks and the framework apps share: every worker holds a
stream, the clients hang up, and the workers must be free again (and, where the script records
it, must have noticed in time).
"""
import time

from . import client
from .fixtures import wait_for_file

# A worker still held would hold the next request for the stream's whole life (seconds); a
# freed one answers it at once, even on a busy machine.
FREED_WITHIN = 2.0


def hold_every_worker(stack, path: str, timeout: float = 5.0) -> list:
    """A stream of `path` on each of the stack's workers, its first event read."""
    streams = []
    try:
        for i in range(stack.workers):
            streams.append(client.Stream(stack, path(i) if callable(path) else path))
            first = streams[-1].next_event(timeout=timeout)
            assert first, f"stream {i}: {streams[-1].status} {streams[-1].body[:300]!r}"
    except BaseException:
        for s in streams:
            s.close()
        raise
    return streams


def assert_workers_freed(stack, probe: str, what: str = "", timeout: float = 5.0):
    """`probe` is answered at once: no worker is still held by a stream that hung up."""
    start = time.monotonic()
    r = client.get(stack, probe, timeout=timeout)
    took = time.monotonic() - start
    assert r.status == 200, (r.status, r.body[:300])
    assert took < FREED_WITHIN, f"{what}{probe} took {took:.3f}s after the hang-ups: workers still held"


def hang_up_all(stack, path: str, probe: str, what: str = "", timeout: float = 5.0):
    """Every worker streams `path`; all hang up; `probe` must then be served at once."""
    streams = hold_every_worker(stack, path)
    try:
        for s in streams:
            s.hang_up()
    finally:
        for s in streams:
            s.close()
    assert_workers_freed(stack, probe, what, timeout)


def hang_ups_noticed(stack, marks, path: str, limit: float, probe: str):
    """Every worker streams `path` (its `{mark}` filled in with a file of `marks`), whose script
    sends a `ready` event and records (`noticed`: its microtime, `connected`: isConnected())
    when it sees the hang-up; each must have seen it within `limit` seconds, then `probe` is
    served at once."""
    files = [marks / f"{i}.json" for i in range(stack.workers)]
    streams = hold_every_worker(stack, lambda i: path.format(mark=files[i]))
    try:
        for i, s in enumerate(streams):
            assert s.parser.events[0].type == "ready", f"stream {i}: {s.status} {s.body[:300]!r}"
        hung_up = [s.hang_up() for s in streams]
        for i, file in enumerate(files):
            mark = wait_for_file(file, timeout=limit + 3)
            assert mark is not None, f"stream {i}: the script never noticed the hang-up"
            assert mark["noticed"] is not None, f"stream {i}: onClose did not run: {mark}"
            late = mark["noticed"] - hung_up[i]
            assert late <= limit, f"stream {i}: noticed {late:.3f}s after the hang-up (limit {limit}s)"
            assert mark["connected"] is False, mark
    finally:
        for s in streams:
            s.close()
    assert_workers_freed(stack, probe)
