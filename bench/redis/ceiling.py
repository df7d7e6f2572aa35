#!/usr/bin/env python3
"""The Redis broker's publish ceiling: 4 machines, 1,000 detached streams, one Redis.

    python3 bench/redis/ceiling.py   # CEILING_BROKERS=redis,cluster CEILING_RATES=100,500,1000,2000
                                     # CEILING_SECONDS=8 CEILING_PUBLISHERS=4 CEILING_STREAMS=1000
                                     # CEILING_P99_MS=1000 CEILING_BISECT=3 CEILING_ROUNDS=2
                                     # CEILING_PRIO=-10 CEILING_DRAIN_S=10

Four "machines" on this one machine: 4 independent nginx (1 worker) + php-fpm (pm = static,
4 workers) stacks of the benchmarks' harness, each on its own port, each php-fpm started with
its own `sse.relay_dir` (`-d sse.relay_dir=<the stack's temp dir>/relay`), so that each machine
elects its own Redis reader, as 4 real machines would; all 4 on one Redis: (1) one redis-server
node, (2) a Redis Cluster of 3 masters (the harness's `start_cluster()`, URL
`redis-cluster://`), both without persistence. The streams are bench/broadcast/www/broker.php
with `?detach=1`: `subscribe('bench', new Sse\\Broker(URL))` then `detach()`, all on the one
topic `bench` (every event goes to every stream: 1,000 deliveries per event); 250 per machine,
held by one bench/lib/client process per machine (native, one thread, epoll), run at normal
priority so that it keeps reading when the machine is saturated (at SCHED_IDLE it would read only
when a CPU is idle, which near the ceiling none is). Redis and the publishers run at
`nice -n CEILING_PRIO` (-10): they stand for other machines and take little CPU, and so the rate
offered is the target rather than what the publishers get of a saturated machine.

One step = one target rate R: the clients open their streams; warm-up events are published
until every stream has one (the subscriptions are in place); then CEILING_PUBLISHERS PHP CLI
processes (bench/redis/publish.php, `Sse\\Broker::publish()`) publish R events/s together for
CEILING_SECONDS s, each on its own schedule of R / P events/s, sharing one sequence. Each event's
data is `PREFIX SEQ MICROS`, MICROS the publisher's CLOCK_REALTIME just before the call; the
client stamps the read that completed it with the kernel's receive time (SO_TIMESTAMPNS, the same
clock on the same machine). Once every publisher's last event has reached every stream (or
CEILING_DRAIN_S after publishing ended) and then nothing more arrives (at most 3 s), every stream's sequence
numbers are checked against those published (lost: missing; dup: received more than once; the
first faulty streams are kept in the JSON) and latency is taken over every delivery (10 µs
buckets), overall and per second of publishing. Also per step: the rate reached (events over the first-to-last publish span),
the publish call's p50/p99, Redis CPU (`INFO cpu` used_cpu_sys + used_cpu_user, summed over the
nodes) and bytes sent (`INFO stats` total_net_output_bytes) per event, and what each group of
processes took of the 2 CPUs (schedstat of every thread; the publishers' getrusage()); the JSON
adds each Redis command's calls and µs (`INFO commandstats`).

The ceiling: the fixed rates CEILING_RATES first, then the target doubles while a step passes
(every stream got every event once, no stream closed, no `sse-reset`, p99 under CEILING_P99_MS),
then CEILING_BISECT steps of bisection between the highest passing and the lowest failing
target (to 100 events/s). The ceiling is the highest rate reached by a passing step. When the
publishers cannot reach the target (reached < 90 %), the search stops there: they are the limit.
The whole search runs CEILING_ROUNDS times, the brokers taking turns, each time on a new Redis and
new stacks: the machine is shared with other work, which moves a round's ceiling.

Everything (servers, Redis, publishers, clients) shares this machine's 2 CPUs.
Writes bench/results/redis-ceiling.json and .md and prints the markdown.
"""
import collections
import json
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402
from harness import redis as redis_harness  # noqa: E402

