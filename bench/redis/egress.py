#!/usr/bin/env python3
"""Redis egress per published event, against machines x php-fpm workers x the share of machines
whose streams want the topic, in one run: the layout before partitions (one stream, one reader
per worker: a build of an earlier commit, EGRESS_BEFORE_EXT), and this one with one reader per
worker (`sse.relay_dir` empty) and with one per machine (`sse.relay_dir` on, the default).

    bench/redis/build-before.sh   # builds the layout before into /tmp/ext-sse-bc6e822 (once)
    EGRESS_BEFORE_EXT=/tmp/ext-sse-bc6e822/target/release/libsse.so python3 bench/redis/egress.py
        # EGRESS_MACHINES=2,4 EGRESS_WORKERS=2,8 EGRESS_SHARES=1,0.5 EGRESS_EVENTS=300
        # EGRESS_GAP_US=5000 EGRESS_SIZE=200 EGRESS_SERVER=redis-server

Starts its own redis-server (EGRESS_SERVER: valkey-server works too) on a free loopback port, no
persistence. Then, for every count of machines (EGRESS_MACHINES) and of php-fpm workers per
machine (EGRESS_WORKERS) and share of interested machines (EGRESS_SHARES), in each layout: that
many "machines", each the stack tests' nginx + php-fpm (tests/stacks/harness, pm = static) with
`sse.broker` on that Redis and `sse.relay_dir` empty (off) or a directory of its own under
/dev/shm (on). The streams of the interested machines subscribe to the topic published, those of
the others to a topic of another partition. Every worker holds one attached stream (tests/stacks/www/relay/stream.php; each stream's `: pid` comment proves they
are on distinct workers), so every worker has a subscription. Warm-up events are published until
every stream has one; `CLIENT LIST` then counts the connections reading the log (`cmd=xread`).
Then `INFO stats commandstats`, EGRESS_EVENTS events of EGRESS_SIZE bytes of data published by a
CLI php process EGRESS_GAP_US apart (one Sse\\Broker, as a queue worker publishes), every
interested stream read until it has all of them (each must get every event once, in order; the
others none), and `INFO` again. Per published event:
- Redis egress: the delta of `total_net_output_bytes` (everything Redis wrote to every client:
  the readers' XREAD replies, the publisher's replies) less the first INFO reply itself;
- XREAD calls: the delta of `cmdstat_xread` calls;
- CPU: redis-server's, and all php-fpm workers' of all machines (schedstat, all threads).
A row with no machine (only the publisher) gives the floor: what Redis writes for a publish
itself. Writes bench/results/redis-egress.json and redis-egress.md and prints the table.
"""
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402
from harness import relay as R  # noqa: E402
from harness.broadcast import take  # noqa: E402

MACHINES = [int(x) for x in os.environ.get("EGRESS_MACHINES", "2,4").split(",")]
WORKERS = [int(x) for x in os.environ.get("EGRESS_WORKERS", "2,8").split(",")]
EVENTS = int(os.environ.get("EGRESS_EVENTS", 300))
GAP_US = int(os.environ.get("EGRESS_GAP_US", 5000))
SIZE = int(os.environ.get("EGRESS_SIZE", 200))
SERVER = os.environ.get("EGRESS_SERVER", "redis-server")
WWW = B.REPO / "tests/stacks/www"
SHARES = [float(x) for x in os.environ.get("EGRESS_SHARES", "1,0.5").split(",")]
BEFORE_EXT = os.environ.get("EGRESS_BEFORE_EXT", "")
TOPIC = "egress"
# A topic in another partition than TOPIC's (the streams of machines that do not want TOPIC).
OTHER = "elsewhere"
# The commit the layout before is built from (bench/redis/build-before.sh).
BEFORE_COMMIT = "bc6e822"
LAYOUTS = {"before": "one stream, a reader per worker", "off": "partitions, a reader per worker",
           "on": "partitions, a reader per machine"}


