"""One Redis reader per machine (`sse.relay_dir`): "machines" are nginx + php-fpm stacks (pm =
static, 4 workers) on one redis-server (then one valkey-server where installed), and again on a
3-master cluster of each, every machine with its own relay directory in a temp dir. On each machine, streams are spread over every worker: three
attached streams hold three workers, three detached ones are served by the fourth. Every event
is counted on every stream:

- every event once and in order everywhere, and `CLIENT LIST` shows one reader per machine
  (`ext-sse-relay-<pid>`, the pid relay.lock names), not one per worker;
- a burst larger than any small log still reaches every stream whole;
- the relaying worker SIGKILLed while a publisher publishes, then the one that took over: the
  other workers' streams go on without a gap, another worker relays, and the streams of the
  killed workers resume exactly with Last-Event-ID;
- the relaying worker's streams ending while other workers still have theirs: the others go on;
- the relay's Redis connection killed (CLIENT KILL ID): nothing lost;
- the relay stalled while Redis trimmed an event, then killed: each stream of its machine gets
  one `sse-reset` (at once, without waiting for an event) and then every event after its id;
- two pools of different users sharing the relay directory's group both subscribe;
- `sse.relay_dir` empty: each worker with streams reads Redis itself (`ext-sse-follow-<pid>`),
  the layout before the relay, as the baseline.
Waits are deadlines (generous: a busy 2-CPU machine), never timing asserts.
"""
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness import redis as redis_harness
from harness import relay as R
from harness.broadcast import take, take_all
from harness.phpini import extension_path
from harness.stack import make_tmp

CHILDREN = 4
ATTACHED = CHILDREN - 1  # each holds a worker; the detached streams then all go to the last one
DETACHED = 3
DEFAULT_RELAY_DIR = Path("/dev/shm/ext-sse-relay")


class LogNode:
    """A 3-master cluster seen as the tests see one server: `url` its seed nodes
    (`redis-cluster://`), `port` the master of the log's slot (where the relays read)."""

    def __init__(self, cluster):
        self.cluster, self.url = cluster, cluster.url
        self.port = cluster.master_of_slot(cluster.keyslot("{sse}:events"))

    def remove(self):
        self.cluster.remove()


@pytest.fixture(scope="module", params=redis_harness.servers() + [f"cluster:{s}" for s in redis_harness.servers()])
def server(request):
    """One redis-server (or valkey-server), or a 3-master cluster of them."""
    if request.param.startswith("cluster:"):
        server = LogNode(redis_harness.start_cluster(request.param.removeprefix("cluster:")))
    else:
        server = redis_harness.start(request.param)
    yield server
    server.remove()


def machines_on(server, names, relay):
    machines = []
    try:
        for name in names:
            machines.append(R.start_machine(name, server.url, relay=relay, children=CHILDREN))
        yield machines
        for machine in machines:
            found = R.crashes(machine)
            assert not found, f"{machine.name}: " + "\n".join(found)
    finally:
        for machine in machines:
            R.stop_machine(machine)


@pytest.fixture(scope="module")
def relayed(server):
    """Two machines with the relay on."""
    yield from machines_on(server, ["relay-a", "relay-b"], relay=True)


@pytest.fixture(scope="module")
def direct(server):
    """One machine with `sse.relay_dir` empty."""
    yield from machines_on(server, ["relay-off"], relay=False)


def spread(machine, topics):
    """ATTACHED attached streams (one worker each) then DETACHED detached ones (on the worker
    left), topics taken in turn from `topics`; every worker holds a stream. With the relay on,
    the worker of the first stream relays (the others are opened once it does): so the relay
    is a worker with one attached stream, and the detached streams are on another."""
    streams = []
    try:
        for i in range(ATTACHED + DETACHED):
            streams.append(R.open_stream(machine, topics[i % len(topics)], detach=i >= ATTACHED))
            if i == 0 and machine.relay_dir:
                ok, lock = R.wait_for(lambda: (R.lock_pid(machine) == streams[0].pid, R.lock_pid(machine)), timeout=20)
                assert ok, f"{machine.name}: the worker of the only stream, {streams[0].pid}, does not relay: relay.lock names {lock}"
    except BaseException:
        close(streams)
        raise
    pids = {s.pid for s in streams}
    assert len(pids) == CHILDREN and pids <= R.workers(machine), \
        f"{machine.name}: streams on workers {[s.pid for s in streams]}, the pool is {R.workers(machine)}"
    return streams


