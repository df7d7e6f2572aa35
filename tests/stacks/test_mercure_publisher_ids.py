"""Publisher ids through the Mercure hub behind nginx + php-fpm, on the embedded broker and on
Redis: an update's `id` is its SSE `id:` on every stream and the body of the POST's answer;
resuming from it gives exactly the updates after it (nothing lost, nothing twice); an id
published twice resumes from its earliest occurrence; updates without an id get the broker's.
"""
import shutil
import uuid
from urllib.parse import quote

import pytest

from harness import client, nginx_fpm
from harness import redis as redis_harness
from harness.broadcast import take, take_all
from harness.fixtures import checked
from harness.stack import make_tmp
from test_mercure import HUB, PUBLISHER, no_crash, post, subscribe, two_machines  # noqa: F401 - a fixture


@pytest.fixture(scope="module", params=["local", "redis"])
def hub(request):
    tmp = make_tmp("mercure-ids")
    server = redis_harness.start() if request.param == "redis" else None
    broker = server.url if server else f"local://{tmp}/broker"
    stack = checked(nginx_fpm.start(name=f"mercure-ids-{request.param}", ini={"sse.broker": broker}, children=4))
    try:
        yield stack
        no_crash(stack)
    finally:
        stack.stop()
        if server:
            server.remove()
        shutil.rmtree(tmp, ignore_errors=True)


def test_publisher_ids_are_what_subscribers_see_and_resume_from_exactly(hub):
    topic = f"https://example.com/ids/{uuid.uuid4().hex}"
    chosen = ["urn:a", "urn:b", "dup", None, "urn:c", "dup", "urn:d"]
    with subscribe(hub, [topic]) as live:
        answered = []
        for i, id_ in enumerate(chosen):
            fields = [("topic", topic), ("data", str(i))] + ([("id", id_)] if id_ else [])
            status, body = post(hub, fields, PUBLISHER)
            assert status == 200, body
            answered.append(body)
        events = take_all(live, len(chosen))
    # The POST answers the publisher's id, or the broker's when it chose none.
    assert [a for a, c in zip(answered, chosen) if c] == [c for c in chosen if c]
    assert ":" in answered[3] and answered[3] not in chosen
    assert [e.id for e in events] == answered
    assert [e.data for e in events] == [str(i) for i in range(len(chosen))]
    # From every id, exactly what follows it (from a repeated id: its earliest occurrence).
    for k, cursor in enumerate(answered):
        first = answered.index(cursor)
        expected = answered[first + 1:]
        with subscribe(hub, [topic], {"Last-Event-ID": cursor}) as resumed:
            got = take(resumed, len(expected)) if expected else []
            assert take(resumed, 1, timeout=0.3) == [], cursor
        assert [e.id for e in got] == expected, (k, cursor)
        assert all(e.type != "sse-reset" for e in got)


def test_an_unknown_publisher_id_goes_on_live(hub):
    topic = f"https://example.com/ids/{uuid.uuid4().hex}"
    with subscribe(hub, [topic], {"Last-Event-ID": "urn:never-published"}) as stream:
        status, body = post(hub, [("topic", topic), ("data", "live"), ("id", "urn:live")], PUBLISHER)
        assert status == 200, body
        events = [e for e in take(stream, 2, timeout=3) if e.type != "sse-reset"]
    assert [e.id for e in events] == ["urn:live"]


def test_two_machines_on_one_redis_a_1_0_subscriber_resumes_by_publisher_ids_on_the_other(two_machines):  # noqa: F811
    """Mercure 1.0 (`match=`, `last_event_id`) across two stacks sharing Redis: updates with
    publisher ids published on either reach a subscriber of the other, and a resume there from
    a publisher's id is exact, with Mercure-Last-Event-ID naming it."""
    server, (a, b) = two_machines
    topic = f"https://example.com/ids/{uuid.uuid4().hex}"
    path = f"{HUB}?match={quote(topic, safe='')}"
    with client.Stream(b, path, timeout=30) as live:
        assert live.status == 200, live.body
        publishes = [(machine, f"urn:{machine.name}:{i}") for i in range(3) for machine in (a, b)]
        for machine, id_ in publishes:
            status, body = post(machine, [("topic", topic), ("data", id_), ("id", id_)], PUBLISHER)
            assert status == 200 and body == id_, body
        chosen = [id_ for _, id_ in publishes]
        assert [e.id for e in take(live, len(chosen))] == chosen
    with client.Stream(a, f"{path}&last_event_id={quote(chosen[1], safe='')}", timeout=30) as resumed:
        assert resumed.header("mercure-last-event-id") == chosen[1]
        assert [e.id for e in take(resumed, len(chosen) - 2)] == chosen[2:]
        assert take(resumed, 1, timeout=0.3) == []
