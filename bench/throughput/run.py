#!/usr/bin/env python3
"""Emitter throughput (issue 3), the burst floor (issue 7) and hang-up to script end.

    python3 bench/throughput/run.py [throughput] [syscalls] [hangup]   (default: all)

Through nginx + php-fpm (1 worker, production php.ini) on loopback:
- 100,000 small events (`id: i` + `data: payload i`) from the emitter's send() loop, from the
  tutorial loop (echo, ob_flush(), flush(), connection_aborted()), and the same bytes in one
  echo (the floor); events/s at the client, PHP CPU per event (getrusage in the script);
- write syscalls per event: `strace -c -f -p <worker>` during a run of STRACE_EVENTS events;
- hang-up: the client closes; time until the script ends (its shutdown function's hrtime()).

Environment: SSE_EXT, EVENTS (100000), RUNS (5), STRACE_EVENTS (20000), HANGUPS (5).
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402

EVENTS = int(os.environ.get("EVENTS", 100_000))
RUNS = int(os.environ.get("RUNS", 5))
STRACE_EVENTS = int(os.environ.get("STRACE_EVENTS", 20_000))
HANGUPS = int(os.environ.get("HANGUPS", 5))
SIDES = {"emitter": "emit_emitter.php", "loop": "emit_loop.php", "echo": "emit_echo.php"}
LABEL = {"emitter": "emitter `send()` loop", "loop": "tutorial loop (echo, ob_flush, flush, connection_aborted)",
         "echo": "one `echo` of the same bytes (floor)"}


def wait_mark(stack, name, timeout=30.0):
    path = stack.marks / f"{name}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            data = json.loads(path.read_text())
            path.unlink()
            return data
        time.sleep(0.005)
    raise RuntimeError(f"no mark {name} within {timeout}s\n{stack.errors()}")


def one_run(stack, script, n):
    s = B.Stream(stack.port, f"/{script}?n={n}&marks={stack.marks}").read_head()
    assert s.status == 200, s.status
    count, last, first_id, last_id = 0, None, None, None
    for t, frames in s.frames():
        frames = [f for f in frames if not f.startswith(b":")]  # comments (e.g. an opening one)
        count += len(frames)
        if frames:
            last = t
        if first_id is None and frames:
            first_id = frames[0]
        last_id = frames[-1] if frames else last_id
    s.close()
    mark = wait_mark(stack, "emit")
    assert count == n, f"{script}: {count} events received, {n} sent"
    assert first_id.startswith(b"id: 0\n") and last_id.startswith(f"id: {n - 1}\n".encode()), (first_id, last_id)
    seconds = (last - s.sent_ns) / 1e9
    return {"events": count, "seconds": seconds, "events_per_s": count / seconds,
            "cpu_us_per_event": mark["loop_cpu_s"] / n * 1e6, "php_loop_s": mark["loop_ns"] / 1e9}


def throughput():
    res = {side: [] for side in SIDES}
    with B.Stack("throughput", workers=1) as stack:
        for side, script in SIDES.items():  # warm-up (opcache, first-request costs)
            one_run(stack, script, 1000)
        for _ in range(RUNS):  # interleaved, so that load changes hit every side alike
            for side, script in SIDES.items():
                res[side].append(one_run(stack, script, EVENTS))
        errors = stack.errors()
    summary = {}
    for side, runs in res.items():
        summary[side] = {
            "events_per_s": B.median([r["events_per_s"] for r in runs]),
            "cpu_us_per_event": B.median([r["cpu_us_per_event"] for r in runs]),
            "seconds": B.median([r["seconds"] for r in runs]),
            "runs": runs,
        }
    return {"summary": summary, "errors": errors}


def strace_counts(stack, script, n):
    (pid,) = stack.worker_pids()
    out = stack.tmp / f"strace-{script}.txt"
    # Every thread of the worker (-p attaches to one thread; -f only follows new ones).
    tids = [a for t in sorted(os.listdir(f"/proc/{pid}/task")) for a in ("-p", t)]
    tracer = subprocess.Popen(["strace", "-c", "-f", *tids, "-o", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # attached
        one_run(stack, script, n)
        time.sleep(0.2)
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=30)
    calls = {}
    for line in out.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and not line.startswith("100.00"):
            name = parts[-1]
            calls[name] = int(parts[3])
    return calls


def syscalls():
    res = {}
    with B.Stack("syscalls", workers=1) as stack:
        for side, script in SIDES.items():
            one_run(stack, script, 1000)
            calls = strace_counts(stack, script, STRACE_EVENTS)
            writes = sum(v for k, v in calls.items() if k in ("write", "writev", "sendto", "sendmsg", "pwrite64"))
            res[side] = {"events": STRACE_EVENTS, "calls": calls, "writes": writes,
                         "writes_per_event": writes / STRACE_EVENTS,
                         "syscalls_per_event": sum(calls.values()) / STRACE_EVENTS}
    return res


def hangup():
    res = {}
    scripts = {"emitter run()": "hang_run.php", "emitter isConnected() + sleep(1)": "hang_poll.php",
               "tutorial loop: sleep(1) + echo heartbeat": "hang_loop.php"}
    with B.Stack("hangup", workers=1) as stack:
        for label, script in scripts.items():
            times = []
            for i in range(HANGUPS):
                s = B.Stream(stack.port, f"/{script}?marks={stack.marks}").read_head()
                frames = s.frames()
                next(frames)  # ": open"
                time.sleep(0.3 + 0.9 * i / max(1, HANGUPS - 1))  # spread over the loops' 1 s phase
                closed = time.monotonic_ns()
                s.close()
                mark = wait_mark(stack, "end", timeout=20)
                times.append((mark["end_ns"] - closed) / 1e6)
                time.sleep(0.2)
            res[label] = {"ms": times, "median_ms": B.median(times), "max_ms": max(times)}
        errors = stack.errors()
    return {"results": res, "errors": errors}


def report(r):
    lines = ["## Emitter throughput and hang-up", "",
             f"Machine: {B.machine()}; load average at start {r['load']}.", "",
             "Command: `python3 bench/throughput/run.py` (alone; part of `bench/run.sh`). nginx (1 worker) + "
             "php-fpm (pm = static, 1 worker) on 127.0.0.1, Debian's production php.ini "
             "(`output_buffering = 4096`), HTTP/1.1 client on a raw socket that de-chunks and counts "
             "frames. The scripts are in `bench/www/`. Every side writes the same bytes: "
             "`id: <i>\\ndata: payload <i>\\n\\n`.", ""]
    if "throughput" in r:
        t = r["throughput"]["summary"]
        e, lo, ec = t["emitter"], t["loop"], t["echo"]
        lines += [f"### Throughput: {EVENTS:,} events, median of {RUNS} interleaved runs", "",
                  "Events/s at the client (request sent to last event received); PHP CPU per event: "
                  "`getrusage()` (user + system, whole worker process) around the script's loop.", "",
                  "| | events/s at the client | PHP CPU per event | vs tutorial loop |", "|---|---|---|---|"]
        for side in SIDES:
            x = t[side]
            lines.append(f"| {LABEL[side]} | {x['events_per_s']:,.0f} | {x['cpu_us_per_event']:.2f} µs | "
                         f"{x['events_per_s'] / lo['events_per_s']:.2f}x |")
        ratio = e["events_per_s"] / lo["events_per_s"]
        ok = ratio >= 1.5 and e["cpu_us_per_event"] <= lo["cpu_us_per_event"]
        floor = ec["events_per_s"] / e["events_per_s"]
        lines += ["", f"Target ≥ 1.5x the tutorial loop's events/s at no more CPU per event: **{B.yes_no(ok)}** "
                  f"({ratio:.2f}x, {e['cpu_us_per_event']:.2f} vs {lo['cpu_us_per_event']:.2f} µs).", "",
                  f"Burst (issue 7): the {EVENTS:,} events as fast as possible reach the client at "
                  f"{e['events_per_s']:,.0f} events/s, {floor:.1f}x slower than the same bytes in one `echo` "
                  f"(target within 3x of that floor: **{B.yes_no(floor <= 3)}**).", ""]
    if "syscalls" in r:
        sc = r["syscalls"]
        lines += [f"### Write syscalls per event ({STRACE_EVENTS:,} events under `strace -c -f -p <each thread of the worker>`)", "",
                  "| | write-type syscalls per event | all syscalls per event | top syscalls |", "|---|---|---|---|"]
        for side in SIDES:
            x = sc[side]
            top = ", ".join(f"{k} {v:,}" for k, v in sorted(x["calls"].items(), key=lambda kv: -kv[1])[:4])
            lines.append(f"| {LABEL[side]} | {x['writes_per_event']:.3f} | {x['syscalls_per_event']:.3f} | {top} |")
        x = sc["emitter"]
        ok = x["writes"] <= x["events"] + 10
        lines += ["", f"Target ≤ 1 write per event: **{B.yes_no(ok)}** ({x['writes']:,} writes for {x['events']:,} "
                  "events, the request's headers and end included; under php-fpm a burst is written in one "
                  "go, while an isolated event still gets a write of its own at once).", ""]
    if "hangup" in r:
        h = r["hangup"]["results"]
        lines += [f"### Hang-up to the script's end ({HANGUPS} hang-ups each, nothing to send)", "",
                  "The client closes its socket 0.3 to 1.2 s after the stream opened; the figure is the "
                  "script's shutdown-function `hrtime()` minus the client's `time.monotonic_ns()` at close "
                  "(both CLOCK_MONOTONIC).", "",
                  "| | median | max | all (ms) |", "|---|---|---|---|"]
        for label, x in h.items():
            lines.append(f"| {label} | {x['median_ms']:.1f} ms | {x['max_ms']:.1f} ms | "
                         + ", ".join(f"{v:.1f}" for v in x["ms"]) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    if sys.argv[1:] == ["--report"]:  # rewrite the section from the last results
        B.write_section("throughput", report(json.loads((B.RESULTS / "throughput.json").read_text())))
        return
    B.run_parts("throughput", {
        "throughput": lambda: {"throughput": throughput()},
        "syscalls": lambda: {"syscalls": syscalls()},
        "hangup": lambda: {"hangup": hangup()},
    }, report)

if __name__ == "__main__":
    main()
