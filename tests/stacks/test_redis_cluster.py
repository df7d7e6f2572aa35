"""The Redis broker on a Redis Cluster (and a Valkey cluster where valkey-server is installed):
three masters started with `--cluster-enabled yes` and joined by `redis-cli --cluster create`,
and two nginx + php-fpm stacks ("two machines") with `sse.broker = redis-cluster://` seed nodes.
Every event reaches every subscribed stream on both machines once and in one order, a stream
resumes exactly on the other machine, history trimmed under a cursor gives `sse-reset`, and
the keys of a log live in one slot of the cluster (a publish is one script, which a cluster
refuses across slots), while logs of different names (`?log=<name>`) spread over the masters.
Every event is counted.
"""
import json
import subprocess
import time
import urllib.parse

import pytest

from harness import redis as redis_harness
from harness.broadcast import machines_sharing, take, take_all
from harness.phpini import extension_path
from test_broadcast import assert_every_event_once_in_one_order, assert_resume_on_the_other_machine, publish, subscribe


@pytest.fixture(scope="module", params=redis_harness.servers())
def cluster_machines(request):
    yield from machines_sharing(redis_harness.start_cluster(request.param), "cluster")


def test_every_event_reaches_both_machines_once_in_one_order(cluster_machines):
    cluster, machines = cluster_machines
    assert_every_event_once_in_one_order(machines, "fleet", rounds=3)
    # One slot holds the log: the node that owns {sse} has its keys (the epoch, the newest id,
    # where the partitions start, the stream and newest id of the partition of "fleet", and
    # for a while each publish's once-only key), the others nothing.
    slot = cluster.keyslot("{sse}:events")
    counts = [cluster.keys_in_slot(n.port, slot) for n in cluster.nodes]
    assert sorted(counts)[:2] == [0, 0], counts
    owner = cluster.nodes[counts.index(max(counts))]
    reply = redis_harness.command(owner.port, "CLUSTER", "GETKEYSINSLOT", slot, 10000)
    keys = sorted(line for line in reply.decode().split("\r\n") if line.startswith("{sse}:"))
    log_keys = [k for k in keys if not k.startswith("{sse}:published:")]
    assert len(log_keys) == 5 and all(k.startswith(("{sse}:epoch", "{sse}:last", "{sse}:since", "{sse}:p:")) for k in log_keys), keys


def test_a_stream_resumes_exactly_on_the_other_machine(cluster_machines):
    cluster, machines = cluster_machines
    assert_resume_on_the_other_machine(machines)


def test_history_trimmed_under_a_cursor_gives_sse_reset(cluster_machines):
    cluster, (a, b) = cluster_machines
    status, cursor = publish(a, "warm")
    status, lost = publish(a, "trimmed")
    # History is kept per partition of topics: the trimming must be in the topic's own.
    status, _ = publish(b, "trimmed", n=1000, history=100, prefix="noise")
    with subscribe(b, "trimmed", headers={"Last-Event-ID": cursor["ids"][0]}, history=100) as s:
        first = take(s, 1)
        status, live = publish(a, "trimmed", prefix="live")
        second = take(s, 1)
    assert [(e.type, json.loads(e.data)) for e in first] == [("sse-reset", {"reason": "history-lost"})]
    assert [e.id for e in second] == live["ids"]