def close(streams):
    for s in streams:
        s.close()


def ids_of(events):
    return [e.id for e in events]


def one_relay_per_machine(server, machines):
    """A check for R.wait_for: each machine has exactly one live reader on Redis, named
    `ext-sse-relay-<pid>` with the pid its relay.lock holds, and no `ext-sse-follow-` reader;
    no reader on Redis is unnamed."""
    def check():
        seen = {}
        ok = True
        for machine in machines:
            mine, lock = R.relay_readers(server.port, machine), R.lock_pid(machine)
            seen[machine.name] = {**mine, "lock": lock, "dirs": [d.name for d in R.url_dirs(machine)]}
            ok &= mine == {"relay": [lock], "follow": []} and lock is not None
            ok &= len(R.url_dirs(machine)) == 1 and bool(R.URL_DIR.match(R.url_dirs(machine)[0].name))
        unnamed = [c for c in R.readers(server.port) if R.reader_pid(c) is None]
        seen["unnamed readers"] = R.brief(unnamed)
        if isinstance(server, LogNode):
            # redis-rs's cluster client replaces a node connection that was cut (CLIENT KILL)
            # by itself, without the name: there, the count of readers is what is checked.
            ok = all(seen[m.name]["lock"] is not None and seen[m.name]["follow"] == [] and
                     set(seen[m.name]["relay"]) <= {seen[m.name]["lock"]} for m in machines)
            return ok and len(R.readers(server.port)) == len(machines), seen
        return ok and not unnamed, seen
    return check


def assert_one_relay_per_machine(server, machines, timeout=20.0):
    ok, seen = R.wait_for(one_relay_per_machine(server, machines), timeout)
    assert ok, f"not one relay reader per machine within {timeout}s: {seen}\nCLIENT LIST:\n{R.brief(R.clients(server.port))}"
    return seen


def expected_for(topics, published):
    """The ids a stream subscribed to `topics` (comma-separated) should get, in order, from
    [(topic, ids)] published one after the other."""
    wanted = set(topics.split(","))
    return [i for topic, ids in published for i in ids if topic in wanted]


@pytest.mark.time_limit(150)
def test_every_event_once_in_order_on_every_stream_and_one_redis_reader_per_machine(server, relayed):
    streams = [s for machine in relayed for s in spread(machine, ["fleet", "fleet,side"])]
    try:
        published = []
        for topic, n in [("fleet", 30), ("side", 10), ("fleet", 30)]:
            published.append((topic, R.Publisher(server.url, topic, n, prefix=f"{topic}-").ids()))
        for s in streams:
            events = take_all(s, len(expected_for(s.topics, published)), timeout=30)
            assert ids_of(events) == expected_for(s.topics, published), \
                f"{s.machine.name} worker {s.pid} ({s.topics}, detached {s.detached}): {[e.data for e in events]}"
            assert not s.ended
        seen = assert_one_relay_per_machine(server, relayed)
        # The relaying worker is one of those holding streams (the others follow its log).
        for machine in relayed:
            assert seen[machine.name]["lock"] in {s.pid for s in streams if s.machine is machine}, seen
    finally:
        close(streams)


@pytest.mark.time_limit(150)
def test_a_burst_larger_than_a_small_log_reaches_every_stream_whole(server, relayed):
    """1,000 events of 1 KiB published as fast as one publisher can (about 1 MiB): every
    follower gets every one, in order, whatever the relay's log keeps."""
    streams = [s for machine in relayed for s in spread(machine, ["burst"])]
    try:
        ids = R.Publisher(server.url, "burst", 1000, prefix="b", size=1024).ids()
        for s in streams:
            events = take_all(s, len(ids), timeout=60)
            assert ids_of(events) == ids, f"{s.machine.name} worker {s.pid}: {len(events)} of {len(ids)} events"
            assert [e.data[1024:] for e in events] == [f"b{i}" for i in range(len(ids))]
    finally:
        close(streams)


