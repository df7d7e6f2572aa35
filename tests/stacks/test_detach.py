"""Issue 11: detached streams behind real nginx + php-fpm with a small pool.

Hundreds of streams on two workers with ordinary pages still served; published events reaching
every one of them; hang-ups noticed without writing; a stalled reader closed without slowing
the others; workers recycled, reloaded and stopped with their streams resumed elsewhere, every
event counted; descriptors and memory back where they were after ten rounds; and the fallback
on the SAPIs that cannot hand a connection over.
"""
import json
import os
import shutil
import signal
import socket
import time

import pytest

from harness import client, nginx_fpm
from harness import fpm as fpm_harness
from harness.broadcast import publish, publish_cli, take, take_all, wait_subscribed
from harness.fixtures import checked, marks, stack, wait_for_file  # noqa: F401 - fixtures
from harness.phpini import PHP_VERSION
from harness.procs import wait_until_connectable
from harness.stack import CRASH, make_tmp

WORKERS = 2


def start(name, pool_extra="", worker_connections=2048):
    # nginx's send buffer toward clients is kept small (32 KiB) so that a client that stops
    # reading shows at the stream's queue after a few MiB, not after what Linux would allow.
    broker = make_tmp("detach-broker") / "broker"
    stack = nginx_fpm.start(name=name, ini={"sse.broker": f"local://{broker}"}, children=WORKERS,
                            pool_extra=pool_extra, worker_connections=worker_connections, sndbuf=32768,
                            # Time for workers to end their streams at a reload or graceful stop
                            # before the master's SIGTERM (its default is none).
                            fpm_global="process_control_timeout = 10s")
    stack.broker_dir = broker.parent
    return checked(stack)


def stop(stack):
    logs = "\n".join(p.read_text(errors="replace") for p in stack.log_files())
    stack.stop()
    shutil.rmtree(stack.broker_dir, ignore_errors=True)
    found = CRASH.search(logs)
    assert not found, f"{stack.name}: {found.group(0)!r} in the logs"


@pytest.fixture(scope="module")
def pool():
    stack = start("detach")
    yield stack
    stop(stack)


def open_stream(stack, topics, headers=None, **params):
    query = "&".join(f"{k}={v}" for k, v in {"topics": topics, **params}.items())
    s = client.Stream(stack, f"detach/stream.php?{query}", headers, timeout=60)
    assert s.status == 200, s.body
    return s


def worker_stats(stack, timeout=5.0):
    """detachedStats() of every worker of the pool, by pid."""
    seen, deadline = {}, time.monotonic() + timeout
    while len(seen) < WORKERS and time.monotonic() < deadline:
        # Each request goes to whichever worker is free; keep asking until both answered.
        answer = json.loads(client.get(stack, "detach/stats.php").body)
        seen[answer.pop("pid")] = answer
    assert len(seen) == WORKERS, seen
    return seen


def total(stats, key):
    return sum(s[key] for s in stats.values())


def test_hundreds_of_streams_on_two_workers_and_pages_still_served(pool):
    streams = [open_stream(pool, "crowd") for _ in range(300)]
    try:
        started = time.monotonic()
        page = client.get(pool, "plain.php", timeout=5)
        # A page behind the streams would not be answered at all (they last for minutes).
        assert page.status == 200 and time.monotonic() - started < 3.0, "a page waited behind the streams"
        assert total(worker_stats(pool), "streams") >= 300
        ids = publish(pool, "crowd", n=5)
        for stream in streams:
            assert [e.id for e in take(stream, 5)] == ids
    finally:
        for stream in streams:
            stream.close()


def test_a_detached_stream_keeps_its_heartbeat_and_maximum_duration(pool):
    """The runtime writes a heartbeat when the stream was quiet for `heartbeat` seconds (an event
    postpones it) and ends the stream, with its retry, at `maxDuration`."""
    topic = f"beat-{time.monotonic_ns()}"
    s = open_stream(pool, topic, heartbeat=0.4, seconds=3)
    try:
        opened = time.monotonic()
        wait_subscribed(s)
        before = len(s.parser.comments)
        s.wait_comments(before + 1, timeout=2)  # the first heartbeat, at about 0.4 s
        first_beat = time.monotonic() - opened
        # Events every 0.2 s for 1.2 s: no heartbeat is due meanwhile, unless a publish came
        # more than the heartbeat after the one before (a busy machine).
        ids, published_at = [], []
        for _ in range(6):
            ids += publish(pool, topic, n=1)
            published_at.append(time.monotonic())
            time.sleep(0.2)
        during = len(s.parser.comments)
        quiet_spells = sum(b - a > 0.35 for a, b in zip(published_at, published_at[1:]))
        assert [e.id for e in take(s, 6)] == ids
        events = s.events_until_end(timeout=5)
        lasted = time.monotonic() - opened
    finally:
        s.close()
    assert 0.3 <= first_beat <= 1.5, f"first heartbeat after {first_beat:.2f} s (heartbeat 0.4 s): {s.parser.comments}"
    assert len(s.parser.comments) - during >= 1, "no heartbeat once the events stopped"
    assert [e.id for e in events] == ids
    beats_while_publishing = during - before - 1
    assert beats_while_publishing <= 1 + quiet_spells, \
        f"{beats_while_publishing} heartbeats while events came every 0.2 s (published at {published_at})"
    assert s.ended and s.parser.retry == 200
    assert 2.8 <= lasted <= 4.5, f"maxDuration 3 s, the stream lasted {lasted:.2f} s"


