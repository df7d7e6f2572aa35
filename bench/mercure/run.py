#!/usr/bin/env python3
"""The Mercure hub (issue 19): publish-to-delivery through mercure_publish() and through an HTTP
POST, to 1, 100 and 10,000 detached subscribers on a pool of 4 php-fpm workers, and the worker
memory each subscriber costs.

    python3 bench/mercure/run.py     # MERCURE_COUNTS=1,100,10000 MERCURE_EVENTS=20 MERCURE_GAP_US=250000
                                     # MERCURE_PARTS=delivery,selectors,subscribe
                                     # MERCURE_SELECTOR_COUNTS=100,10000 MERCURE_SUBSCRIBE_REQUESTS=200

One nginx (2 workers, reuseport) + php-fpm (pm = static, 4 workers) stack serves
bench/mercure/www/hub.php (anonymous subscribers, the embedded broker under /dev/shm). Per count,
the client (bench/lib/client, native, one thread, at SCHED_IDLE) opens the subscriptions
(`GET /hub.php?topic=bench`, each detached); the workers' private memory (Private_Clean +
Private_Dirty, /proc/PID/smaps_rollup) is read before and with them open. Then a CLI publisher
(bench/mercure/publish.php) sends MERCURE_EVENTS updates MERCURE_GAP_US apart, first with
mercure_publish(), then as POSTs to the hub (token checked, form parsed, a new connection each);
each update's data carries CLOCK_REALTIME taken just before the publish, and the client stamps
the read that completed it with the kernel's receive time (SO_TIMESTAMPNS), after a 5 ms settle
(as bench/broadcast). Latency is over every delivery (update x subscriber); every subscriber must
get every update once, in order. Then, in the same run and on the same stack, the baseline: as
many plain ext-sse streams (bench/mercure/www/stream.php: `subscribe('bench')->detach()`, no
selectors, tokens or filter) receiving the same updates from `Sse\Broker::publish()`.

Selectors (issue 29), on a new stack per count (MERCURE_SELECTOR_COUNTS): the same subscribers
and updates (mercure_publish(), to the topic https://example.com/bench/1), subscribed three ways
one after the other: draft-07 `topic=https://example.com/bench/1` (exact, the baseline),
Mercure 1.0 `match=https://example.com/bench/1` (exact) and
`match_urlpattern=https://example.com/bench/:id` (a WHATWG URL pattern).

Subscribe cost, on a new stack: `QUERY /hub.php` requests (the form in the body; 100 patterns do
not fit in nginx's 8 KB request line) sent one after the other, a new connection each, each
closed once its response head is read: one `match=`, 100 exact `match=` values, the largest
set of 100 URL patterns the hub accepts (`https://example.com/bench/:a/:b{/:c}?/N` followed by
K optional segments `{/:sJ}?`, K the largest that compiles within the request's budget, found
by asking the hub) and the same with K + 1 (refused: 400, the compile budget). Per kind:
median and p99 wall time from sending the request to its complete response head, and the
php-fpm workers' CPU time per request (all threads, /proc/PID/task/*/schedstat, before and
after each block of requests, kinds interleaved in blocks).
Writes bench/results/mercure.md and mercure.json.
"""
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from urllib.parse import unquote
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402

HERE = Path(__file__).resolve().parent
COUNTS = [int(x) for x in os.environ.get("MERCURE_COUNTS", "1,100,10000").split(",")]
EVENTS = int(os.environ.get("MERCURE_EVENTS", 20))
GAP_US = int(os.environ.get("MERCURE_GAP_US", 250_000))
PARTS = os.environ.get("MERCURE_PARTS", "delivery,selectors,subscribe").split(",")
SELECTOR_COUNTS = [int(x) for x in os.environ.get("MERCURE_SELECTOR_COUNTS", "100,10000").split(",")]
SUBSCRIBE_REQUESTS = int(os.environ.get("MERCURE_SUBSCRIBE_REQUESTS", 200))
SUBSCRIBE_BLOCK = 25
TOPIC = "https://example.com/bench/1"
SELECTORS = {  # kind -> query of the subscription; each matches TOPIC
    "topic": "topic=" + urllib.parse.quote(TOPIC, safe=""),
    "match": "match=" + urllib.parse.quote(TOPIC, safe=""),
    "match_urlpattern": "match_urlpattern=" + urllib.parse.quote("https://example.com/bench/:id", safe=""),
}
POOL = 4
SETTLE_MS = 5
TARGET_P99_US = 2000      # at 100 subscribers, embedded broker (the Go hub: median under 1 ms)
TARGET_BYTES = 10 * 1024  # worker memory per subscriber (the Go hub: about 10 KB)


def private_kb(pids):
    total = 0
    for pid in pids:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        total += sum(int(re.search(rf"^{k}:\s+(\d+)", text, re.M).group(1)) for k in ("Private_Clean", "Private_Dirty"))
    return total