class Browser:
    """What an EventSource does with a stream: reads it and, when the response ends (its worker
    killed), reconnects with Last-Event-ID; `events` is everything it got, over all its
    connections, `connections` every response it opened."""

    def __init__(self, stream):
        self.machine, self.topics, self.detached = stream.machine, stream.topics, stream.detached
        self.connections, self.events = [stream], []

    @property
    def stream(self):
        return self.connections[-1]

    def read(self, count, timeout=60.0):
        """Reads until `count` events in all, reconnecting (at most 5 times) when a response ends."""
        while len(self.events) < count:
            self.events += take(self.stream, count - len(self.events), timeout=timeout)
            if len(self.events) >= count or not self.stream.ended:
                break
            assert len(self.connections) <= 5, f"{self.machine.name}: reconnected 5 times: {self.pids()}"
            headers = {"Last-Event-ID": self.events[-1].id} if self.events else None
            self.connections.append(R.open_stream(self.machine, self.topics, detach=self.detached, headers=headers))
        return self.events

    def pids(self):
        return [s.pid for s in self.connections]

    def close(self):
        close(self.connections)


@pytest.mark.time_limit(180)
def test_the_relaying_worker_killed_mid_stream_loses_and_repeats_nothing(server, relayed):
    """While a publisher publishes, the worker that relays for machine a is SIGKILLed, then the
    one that took over from it: the streams of the other workers go on without a gap, and those
    of the killed workers, reconnecting with Last-Event-ID, get exactly the rest."""
    a, b = relayed
    browsers = [Browser(s) for machine in relayed for s in spread(machine, ["killed"])]
    publisher = None
    killed = []
    try:
        publisher = R.Publisher(server.url, "killed", 300, gap=0.02, prefix="k")
        for round_ in (1, 2):
            ok, relay = R.wait_for(lambda: (R.lock_pid(a) not in (None, *killed), R.lock_pid(a)), timeout=20)
            assert ok, f"{a.name}: relay.lock names {relay}; killed before: {killed}"
            # Another worker of the machine, one with streams, took over.
            assert relay in {s.pid for br in browsers if br.machine is a for s in br.connections}, \
                (relay, [(br.machine.name, br.pids()) for br in browsers])
            for br in browsers:
                br.read(len(br.events) + 15, timeout=30)
            R.kill(a, relay)
            killed.append(relay)
        ids = publisher.ids()
        for br in browsers:
            br.read(len(ids))
            assert take(br.stream, 1, timeout=0.3) == [], f"{br.machine.name} workers {br.pids()}: an event more"
            assert ids_of(br.events) == ids, f"{br.machine.name} workers {br.pids()} (killed {killed}): {[e.data for e in br.events]}"
            if br.machine is b or not set(br.pids()[:1]) & set(killed):
                assert br.pids() == br.pids()[:1] and not br.stream.ended, \
                    f"{br.machine.name}: a stream of a worker not killed ended: {br.pids()}, killed {killed}"
        ok, now = R.wait_for(lambda: (R.lock_pid(a) not in (None, *killed), R.lock_pid(a)), timeout=20)
        assert ok and now in R.workers(a), f"{a.name}: relay.lock names {now}, killed {killed}, workers {R.workers(a)}"
        assert_one_relay_per_machine(server, relayed)
    finally:
        if publisher:
            publisher.stop()
        for br in browsers:
            br.close()


