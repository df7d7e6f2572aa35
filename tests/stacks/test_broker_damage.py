"""The broker's promise under damage and old cursors, through nginx + php-fpm: a reconnecting
stream gets exactly what it missed, or the events it can and then one `sse-reset`
(`history-lost`), and then goes on live; never silence, never a worker that stops answering.

Redis (Debian's redis-server, and valkey-server where installed): history trimmed by count and
by age under a cursor, on today's entries and on entries of the layout before each entry named
its predecessor. The embedded broker: a segment deleted or corrupted under a resume, files that
are not the broker's in its directory. Every event is counted on the client.
"""
import json
import re
import shutil
import socket
import time
from pathlib import Path

import pytest

from harness import client, nginx_fpm
from harness import redis as redis_harness
from harness.broadcast import take, wait_subscribed
from harness.fixtures import checked
from harness.stack import CRASH, make_tmp


def publish(stack, topics, n=1, **params):
    query = "&".join(f"{k}={v}" for k, v in {"topics": topics, "n": n, **params}.items())
    response = client.get(stack, f"broadcast/publish.php?{query}", timeout=60)
    assert response.status == 200, response.body
    return json.loads(response.body)["ids"]


def subscribe(stack, topics, last_event_id=None, **params):
    query = "&".join(f"{k}={v}" for k, v in {"topics": topics, "seconds": 30, **params}.items())
    headers = {"Last-Event-ID": last_event_id} if last_event_id else None
    stream = client.Stream(stack, f"broadcast/subscribe.php?{query}", headers, timeout=40)
    assert stream.status == 200, stream.body
    wait_subscribed(stream)
    return stream


def resets(events):
    return [json.loads(e.data)["reason"] for e in events if e.type == "sse-reset"]


def take_through_reset(stream, limit, timeout=20.0):
    """Events up to and with the first `sse-reset` (at most `limit`)."""
    events, deadline = [], time.monotonic() + timeout
    while len(events) < limit and time.monotonic() < deadline:
        got = take(stream, 1, timeout=max(0.01, deadline - time.monotonic()))
        if not got:
            break
        events += got
        if got[0].type == "sse-reset":
            break
    return events


def still_answers(stack):
    """Every worker of the pool answers: as many quick requests at once as it has children."""
    streams = [client.Stream(stack, "broadcast/publish.php?topics=alive&n=1", timeout=10) for _ in range(stack.children)]
    for stream in streams:
        assert stream.status == 200, stream.body
        stream.close()


def no_crash(stack):
    for log in stack.log_files():
        found = CRASH.search(log.read_text(errors="replace"))
        assert not found, f"{stack.name}: {found.group(0)!r} in {log}"


# ---- Redis ----------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=redis_harness.servers())
def redis_stack(request):
    server = redis_harness.start(request.param)
    stack = None
    try:
        stack = checked(nginx_fpm.start(name=f"damage-{request.param}", ini={"sse.broker": server.url}, children=4))
        stack.children = 4
        yield server, stack
        no_crash(stack)
    finally:
        if stack:
            stack.stop()
        server.remove()


