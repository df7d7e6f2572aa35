"""Laravel broadcasting over SSE, on the test app behind nginx + php-fpm.

Requests that run `broadcast(new SomeEvent(...))` publish through the app's `sse` driver to an
embedded broker in a directory this module creates (SSE_BROKER=local:///tmp/...); pages read
them from the stream route of Sse\\Laravel\\Broadcasting::routes(), `/sse/stream?channels[]=...`.
Every event is counted client-side: what a stream gets is exactly what was broadcast to its
channels, in order, once, across a reconnect with Last-Event-ID too, and across streams that
maxDuration ends every second (/sse/rotating, the same route on a second sse connection).

Users: the app's test guard takes the user id from the X-Test-User header; routes/channels.php
lets user N on private-orders.N and users 1-3 on presence-room.*.
"""
import json
import threading
import time

import pytest

from harness import client, laravel
from harness.fixtures import broker_dir  # noqa: F401 - a fixture

NEWS = "App\\Events\\NewsPublished"
# One stream, up to two publishers at a time, and a request to spare.
WORKERS = 4


@pytest.fixture(scope="module")
def running_stack(broker_dir):
    """Overrides the parametrized stacks: the Laravel app with its broker directory."""
    stack = laravel.start("laravel-broadcast", children=WORKERS,
                          fastcgi_params={"SSE_BROKER": f"local://{broker_dir}"})
    yield stack
    stack.stop()


def stream(stack, channels, user=None, last_event_id=None):
    query = "&".join(f"channels[]={c}" for c in channels)
    headers = {}
    if user is not None:
        headers["X-Test-User"] = str(user)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return client.Stream(stack, f"sse/stream?{query}", headers, timeout=30)


def broadcast(stack, what, **query):
    path = f"broadcast/{what}?" + "&".join(f"{k}={v}" for k, v in query.items())
    r = client.get(stack, path, timeout=20)
    assert r.status == 200, (path, r.status, r.body[:500])
    assert json.loads(r.body) == {"broadcast": query.get("count", 1)}, r.body
    return r


def take(s, count, timeout=10.0):
    """Exactly `count` events (fails with what came if fewer arrive)."""
    events = []
    for _ in range(count):
        e = s.next_event(timeout=timeout)
        assert e is not None, f"the stream ended after {len(events)} of {count} events: {s.body[-500:]!r}"
        events.append(e)
    return events


def assert_quiet(s, seconds=0.7):
    """No further event arrives (heartbeat comments are not events)."""
    try:
        extra = s.next_event(timeout=seconds)
    except TimeoutError:
        return
    assert extra is None, f"an event nobody broadcast to this stream: {extra}"


def news_numbers(events):
    assert {e.type for e in events} == {NEWS}, [e.type for e in events]
    return [json.loads(e.data)["n"] for e in events]


def assert_increasing_ids(events):
    ids = [e.id for e in events]
    assert all(ids), ids
    assert len(set(ids)) == len(ids), f"repeated ids: {ids}"
    epochs = {i.rsplit(":", 1)[0] for i in ids}
    assert len(epochs) == 1, ids
    positions = [int(i.rsplit(":", 1)[1]) for i in ids]
    assert positions == sorted(positions), ids


def test_a_broadcast_from_a_request_reaches_an_open_stream(stack):
    with stream(stack, ["news"]) as s:
        assert s.status == 200, s.body
        assert s.header("content-type") == "text/event-stream; charset=utf-8"
        broadcast(stack, "news", count=20, **{"from": 1})
        events = take(s, 20)
        assert news_numbers(events) == list(range(1, 21))
        assert json.loads(events[0].data) == {"headline": "headline 1", "n": 1}
        assert_increasing_ids(events)
        assert_quiet(s)
    assert s.parser.retry == 500


def test_concurrent_broadcasters_lose_nothing_and_keep_each_ones_order(stack):
    per_publisher = 60
    with stream(stack, ["news"]) as s:
        assert s.status == 200, s.body
        errors = []

        def publish(start):
            try:
                broadcast(stack, "news", count=per_publisher, **{"from": start})
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=publish, args=(start,)) for start in (1, 1001)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        events = take(s, 2 * per_publisher)
        numbers = news_numbers(events)
        assert [n for n in numbers if n < 1000] == list(range(1, per_publisher + 1))
        assert [n for n in numbers if n > 1000] == list(range(1001, 1001 + per_publisher))
        assert_increasing_ids(events)
        assert_quiet(s)


@pytest.mark.parametrize("channel, user", [
    ("private-orders.1", None),
    ("private-orders.1", 2),
    ("presence-room.7", None),
    ("presence-room.7", 4),
], ids=["private-guest", "private-other-user", "presence-guest", "presence-non-member"])
def test_a_guarded_channel_is_refused_before_the_stream_starts(stack, channel, user):
    with stream(stack, ["news", channel], user=user) as s:
        s.events_until_end(timeout=5)
    assert s.status == 403, (s.status, s.body)
    assert s.body.decode() == f"Not allowed to listen on channel [{channel}].\n"
    assert s.header("content-type") == "text/plain; charset=utf-8", s.headers
    assert s.parser.events == []