@pytest.mark.time_limit(150)
def test_the_relaying_worker_losing_its_last_stream_leaves_the_others_served(server, relayed):
    """The streams of the relaying worker end (their clients leave) while the other workers
    keep theirs: those get every event published after, once, in order."""
    a, _ = relayed
    streams = spread(a, ["handover"])
    try:
        ok, relay = R.wait_for(lambda: (R.lock_pid(a) is not None, R.lock_pid(a)), timeout=10)
        assert ok, f"{a.name}: no relay.lock"
        before = R.Publisher(server.url, "handover", 10, prefix="before-").ids()
        for s in streams:
            assert ids_of(take(s, 10, timeout=30)) == before, f"worker {s.pid}"
        leaving = [s for s in streams if s.pid == relay]
        staying = [s for s in streams if s.pid != relay]
        assert leaving and staying, (relay, [s.pid for s in streams])
        close(leaving)
        after = R.Publisher(server.url, "handover", 40, gap=0.05, prefix="after-").ids()
        for s in staying:
            events = take_all(s, len(after), timeout=30)
            assert ids_of(events) == after, f"worker {s.pid}: {[e.data for e in events]}"
        ok, seen = R.wait_for(one_relay_per_machine(server, [a]), timeout=20)
        assert ok, seen
        assert seen[a.name]["lock"] in {s.pid for s in staying} | {relay}, seen
    finally:
        close(streams)


@pytest.mark.time_limit(150)
def test_the_relays_redis_connection_killed_loses_nothing(server, relayed):
    streams = [s for machine in relayed for s in spread(machine, ["cut"])]
    publisher = None
    try:
        seen = assert_one_relay_per_machine(server, relayed)
        publisher = R.Publisher(server.url, "cut", 150, gap=0.02, prefix="c")
        got = {id(s): take(s, 20, timeout=30) for s in streams}
        killed = []
        for conn in R.clients(server.port):
            if conn.get("name") in {f"{R.RELAY}{seen[m.name]['lock']}" for m in relayed}:
                assert R.call(server.port, "CLIENT", "KILL", "ID", conn["id"]) == 1, conn
                killed.append(conn["id"])
        assert len(killed) == len(relayed), (killed, seen)
        ids = publisher.ids()
        for s in streams:
            got[id(s)] += take_all(s, len(ids) - len(got[id(s)]), timeout=60)
            assert ids_of(got[id(s)]) == ids, f"{s.machine.name} worker {s.pid}: {[e.data for e in got[id(s)]]}"
            assert not s.ended
        assert_one_relay_per_machine(server, relayed)
        live = {c["id"] for c in R.readers(server.port)}
        assert not live & set(killed), (live, killed)
    finally:
        if publisher:
            publisher.stop()
        close(streams)


def position(event_id):
    """An id's position in the log, comparable (`<epoch>:<ms>[-<seq>]`)."""
    major, _, minor = event_id.split(":", 1)[1].partition("-")
    return int(major), int(minor or 0)


def take_until(stream, last_id, timeout=30.0):
    """Events of `stream` up to the one with id `last_id` (all it got by `timeout` otherwise)."""
    events, deadline = [], time.monotonic() + timeout
    while not events or events[-1].id != last_id:
        got = take(stream, 1, timeout=max(0.01, deadline - time.monotonic()))
        if not got:
            break
        events += got
    return events


PARTITIONS = 64  # the Redis broker's (sse_core::broker::partition): a topic's events are in sse:p:<k>


def partition(topic):
    """The partition of a topic: FNV-1a of its name, modulo PARTITIONS."""
    h = 0xcbf29ce484222325
    for byte in topic.encode():
        h = ((h ^ byte) * 0x100000001b3) % 2**64
    return h % PARTITIONS


def neighbour(topic):
    """Another topic in the same partition as `topic` (its events trim that partition)."""
    return next(f"noise-{n}" for n in range(100_000) if partition(f"noise-{n}") == partition(topic))