def quiet(stack):
    """Waits until the streams of earlier tests are gone."""
    deadline = time.monotonic() + 5
    while total(worker_stats(stack), "streams") and time.monotonic() < deadline:
        time.sleep(0.05)


def test_hang_ups_are_noticed_without_writing(pool):
    quiet(pool)
    before = total(worker_stats(pool), "hangUps")
    streams = [open_stream(pool, "quiet", heartbeat=60) for _ in range(20)]
    time.sleep(0.2)
    for stream in streams:
        stream.hang_up()
    left = time.monotonic()
    while total(worker_stats(pool), "hangUps") - before < 20 and time.monotonic() - left < 3:
        time.sleep(0.02)
    noticed = time.monotonic() - left
    assert total(worker_stats(pool), "hangUps") - before == 20
    assert noticed <= 1.5, f"20 hang-ups took {noticed:.2f} s to notice (heartbeat 60 s: no write)"


def test_a_stalled_reader_is_closed_and_the_others_get_everything(pool):
    quiet(pool)
    before = total(worker_stats(pool), "slowClientCloses")
    readers = [open_stream(pool, "firehose") for _ in range(3)]
    # A client that reads its headers and then nothing, with a small receive buffer.
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((pool.host, pool.port))
    stalled.sendall(f"GET /detach/stream.php?topics=firehose HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
    time.sleep(0.5)
    try:
        ids = []
        for _ in range(8):  # 160 events of 16 KiB: 2.6 MiB, more than every buffer on the way
            batch = publish(pool, "firehose", n=20, size=16384)
            ids += batch
            # The readers keep up (the stalled one does not hold them back)...
            for index, reader in enumerate(readers):
                assert [e.id for e in take(reader, len(batch))] == batch, f"reader {index}"
        deadline = time.monotonic() + 10
        while total(worker_stats(pool), "slowClientCloses") == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert total(worker_stats(pool), "slowClientCloses") == before + 1
    finally:
        stalled.close()
        for reader in readers:
            reader.close()


def test_a_stalled_reader_waits_for_its_stall_limit_not_for_heartbeats(pool):
    """Heartbeats are for quiet streams: a client that stopped reading with bytes waiting gets
    none queued (they would fill its queue within moments and close it early); it keeps its
    queue until the stall limit (30 s)."""
    quiet(pool)
    topic = f"stalled-{time.monotonic_ns()}"
    before = total(worker_stats(pool), "slowClientCloses")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((pool.host, pool.port))
    stalled.sendall(f"GET /detach/stream.php?topics={topic}&heartbeat=0.2 HTTP/1.1\r\nHost: x\r\n"
                    "Accept: text/event-stream\r\n\r\n".encode())
    time.sleep(0.5)
    try:
        queued = 0
        for _ in range(60):  # 64 KiB at a time until the buffers on the way are full
            publish(pool, topic, n=4, size=16384)
            time.sleep(0.05)
            queued = total(worker_stats(pool), "bytesQueued")
            if queued:
                break
        assert 0 < queued < 1024 * 1024, f"{queued} bytes queued: the buffers never filled, or too much"
        time.sleep(2)  # ten heartbeat periods
        after = worker_stats(pool)
        assert total(after, "slowClientCloses") == before, "the stalled stream was closed before its stall limit"
        assert total(after, "bytesQueued") == queued, f"the queue grew from {queued} to {total(after, 'bytesQueued')} bytes"
    finally:
        stalled.close()


def recycle_test(stack, end_streams, clean=True):
    """Three streams; `end_streams()` ends them with their workers; each reconnects with its
    Last-Event-ID as EventSource would, and every event published before and after arrives
    once, in order."""
    topic = f"recycle-{time.monotonic_ns()}"
    # The page's starting point, as one rendered with $broker->lastEventId() would have it: a
    # stream cut before its first event still resumes from here.
    start = publish(stack, topic, n=1, prefix="start-")[0]
    published = []
    streams = [open_stream(stack, topic, {"Last-Event-ID": start}) for _ in range(3)]
    published.extend(publish(stack, topic, n=5, prefix="before-"))
    end_streams()
    published.extend(publish(stack, topic, n=5, prefix="after-"))
    for stream in streams:
        first = stream.events_until_end(timeout=10)
        assert stream.ended, "the stream was not ended when its worker went away"
        if clean:
            # The response ended as HTTP says (the worker wrote the end of the FastCGI
            # response), not by a dropped connection.
            assert stream.transport.complete, "the stream was cut, not ended"
        assert stream.parser.retry == 200
        headers = {"Last-Event-ID": first[-1].id if first else start}
        with open_stream(stack, topic, headers) as again:
            more = take_all(again, len(published) - len(first))
        assert [e.id for e in first + more] == published
        stream.close()


def test_streams_of_a_recycled_worker_resume_elsewhere_losing_nothing():
    stack = start("detach-recycle", pool_extra="pm.max_requests = 8")
    try:
        def recycle():
            # Ordinary requests until both workers have served their 8 and been replaced.
            pids = set(worker_stats(stack))
            deadline = time.monotonic() + 20
            while pids & set(worker_stats(stack)) and time.monotonic() < deadline:
                for _ in range(4):
                    client.get(stack, "plain.php")
        recycle_test(stack, recycle)
    finally:
        stop(stack)


def test_streams_of_a_worker_stopped_as_idle_resume_elsewhere_losing_nothing():
    """`pm = ondemand` stops a worker once it has been idle for `pm.process_idle_timeout`, and a
    worker whose streams are detached is idle: it ends them properly (retry, end of response)
    as it goes, and they resume through a worker started for them."""
    # The workers are all stopped before the reconnects, which take well under the idle
    # time-out: php-fpm's master starts no worker for a connection while it counts an idle one,
    # even one it has just told to stop, or while it is at max_children, and the connection
    # then waits for the next one.
    stack = start("detach-ondemand", pool_extra="pm = ondemand\npm.max_children = 8\npm.process_idle_timeout = 3s")
    try:
        def idle_out():
            time.sleep(3 + 3)  # the idle time-out, the master's once-a-second check, a margin
        recycle_test(stack, idle_out)
    finally:
        stop(stack)


@pytest.mark.parametrize("how", ["reload", "graceful-stop", "stop"])
def test_streams_end_when_php_fpm_reloads_or_stops_and_resume_losing_nothing(how):
    """reload (SIGUSR2) and graceful stop (SIGQUIT) let the workers end their streams with
    `retry` and the end of the response; stop (SIGTERM, systemd's default) kills them, the
    connections drop, and browsers reconnect after the retry they got when the stream began."""
    stack = start(f"detach-{how}")
    fpm = stack.services[0]
    try:
        def end_streams():
            # Returns once the pool answers from new workers: the old ones are gone.
            if how == "reload":
                fpm_harness.reload(fpm)
                return
            old = fpm_harness.workers(fpm)
            os.kill(fpm.proc.pid, signal.SIGQUIT if how == "graceful-stop" else signal.SIGTERM)
            fpm.proc.wait(timeout=10)
            fpm.start()
            wait_until_connectable(stack.tmp / "fpm.sock", [fpm], stack.describe)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in old):
                time.sleep(0.05)
            assert not old & set(worker_stats(stack, timeout=10)), "the old workers still answer"
        recycle_test(stack, end_streams, clean=how != "stop")
    finally:
        stop(stack)