class Redis:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sse-bench-egress-"))
        self.port = B.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.service = B.Service(SERVER.removesuffix("-server"), [
            SERVER, "--bind", "127.0.0.1", "--port", self.port, "--save", "", "--appendonly", "no",
            "--dir", self.tmp, "--daemonize", "no"], self.tmp)
        self.service.start()
        B.wait_connectable(("127.0.0.1", self.port))

    def version(self):
        fields = R.info(self.port, "server")
        return f"{SERVER} {fields.get('valkey_version') or fields.get('redis_version')}"

    def stop(self):
        self.service.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def snapshot(port):
    """total_net_output_bytes, XREAD calls, and how many bytes this INFO's reply put on the
    wire (counted in the next snapshot's total)."""
    reply = R.call(port, "INFO", "stats", "commandstats")
    fields = {}
    for line in reply.decode(errors="replace").splitlines():
        if ":" in line and not line.startswith("#"):
            key, _, value = line.partition(":")
            fields[key] = value
    wire = len(reply) + len(f"${len(reply)}\r\n") + 2
    return int(fields["total_net_output_bytes"]), R.xread_calls(fields), wire


def cpu(pids):
    total = 0
    for pid in pids:
        try:
            total += B.cpu_ns(pid)
        except OSError:
            pass
    return total


def start_machines(redis, machines, workers, layout, shm):
    """`machines` stacks of `workers` workers in `layout` (the relay on: a dir of each one's own
    under `shm`)."""
    stacks = []
    try:
        for m in range(machines):
            relay_dir = shm / f"relay-{m}" if layout == "on" else ""
            stacks.append(B.Stack(f"egress-{layout}-{m}", workers=workers, www=WWW, ext=BEFORE_EXT if layout == "before" else None,
                                  ini={"sse.broker": redis.url, "sse.relay_dir": relay_dir}))
    except BaseException:
        for stack in stacks:
            stack.stop()
        raise
    return stacks


def run(redis, machines, workers, layout, share):
    """One row: `machines` x `workers` in `layout`, `share` of the machines wanting the topic
    (machines = 0: the publisher alone)."""
    shm = Path(tempfile.mkdtemp(prefix="sse-bench-egress-relay-", dir="/dev/shm"))
    stacks, wanting, others = [], [], []
    interested = max(1, round(machines * share)) if machines else 0
    saved = os.environ.get("SSE_EXT")
    try:
        stacks = start_machines(redis, machines, workers, layout, shm)
        if layout == "before":
            os.environ["SSE_EXT"] = BEFORE_EXT  # its publisher too
        for n, stack in enumerate(stacks):
            topic = TOPIC if n < interested else OTHER
            mine = [R.open_stream(stack.stack, topic, seconds=600, timeout=60) for _ in range(workers)]
            if len({s.pid for s in mine}) != workers:
                raise RuntimeError(f"{workers} streams on workers {sorted(s.pid for s in mine)}, not one each")
            (wanting if topic == TOPIC else others).extend(mine)
        warm = R.warm_up(redis.url, wanting, TOPIC) + (R.warm_up(redis.url, others, OTHER) if others else 0)
        time.sleep(0.5)
        readers = R.readers(redis.port)
        pids = [p for stack in stacks for p in stack.worker_pids()]
        redis_cpu0, fpm_cpu0 = cpu([redis.service.proc.pid]), cpu(pids)
        bytes0, xread0, info_wire = snapshot(redis.port)
        ids = R.Publisher(redis.url, TOPIC, EVENTS, gap=GAP_US / 1e6, prefix="e", size=SIZE).ids(timeout=EVENTS * GAP_US / 1e6 + 120)
        delivered = 0
        for s in wanting:
            events = [e for e in take(s, EVENTS, timeout=60) if e.data.startswith("x" * SIZE + "e")]
            if [e.id for e in events] != ids:
                raise RuntimeError(f"a stream on worker {s.pid} got {len(events)} of {EVENTS} events or another order")
            delivered += len(events)
        bytes1, xread1, _ = snapshot(redis.port)
        redis_cpu, fpm_cpu = cpu([redis.service.proc.pid]) - redis_cpu0, cpu(pids) - fpm_cpu0
        for s in others:
            if take(s, 1, timeout=0.05):
                raise RuntimeError(f"a stream of {OTHER} on worker {s.pid} got an event of {TOPIC}")
        return {
            "machines": machines, "workers": workers, "layout": layout, "relay": layout == "on", "share": share,
            "interested_machines": interested, "streams": len(wanting) + len(others), "wanting": len(wanting),
            "readers": len(readers), "reader_names": sorted(c.get("name", "") for c in readers),
            "events": EVENTS, "delivered": delivered, "expected": EVENTS * len(wanting),
            "egress_bytes_per_event": (bytes1 - bytes0 - info_wire) / EVENTS,
            "xread_calls_per_event": (xread1 - xread0) / EVENTS,
            "redis_cpu_us_per_event": redis_cpu / 1000 / EVENTS,
            "fpm_cpu_us_per_event": fpm_cpu / 1000 / EVENTS,
            "warm_up_publishes": warm,
        }
    finally:
        if saved is None:
            os.environ.pop("SSE_EXT", None)
        else:
            os.environ["SSE_EXT"] = saved
        for s in wanting + others:
            s.close()
        for stack in stacks:
            stack.stop()
        shutil.rmtree(shm, ignore_errors=True)


