#!/usr/bin/env python3
"""How the Redis broker's work falls on a cluster's masters: one log (every key in the slot of
`{sse}`) against one log per master (`?log=<name>`, names picked by the slot of their hash tag
`{sse.<name>}`), in one run.

    python3 bench/redis/spread.py   # SPREAD_EVENTS=1000 SPREAD_GAP_US=2000 SPREAD_SIZE=200
                                    # SPREAD_MACHINES=4 SPREAD_SERVER=redis-server

A Redis Cluster of 3 masters (the stack tests' `start_cluster()`, no persistence) and
SPREAD_MACHINES "machines", each the stack tests' nginx + php-fpm (pm = static, 3 workers) with
its own `sse.relay_dir` (one Redis reader per machine and log). Three topics, `t0` to `t2`; in
the layout "one log" all three are in the default log, in "a log per master" topic `ti` is in
log i (on master i). Every machine holds one attached stream per topic
(tests/stacks/www/broadcast/subscribe.php with `?broker=`); warm-up events are published until
every stream has one. Then three CLI php publishers (one per topic, each with its own
`Sse\\Broker` of that topic's log) publish SPREAD_EVENTS events of SPREAD_SIZE bytes each,
SPREAD_GAP_US apart, together, and every stream is read until it has all of its topic's events
(once each, in order). Per master, over that window (`INFO` before and after): redis-server CPU
(`used_cpu_sys` + `used_cpu_user`), bytes sent (`total_net_output_bytes`, less the INFO replies
themselves) and commands (`total_commands_processed`, and the most called of `INFO
commandstats`), each per published event (3 x SPREAD_EVENTS); and how many connections read the log there (`CLIENT LIST`: named by the
extension as a reader, or last command XREAD). Writes bench/results/redis-spread.json and .md
and prints the table.
"""
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402
from harness import client  # noqa: E402
from harness import redis as redis_harness  # noqa: E402
from harness import relay as R  # noqa: E402
from harness.broadcast import take, wait_subscribed  # noqa: E402

EVENTS = int(os.environ.get("SPREAD_EVENTS", 1000))
GAP_US = int(os.environ.get("SPREAD_GAP_US", 2000))
SIZE = int(os.environ.get("SPREAD_SIZE", 200))
MACHINES = int(os.environ.get("SPREAD_MACHINES", 4))
SERVER = os.environ.get("SPREAD_SERVER", "redis-server")
WWW = B.REPO / "tests/stacks/www"
TOPICS = ["t0", "t1", "t2"]
LAYOUTS = {"one": "one log", "per-master": "a log per master"}


def counters(port):
    """CPU seconds, bytes sent, commands processed, each command's calls, and the bytes of
    these INFO replies (which the next bytes-sent figure counts)."""
    fields = R.info(port, "cpu", "stats", "commandstats")
    cpu = float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"])
    calls = {k.removeprefix("cmdstat_"): int(v.split("calls=")[1].split(",")[0]) for k, v in fields.items() if k.startswith("cmdstat_")}
    return cpu, int(fields["total_net_output_bytes"]), int(fields["total_commands_processed"]), calls, fields["_reply_bytes"]


def open_stream(stack, topic, broker):
    query = urllib.parse.urlencode({"topics": topic, "seconds": 600, "broker": broker})
    s = client.Stream(stack, f"broadcast/subscribe.php?{query}", None, timeout=630)
    assert s.status == 200, s.body
    wait_subscribed(s, timeout=30)
    return s