def fds_and_memory(stack):
    pids = sorted(worker_stats(stack))
    fds = sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids)
    rss = 0
    for pid in pids:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith(("Private_Dirty:", "Private_Clean:")):
                rss += int(line.split()[1])
    return pids, fds, rss


def settled_fds_and_memory(stack):
    """fds_and_memory once the workers' descriptor count has held still for half a second: a
    broker reader stops as its worker's last stream ends and closes its descriptors (its inotify
    watch, the log's head) a moment later, and a worker that just answered closes its request's
    socket as it finishes."""
    last = fds_and_memory(stack)
    held_since, deadline = time.monotonic(), time.monotonic() + 5
    while time.monotonic() < deadline and time.monotonic() - held_since < 0.5:
        time.sleep(0.1)
        now = fds_and_memory(stack)
        if now[1] != last[1]:
            held_since = time.monotonic()
        last = now
    return last


def test_no_descriptor_or_memory_leak_over_ten_rounds(pool):
    quiet(pool)
    # Published from the CLI: a worker that publishes for the first time opens the log for
    # writing and keeps it, which is not what this test counts.
    broker = f"local://{pool.broker_dir / 'broker'}"

    def round_():
        streams = [open_stream(pool, "rounds") for _ in range(50)]
        ids = publish_cli(broker, "rounds", 2)
        for stream in streams:
            assert [e.id for e in take(stream, 2)] == ids
            stream.hang_up()
        deadline = time.monotonic() + 5
        while total(worker_stats(pool), "streams") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert total(worker_stats(pool), "streams") == 0

    round_()  # the first round sets up what stays: the runtime thread, the broker's files
    pids, fds, memory = settled_fds_and_memory(pool)
    for _ in range(10):
        round_()
    pids_after, fds_after, memory_after = settled_fds_and_memory(pool)
    # A busy machine may close the last round's descriptors after a still half second: look
    # again for a while (a leak never goes back down).
    deadline = time.monotonic() + 10
    while fds_after > fds and time.monotonic() < deadline:
        pids_after, fds_after, memory_after = settled_fds_and_memory(pool)
    assert pids_after == pids, "a worker was replaced during the test"
    # Counted at rest on both sides: a leak of even one per round would show as ten more.
    assert fds_after <= fds, f"descriptors {fds} -> {fds_after}"
    assert memory_after - memory < 1024, f"private memory grew {memory_after - memory} KiB over 10 rounds"


