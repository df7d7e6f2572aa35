#!/usr/bin/env python3
"""Send-to-receive latency of isolated events (issue 7), emitter vs the tutorial loop.

    python3 bench/latency/run.py

nginx + php-fpm (1 worker, production php.ini). Each script sends LAT_EVENTS events
LAT_GAP_US apart (usleep), each carrying hrtime() taken just before the write; the client
stamps each read with time.monotonic_ns() (the same CLOCK_MONOTONIC) and subtracts.
Writes bench/results/latency.md, latency.json, latency.png.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402

EVENTS = int(os.environ.get("LAT_EVENTS", 10_000))
GAP_US = int(os.environ.get("LAT_GAP_US", 1000))
SIDES = {"emitter": "lat_emitter.php", "loop": "lat_loop.php"}
LABEL = {"emitter": "emitter `send()`", "loop": "tutorial loop (echo, ob_flush, flush)"}


def measure(stack, script, n):
    s = B.Stream(stack.port, f"/{script}?n={n}&gap_us={GAP_US}&marks={stack.marks}", timeout=120).read_head()
    lat, ids, batched = [], [], 0
    for t, frames in s.frames():
        frames = [f for f in frames if not f.startswith(b":")]  # comments (e.g. an opening one)
        if len(frames) > 1:
            batched += len(frames)
        for f in frames:
            fields = dict(line.split(b": ", 1) for line in f.split(b"\n") if b": " in line)
            ids.append(int(fields[b"id"]))
            lat.append((t - int(fields[b"data"])) / 1000)
    s.close()
    assert ids == list(range(n)), f"{script}: {len(ids)} events, in order: {ids == sorted(ids)}"
    return {"lat_us": lat, "batched": batched}


def main():
    res = {"load": B.load()}
    with B.Stack("latency", workers=1) as stack:
        for script in SIDES.values():
            measure(stack, script, 200)  # warm-up
        for side, script in SIDES.items():
            r = measure(stack, script, EVENTS)
            lat = r["lat_us"]
            res[side] = {"p50_us": B.pct(lat, 50), "p90_us": B.pct(lat, 90), "p99_us": B.pct(lat, 99),
                         "max_us": max(lat), "events": len(lat), "arrived_together": r["batched"]}
            res[side + "_raw"] = lat
        res["errors"] = stack.errors()
    plot = None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 3.8), dpi=110)
        for side in SIDES:
            xs = sorted(res[side + "_raw"])
            ys = [100 * (i + 1) / len(xs) for i in range(len(xs))]
            ax.plot(xs, ys, label=f"{LABEL[side]}: p50 {res[side]['p50_us']:.0f} µs, p99 {res[side]['p99_us']:.0f} µs")
        ax.set_xscale("log")
        ax.set_xlabel("send-to-receive latency (µs, log scale)")
        ax.set_ylabel("events (cumulative %)")
        ax.set_title(f"{EVENTS:,} isolated events through nginx + php-fpm")
        ax.axvline(1000, color="grey", ls=":", lw=1)
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(B.RESULTS / "latency.png")
        plot = "latency.png"
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)
    B.save("latency", {k: v for k, v in res.items() if not k.endswith("_raw")})
    e, lo = res["emitter"], res["loop"]
    lines = ["## Latency of isolated events", "",
             f"Machine: {B.machine()}; load average at start {res['load']}.", "",
             "Command: `python3 bench/latency/run.py` (alone; part of `bench/run.sh`). nginx + php-fpm "
             "(pm = static, 1 worker), production php.ini, on 127.0.0.1. Each script sends "
             f"{EVENTS:,} events {GAP_US} µs apart (`usleep`), each carrying `hrtime(true)` taken just before "
             "the write; the client (HTTP/1.1, raw socket) stamps each read with `time.monotonic_ns()` "
             "(both CLOCK_MONOTONIC) and subtracts. Same run, one after the other.", "",
             "| | p50 | p90 | p99 | max | events | arrived in a read with others |", "|---|---|---|---|---|---|---|"]
    for side in SIDES:
        x = res[side]
        lines.append(f"| {LABEL[side]} | {x['p50_us']:.0f} µs | {x['p90_us']:.0f} µs | {x['p99_us']:.0f} µs | "
                     f"{x['max_us']:.0f} µs | {x['events']:,} | {x['arrived_together']} |")
    lines += ["", f"Target p99 < 1 ms: **{B.yes_no(e['p99_us'] < 1000)}** ({e['p99_us']:.0f} µs; "
              f"the tutorial loop: {lo['p99_us']:.0f} µs).", ""]
    if plot:
        lines += ["![Latency distribution](bench/plots/latency.png)", ""]
    B.write_section("latency", "\n".join(lines))


if __name__ == "__main__":
    main()