def test_an_authorized_user_gets_its_private_channel_and_nothing_else(stack):
    with stream(stack, ["private-orders.1"], user=1) as own, \
            stream(stack, ["presence-room.7", "shipments"], user=3) as member:
        assert (own.status, member.status) == (200, 200), (own.body, member.body)
        broadcast(stack, "order", order=2, count=2)   # another user's order
        broadcast(stack, "order", order=1, count=3, **{"from": 10})
        broadcast(stack, "news", count=1)             # not on these channels
        events = take(own, 3)
        assert [(e.type, json.loads(e.data)) for e in events] == [
            ("order.shipped", {"order": 1, "n": n}) for n in (10, 11, 12)]
        assert_quiet(own)
        # Every order.shipped is on `shipments` too: 2 + 3, in broadcast order.
        shipped = take(member, 5)
        assert [json.loads(e.data) for e in shipped] == [
            {"order": 2, "n": 1}, {"order": 2, "n": 2},
            {"order": 1, "n": 10}, {"order": 1, "n": 11}, {"order": 1, "n": 12}]
        assert_quiet(member)
        # The same event on two channels has one id: the private stream's ids are among them.
        assert {e.id for e in events} <= {e.id for e in shipped}


def test_resume_with_last_event_id_gets_exactly_what_was_missed(stack):
    with stream(stack, ["news"]) as s:
        assert s.status == 200, s.body
        broadcast(stack, "news", count=5, **{"from": 1})
        first = take(s, 5)
        last_id = s.parser.last_id
    assert last_id == first[-1].id

    broadcast(stack, "news", count=7, **{"from": 6})     # while nobody listens

    with stream(stack, ["news"], last_event_id=last_id) as s:
        assert s.status == 200, s.body
        missed = take(s, 7)
        broadcast(stack, "news", count=3, **{"from": 13})
        live = take(s, 3)
        assert_quiet(s)
    events = first + missed + live
    assert news_numbers(events) == list(range(1, 16)), "lost or repeated across the reconnect"
    assert_increasing_ids(events)


def test_an_unknown_last_event_id_gets_a_reset_then_live_events(stack):
    with stream(stack, ["news"], last_event_id="not-from-this-broker") as s:
        assert s.status == 200, s.body
        reset = s.next_event(timeout=5)
        assert (reset.type, json.loads(reset.data)) == ("sse-reset", {"reason": "unknown-id"})
        broadcast(stack, "news", count=2, **{"from": 1})
        assert news_numbers(take(s, 2)) == [1, 2]
        assert_quiet(s)


def test_bad_channel_names_are_refused_with_400(stack):
    for path, reason in [
        ("sse/stream", "No channel asked for"),
        ("sse/stream?channels[]=" + "a" * 201, "is 201 bytes long; the limit is 200"),
        ("sse/stream?channels[]=a%0Ab", "control character U+000A"),
    ]:
        r = client.get(stack, path)
        assert r.status == 400, (path, r.status, r.body)
        assert reason in r.body.decode(), r.body


def test_streams_ended_by_max_duration_resume_without_loss_while_broadcasts_continue(stack):
    """/sse/rotating (connection sse-rotating: maxDuration 1 s) ends each stream after a second;
    the client reconnects with its last id. Meanwhile one client broadcasts 150 events in 15
    requests over about 3 s, and before each reconnect the test broadcasts 3 more, so some
    events are always published while no stream is open."""
    total, batch, gap = 150, 10, 3
    errors = []

    def publish():
        try:
            for start in range(1, total + 1, batch):
                broadcast(stack, "news", count=batch, **{"from": start})
                time.sleep(0.2)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    streams = [client.Stream(stack, "sse/rotating?channels[]=news", timeout=10)]
    publisher = threading.Thread(target=publish)
    events, gap_sent = [], 0
    try:
        assert streams[0].status == 200, streams[0].body
        publisher.start()
        while len(events) < total + gap_sent:
            s = streams[-1]
            e = s.next_event(timeout=10)
            if e is not None:
                events.append(e)
                continue
            assert s.transport.complete, f"connection {len(streams)} was not ended by the server"
            assert len(streams) < 20, f"{len(streams)} connections for {len(events)} events"
            broadcast(stack, "news", count=gap, **{"from": 1001 + gap_sent})   # nobody listening
            gap_sent += gap
            last = s.parser.last_id or None
            streams.append(client.Stream(stack, "sse/rotating?channels[]=news",
                                         {"Last-Event-ID": last} if last else None, timeout=10))
            assert streams[-1].status == 200, streams[-1].body
    finally:
        if publisher.ident is not None:  # started
            publisher.join(timeout=30)
        for s in streams:
            s.close()
    assert not errors, errors
    assert len(streams) >= 3, f"only {len(streams)} connections: maxDuration did not end the streams"
    numbers = news_numbers(events)
    assert [n for n in numbers if n <= total] == list(range(1, total + 1)), "lost or repeated across reconnects"
    assert [n for n in numbers if n > 1000] == list(range(1001, 1001 + gap_sent)), "missed while reconnecting"
    assert len(numbers) == total + gap_sent
    assert_increasing_ids(events)
    assert streams[0].parser.retry == 100


def test_the_stream_route_detaches_so_streams_do_not_hold_workers(stack):
    """Behind php-fpm the route detaches: more streams than workers, and pages still answer."""
    streams = [stream(stack, ["news"]) for _ in range(WORKERS * 3)]
    try:
        assert all(s.status == 200 for s in streams)
        ping = client.get(stack, "ping", timeout=5)
        assert (ping.status, ping.body) == (200, b"pong")
        broadcast(stack, "news", count=2)
        for s in streams:
            assert news_numbers(take(s, 2)) == [1, 2]
    finally:
        for s in streams:
            s.close()
