#!/usr/bin/env python3
"""Many concurrent streams through nginx + php-fpm (issue 7).

    python3 bench/load/run.py

STREAMS (200) clients at once, each on its own php-fpm worker (pm = static, STREAMS + 5
children), for LOAD_SECONDS (60): an event a second from `every(1.0)` plus a heartbeat after
0.5 s of silence, ended by maxDuration. One client process watches every socket (selectors).
Counts delivered / lost / out-of-order events and heartbeats; RSS per worker at mid-run; CPU of
the whole stack (nginx + fpm master + workers, all threads, /proc/PID/task/*/schedstat).
"""
import json
import os
import selectors
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402

STREAMS = int(os.environ.get("STREAMS", 200))
SECONDS = float(os.environ.get("LOAD_SECONDS", 60))


def main():
    res = {"load": B.load(), "streams": STREAMS, "seconds": SECONDS}
    with B.Stack("load", workers=STREAMS + 5) as stack:
        for _ in range(3):
            B.get(stack.port, "/plain.php")
        workers = stack.worker_pids()
        res["workers"] = len(workers)
        idle_rss = [B.mem_kb(p) for p in workers]
        cpu0 = sum(B.cpu_ns(p) for p in stack.all_pids())
        client0 = time.process_time()
        t0 = time.monotonic()
        streams = []
        for i in range(STREAMS):
            s = B.Stream(stack.port, f"/load.php?d={SECONDS}&hb=0.5", timeout=30)
            streams.append(s)
        for s in streams:
            s.read_head()
            assert s.status == 200, s.status
        connected = time.monotonic() - t0
        sel = selectors.DefaultSelector()
        state = {}
        for i, s in enumerate(streams):
            s.sock.setblocking(False)
            sel.register(s.sock, selectors.EVENT_READ, i)
            state[i] = {"ids": [], "beats": 0, "lat_us": [], "ended": False}
        open_count = STREAMS
        mid_rss = None
        deadline = t0 + SECONDS + 20
        while open_count and time.monotonic() < deadline:
            if mid_rss is None and time.monotonic() - t0 > SECONDS / 2:
                mid_rss = [B.mem_kb(p) for p in stack.worker_pids()]
                res["threads_mid"] = sorted({B.proc_stat(p)["threads"] for p in stack.worker_pids()})
            for key, _ in sel.select(timeout=0.5):
                i = key.data
                s, st = streams[i], state[i]
                try:
                    data = s.sock.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                now = time.monotonic_ns()
                if data:
                    s.body_pending += s.feed(data)
                if not data or s.done:
                    st["ended"] = bool(s.done)
                    sel.unregister(s.sock)
                    s.close()
                    open_count -= 1
                if b"\n\n" in s.body_pending:
                    *frames, s.body_pending = s.body_pending.split(b"\n\n")
                    for f in frames:
                        if f.startswith(b":"):
                            st["beats"] += 1
                            continue
                        fields = dict(line.split(b": ", 1) for line in f.split(b"\n") if b": " in line)
                        st["ids"].append(int(fields[b"id"]))
                        st["lat_us"].append((now - json.loads(fields[b"data"])["t"]) / 1000)
        elapsed = time.monotonic() - t0
        cpu1 = sum(B.cpu_ns(p) for p in stack.all_pids())
        client_cpu = time.process_time() - client0
        res["errors"] = stack.errors()
    expected = int(SECONDS)
    delivered = sum(len(st["ids"]) for st in state.values())
    lost = sum(max(0, expected - len(set(st["ids"]))) for st in state.values())
    out_of_order = sum(sum(1 for a, b in zip(st["ids"], st["ids"][1:]) if b <= a) for st in state.values())
    dup = sum(len(st["ids"]) - len(set(st["ids"])) for st in state.values())
    wrong = sum(1 for st in state.values() if st["ids"] != list(range(1, expected + 1)))
    lat = [x for st in state.values() for x in st["lat_us"]]
    res.update({
        "expected": expected * STREAMS, "delivered": delivered, "lost": lost, "out_of_order": out_of_order,
        "duplicates": dup, "streams_not_exactly_1_to_n": wrong,
        "heartbeats": sum(st["beats"] for st in state.values()),
        "ended_cleanly": sum(1 for st in state.values() if st["ended"]),
        "connect_s": connected, "elapsed_s": elapsed,
        "stack_cpu_s": (cpu1 - cpu0) / 1e9, "stack_cpu_percent_of_core": 100 * (cpu1 - cpu0) / 1e9 / elapsed,
        "client_cpu_s": client_cpu,
        "idle_rss_kb_median": B.median([m["rss_kb"] for m in idle_rss]),
        "mid_rss_kb_median": B.median([m["rss_kb"] for m in mid_rss]),
        "mid_rss_kb_max": max(m["rss_kb"] for m in mid_rss),
        "mid_anon_kb_median": B.median([m["anon_kb"] for m in mid_rss]),
        "mid_anon_kb_total": sum(m["anon_kb"] for m in mid_rss),
        "lat_p50_us": B.pct(lat, 50), "lat_p99_us": B.pct(lat, 99), "lat_max_us": max(lat) if lat else None,
    })
    B.save("load", res)
    ok = res["lost"] == 0 and res["out_of_order"] == 0 and res["duplicates"] == 0 and delivered == res["expected"]
    lines = [f"## {STREAMS} concurrent streams", "",
             f"Machine: {B.machine()}; load average at start {res['load']}.", "",
             "Command: `python3 bench/load/run.py` (alone; part of `bench/run.sh`). nginx (1 worker) + php-fpm "
             f"(pm = static, {res['workers']} workers), production php.ini, on 127.0.0.1. {STREAMS} clients connect at "
             f"once (all connected in {connected:.2f} s) to `bench/www/load.php`: `every(1.0)` sends an event with "
             "an increasing id and its `hrtime()`, `heartbeat` 0.5 writes a comment in each second's silence, "
             f"`maxDuration` ends the stream after {SECONDS:.0f} s. One Python client process reads all sockets.", "",
             "| | |", "|---|---|",
             f"| events expected / delivered | {res['expected']:,} / {delivered:,} |",
             f"| lost / out of order / duplicated | {lost} / {out_of_order} / {dup} |",
             f"| streams not exactly ids 1..{expected} | {wrong} |",
             f"| comment frames received (heartbeats, and an opening comment if the emitter writes one) | {res['heartbeats']:,} |",
             f"| streams ended cleanly (final chunk) | {res['ended_cleanly']} of {STREAMS} |",
             f"| send-to-receive latency p50 / p99 / max | {res['lat_p50_us']:.0f} / {res['lat_p99_us']:.0f} / "
             f"{res['lat_max_us']:.0f} µs |",
             f"| worker RSS, before any stream (median) / mid-run median / max | {res['idle_rss_kb_median']:.0f} / "
             f"{res['mid_rss_kb_median']:.0f} / {res['mid_rss_kb_max']} KB |",
             f"| worker private memory (RssAnon) mid-run, median / all workers | {res['mid_anon_kb_median']:.0f} KB / "
             f"{res['mid_anon_kb_total'] / 1024:.0f} MB |",
             f"| worker threads mid-run | {res.get('threads_mid')} |",
             f"| CPU of the whole stack over {elapsed:.0f} s | {res['stack_cpu_s']:.2f} s = "
             f"{res['stack_cpu_percent_of_core']:.1f} % of one core |",
             f"| CPU of the client process | {client_cpu:.2f} s |", "",
             f"Target none lost or out of order: **{B.yes_no(ok)}**.", ""]
    B.write_section("load", "\n".join(lines))


if __name__ == "__main__":
    main()