def run(cluster, layout):
    logs = cluster.log_per_master(f"spread-{os.getpid()}-")
    masters = sorted(logs)
    urls = {topic: cluster.url + (f"?log={logs[masters[i]]}" if layout == "per-master" else "") for i, topic in enumerate(TOPICS)}
    shm = Path(tempfile.mkdtemp(prefix="sse-bench-spread-", dir="/dev/shm"))
    stacks, streams = [], []
    try:
        for m in range(MACHINES):
            stacks.append(B.Stack(f"spread-{layout}-{m}", workers=len(TOPICS), www=WWW,
                                  ini={"sse.broker": cluster.url, "sse.relay_dir": shm / f"relay-{m}"}))
            for topic in TOPICS:
                s = open_stream(stacks[-1].stack, topic, urls[topic])
                s.topic = topic
                streams.append(s)
        for topic, url in urls.items():
            R.warm_up(url, [s for s in streams if s.topic == topic], topic)
        time.sleep(0.5)
        readers = {port: len(R.readers(port)) for port in masters}
        before = {port: counters(port) for port in masters}
        publishers = {topic: R.Publisher(urls[topic], topic, EVENTS, gap=GAP_US / 1e6, prefix="e", size=SIZE) for topic in TOPICS}
        ids = {topic: p.ids(timeout=EVENTS * GAP_US / 1e6 + 120) for topic, p in publishers.items()}
        for s in streams:
            events = [e for e in take(s, EVENTS, timeout=60) if e.data.startswith("x" * SIZE + "e")]
            if [e.id for e in events] != ids[s.topic]:
                raise RuntimeError(f"a stream of {s.topic} got {len(events)} of {EVENTS} events or another order")
        after = {port: counters(port) for port in masters}
        published = EVENTS * len(TOPICS)
        default_master = cluster.master_of_slot(cluster.keyslot("{sse}:epoch"))
        per_master = []
        for i, port in enumerate(masters):
            (cpu0, out0, cmd0, calls0, _), (cpu1, out1, cmd1, calls1, info_bytes) = before[port], after[port]
            calls = {name: n - calls0.get(name, 0) for name, n in calls1.items() if n > calls0.get(name, 0) and name != "info"}
            per_master.append({
                "master": i + 1, "port": port, "log": logs[port] if layout == "per-master" else ("sse" if port == default_master else ""),
                "readers": readers[port],
                "cpu_us_per_event": (cpu1 - cpu0) * 1e6 / published,
                "bytes_per_event": (out1 - out0 - info_bytes) / published,
                "commands_per_event": (cmd1 - cmd0 - 3) / published,
                "calls_per_event": {name: n / published for name, n in sorted(calls.items(), key=lambda c: -c[1])},
            })
        return {"layout": layout, "events": published, "delivered": published * MACHINES, "masters": per_master}
    finally:
        for s in streams:
            s.close()
        for stack in stacks:
            stack.stop()
        shutil.rmtree(shm, ignore_errors=True)


def report(res):
    lines = ["## Redis on a cluster: logs spread over the masters", "",
             "Where the Redis broker's work falls on a 3-master Redis Cluster: one log (every key in the slot of `{sse}`, one "
             "master) against one log per master (`?log=<name>`, each log's hash tag `{sse.<name>}` in a slot of that master).", "",
             f"Machine: {res['machine']}; {res['server']}; load average {res['load']}.", "",
             f"Command: `{res['command']}`. {MACHINES} machines (nginx + php-fpm, each with its own `sse.relay_dir`), each holding "
             f"one attached stream of each of three topics; three CLI php publishers, one per topic (in the second layout each on "
             f"its topic's log), {EVENTS} events each of {SIZE} bytes of data, {GAP_US / 1000:g} ms apart, together. Per master and "
             "per published event: redis-server CPU, bytes sent (`total_net_output_bytes`), commands processed (those the publish "
             "script runs included: `INFO commandstats` counts them) and the most called; readers: the "
             "connections reading the log there. Every stream got every event of its topic once, in order, in both layouts.", ""]
    for row in res["rows"]:
        lines += [f"**{LAYOUTS[row['layout']]}**" + (f": not measured: {row['error']}" if "error" in row else ""), ""]
        if "error" in row:
            continue
        lines += ["| master | log | readers | CPU per event | bytes sent per event | commands per event | of which |",
                  "|---:|---|---:|---:|---:|---:|---|"]
        for m in row["masters"]:
            log = f"`{m['log']}`" if m["log"] else "—"
            top = ", ".join(f"{name} {n:.2f}" for name, n in list(m["calls_per_event"].items())[:4] if n >= 0.01)
            lines.append(f"| {m['master']} | {log} | {m['readers']} | {B.fmt(m['cpu_us_per_event'], 1)} µs | "
                         f"{B.fmt(m['bytes_per_event'])} B | {B.fmt(m['commands_per_event'], 2)} | {top} |")
        lines.append("")
    return "\n".join(lines)


def main():
    os.environ["SSE_EXT"] = str(B.extension())
    cluster = redis_harness.start_cluster(SERVER)
    rows = []
    try:
        for layout in LAYOUTS:
            print(f"spread: {LAYOUTS[layout]}", file=sys.stderr, flush=True)
            try:
                rows.append(run(cluster, layout))
            except (RuntimeError, OSError, TimeoutError, AssertionError) as e:
                rows.append({"layout": layout, "error": str(e).splitlines()[0] if str(e) else repr(e)})
                print(f"spread: FAILED: {rows[-1]['error']}", file=sys.stderr, flush=True)
        fields = R.info(cluster.nodes[0].port, "server")
        server = f"{SERVER} {fields.get('valkey_version') or fields.get('redis_version')}, 3 masters"
    finally:
        cluster.remove()
    res = {"machine": B.machine(), "load": B.load(), "server": server, "command": B.command("bench/redis/spread.py", "SPREAD_"),
           "rows": rows}
    B.save("redis-spread", res)
    B.write_section("redis-spread", report(res))
    if any("error" in r for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
