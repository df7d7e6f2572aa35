"""Issue 25: Mercure's active subscriptions across workers and machines.

A hub with `subscriptions` on (www/presence/index.php, the front controller of nginx +
php-fpm) on two "machines": two stacks sharing the embedded broker's directory, sharing one
redis-server, or sharing a 3-master Redis Cluster. A watcher on machine A subscribes to every subscription event; subscribers with
tokens carrying a payload join on machine B (spread over its workers); every `active: true` and
`active: false` event is counted, and the subscription API on A lists exactly who is there,
with its cursor in a `Link` header. Machine B's workers are then SIGKILLed while subscribed:
their subscriptions leave the API and the watcher gets one `active: false` each within the
documented bound (30 s at most); then B is stopped gracefully with members there, and they leave
too. A hub without the option has no API.
"""
import json
import os
import signal
import subprocess
import time
from urllib.parse import quote

import pytest

from harness import client, nginx_fpm
from harness import redis as redis_harness
from harness.broadcast import no_crash, take
from harness.stack import CRASH
from harness.stack import WWW, make_tmp
from test_mercure import token

ROOT = WWW / "presence"
HUB = ".well-known/mercure"
API = ".well-known/mercure/subscriptions"
#: The documented bound: a dead process's subscriptions are announced gone within 20 s of its
#: last lease renewal (plus a publish); the test allows the issue's 30 s.
BOUND = 30
EVERYTHING = token({"mercure": {"subscribe": ["*"]}})


def start(name, broker):
    # Not checked through probe.php: the front controller answers every path.
    # process_control_timeout: time for workers to end their streams at a graceful stop (module
    # shutdown) before the master's SIGTERM (its default is none).
    return nginx_fpm.start(name=name, ini={"sse.broker": broker}, children=4, root=ROOT, front_controller=True,
                           fpm_global="process_control_timeout = 10s")


@pytest.fixture(scope="module", params=["local", "redis", "redis-cluster"])
def machines(request):
    server = None
    if request.param == "redis":
        server = redis_harness.start()
        broker = server.url
    elif request.param == "redis-cluster":
        server = redis_harness.start_cluster()
        broker = server.url
    else:
        broker = f"local://{make_tmp('presence-broker') / 'broker'}"
    stacks = []
    try:
        stacks = [start(f"presence-{request.param}-{n}", broker) for n in ("a", "b")]
        for stack in stacks:
            stack.broker_kind = request.param
        yield stacks
        no_crash(stacks[0])
        no_crash_but_kills(stacks[1])
    finally:
        for stack in stacks:
            stack.stop()
        if server:
            server.remove()


def no_crash_but_kills(stack):
    """Machine B's workers were SIGKILLed on purpose: php-fpm's notice of that is no crash."""
    for log in stack.log_files():
        text = "\n".join(line for line in log.read_text(errors="replace").splitlines() if "signal 9 (SIGKILL)" not in line)
        found = CRASH.search(text)
        assert not found, f"{stack.name}: {found.group(0)!r} in {log}"


def subscribe(stack, matchers, jwt):
    query = "&".join(f"{kind}={quote(value, safe='')}" for kind, value in matchers)
    s = client.Stream(stack, f"{HUB}?{query}", {"Authorization": f"Bearer {jwt}"}, timeout=120)
    assert s.status == 200, s.body
    return s


def api(stack, path=API, jwt=EVERYTHING):
    headers = {"Authorization": f"Bearer {jwt}"} if jwt else {}
    return client.get(stack, path, headers)


def subscription_events(stream, count, timeout):
    """The next `count` events, as documents: the watcher's are subscription events only."""
    events = take(stream, count, timeout)
    assert all(event.type == "mercure" for event in events), [event.type for event in events]
    return [json.loads(event.data) for event in events]


def listed(stack):
    answer = api(stack)
    assert answer.status == 200, answer.body
    return json.loads(answer.body)["subscriptions"]