def test_detach_works_on_every_stack_and_frees_the_worker_where_it_can(stack, marks):
    """The same script everywhere: php-fpm takes the stream off the worker (detach() returns
    true); php -S, Apache mod_php and kept-alive FastCGI serve it in the worker as run() would
    (false). Either way the events arrive and the stream ends with its maxDuration."""
    broker = f"local://{stack.tmp}/fallback-broker"
    mark = marks / "detached.json"
    topic = f"everywhere-{time.monotonic_ns()}"
    with client.Stream(stack, f"detach/stream.php?topics={topic}&seconds=2&heartbeat=1&broker={broker}&mark={mark}",
                       timeout=15) as s:
        assert s.status == 200, s.body
        wait_subscribed(s)
        ids = publish_cli(broker, topic, 3)
        events = s.events_until_end(timeout=10)
    assert [e.id for e in events] == ids
    assert s.parser.retry == 200
    noticed = wait_for_file(mark, timeout=5)
    assert noticed is not None, "the script did not finish"
    behind_fpm = stack.name in ("nginx-fpm", "nginx-fpm-zlib", "nginx-h2", "apache-fpm", "caddy-fpm")
    assert noticed["detached"] == behind_fpm, f"{stack.name}: detach() returned {noticed['detached']}"


def test_a_request_record_that_does_not_check_out_is_left_alone_and_the_stream_still_works():
    """php-fpm's request record is read by layout; SSE_TEST_FASTCGI_RECORD_SKIP=1 reads it one
    int off, as under a PHP whose struct _fcgi_request had changed. The check refuses it, the log
    says so once (naming the PHP version and the field), and nothing of the record is used: the
    stream is written through PHP's output, detach() serves it in the worker and returns false,
    and every event arrives."""
    stack = start("detach-layout", pool_extra="env[SSE_TEST_FASTCGI_RECORD_SKIP] = 1")
    try:
        marks = make_tmp("detach-layout-marks")
        topic = f"layout-{time.monotonic_ns()}"
        broker = f"local://{stack.broker_dir}/broker"
        streams = []
        for n in range(2):
            mark = marks / f"{n}.json"
            s = client.Stream(stack, f"detach/stream.php?topics={topic}&seconds=2&heartbeat=1&mark={mark}", timeout=15)
            assert s.status == 200, s.body
            wait_subscribed(s)
            streams.append((s, mark))
        ids = publish_cli(broker, topic, 3)
        for s, mark in streams:
            with s:
                events = s.events_until_end(timeout=10)
            assert [e.id for e in events] == ids
            noticed = wait_for_file(mark, timeout=5)
            assert noticed is not None and noticed["detached"] is False, noticed
        logs = "\n".join(p.read_text(errors="replace") for p in stack.log_files())
        warnings = [line for line in logs.splitlines() if "FastCGI request record" in line]
        # Two workers, each says it once (a worker serves both streams in turn at most).
        assert 1 <= len(warnings) <= WORKERS, warnings
        assert f"PHP {PHP_VERSION}." in warnings[0] and "does not look as expected" in warnings[0], warnings[0]
        assert "detach() serves streams in the worker" in warnings[0], warnings[0]
        shutil.rmtree(marks, ignore_errors=True)
    finally:
        stop(stack)