def report(res):
    rows = res["rows"]
    lines = ["## Redis egress", "",
             "What Redis sends per published event, against machines x php-fpm workers x the share of machines whose "
             "streams want the topic: the layout before partitions (one stream, every worker with a stream reads it: "
             f"a build of {res['before']}), and this one with a reader per worker (`sse.relay_dir =` empty) and with one "
             "per machine (`sse.relay_dir`, the default).", "",
             f"Machine: {res['machine']}; {res['server']}; load average {res['load']}.", "",
             f"Command: `{res['command']}`. Each machine is nginx + php-fpm (pm = static) on one Redis; every php-fpm "
             "worker holds one attached stream; the streams of the interested machines subscribe to the topic published, "
             "the others to a topic of another partition. "
             f"{EVENTS} events of {SIZE} bytes of data, published {GAP_US / 1000:g} ms apart by one CLI php process; "
             "figures per published event: Redis's `total_net_output_bytes` delta (all clients: readers and publisher), "
             "`cmdstat_xread` calls, and the CPU of redis-server and of all php-fpm workers of all machines. "
             "Readers: connections whose last command was XREAD, from `CLIENT LIST` before the events. "
             "Every interested stream got every event once, in order, and the others none, in every row measured.", "",
             "| machines | interested | workers per machine | layout | Redis readers | Redis egress per event | "
             "XREAD calls per event | redis-server CPU per event | php-fpm CPU per event |",
             "|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        layout = "—" if r["machines"] == 0 else LAYOUTS[r["layout"]]
        if "error" in r:
            lines.append(f"| {r['machines']} | | {r['workers']} | {layout} | not measured: {r['error']} | | | | |")
            continue
        lines.append(f"| {r['machines']} | {r['interested_machines']} | {r['workers']} | {layout} | {r['readers']} | "
                     f"{B.fmt(r['egress_bytes_per_event'])} B | {B.fmt(r['xread_calls_per_event'], 2)} | "
                     f"{B.fmt(r['redis_cpu_us_per_event'], 1)} µs | {B.fmt(r['fpm_cpu_us_per_event'], 1)} µs |")
    lines.append("")
    return "\n".join(lines)


def main():
    B.extension()  # the copy under bench/results, loaded by the stacks and the publisher
    os.environ["SSE_EXT"] = str(B.extension())
    redis = Redis()
    rows = []
    try:
        layouts = (["before"] if BEFORE_EXT else []) + ["off", "on"]
        configs = [(0, 0, "on", 1.0)] + [(m, w, layout, share) for m in MACHINES for share in SHARES for w in WORKERS
                                         for layout in layouts]
        for machines, workers, layout, share in configs:
            print(f"egress: {machines} machines ({share:g} interested) x {workers} workers, {layout}", file=sys.stderr, flush=True)
            try:
                row = run(redis, machines, workers, layout, share)
            except (RuntimeError, OSError, TimeoutError, AssertionError) as e:
                row = {"machines": machines, "workers": workers, "layout": layout, "share": share,
                       "error": str(e).splitlines()[0] if str(e) else repr(e)}
                print(f"egress: FAILED: {row['error']}", file=sys.stderr, flush=True)
            rows.append(row)
        server = redis.version()
    finally:
        redis.stop()
    res = {"machine": B.machine(), "load": B.load(), "server": server, "before": BEFORE_COMMIT,
           "command": B.command("bench/redis/egress.py", "EGRESS_"),
           "events": EVENTS, "gap_us": GAP_US, "size": SIZE, "rows": rows}
    B.save("redis-egress", res)
    B.write_section("redis-egress", report(res))
    if any("error" in r for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