def command(server, *args):
    """One command to the server over RESP; the raw reply."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a)}\r\n".encode() + a + b"\r\n" for a in (x if isinstance(x, bytes) else str(x).encode() for x in args))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(payload)
        time.sleep(0.05)
        return conn.recv(65536)


def test_redis_resume_across_history_trimmed_by_count_gets_sse_reset(redis_stack):
    server, stack = redis_stack
    command(server, "FLUSHALL")
    cursor = publish(stack, "warm")[0]
    lost = publish(stack, "q")
    # History is kept per partition of topics: the trimming must be in the topic's own.
    publish(stack, "q", n=3000, history=100, prefix="noise")
    with subscribe(stack, "q", cursor, history=100) as stream:
        first = take(stream, 1)
        live = publish(stack, "q", prefix="live")
        second = take(stream, 1)
        assert take(stream, 1, timeout=0.5) == []
    assert resets(first) == ["history-lost"], [(e.type, e.data) for e in first]
    assert lost[0] not in [e.id for e in first + second]
    assert [e.id for e in second] == live
    still_answers(stack)


def test_redis_a_quiet_topic_keeps_its_history_while_a_busy_one_is_trimmed(redis_stack):
    server, stack = redis_stack
    command(server, "FLUSHALL")
    cursor = publish(stack, "warm")[0]
    quiet = publish(stack, "q")
    publish(stack, "x", n=3000, history=100)
    with subscribe(stack, "q", cursor, history=100) as stream:
        events = take(stream, 1)
        assert take(stream, 1, timeout=0.5) == []
    assert [e.id for e in events] == quiet and resets(events) == []
    still_answers(stack)


def test_redis_resume_from_a_kept_id_after_trimming_is_exact(redis_stack):
    server, stack = redis_stack
    command(server, "FLUSHALL")
    publish(stack, "x", n=3000, history=100)
    kept = publish(stack, "q", n=20, history=100)
    with subscribe(stack, "q", kept[4], history=100) as stream:
        events = take(stream, 15)
        assert take(stream, 1, timeout=0.5) == []
    assert [e.id for e in events] == kept[5:] and resets(events) == []


def test_redis_resume_across_history_trimmed_by_age_gets_sse_reset(redis_stack):
    server, stack = redis_stack
    command(server, "FLUSHALL")
    cursor = publish(stack, "warm")[0]
    publish(stack, "q", n=3)
    time.sleep(1.2)
    # Old enough now to be trimmed by the next publishes (Redis trims approximately: some may
    # stay, and are then skipped as expired).
    publish(stack, "x", n=300, historyAge=1)
    for kept_entries in (True, False):
        if not kept_entries:
            # Everything after the cursor trimmed: the stream is empty, the newest id remains.
            command(server, "XTRIM", "sse:events", "MAXLEN", "0")
        with subscribe(stack, "q", cursor, historyAge=1) as stream:
            first = take(stream, 1)
            live = publish(stack, "q", prefix="live", historyAge=1)
            second = take(stream, 1)
        assert resets(first) == ["history-lost"], (kept_entries, [(e.type, e.data) for e in first])
        assert [e.id for e in second] == live


def test_redis_entries_of_the_layout_before_predecessor_ids_still_resume(redis_stack):
    """Entries written by an older ext-sse (no `p` field) and trimmed: still never silent."""
    server, stack = redis_stack
    command(server, "FLUSHALL")
    command(server, "SET", "sse:epoch", "0123456789ab")
    ids = []
    for i in range(300):
        reply = command(server, "XADD", "sse:events", "*", "t", "old", "f", f"event: old\ndata: {i}\n\n", "s", "0")
        ids.append(reply.split(b"\r\n")[1].decode())
    command(server, "XTRIM", "sse:events", "MAXLEN", "100")
    with subscribe(stack, "old", f"0123456789ab:{ids[10]}") as stream:
        assert resets(take(stream, 1)) == ["history-lost"]
    with subscribe(stack, "old", f"0123456789ab:{ids[250]}") as stream:
        events = take(stream, 49)
        assert take(stream, 1, timeout=0.5) == []
    assert [e.data for e in events] == [str(i) for i in range(251, 300)] and resets(events) == []
    # A publish after the upgrade names the old newest entry as its predecessor: exact too.
    new = publish(stack, "old", prefix="new")
    with subscribe(stack, "old", f"0123456789ab:{ids[-1]}") as stream:
        assert [e.id for e in take(stream, 1)] == new


# ---- The embedded broker ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def local_stack():
    tmp = make_tmp("damage-local")
    stack = checked(nginx_fpm.start(name="damage-local", ini={"sse.broker": f"local://{tmp}/default"}, children=4))
    stack.children = 4
    stack.broker_root = tmp
    yield stack
    no_crash(stack)
    stack.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def segments(directory):
    return sorted((directory / "segments").iterdir())


@pytest.mark.parametrize("damage", ["deleted", "flipped"])
def test_a_damaged_segment_gives_what_it_can_then_sse_reset_and_the_pool_answers(local_stack, damage):
    stack = local_stack
    directory = stack.broker_root / f"segment-{damage}"
    broker = f"local://{directory}"
    # 3,000 events of 1 KB: three segments of 1,250.
    ids = publish(stack, "t", n=3000, size=1024, broker=broker)
    with subscribe(stack, "t", broker=broker) as live_before:
        files = segments(directory)
        assert len(files) == 3, files
        if damage == "deleted":
            files[1].unlink()
        else:
            data = bytearray(files[1].read_bytes())
            data[len(data) // 2] ^= 0x20
            files[1].write_bytes(bytes(data))
        with subscribe(stack, "t", ids[0], broker=broker) as stream:
            events = take_through_reset(stream, 3000)
            before = [e for e in events if e.type != "sse-reset"]
            live = publish(stack, "t", prefix="live", broker=broker)
            after = take(stream, 1)
            assert take(stream, 1, timeout=0.5) == []
        # A stream that was live before the damage goes on live.
        assert [e.id for e in take(live_before, 1)] == live
    assert resets(events) == ["history-lost"] and events[-1].type == "sse-reset", [(e.type, e.id) for e in events[-3:]]
    if damage == "deleted":
        assert [e.id for e in before] == ids[1:1250]
    else:
        # The first segment whole, then the second up to the flipped byte.
        got = [e.id for e in before]
        assert 1250 <= len(got) < 2500 and got == ids[1:1 + len(got)], len(got)
    assert [e.id for e in after] == live
    still_answers(stack)
    error_log = "\n".join(log.read_text(errors="replace") for log in stack.log_files())
    assert "broker storage damaged" in error_log and files[1].name in error_log


@pytest.mark.parametrize("plant", ["epoch-dangling-link", "segment-link", "segment-name"])
def test_files_that_are_not_the_brokers_are_refused_naming_the_path(local_stack, plant):
    stack = local_stack
    directory = stack.broker_root / f"foreign-{plant}"
    (directory / "segments").mkdir(parents=True)
    if plant == "epoch-dangling-link":
        (directory / "epoch").symlink_to(directory / "nowhere")
        planted = directory / "epoch"
    elif plant == "segment-link":
        planted = directory / "segments" / f"{1:020}.log"
        planted.symlink_to("/etc/hostname")
    else:
        planted = directory / "segments" / "18446744073709551615.log"
        planted.write_bytes(b"")
    # Refused at once: a hang would run into the client's time-out.
    response = client.get(stack, f"broadcast/publish.php?topics=t&broker=local://{directory}", timeout=10)
    assert response.status == 503, response.body
    assert str(planted) in json.loads(response.body)["error"]
    response = client.get(stack, f"broadcast/subscribe.php?topics=t&broker=local://{directory}", timeout=10)
    assert response.status == 503 and str(planted) in response.body.decode(), response.body
    still_answers(stack)


def fpm_workers(stack):
    master = stack.services[0].proc.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_kb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+)", status, re.M).group(1))


def test_a_resume_reads_what_it_returns_not_the_whole_segment(local_stack):
    """1,250 events of 100 KB in one segment (125 MB): a resume that returns the last one costs
    a worker a chunk and a record, not the segment (it was 119 MiB of RSS)."""
    stack = local_stack
    directory = stack.broker_root / "memory"
    broker = f"local://{directory}"
    ids = []
    for _ in range(5):
        ids += publish(stack, "big", n=250, size=100_000, broker=broker, history=10000)
    assert len(segments(directory)) == 1
    before = {pid: peak_kb(pid) for pid in fpm_workers(stack)}
    for _ in range(stack.children):
        with subscribe(stack, "big", ids[-2], broker=broker, history=10000) as stream:
            events = take(stream, 1)
            assert [e.id for e in events] == ids[-1:]
    grown = max(peak_kb(pid) - before.get(pid, 0) for pid in fpm_workers(stack))
    print(f"peak growth {grown} kB")
    assert grown < 32 * 1024, f"a worker's peak memory grew by {grown} kB for one event"
    still_answers(stack)