HERE = Path(__file__).resolve().parent
WWW = B.BENCH / "broadcast/www"
BROKERS = os.environ.get("CEILING_BROKERS", "redis,cluster").split(",")
RATES = [int(r) for r in os.environ.get("CEILING_RATES", "100,500,1000,2000").split(",")]
SECONDS = float(os.environ.get("CEILING_SECONDS", 8))
PUBLISHERS = int(os.environ.get("CEILING_PUBLISHERS", 4))
STREAMS = int(os.environ.get("CEILING_STREAMS", 1000))
P99_LIMIT_US = float(os.environ.get("CEILING_P99_MS", 1000)) * 1000
BISECT = int(os.environ.get("CEILING_BISECT", 3))
ROUNDS = int(os.environ.get("CEILING_ROUNDS", 2))
PRIO = int(os.environ.get("CEILING_PRIO", -10))  # Redis and the publishers: they stand for other machines
MACHINES = 4
WORKERS = 4
TOPIC = "bench"
DRAIN_S = float(os.environ.get("CEILING_DRAIN_S", 10))
BUCKET_NS = 10_000
LABEL = {"redis": "one redis-server (`redis://`)", "cluster": "Redis Cluster, 3 masters (`redis-cluster://`)"}


# ---------------------------------------------------------------- Redis

def start_redis(kind):
    """(server, url, nodes): one node, or a cluster of 3 masters; no persistence."""
    if kind == "redis":
        server = redis_harness.Redis()
        server.extra = ["--appendonly", "no"]  # later options win over the harness's AOF
        server.start()
        nodes = [server]
    else:
        server = redis_harness.start_cluster()
        nodes = server.nodes
    for node in nodes:
        os.setpriority(os.PRIO_PROCESS, node.service.proc.pid, PRIO)
    return server, server.url, nodes


def info(node, section):
    """One INFO section of one node as a dict."""
    reply = redis_harness.command(node.port, "INFO", section)
    head, _, body = reply.partition(b"\r\n")
    size = int(head[1:])
    if len(body) < size:
        raise RuntimeError(f"INFO {section}: short reply from {node.port}")
    return dict(line.split(":", 1) for line in body[:size].decode().splitlines() if ":" in line)


def redis_counters(nodes):
    """Per node: CPU seconds (sys + user), bytes sent and the commands' calls and µs so far."""
    out = []
    for node in nodes:
        cpu, stats = info(node, "cpu"), info(node, "stats")
        commands = {}
        for name, value in info(node, "commandstats").items():
            fields = dict(f.split("=", 1) for f in value.split(","))
            commands[name.removeprefix("cmdstat_")] = [int(fields["calls"]), int(fields["usec"])]
        out.append({"port": node.port, "cpu_s": float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
                    "out_bytes": int(stats["total_net_output_bytes"]), "commands": commands})
    return out


def commands_delta(before, after):
    """Calls and µs of each command over a step, all nodes, busiest first."""
    total = collections.defaultdict(lambda: [0, 0])
    for a, b in zip(before, after):
        for name, (calls, usec) in b["commands"].items():
            c0, u0 = a["commands"].get(name, [0, 0])
            total[name][0] += calls - c0
            total[name][1] += usec - u0
    return {k: v for k, v in sorted(total.items(), key=lambda kv: -kv[1][1]) if v[0]}


def redis_readers(nodes):
    """The connections blocked in XREAD (the machines' readers) and the extension's named
    connections by kind (ext-sse-relay, ...), over all nodes."""
    readers, named = 0, collections.Counter()
    for node in nodes:
        for line in redis_harness.command(node.port, "CLIENT", "LIST").decode(errors="replace").splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            readers += fields.get("cmd") == "xread"
            if fields.get("name", "").startswith("ext-sse-"):
                named[fields["name"].rsplit("-", 1)[0]] += 1
    return {"xread": readers, **named}


# ---------------------------------------------------------------- machines

def own_relay_dir(argv):
    """php-fpm with `sse.relay_dir` in its own temp dir (that of its php.ini): one relay per machine."""
    argv = [str(a) for a in argv]
    if Path(argv[0]).name.startswith("php-fpm"):
        argv += ["-d", f"sse.relay_dir={Path(argv[argv.index('-c') + 1]).parent / 'relay'}"]
    return argv