def test_a_cluster_url_with_a_database_is_refused_naming_it(cluster_machines):
    cluster, _ = cluster_machines
    code = ("try { new Sse\\Broker($argv[1]); echo 'accepted'; } "
            "catch (InvalidArgumentException $e) { echo get_class($e), ': ', $e->getMessage(); }")
    out = subprocess.run(["php", "-n", "-d", f"extension={extension_path()}", "-r", code, cluster.url + "/2"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.startswith("InvalidArgumentException: ") and "database 0 only" in out.stdout, out


def test_logs_of_different_names_spread_over_the_masters(cluster_machines):
    """One log per master (`?log=<name>`, names picked by the slot of their hash tag): streams
    on one machine get their own log's events once, in order, and nothing of the others; each
    master holds one log's keys; an id of one log resumed on another is an `sse-reset`."""
    cluster, (a, b) = cluster_machines
    logs = cluster.log_per_master("spread")
    assert len(logs) == 3, logs
    broker = {name: urllib.parse.quote(f"{cluster.url}?log={name}", safe="") for name in logs.values()}
    streams = {name: subscribe(b, "spread", broker=broker[name]) for name in logs.values()}
    try:
        published = {}
        for turn in range(3):
            for name in logs.values():
                status, answer = publish(a, "spread", n=4, prefix=f"{name}-{turn}-", broker=broker[name])
                assert status == 200, answer
                published.setdefault(name, []).extend(answer["ids"])
        for name, stream in streams.items():
            events = take_all(stream, len(published[name]))
            assert [e.id for e in events] == published[name], name
            assert all(e.data.startswith(f"{name}-") for e in events), name
    finally:
        for stream in streams.values():
            stream.close()
    # Each master holds the keys of the log its slot put there, and no other master does.
    for port, name in logs.items():
        slot = cluster.keyslot(f"{{sse.{name}}}:epoch")
        counts = {n.port: cluster.keys_in_slot(n.port, slot) for n in cluster.nodes}
        assert counts[port] >= 4 and all(c == 0 for p, c in counts.items() if p != port), (name, counts)
    # Each log its own epoch: one log's id on another is unknown there.
    first, second = list(logs.values())[:2]
    with subscribe(b, "spread", headers={"Last-Event-ID": published[first][-1]}, broker=broker[second]) as s:
        reset = take(s, 1)
    assert [(e.type, json.loads(e.data)) for e in reset] == [("sse-reset", {"reason": "unknown-id"})]


def test_phpinfo_names_each_logs_keys(cluster_machines):
    cluster, _ = cluster_machines
    code = ("$b = new Sse\\Broker($argv[1]); $b->publish('t', ['data' => 'x']); ob_start(); phpinfo(INFO_MODULES); "
            "echo implode(\"\\n\", preg_grep('/^broker =>/', explode(\"\\n\", ob_get_clean())));")
    out = subprocess.run(["php", "-n", "-d", f"extension={extension_path()}", "-d", "sse.relay_dir=", "-r", code,
                          cluster.url + "?log=orders"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    assert "?log=orders (" in out.stdout and "keys {sse.orders}:*; reads Redis itself" in out.stdout, out.stdout


def node_id(port):
    return redis_harness.command(port, "CLUSTER", "MYID").split(b"\r\n")[1].decode()


def owner_of_log(cluster):
    """The node that holds the {sse} slot."""
    slot = cluster.keyslot("{sse}:events")
    for node in cluster.nodes:
        if cluster.keys_in_slot(node.port, slot) > 0:
            return node
    raise AssertionError("no node holds the log")


def assert_nothing_lost_across(machines, topic, disturb):
    """A stream on each machine; 10 updates published, `disturb()` run, 10 more published on
    the other machine: each stream gets all 20 once, in order."""
    a, b = machines
    streams = [subscribe(machine, topic, seconds=90) for machine in (a, b)]
    try:
        status, before = publish(a, topic, n=10, prefix="before-")
        assert status == 200, before
        disturb()
        status, after = publish(b, topic, n=10, prefix="after-", timeout=5)
        assert status == 200, after
        expected = before["ids"] + after["ids"]
        for stream in streams:
            events = take_all(stream, len(expected), timeout=30)
            assert [e.id for e in events] == expected
    finally:
        for stream in streams:
            stream.close()


@pytest.mark.time_limit(180)  # redis-cli moves thousands of slots, each a config save on every node
def test_a_slot_migration_under_live_streams_loses_and_repeats_nothing(cluster_machines):
    """Every slot of the node holding the log moved to another master (redis-cli --cluster
    reshard) while streams on both machines are subscribed and updates are published: each
    stream still gets every update once, in order."""
    cluster, machines = cluster_machines

    def migrate():
        source = owner_of_log(cluster)
        target = next(n for n in cluster.nodes if n is not source)
        out = subprocess.run([cluster.cli, "--cluster", "reshard", f"127.0.0.1:{source.port}", "--cluster-from", node_id(source.port),
                              "--cluster-to", node_id(target.port), "--cluster-slots", "16384", "--cluster-yes"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert owner_of_log(cluster) is target, "the log did not move"

    assert_nothing_lost_across(machines, "migrate", migrate)


@pytest.fixture(scope="module", params=redis_harness.servers())
def replicated_machines(request):
    yield from machines_sharing(redis_harness.start_cluster(request.param, replicas=1), "failover")


def role(port):
    """`master` or `replica` (Redis says `slave`)."""
    said = redis_harness.command(port, "ROLE").split(b"\r\n")[2].decode()
    return "replica" if said in ("slave", "replica") else said


def test_a_primary_failover_under_live_streams_loses_and_repeats_nothing(replicated_machines):
    """The replica of the master holding the log takes over (CLUSTER FAILOVER, as an operator
    or a managed service does for maintenance) while streams on two machines are subscribed:
    each stream still gets every update once, in order, and publishing goes on."""
    cluster, machines = replicated_machines

    def fail_over():
        primary = owner_of_log(cluster)
        # A replica's ROLE reply names its master's port.
        replica = next(n for n in cluster.nodes if n is not primary and role(n.port) == "replica"
                       and f"\r\n:{primary.port}\r\n".encode() in redis_harness.command(n.port, "ROLE"))
        deadline = time.monotonic() + 30
        while role(replica.port) != "master" and time.monotonic() < deadline:
            # A manual failover times out if the master is busy: ask again until it is done.
            assert b"+OK" in redis_harness.command(replica.port, "CLUSTER", "FAILOVER")
            wait = time.monotonic() + 6
            while role(replica.port) != "master" and time.monotonic() < wait:
                time.sleep(0.1)
        assert role(replica.port) == "master", "the replica did not take over"

    assert_nothing_lost_across(machines, "failover", fail_over)