def stall_trim_kill(server, a, b, streams):
    """Events before; the relaying worker of `a` stopped (SIGSTOP: it keeps the lock, nobody
    takes over); one event of the streams' topic published (b's streams get it), then one of
    another topic of its partition, and the partition trimmed to that one (`XTRIM MAXLEN 1`,
    as publishes with a short history would: trimmed by hand, so that b's relay, which read
    everything in time, never races the trimming on a busy machine); the stopped worker
    killed. Returns (the killed pid, the ids before, the lost id)."""
    before = R.Publisher(server.url, "trim", 5, prefix="before-").ids()
    for s in streams[a.name] + streams[b.name]:
        assert ids_of(take(s, 5, timeout=30)) == before, f"{s.machine.name} worker {s.pid}"
    ok, relay = R.wait_for(lambda: (R.lock_pid(a) is not None, R.lock_pid(a)), timeout=10)
    assert ok and relay in {s.pid for s in streams[a.name]}, (relay, [s.pid for s in streams[a.name]])
    os.kill(relay, signal.SIGSTOP)
    try:
        lost = R.Publisher(server.url, "trim", 1, prefix="lost-").ids()
        for s in streams[b.name]:
            assert ids_of(take(s, 1, timeout=30)) == lost, f"{b.name} worker {s.pid}"
        R.Publisher(server.url, neighbour("trim"), 1).ids()
        prefix = "{sse}" if isinstance(server, LogNode) else "sse"
        key = f"{prefix}:p:{partition('trim')}"
        R.call(server.port, "XTRIM", key, "MAXLEN", "1")
        assert R.call(server.port, "XLEN", key) == 1
    finally:
        R.kill(a, relay)
    return relay, before, lost


@pytest.mark.time_limit(150)
def test_a_relay_stalled_while_redis_trimmed_gives_sse_reset_then_goes_on(server, relayed):
    """The relaying worker of machine a stalls while an event of the streams' topic is
    published and then trimmed from Redis, and is then killed. The worker that takes over
    cannot relay what is gone: each stream of machine a (those of the killed worker after
    reconnecting with Last-Event-ID) gets one `sse-reset` (`history-lost`, its id where the
    stream goes on from: the newest event when it was written) and then every event after that
    id, once, in order; machine b, whose relay read the event in time, gets everything and no
    reset."""
    a, b = relayed
    streams = {m.name: spread(m, ["trim"]) for m in relayed}
    resumed = []
    try:
        relay, before, lost = stall_trim_kill(server, a, b, streams)
        after = R.Publisher(server.url, "trim", 5, prefix="after-").ids()
        time.sleep(1)
        more = R.Publisher(server.url, "trim", 5, prefix="more-").ids()
        for s in streams[a.name]:
            if s.pid == relay:
                assert take(s, 1, timeout=30) == [] and s.ended, f"{a.name}: a stream of the killed worker {relay} went on"
                s = R.open_stream(a, "trim", detach=s.detached, headers={"Last-Event-ID": before[-1]})
                resumed.append(s)
            events = take_until(s, more[-1])
            assert take(s, 1, timeout=0.3) == [], f"{a.name} worker {s.pid}: an event more"
            what = (f"{a.name} worker {s.pid} (detached {s.detached}; killed {relay}, relaying now {R.lock_pid(a)}): "
                    f"{[(e.type, e.data, e.id) for e in events]}")
            assert [(e.type, e.data) for e in events[:1]] == [("sse-reset", '{"reason":"history-lost"}')], what
            assert ids_of(events[1:]) == [i for i in after + more if position(i) > position(events[0].id)], what
            if s not in resumed:  # told of the gap before `more`: it gets those live
                assert set(more) <= set(ids_of(events)), what
        for s in streams[b.name]:
            events = take_all(s, len(after + more), timeout=30)
            assert ids_of(events) == after + more, f"{b.name} worker {s.pid}: {[(e.type, e.data) for e in events]}"
        assert_one_relay_per_machine(server, relayed)
    finally:
        close(streams[a.name] + streams[b.name] + resumed)