def publish(mode, port, broker, topic="bench"):
    out = subprocess.run(["php", "-n", "-d", f"extension={B.extension()}", HERE / "publish.php", mode, str(EVENTS),
                          str(GAP_US), str(port), str(broker), topic], capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(f"{mode} publish failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    return out.stdout.split()


def deliveries(res, mode, client, ids, rounds):
    """Latency over every delivery of the last EVENTS updates, and how many streams got every
    update so far (`rounds` publishers of EVENTS each) once, in order."""
    time.sleep(2)
    tagged = client.ask("tagged m", timeout=300)["streams"]
    seqs = [[e[0] for e in stream] for stream in tagged]
    res[f"{mode}_complete"] = sum(1 for s in seqs if s == list(range(EVENTS)) * rounds)
    latencies = sorted(e[1] for stream in tagged for e in stream[-EVENTS:])
    res[mode] = {"ids": len(ids), "deliveries": len(latencies),
                 "p50_us": B.pct(latencies, 50) / 1000, "p99_us": B.pct(latencies, 99) / 1000,
                 "max_us": latencies[-1] / 1000 if latencies else None}


def measure(count):
    res = {"subscribers": count}
    with hub_stack("mercure", res) as (stack, broker):
        pids = stack.worker_pids()
        mem0 = private_kb(pids)
        client = B.NativeClient(stack.port, "/hub.php?topic=bench", count, settle_ms=SETTLE_MS)
        try:
            res["ready"] = client.line(timeout=300)
            time.sleep(3)
            st = client.ask("stats")
            res["open"] = st["open"]
            mem1 = private_kb(pids)
            res["worker_private_kb"] = [mem0, mem1]
            res["bytes_per_subscriber"] = (mem1 - mem0) * 1024 / max(1, st["open"])
            for mode in ("function", "http"):
                deliveries(res, mode, client, publish(mode, stack.port, broker), 1 if mode == "function" else 2)
        finally:
            client.quit()
        time.sleep(3)
        with subscribers(stack.port, "/stream.php", count) as client:
            res["baseline_open"] = client.ask("stats")["open"]
            deliveries(res, "broker", client, publish("broker", stack.port, broker), 1)
    print(json.dumps(res), flush=True)
    return res


@contextlib.contextmanager
def subscribers(port, path, count):
    """`count` subscribers of `path` (the native client), open and settled; closed after."""
    client = B.NativeClient(port, path, count, settle_ms=SETTLE_MS)
    try:
        client.line(timeout=300)
        time.sleep(3)
        yield client
    finally:
        client.quit()


@contextlib.contextmanager
def hub_stack(name, res):
    """The hub's stack for one measurement: the load before and after and the stack's errors
    go into `res`; the stack is stopped and its broker removed after."""
    stack, broker = start_stack(name)
    res["load_before"] = B.load()
    try:
        yield stack, broker
        res["load_after"] = B.load()
        res["errors"] = stack.errors()
    finally:
        stack.stop()
        shutil.rmtree(broker, ignore_errors=True)


def start_stack(name):
    """The hub's stack, its pool warmed up, and its broker's directory."""
    broker = Path(f"/dev/shm/sse-bench-{name}-{os.getpid()}")
    shutil.rmtree(broker, ignore_errors=True)
    st = B.Stack(name, workers=POOL, nginx_workers=2, www=HERE / "www", connections=16000,
                 env={"SSE_BENCH_BROKER": broker}, read_timeout=300)
    for _ in range(3 * POOL):
        B.get(st.port, "/plain.php")
    time.sleep(1)
    return st, broker


def measure_selectors(count):
    """Publish-to-delivery at `count` subscribers, for each kind of selector in turn."""
    res = {"subscribers": count}
    with hub_stack("mercure-selectors", res) as (st, broker):
        for kind, query in SELECTORS.items():
            with subscribers(st.port, f"/hub.php?{query}", count) as client:
                res[f"{kind}_open"] = client.ask("stats")["open"]
                res[f"{kind}_load"] = B.load()
                deliveries(res, kind, client, publish("function", st.port, broker, TOPIC), 1)
            time.sleep(3)
    print(json.dumps(res), flush=True)
    return res


def subscribe(port, body):
    """One QUERY subscription: (status, ns from sending to the complete response head)."""
    data = body.encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (f"QUERY /hub.php HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        t0 = time.monotonic_ns()
        s.sendall(head + data)
        raw = b""
        while b"\r\n\r\n" not in raw:
            got = s.recv(65536)
            if not got:
                break
            raw += got
        t1 = time.monotonic_ns()
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0, t1 - t0, raw


def patterns(k):
    return [f"https://example.com/bench/:a/:b{{/:c}}?/{i}" + "".join(f"{{/:s{j}}}?" for j in range(k)) for i in range(100)]


def form(name, values):
    return "&".join(f"{name}={urllib.parse.quote(v, safe='')}" for v in values)


def measure_subscribe():
    st, broker = start_stack("mercure-subscribe")
    res = {"load_before": B.load(), "requests": SUBSCRIBE_REQUESTS}
    try:
        # The largest K the hub accepts for 100 patterns.
        k, probes = 0, []
        while True:
            status, _, raw = subscribe(st.port, form("match_urlpattern", patterns(k + 1)))
            probes.append([k + 1, status])
            if status != 200:
                body = raw.split(b"\r\n\r\n", 1)[-1].decode("latin-1").split("\r\n")
                res["over_answer"] = f"{status} " + (body[1] if len(body) > 1 else body[0])[:300]
                break
            k += 1
            if k > 200:
                raise RuntimeError("no budget found")
        res["k"], res["probes"] = k, probes
        kinds = {
            "one_match": form("match", [TOPIC]),
            "match_100": form("match", patterns(k)),
            "urlpattern_100": form("match_urlpattern", patterns(k)),
            "urlpattern_100_over": form("match_urlpattern", patterns(k + 1)),
        }
        res["kinds"] = {name: {"body_bytes": len(body), "selector_bytes": 0, "wall_ns": [], "cpu_ns": 0, "status": {}}
                        for name, body in kinds.items()}
        res["kinds"]["one_match"]["selector_bytes"] = len(TOPIC)
        for name in ("match_100", "urlpattern_100"):
            res["kinds"][name]["selector_bytes"] = sum(map(len, patterns(k)))
        res["kinds"]["urlpattern_100_over"]["selector_bytes"] = sum(map(len, patterns(k + 1)))
        pids = st.worker_pids()
        for name, body in kinds.items():  # warm-up
            for _ in range(5):
                subscribe(st.port, body)
        time.sleep(1)
        for _ in range(max(1, SUBSCRIBE_REQUESTS // SUBSCRIBE_BLOCK)):
            for name, body in kinds.items():
                r = res["kinds"][name]
                cpu0 = sum(B.cpu_ns(p) for p in pids)
                for _ in range(SUBSCRIBE_BLOCK):
                    status, ns, _ = subscribe(st.port, body)
                    r["wall_ns"].append(ns)
                    r["status"][str(status)] = r["status"].get(str(status), 0) + 1
                time.sleep(0.2)
                r["cpu_ns"] += sum(B.cpu_ns(p) for p in pids) - cpu0
        for r in res["kinds"].values():
            n = len(r["wall_ns"])
            r["n"] = n
            r["p50_us"] = B.pct(r["wall_ns"], 50) / 1000
            r["p99_us"] = B.pct(r["wall_ns"], 99) / 1000
            r["cpu_us_per_request"] = r["cpu_ns"] / n / 1000
            del r["wall_ns"]
        res["load_after"] = B.load()
        res["errors"] = st.errors()
    finally:
        st.stop()
        shutil.rmtree(broker, ignore_errors=True)
    print(json.dumps(res), flush=True)
    return res


def section(results, selectors=(), cost=None):
    at = {r["subscribers"]: r for r in results}
    first = (results or selectors or [cost])[0]
    lines = [
        "## Mercure",
        "",
        "`python3 bench/mercure/run.py` (bench/mercure/): the hub of `bench/mercure/www/hub.php` "
        f"behind nginx (2 workers) + php-fpm (pm = static, {POOL} workers), embedded broker, every "
        f"subscription detached; {EVENTS} updates {GAP_US // 1000} ms apart per publisher, latency from "
        "just before the publish call to the kernel's receive time at the client, over every delivery. "
        f"Machine: {B.machine()}; load {first['load_before']} before the first row.",
        "",
    ]
    if results:
        lines += [
        "| subscribers | open | `mercure_publish()` p50 / p99 | HTTP `POST` p50 / p99 | baseline: `Broker::publish()` to plain detached streams, p50 / p99 | all updates, once, in order | worker memory per subscriber | load before |",
        "|---|---|---|---|---|---|---|---|",
        ]
    ms = lambda d: f"{d['p50_us'] / 1000:.2f} / {d['p99_us'] / 1000:.2f} ms"  # noqa: E731
    for r in results:
        lines.append(f"| {r['subscribers']:,} | {r['open']:,} | {ms(r['function'])} | {ms(r['http'])} | {ms(r['broker'])} "
                     f"| {min(r['function_complete'], r['http_complete']):,} of {r['open']:,} "
                     f"(baseline {r['broker_complete']:,} of {r['baseline_open']:,}) "
                     f"| {r['bytes_per_subscriber'] / 1024:.1f} KiB | {r['load_before']} |")
    lines.append("")
    if 100 in at:
        p99 = at[100]["function"]["p99_us"]
        lines.append(f"Target p99 under 2 ms at 100 subscribers (`mercure_publish()`, embedded broker): "
                     f"{p99 / 1000:.2f} ms, {B.yes_no(p99 < TARGET_P99_US)}.")
    if 10000 in at:
        per = at[10000]["bytes_per_subscriber"]
        lines.append(f"Target under 10 KB of worker memory per subscriber at 10,000: {per / 1024:.1f} KiB, "
                     f"{B.yes_no(per < TARGET_BYTES)}.")
    if results:
        lines.append("")
        lines.append("The HTTP column includes the publish request itself (a new connection to nginx, php-fpm "
                     "checking the token and parsing the form) before the same fan-out. Memory per subscriber is "
                     "the workers' private memory with the subscriptions open less before, over the subscriptions: "
                     "at 1 it is the runtime and broker reader a worker starts for its first stream, which later "
                     "ones share. Load is the 1, 5 and 15 minute load average of the machine (2 CPUs).")
    if selectors:
        lines += [
            "",
            "### Selectors",
            "",
            f"The same set-up on a new stack per row; {EVENTS} updates from `mercure_publish()` to `{TOPIC}`, "
            f"{GAP_US // 1000} ms apart, to that many detached subscribers subscribed one way, then (closed, "
            "reopened) the next: "
            f"draft-07 `{unquote(SELECTORS['topic'])}` (exact; the baseline), 1.0 `{unquote(SELECTORS['match'])}` "
            f"(exact) and 1.0 `{unquote(SELECTORS['match_urlpattern'])}` (URL pattern), each percent-encoded in "
            "the query. p50 / p99 over every delivery; then the subscribers that got every update once, in order, "
            "and the load average when each set was open.",
            "",
            "| subscribers | draft-07 `topic=` p50 / p99 | 1.0 `match=` p50 / p99 | 1.0 `match_urlpattern=` p50 / p99 | all updates, once, in order | load before each |",
            "|---|---|---|---|---|---|",
        ]
        for r in selectors:
            kinds = list(SELECTORS)
            lines.append(f"| {r['subscribers']:,} | " + " | ".join(ms(r[k]) for k in kinds) + " | "
                         + ", ".join(f"{r[k + '_complete']:,} of {r[k + '_open']:,}" for k in kinds) + " | "
                         + "; ".join(r[k + "_load"] for k in kinds) + " |")
    if cost:
        names = {
            "one_match": "1 `match=` (exact)",
            "match_100": "100 `match=` (exact), the strings of the next row",
            "urlpattern_100": f"100 `match_urlpattern=`, K = {cost['k']} (the largest the hub accepts)",
            "urlpattern_100_over": f"100 `match_urlpattern=`, K = {cost['k'] + 1} (over the compile budget)",
        }
        lines += [
            "",
            "### Subscribe request with the largest selector set",
            "",
            f"A new stack; `QUERY /hub.php` with the form in the body, a new connection per request, "
            f"closed once the response head is read; {cost['requests']} requests per kind, in blocks of "
            f"{SUBSCRIBE_BLOCK} taking turns. Patterns: `https://example.com/bench/:a/:b{{/:c}}?/N` (N = 0..99) "
            "followed by K optional segments `{/:s0}?{/:s1}?...`. Wall time from sending the request to its "
            "complete response head (a 200 carries the stream's first comment with it); CPU: the php-fpm "
            "workers' (all threads, schedstat) over the requests. Load "
            f"{cost['load_before']} before, {cost['load_after']} after.",
            "",
            "| selectors | bytes of selectors / of the body | status | wall p50 / p99 | worker CPU per request |",
            "|---|---|---|---|---|",
        ]
        for key, name in names.items():
            r = cost["kinds"][key]
            status = ", ".join(f"{code} x {n}" for code, n in sorted(r["status"].items()))
            lines.append(f"| {name} | {r['selector_bytes']:,} / {r['body_bytes']:,} | {status} "
                         f"| {r['p50_us'] / 1000:.2f} / {r['p99_us'] / 1000:.2f} ms | {r['cpu_us_per_request'] / 1000:.2f} ms |")
        lines += ["", f"The 400 over the budget says: `{cost['over_answer'].strip()}`"]
    return "\n".join(lines)


def main():
    B.build_client()
    print(f"load {B.load()} at the start", flush=True)
    results = [measure(count) for count in COUNTS] if "delivery" in PARTS else []
    selectors = [measure_selectors(count) for count in SELECTOR_COUNTS] if "selectors" in PARTS else []
    cost = measure_subscribe() if "subscribe" in PARTS else None
    B.save("mercure", {"results": results, "selectors": selectors, "subscribe": cost, "machine": B.machine()})
    B.write_section("mercure", section(results, selectors, cost))


if __name__ == "__main__":
    main()
