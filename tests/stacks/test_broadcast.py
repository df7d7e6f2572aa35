"""Issue 10: broadcast through real nginx + php-fpm stacks.

The embedded broker on one stack (publishers in requests and in the CLI, several subscribed
streams, resume, sse-reset), and two stacks on their own ports sharing one real redis-server
("two machines"), including Redis stopped and started again mid-stream. Every event is counted
on every stream: nothing lost, nothing repeated, one order.
"""
import json
import socket
import shutil
import time

import pytest

from harness import client
from harness import redis as redis_harness
from harness.broadcast import machines_sharing, no_crash, publish_cli, start_stack, take, take_all, wait_subscribed
from harness.stack import make_tmp


def publish(stack, topics, n=1, event="news", prefix="", **extra):
    """Publishes through the stack; (status, answer) so that a refusal can be checked too."""
    query = "&".join(f"{k}={v}" for k, v in {"topics": topics, "n": n, "event": event, "prefix": prefix, **extra}.items())
    response = client.get(stack, f"broadcast/publish.php?{query}", timeout=15)
    return response.status, json.loads(response.body or b"{}")


def subscribe(stack, topics, headers=None, seconds=30, **extra):
    query = "&".join(f"{k}={v}" for k, v in {"topics": topics, "seconds": seconds, **extra}.items())
    s = client.Stream(stack, f"broadcast/subscribe.php?{query}", headers, timeout=seconds + 10)
    assert s.status == 200, s.body
    wait_subscribed(s)
    return s


@pytest.fixture(scope="module")
def local():
    broker_dir = make_tmp("broker") / "broker"
    stack = start_stack("broadcast-local", f"local://{broker_dir}")
    stack.broker = f"local://{broker_dir}"
    yield stack
    no_crash(stack)
    stack.stop()
    shutil.rmtree(broker_dir.parent, ignore_errors=True)


def test_events_from_requests_and_the_cli_reach_every_subscribed_stream_once_in_order(local):
    streams = {topics: subscribe(local, topics) for topics in ("orders", "orders,chat", "chat")}
    try:
        status, from_request = publish(local, "orders", n=40, event="order")
        assert status == 200, from_request
        from_cli = publish_cli(local.broker, "chat", 40, event="chat")
        status, both = publish(local, "orders,chat", n=5, event="both")
        assert status == 200, both
        expected = {
            "orders": from_request["ids"] + both["ids"],
            "orders,chat": from_request["ids"] + from_cli + both["ids"],
            "chat": from_cli + both["ids"],
        }
        for topics, stream in streams.items():
            events = take(stream, len(expected[topics]), timeout=10)
            assert [e.id for e in events] == expected[topics], f"{topics}: {[(e.type, e.data) for e in events]}"
            assert take(stream, 1, timeout=0.5) == [], f"{topics}: an event it did not subscribe to"
    finally:
        for stream in streams.values():
            stream.close()


def test_a_reconnect_with_last_event_id_gets_exactly_what_it_missed(local):
    with subscribe(local, "resume") as first:
        status, before = publish(local, "resume", n=10, event="n", prefix="a")
        seen = take(first, 4)
    assert [e.data for e in seen] == ["a0", "a1", "a2", "a3"]
    status, after = publish(local, "resume", n=5, event="n", prefix="b")
    with subscribe(local, "resume", headers={"Last-Event-ID": seen[-1].id}) as second:
        events = take(second, 11)
        assert take(second, 1, timeout=0.5) == []
    assert [e.data for e in events] == [f"a{i}" for i in range(4, 10)] + [f"b{i}" for i in range(5)]
    assert [e.id for e in events] == before["ids"][4:] + after["ids"]


def test_ids_it_cannot_resume_from_start_with_sse_reset(local):
    status, published = publish(local, "reset", n=1)
    epoch = published["ids"][0].split(":")[0]
    for forged, reason in [("12345", "unknown-id"), ("0123456789ab:1", "unknown-id"), (f"{epoch}:99999999", "unknown-id")]:
        with subscribe(local, "reset", headers={"Last-Event-ID": forged}) as s:
            first = take(s, 1)
            status, live = publish(local, "reset", n=1, prefix="live")
            second = take(s, 1)
        assert [(e.type, json.loads(e.data)) for e in first] == [("sse-reset", {"reason": reason})], forged
        assert [e.id for e in second] == live["ids"], forged