@pytest.mark.time_limit(150)
def test_a_gap_in_the_relay_log_reaches_every_stream_without_waiting_for_an_event(server, relayed):
    """The same stall, trim and kill with nothing published after: every stream of machine a
    (but the killed worker's) is told at once, with its `sse-reset`, not at the next event of
    its topics (which may be hours away while the page shows stale state)."""
    a, b = relayed
    streams = {m.name: spread(m, ["trim"]) for m in relayed}
    try:
        relay, before, lost = stall_trim_kill(server, a, b, streams)
        late, deadline = [], time.monotonic() + 15
        for s in streams[a.name]:
            if s.pid != relay:
                events = take(s, 1, timeout=max(0.01, deadline - time.monotonic()))
                if [(e.type, e.data) for e in events] != [("sse-reset", '{"reason":"history-lost"}')]:
                    late.append((s.pid, s.detached, [(e.type, e.data) for e in events]))
        assert not late, f"{a.name}: streams told nothing within 15 s of the gap (worker, detached, events): {late}"
    finally:
        close(streams[a.name] + streams[b.name])


def subscribe_cli(url, relay_dir, user=None):
    """A CLI php process (as `user`, umask 022 as usual) that subscribes a stream to the Redis
    broker `url` with `sse.relay_dir` = relay_dir: "subscribed", or the exception it got."""
    code = ("try { (new Sse\\SseEmitter())->subscribe('t', new Sse\\Broker($argv[1])); echo 'subscribed'; } "
            "catch (Throwable $e) { echo get_class($e), ': ', $e->getMessage(); }")
    out = subprocess.run(["php", "-n", "-d", f"extension={extension_path()}", "-d", f"sse.relay_dir={relay_dir}", "-r", code, "--", url],
                         capture_output=True, text=True, timeout=30, user=user, group=user, umask=0o022)
    return out.stdout.strip() or out.stderr.strip()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("php"), reason="needs root, to run a process as www-data")
def test_pools_of_two_users_sharing_the_relay_directory_group_both_subscribe(server):
    """The README's set-up for pools running as different users: the relay directory belongs
    to a group both users are in (here root's pool and www-data's; the directory made by the
    operator with that group, 02770). A stream subscribed by each: the second user's too."""
    try:
        pwd.getpwnam("www-data")
    except KeyError:
        pytest.skip("no www-data user")
    root = make_tmp("relay-shared")
    try:
        relay_dir = root / "relay"
        relay_dir.mkdir()
        shutil.chown(relay_dir, group="www-data")
        relay_dir.chmod(0o2770)
        assert subscribe_cli(server.url, relay_dir) == "subscribed"
        answer = subscribe_cli(server.url, relay_dir, user="www-data")
        modes = {p.name: oct(p.stat().st_mode & 0o777) for d in relay_dir.iterdir() for p in d.iterdir()}
        assert answer == "subscribed", f"as www-data: {answer}; modes in {relay_dir}/*: {modes}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.time_limit(150)
def test_with_the_relay_off_each_worker_with_streams_reads_redis_itself(server, direct):
    (machine,) = direct
    streams = spread(machine, ["direct", "direct,side"])
    try:
        published = []
        for topic, n in [("direct", 30), ("side", 10), ("direct", 30)]:
            published.append((topic, R.Publisher(server.url, topic, n, prefix=f"{topic}-").ids()))
        for s in streams:
            events = take_all(s, len(expected_for(s.topics, published)), timeout=30)
            assert ids_of(events) == expected_for(s.topics, published), f"worker {s.pid}: {[e.data for e in events]}"
        holding = sorted({s.pid for s in streams})

        def one_reader_per_worker():
            mine = R.relay_readers(server.port, machine)
            return {"relay": mine["relay"], "follow": sorted(mine["follow"])} == {"relay": [], "follow": holding}, mine
        ok, mine = R.wait_for(one_reader_per_worker, timeout=20)
        assert ok, f"expected an ext-sse-follow- reader for each of {holding}: {mine}\nCLIENT LIST:\n{R.brief(R.clients(server.port))}"
        # No relay directory was made, nor a lock taken in the default one, by this machine.
        if DEFAULT_RELAY_DIR.is_dir():
            for lock in DEFAULT_RELAY_DIR.glob("*/relay.lock"):
                text = lock.read_text(errors="replace").strip()
                assert not (text.isdigit() and int(text) in R.workers(machine)), f"{lock} names {text}, a worker of {machine.name}"
    finally:
        close(streams)