def start_machines(kind):
    machines = []
    try:
        for m in range(MACHINES):
            machines.append(B.Stack(f"ceiling-{kind}-{m}", workers=WORKERS, www=WWW, wrap=own_relay_dir,
                                    read_timeout=600))
        return machines
    except BaseException:
        for st in machines:
            st.stop()
        raise


def group_cpu_ns(machines, nodes, clients):
    def total(pids):
        return sum(B.cpu_ns(p) for p in pids if Path(f"/proc/{p}").exists())
    return {
        "nginx": total([p for st in machines for p in [st.nginx.proc.pid, *B.children(st.nginx.proc.pid)]]),
        "php-fpm": total([p for st in machines for p in [st.fpm.proc.pid, *st.worker_pids()]]),
        "redis-server": total([n.service.proc.pid for n in nodes]),
        "clients": total([c.proc.pid for c in clients]),
    }


def machine_busy():
    """(busy, total) jiffies of all CPUs (/proc/stat; busy: user, nice, system, irq, softirq, steal)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return sum(f) - f[3] - f[4], sum(f)


# ---------------------------------------------------------------- one step

def php(*args):
    return ["nice", "-n", str(PRIO), "php", "-n", "-d", f"extension={B.extension()}", HERE / "publish.php",
            *[str(a) for a in args]]


def publish_once(url, prefix, seq):
    out = subprocess.run(php(url, TOPIC, prefix, seq, 1, 1, 1, 0), capture_output=True, text=True, timeout=30)
    if out.returncode:
        raise RuntimeError(f"publish failed: {out.stdout[-500:]} {out.stderr[-500:]}")


def open_clients(machines, url):
    path = "/broker.php?" + urllib.parse.urlencode({"url": url, "topic": TOPIC, "detach": 1, "d": 900})
    per = STREAMS // MACHINES
    clients = [B.NativeClient(st.port, path, per, prefix=(), ramp=200) for st in machines]
    ready = [c.line(timeout=120) for c in clients]
    return clients, ready


def seen(clients, prefix, seq=""):
    return [c.ask(f"seen {prefix} {seq}".strip())["seen"] for c in clients]


def step(n, rate, env):
    """One target rate: the streams opened, warmed up, R events/s for SECONDS, every delivery checked."""
    machines, url, nodes = env["machines"], env["url"], env["nodes"]
    per = STREAMS // MACHINES
    res = {"step": n, "target": rate, "load_before": B.load()}
    clients, res["ready"] = open_clients(machines, url)
    try:
        warm, t_end = f"w{n}", time.monotonic() + 20
        for i in range(200):
            publish_once(url, warm, i)
            time.sleep(0.1)
            if seen(clients, warm) == [per] * MACHINES or time.monotonic() > t_end:
                break
        res["warm_events"] = i + 1
        res["warm_seen"] = seen(clients, warm)
        res["redis_readers"] = redis_readers(nodes)

        prefix = f"s{n}"
        count = max(1, round(rate * SECONDS))
        share = [len(range(p, count, PUBLISHERS)) for p in range(PUBLISHERS)]
        start_us = time.time_ns() // 1000 + 500_000  # every publisher started and connected by then
        procs = [subprocess.Popen(php(url, TOPIC, prefix, p, PUBLISHERS, share[p], rate / PUBLISHERS, start_us),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for p in range(PUBLISHERS) if share[p]]
        time.sleep(max(0.0, (start_us - time.time_ns() // 1000) / 1e6 - 0.02))
        counters0, cpu0, busy0 = redis_counters(nodes), group_cpu_ns(machines, nodes, clients), machine_busy()
        t0 = time.monotonic()
        pubs = []
        for proc in procs:
            out, err = proc.communicate(timeout=SECONDS * 20 + 60)
            if proc.returncode:
                raise RuntimeError(f"publisher failed: {out[-500:]} {err[-500:]}")
            pubs.append(json.loads(out))
        t_published = time.monotonic()
        lasts = [p + (share[p] - 1) * PUBLISHERS for p in range(PUBLISHERS) if share[p]]
        while lasts and time.monotonic() < t_published + DRAIN_S:
            if seen(clients, prefix, lasts[-1]) == [per] * MACHINES:
                lasts.pop()  # every stream has this publisher's last event
            else:
                time.sleep(0.2)
        res["drain_s"] = time.monotonic() - t_published
        wall = time.monotonic() - t0
        counters1, cpu1, busy1 = redis_counters(nodes), group_cpu_ns(machines, nodes, clients), machine_busy()
        size, settled = None, time.monotonic() + 3
        while time.monotonic() < settled:  # until nothing more arrives (anything delivered twice)
            now = sum(c.ask("stats")["bytes"] for c in clients)
            if now == size:
                break
            size = now
            time.sleep(0.3)

        failed = {s for p in pubs for s in p["failed"]}
        published = sum(p["events"] for p in pubs)
        span_s = (max(p["last_us"] for p in pubs) - min(p["first_us"] for p in pubs)) / 1e6
        res.update({
            "published": published, "publish_failed": len(failed), "span_s": span_s,
            "reached": (published - 1) / span_s if span_s > 0 else float("nan"),
            "call_p50_us": B.median([p["call_p50_us"] for p in pubs]),
            "call_p99_us": max(p["call_p99_us"] for p in pubs),
            "late_max_ms": max(p["late_max_us"] for p in pubs) / 1000, "wall_s": wall,
        })
        res["redis_nodes"] = [{"port": a["port"], "cpu_s": b["cpu_s"] - a["cpu_s"], "out_bytes": b["out_bytes"] - a["out_bytes"]}
                              for a, b in zip(counters0, counters1)]
        res["redis_commands"] = commands_delta(counters0, counters1)
        res["redis_cpu_us_per_event"] = sum(x["cpu_s"] for x in res["redis_nodes"]) * 1e6 / published
        res["redis_bytes_per_event"] = sum(x["out_bytes"] for x in res["redis_nodes"]) / published
        cores = {k: (cpu1[k] - cpu0[k]) / 1e9 / wall for k in cpu0}
        cores["publishers"] = sum(p["cpu_s"] for p in pubs) / wall
        cores["other"] = max(0.0, (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * os.cpu_count() - sum(cores.values()))
        res["cores"] = cores
        res["machine_busy"] = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])

        stats = [c.ask("stats") for c in clients]
        res["open_after"] = sum(s["open"] for s in stats)
        res["closed"] = sum(s["closed_after_open"] for s in stats)
        res["resets"] = sum(s["other_events"] for s in stats)
        res.update(check(clients, prefix, count, failed, rate))
    finally:
        for c in clients:
            c.quit()
    failed_on = {"lost": res["lost"], "dup": res["dup"], "closed": res["closed"], "sse-reset": res["resets"],
                 "publish failed": res["publish_failed"], "not open": STREAMS - res["open_after"],
                 "p99": not res["p99_us"] < P99_LIMIT_US}
    res["failed_on"] = [k for k, v in failed_on.items() if v]
    res["ok"] = not res["failed_on"]
    print(json.dumps({k: v for k, v in res.items() if k not in ("redis_nodes", "per_second_p50_p99_us", "ready", "redis_commands")}),
          flush=True)
    time.sleep(1)  # the streams of this step end in the workers before the next opens its own
    return res


def check(clients, prefix, count, failed, rate):
    """Every stream's sequence numbers against those published; latency over every delivery, and
    per second of the publishing (an event's second: its sequence number over the rate)."""
    expected = set(range(count)) - failed
    lost = dup = deliveries = incomplete = 0
    by_second = collections.Counter()  # (second, bucket) -> deliveries
    faults = []  # the first streams that lost or repeated something, and where
    for ci, c in enumerate(clients):
        streams = c.ask(f"tagged {prefix}", timeout=600)["streams"]
        for si, got in enumerate(streams):
            seqs = [e[0] for e in got]
            uniq = set(seqs)
            dup += len(seqs) - len(uniq)
            missing = len(expected - uniq)
            lost += missing
            incomplete += missing > 0
            if (missing or len(seqs) > len(uniq)) and len(faults) < 10:
                gone = sorted(expected - uniq)[:10]
                faults.append({"client": ci, "stream": si, "received": len(seqs), "missing": gone,
                               "twice": sorted(k for k, n in collections.Counter(seqs).items() if n > 1)[:10],
                               "around_first_missing": [e[:2] for e in got if gone and abs(e[0] - gone[0]) <= 2 * PUBLISHERS],
                               "last_received": [e[:2] for e in got[-3:]]})
            deliveries += len(seqs)
            by_second.update((int(e[0] // rate), max(0, e[1]) // BUCKET_NS) for e in got)
        del streams
    hist, seconds = collections.Counter(), collections.defaultdict(collections.Counter)
    for (sec, bucket), n in by_second.items():
        hist[bucket] += n
        seconds[sec][bucket] += n
    per_second = [[sec, hist_pct(seconds[sec], 50), hist_pct(seconds[sec], 99)] for sec in sorted(seconds)]
    return {"expected": len(expected) * STREAMS, "deliveries": deliveries, "lost": lost, "dup": dup,
            "streams_incomplete": incomplete, "faults": faults, "p50_us": hist_pct(hist, 50), "p99_us": hist_pct(hist, 99),
            "max_us": hist_pct(hist, 100), "p99_last_second_us": per_second[-1][2] if per_second else float("nan"),
            "per_second_p50_p99_us": per_second}


def hist_pct(hist, p):
    """The p-th percentile (nearest rank) of a histogram of BUCKET_NS buckets, in µs (the bucket's top)."""
    total = sum(hist.values())
    if not total:
        return float("nan")
    rank, acc = max(1, -(-total * p // 100)), 0
    for bucket in sorted(hist):
        acc += hist[bucket]
        if acc >= rank:
            return (bucket + 1) * BUCKET_NS / 1000
    return float("nan")


# ---------------------------------------------------------------- the search

def search(kind):
    b0 = machine_busy()
    time.sleep(5)
    b1 = machine_busy()
    out = {"kind": kind, "steps": [], "background_cores": (b1[0] - b0[0]) / max(1, b1[1] - b0[1]) * os.cpu_count(),
           "load_before": B.load()}
    server, url, nodes = start_redis(kind)
    out["url"] = url
    machines = []
    try:
        machines = start_machines(kind)
        env = {"machines": machines, "url": url, "nodes": nodes}
        steps = out["steps"]

        def run(rate):
            steps.append(step(len(steps) + 1, rate, env))
            return steps[-1]

        lo = hi = None
        for rate in RATES:
            s = run(rate)
            if s["ok"]:
                lo = rate if hi is None else lo
            else:
                hi = rate if hi is None else hi
        stop = None
        while hi is None and lo is not None and len(steps) < len(RATES) + 4:
            s = run(lo * 2)
            if not s["ok"]:
                hi = lo * 2
            elif s["reached"] < 0.9 * s["target"]:
                stop = "the publishers reached no more"
                break
            else:
                lo *= 2
        for _ in range(BISECT if stop is None else 0):
            if lo is None or hi is None or hi - lo <= 100:
                break
            mid = int(round((lo + hi) / 2 / 100) * 100)
            s = run(mid)
            if s["ok"]:
                if s["reached"] < 0.9 * s["target"]:
                    stop = "the publishers reached no more"
                    break
                lo = mid
            else:
                hi = mid
        passing = [s for s in steps if s["ok"]]
        out["ceiling"] = max((s["reached"] for s in passing), default=None)
        out["lowest_failing_target"] = hi
        out["stopped"] = stop
        out["relay_dirs"] = [sorted(p.name for p in (st.tmp / "relay").iterdir()) if (st.tmp / "relay").exists() else []
                             for st in machines]
        out["errors"] = "\n".join(e for e in (st.errors() for st in machines) if e)
    finally:
        for st in machines:
            st.stop()
        server.remove()
    return out


# ---------------------------------------------------------------- report

def ms(us):
    return f"{us / 1000:.2f}" if us < 100_000 else f"{us / 1000:.0f}"


def section(res):
    def one(seen):
        d = json.loads(seen)
        named = ", ".join(f"{n} named {k}-<pid>" for k, n in d.items() if k != "xread")
        return f"{d['xread']}" + (f" ({named})" if named else "")
    readers = "; ".join(f"{LABEL[k]}: " + " or ".join(one(x) for x in v) for k, v in res["readers_seen"].items())
    lines = [
        "## Redis broker: publish ceiling (4 machines, 1,000 detached streams)", "",
        f"Machine: {res['machine']}; load average at start {res['load']}. redis-server {res['redis_version']}.", "",
        f"Command: `{res['command']}` ({res['minutes']:.1f} minutes). Everything runs on this one machine and "
        "**shares its 2 CPUs**: the 4 stacks, Redis, the publishers and the clients, so the ceiling is that of the "
        "whole set-up on 2 cores, not of Redis or of one machine's stack (the `cores` columns show who took them).", "",
        f"Four \"machines\": 4 nginx (1 worker) + php-fpm (pm = static, {WORKERS} workers) stacks on their own ports, "
        "each php-fpm with its own `sse.relay_dir` (in its temp dir), so each elects one Redis reader "
        f"(Redis connections blocked in `XREAD` while the streams were open: {readers}). {STREAMS:,} streams, "
        f"{STREAMS // MACHINES} per machine, all subscribed to one topic "
        "`bench` (bench/broadcast/www/broker.php with `?detach=1`: every event goes to every stream), held by one "
        "bench/lib/client process per machine (native, one thread, epoll) at normal priority, like the stacks; "
        f"Redis and the publishers at `nice -n {PRIO}` (they stand for other machines and take little CPU: the "
        "rate offered is the target, not what publishers get of a saturated machine). "
        f"Per step, {PUBLISHERS} PHP CLI publishers (bench/redis/publish.php, `Sse\\Broker::publish()`) publish "
        f"the target rate together for {SECONDS:g} s on a fixed schedule; each event's data carries the "
        "publisher's CLOCK_REALTIME just before the call, the client the kernel's receive time of the read that "
        "completed it (`SO_TIMESTAMPNS`), the same clock. Latency is over every delivery (event x stream, 10 µs "
        "buckets); every stream's sequence numbers are checked against those published (lost, dup). "
        "Redis without persistence; the cluster is 3 masters (`start_cluster()`), with every key in the slot "
        "of `{sse}`, so one master holds the log.", "",
        f"A step passes when every stream got every event once, no stream was closed, no `sse-reset`, and p99 < "
        f"{P99_LIMIT_US / 1e6:g} s. Search: the fixed rates {', '.join(map(str, RATES))} events/s, then the target "
        f"doubled while steps passed, then up to {BISECT} bisection steps (to 100 events/s) between the highest "
        f"passing and the lowest failing target; {ROUNDS} rounds, the brokers taking turns (new Redis and stacks "
        "each time), since the machine is shared. Reached: events over the first-to-last publish span. "
        "Redis CPU: `INFO cpu` used_cpu_sys + used_cpu_user, bytes: `INFO stats` total_net_output_bytes, both "
        "summed over the nodes, from just before publishing to the last delivery, per event published. Cores: CPU "
        "of each group (all threads' schedstat; publishers' getrusage) over that window divided by its length "
        "(2.00 = both CPUs); other processes: the machine's busy time (/proc/stat) less those groups (this machine is "
        "shared with other work: the load average is in the JSON per step).", "",
        "| broker | ceiling per round (events/s) | lowest failing target per round |",
        "|---|---|---|",
    ]
    for kind in res["brokers"]:
        rounds = res[kind]["rounds"]
        lines.append(f"| {LABEL[kind]} | " + ", ".join(f"{r['ceiling']:,.0f}" if r["ceiling"] else "none" for r in rounds)
                     + " | " + ", ".join(f"{r['lowest_failing_target']:,}" if r["lowest_failing_target"] else "none"
                                          for r in rounds) + " |")
    lines.append("")
    for kind in res["brokers"]:
        for i, r in enumerate(res[kind]["rounds"]):
            lines += round_table(kind, i + 1, r)
    return "\n".join(lines)


def round_table(kind, number, r):
    lines = [f"### {LABEL[kind]}, round {number}", "",
             f"Before the stacks started: load average {r['load_before']}, the machine busy with other work "
             f"for {r['background_cores']:.2f} of its 2 cores (/proc/stat over 5 s).", "",
             "| step | target ev/s | reached ev/s | deliveries / expected | lost | dup | p50 | p99 | p99 last 1 s | max "
             "| publish call p50 / p99 | Redis CPU / event | Redis bytes / event | cores: nginx, fpm, redis, publishers, "
             "clients, other processes | pass |",
             "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|"]
    for s in r["steps"]:
        c = s["cores"]
        lines.append(
            f"| {s['step']} | {s['target']:,} | {s['reached']:,.0f} | {s['deliveries']:,} / {s['expected']:,} | "
            f"{s['lost']:,} | {s['dup']:,} | {ms(s['p50_us'])} ms | {ms(s['p99_us'])} ms | "
            f"{ms(s['p99_last_second_us'])} ms | {ms(s['max_us'])} ms | {s['call_p50_us']:.0f} / {s['call_p99_us']:.0f} µs | "
            f"{s['redis_cpu_us_per_event']:.1f} µs | {s['redis_bytes_per_event']:,.0f} B | "
            f"{c['nginx']:.2f}, {c['php-fpm']:.2f}, {c['redis-server']:.2f}, {c['publishers']:.2f}, {c['clients']:.2f}, "
            f"{c['other']:.2f} | {'yes' if s['ok'] else '**no** (' + ', '.join(s['failed_on']) + ')'} |")
    ceiling = f"**{r['ceiling']:,.0f} events/s**" if r["ceiling"] else "below the lowest rate tried"
    why = f" ({r['stopped']})" if r.get("stopped") else (
        f"; the lowest failing target was {r['lowest_failing_target']:,} events/s" if r["lowest_failing_target"] else "")
    lines += ["", f"Ceiling: {ceiling}{why}, i.e. {STREAMS:,} x that in deliveries per second.", ""]
    faults = [(s["target"], f) for s in r["steps"] for f in s["faults"]]
    if faults:
        lines += ["Streams that lost or repeated events (target, client, stream, what): "
                  + "; ".join(f"{t}, {f['client']}, {f['stream']}, missing {f['missing']} twice {f['twice']}"
                              for t, f in faults[:10]), ""]
    if kind == "cluster":
        per_node = [sum(s["redis_nodes"][i]["cpu_s"] for s in r["steps"]) for i in range(len(r["steps"][0]["redis_nodes"]))]
        lines += [f"Redis CPU per cluster node over the round: {', '.join(f'{x:.2f} s' for x in per_node)}.", ""]
    if r["errors"]:
        lines += ["Errors in the stacks' logs:", "", "```", r["errors"][-3000:], "```", ""]
    return lines


def main():
    t0 = time.monotonic()
    B.build_client()
    B.extension()
    res = {"load": B.load(), "machine": B.machine(), "brokers": BROKERS,
           "command": "python3 bench/redis/ceiling.py", "streams": STREAMS, "machines": MACHINES, "workers": WORKERS,
           "publishers": PUBLISHERS, "seconds": SECONDS, "rates": RATES, "p99_limit_us": P99_LIMIT_US, "rounds": ROUNDS,
           "redis_version": subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]}
    for kind in BROKERS:
        res[kind] = {"rounds": []}
    for _ in range(ROUNDS):
        for kind in BROKERS:
            res[kind]["rounds"].append(search(kind))
    res["readers_seen"] = {k: sorted({json.dumps(s["redis_readers"]) for r in res[k]["rounds"] for s in r["steps"]})
                           for k in BROKERS}
    res["minutes"] = (time.monotonic() - t0) / 60
    B.save("redis-ceiling", res)
    B.write_section("redis-ceiling", section(res))


if __name__ == "__main__":
    main()
