#!/usr/bin/env python3
"""The Mercure hub (issue 19): publish-to-delivery through mercure_publish() and through an HTTP
POST, to 1, 100 and 10,000 detached subscribers on a pool of 4 php-fpm workers, and the worker
memory each subscriber costs.

    python3 bench/mercure/run.py     # MERCURE_COUNTS=1,100,10000 MERCURE_EVENTS=20 MERCURE_GAP_US=250000

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
Writes bench/results/mercure.md and mercure.json.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402

HERE = Path(__file__).resolve().parent
COUNTS = [int(x) for x in os.environ.get("MERCURE_COUNTS", "1,100,10000").split(",")]
EVENTS = int(os.environ.get("MERCURE_EVENTS", 20))
GAP_US = int(os.environ.get("MERCURE_GAP_US", 250_000))
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


def publish(mode, port, broker):
    out = subprocess.run(["php", "-n", "-d", f"extension={B.extension()}", HERE / "publish.php", mode, str(EVENTS),
                          str(GAP_US), str(port), str(broker)], capture_output=True, text=True, timeout=600)
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
    broker = Path(f"/dev/shm/sse-bench-mercure-{os.getpid()}")
    shutil.rmtree(broker, ignore_errors=True)
    stack = B.Stack("mercure", workers=POOL, nginx_workers=2, www=HERE / "www", connections=16000,
                    env={"SSE_BENCH_BROKER": broker}, read_timeout=300)
    res = {"subscribers": count, "load_before": B.load()}
    try:
        for _ in range(3 * POOL):
            B.get(stack.port, "/plain.php")
        time.sleep(1)
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
        client = B.NativeClient(stack.port, "/stream.php", count, settle_ms=SETTLE_MS)
        try:
            client.line(timeout=300)
            time.sleep(3)
            res["baseline_open"] = client.ask("stats")["open"]
            deliveries(res, "broker", client, publish("broker", stack.port, broker), 1)
        finally:
            client.quit()
        res["load_after"] = B.load()
        res["errors"] = stack.errors()
    finally:
        stack.stop()
        shutil.rmtree(broker, ignore_errors=True)
    print(json.dumps(res), flush=True)
    return res


def section(results):
    at = {r["subscribers"]: r for r in results}
    lines = [
        "## Mercure",
        "",
        "`python3 bench/mercure/run.py` (bench/mercure/): the hub of `bench/mercure/www/hub.php` "
        f"behind nginx (2 workers) + php-fpm (pm = static, {POOL} workers), embedded broker, every "
        f"subscription detached; {EVENTS} updates {GAP_US // 1000} ms apart per publisher, latency from "
        "just before the publish call to the kernel's receive time at the client, over every delivery. "
        f"Machine: {B.machine()}; load {results[0]['load_before']} before the first row.",
        "",
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
    lines.append("")
    lines.append("The HTTP column includes the publish request itself (a new connection to nginx, php-fpm "
                 "checking the token and parsing the form) before the same fan-out. Memory per subscriber is "
                 "the workers' private memory with the subscriptions open less before, over the subscriptions: "
                 "at 1 it is the runtime and broker reader a worker starts for its first stream, which later "
                 "ones share. Load is the 1, 5 and 15 minute load average of the machine (2 CPUs).")
    return "\n".join(lines)


def main():
    B.build_client()
    results = [measure(count) for count in COUNTS]
    B.save("mercure", {"results": results, "machine": B.machine()})
    B.write_section("mercure", section(results))


if __name__ == "__main__":
    main()