def test_an_id_older_than_the_history_starts_with_sse_reset(local):
    broker = f"local://{local.tmp}/short-history"
    status, old = publish(local, "short", n=1, broker=broker, history=16)
    status, newer = publish(local, "short", n=200, broker=broker, history=16)
    assert status == 200, newer
    with subscribe(local, "short", headers={"Last-Event-ID": old["ids"][0]}, broker=broker, history=16) as s:
        first = take(s, 1)
        status, live = publish(local, "short", n=1, broker=broker, history=16)
        second = take(s, 1)
    assert [(e.type, e.data) for e in first] == [("sse-reset", '{"reason":"history-lost"}')]
    assert [e.id for e in second] == live["ids"]


def assert_every_event_once_in_one_order(machines, topic, rounds):
    """Two streams on each machine; `rounds` times 10 events published to each machine: every
    stream gets every event once, in the one order the broker gave them."""
    streams = [subscribe(machine, topic) for machine in machines for _ in range(2)]
    try:
        ids = []
        for round_ in range(rounds):
            for machine in machines:
                status, published = publish(machine, topic, n=10, prefix=f"{machine.name}-{round_}-")
                assert status == 200, published
                ids += published["ids"]
        for stream in streams:
            events = take_all(stream, len(ids))
            assert [e.id for e in events] == ids
    finally:
        for stream in streams:
            stream.close()


@pytest.fixture(scope="module", params=redis_harness.servers())
def two_machines(request):
    """Two stacks sharing one Redis, then one Valkey where it is installed."""
    yield from machines_sharing(redis_harness.start(request.param), "machine")


def test_two_machines_sharing_redis_deliver_every_event_to_both_in_one_order(two_machines):
    server, machines = two_machines
    assert_every_event_once_in_one_order(machines, "fleet", rounds=5)


def test_redis_restarted_mid_stream_loses_nothing_and_publishing_while_down_fails_fast(two_machines):
    server, (a, b) = two_machines
    streams = [subscribe(machine, "restart", seconds=60) for machine in (a, b)]
    try:
        status, before = publish(a, "restart", n=20, prefix="before-")
        assert status == 200, before
        server.stop()
        started = time.monotonic()
        status, refused = publish(b, "restart", n=1, timeout=1)
        elapsed = time.monotonic() - started
        assert status == 503, refused
        assert refused["error"].startswith(f"Broker {server.url}: "), refused
        assert elapsed < 3, f"a publish while Redis is down took {elapsed:.1f} s"
        time.sleep(1.5)  # the streams' readers are now retrying with back-off
        server.start()
        status, after = publish(b, "restart", n=20, prefix="after-")
        assert status == 200, after
        expected = before["ids"] + after["ids"]
        for stream in streams:
            events = take(stream, len(expected), timeout=15)
            assert [e.id for e in events] == expected
            assert [e.data for e in events] == [f"before-{i}" for i in range(20)] + [f"after-{i}" for i in range(20)]
            assert not stream.ended
    finally:
        for stream in streams:
            stream.close()


def test_streams_resume_across_machines(two_machines):
    server, machines = two_machines
    assert_resume_on_the_other_machine(machines)


def assert_resume_on_the_other_machine(machines):
    """A stream on one machine sees half of what the other published, then resumes on the other
    machine with its Last-Event-ID: exactly the rest, and what was published meanwhile."""
    a, b = machines
    with subscribe(a, "hop") as on_a:
        status, first = publish(b, "hop", n=6)
        seen = take(on_a, 3)
    status, more = publish(a, "hop", n=3)
    with subscribe(b, "hop", headers={"Last-Event-ID": seen[-1].id}) as on_b:
        events = take_all(on_b, 6)
    assert [e.id for e in events] == first["ids"][3:] + more["ids"]


def flush_redis(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
        assert conn.recv(100) == b"+OK\r\n"


def test_a_flushed_redis_gets_a_new_epoch_and_old_ids_start_with_sse_reset(two_machines):
    server, (a, b) = two_machines
    status, before = publish(a, "flushed", n=2)
    assert status == 200, before
    flush_redis(server)
    status, after_a = publish(a, "flushed", n=1)
    status, after_b = publish(b, "flushed", n=1)
    old_epoch = before["ids"][0].split(":")[0]
    new_epochs = {i.split(":")[0] for i in after_a["ids"] + after_b["ids"]}
    assert len(new_epochs) == 1 and old_epoch not in new_epochs, (before, after_a, after_b)
    with subscribe(b, "flushed", headers={"Last-Event-ID": before["ids"][-1]}) as s:
        first = take(s, 1)
        status, live = publish(a, "flushed", n=1)
        second = take(s, 1)
    assert [(e.type, json.loads(e.data)) for e in first] == [("sse-reset", {"reason": "unknown-id"})]
    assert [e.id for e in second] == live["ids"]