def test_joins_and_leaves_are_counted_and_listed_across_machines_and_a_killed_machine_leaves(machines):
    a, b = machines
    watcher = subscribe(a, [("match", "*")], EVERYTHING)
    try:
        own = subscription_events(watcher, 1, 10)
        assert [(d["match"], d["active"]) for d in own] == [("*", True)], own
        members = [subscribe(b, [("match", "room-1")], token({"mercure": {"subscribe": ["room-1"], "payload": {"user": i}}}))
                   for i in range(6)]
        joined = subscription_events(watcher, 6, 20)
        assert sorted(d["payload"]["user"] for d in joined) == list(range(6)), joined
        assert all(d["active"] and d["match"] == "room-1" and d["match_type"] == "exact" for d in joined)
        assert len({d["subscriber"] for d in joined}) == 6
        assert all(d["id"] == f"/.well-known/mercure/subscriptions/exact/room-1/{quote(d['subscriber'], safe='')}" for d in joined)

        answer = api(a)
        assert answer.status == 200 and answer.header("content-type").startswith("application/json"), answer.body
        link = answer.header("link")
        assert link and 'rel="mercure"' in link and "last-event-id=" in link, link
        document = json.loads(answer.body)
        assert document["type"] == "subscriptions" and document["id"] == "/" + API
        in_room = [s for s in document["subscriptions"] if s["match"] == "room-1"]
        assert sorted(s["payload"]["user"] for s in in_room) == list(range(6))
        one = in_room[0]
        single = api(a, f"{API}/exact/room-1/{quote(one['subscriber'], safe='')}")
        assert single.status == 200 and json.loads(single.body)["subscriber"] == one["subscriber"], single.body
        assert api(a, f"{API}/exact/room-1/{quote('urn:uuid:nobody', safe='')}").status == 404

        # Two leave: one active:false each, and the API follows.
        for member in members[:2]:
            member.close()
        left = subscription_events(watcher, 2, 20)
        assert sorted(d["payload"]["user"] for d in left) == [0, 1] and not any(d["active"] for d in left), left
        assert sorted(s["payload"]["user"] for s in listed(a) if s["match"] == "room-1") == [2, 3, 4, 5]

        if b.broker_kind == "redis-cluster":
            # The cluster shares the Redis engine's code for what follows (seen on one server);
            # its keys and scripts were used above.
            for member in members[2:]:
                member.close()
            return

        # Machine B's workers die (SIGKILL: no module shutdown): their subscriptions expire.
        master = b.services[0].proc.pid
        subprocess.run(["pkill", "-KILL", "-P", str(master)], check=False)
        killed_at = time.monotonic()
        gone = subscription_events(watcher, 4, BOUND + 5)
        took = time.monotonic() - killed_at
        assert sorted(d["payload"]["user"] for d in gone) == [2, 3, 4, 5], gone
        assert not any(d["active"] for d in gone)
        assert took <= BOUND, f"the killed machine's subscriptions took {took:.1f} s to leave"
        print(f"\n{b.broker_kind}: a killed machine's 4 subscriptions left in {took:.1f} s")
        assert [s for s in listed(a) if s["match"] == "room-1"] == []
        assert subscription_events(watcher, 1, 1) == [], "an extra subscription event"
        for member in members[2:]:
            member.close()

        # Machine B is stopped gracefully (php-fpm's SIGQUIT) while three members are there:
        # module shutdown ends their streams and announces their leaving.
        members = [subscribe(b, [("match", "room-2")], token({"mercure": {"subscribe": ["room-2"], "payload": {"user": i}}}))
                   for i in range(3)]
        assert sorted(d["payload"]["user"] for d in subscription_events(watcher, 3, 20)) == [0, 1, 2]
        # A join is announced before its request has handed the stream to the runtime; a stop
        # that comes in between finds the request still running (php-fpm closes the listening
        # socket at once, so the stream stays in its worker, which the master ends at
        # process_control_timeout, and the lease tells its end). Let the requests finish first.
        time.sleep(2)
        os.kill(master, signal.SIGQUIT)
        stopped_at = time.monotonic()
        # Within the bound, plus php-fpm's process_control_timeout (10 s) for a request that a
        # busy machine had not finished when the stop came.
        gone = subscription_events(watcher, 3, BOUND + 15)
        took = time.monotonic() - stopped_at
        print(f"{b.broker_kind}: a stopped machine's 3 subscriptions left in {took:.1f} s")
        assert took <= BOUND + 10, f"a graceful stop's subscriptions took {took:.1f} s to leave"
        assert sorted(d["payload"]["user"] for d in gone) == [0, 1, 2] and not any(d["active"] for d in gone), gone
        assert [s for s in listed(a) if s["match"] == "room-2"] == []
        for member in members:
            member.close()
    finally:
        watcher.close()


def test_the_api_is_authorized_like_a_subscription_to_its_path(machines):
    a, _ = machines
    assert api(a, jwt=None).status == 401
    assert api(a, jwt=token({"mercure": {"subscribe": ["https://example.com/other"]}})).status == 403
    assert api(a, jwt=token({"mercure": {"subscribe": ["/" + API]}})).status == 200
    assert api(a, f"{API}/regexp/x").status == 400


def test_a_hub_without_the_option_has_no_api():
    stack = nginx_fpm.start(name="presence-off", root=WWW / "mercure10", front_controller=True, children=2)
    try:
        assert client.get(stack, API).status == 404
    finally:
        stack.stop()
