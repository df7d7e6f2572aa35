#!/usr/bin/env python3
"""Runtime benchmarks (issue 4): timer lateness, idle CPU, RSS and threads the runtime adds to
a php-fpm worker, RSS over 1,000,000 timer ticks.

    python3 bench/runtime/run.py [timers] [ticks] [fpm]     (default: all three)

Environment: SSE_EXT (extension, default target/release/libsse.so), IDLE_SECONDS (default 60),
TICKS (default 1000000). Writes bench/results/runtime.md (+ .json, rss_ticks.png).
"""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402

HERE = Path(__file__).resolve().parent
IDLE_SECONDS = float(os.environ.get("IDLE_SECONDS", 60))
TICKS = int(os.environ.get("TICKS", 1_000_000))


def php(*args, env=None, stdout=subprocess.PIPE):
    return subprocess.run(["php", "-n", "-d", f"extension={B.extension()}", *map(str, args)],
                          stdout=stdout, stderr=subprocess.PIPE, text=True, check=True,
                          env={**os.environ, **(env or {})})


def timers():
    out = {}
    for mode in ("emitter", "usleep"):
        r = json.loads(php(HERE / "timers.php", mode, 1000, 0.01).stdout)
        late = r["late_us"]
        out[mode] = {"p50_us": B.pct(late, 50), "p99_us": B.pct(late, 99), "max_us": max(late),
                     "drift_us": r["grid_drift_us"], "cpu_s": r["cpu_s"], "ticks": r["ticks"]}
    return out


def timer_syscalls(ticks=500):
    """Syscalls per tick of both loops, counted by `strace -f -c` (all threads)."""
    out = {}
    for mode in ("emitter", "usleep"):
        log = B.RESULTS / f"strace-timers-{mode}.txt"
        subprocess.run(["strace", "-f", "-c", "-o", str(log), "php", "-n", "-d", f"extension={B.extension()}",
                        str(HERE / "timers.php"), mode, str(ticks), "0.01"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        calls = {}
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and not line.startswith("100.00"):
                calls[parts[-1]] = int(parts[3])
        out[mode] = {"ticks": ticks, "calls": calls}
    return out


def ticks_rss():
    csv = B.RESULTS / "rss_ticks.csv"
    t0 = time.monotonic()
    php(HERE / "ticks_rss.php", TICKS, 10000, env={"SSE_BENCH_OUT": str(csv)}, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    points, end = [], None
    for line in csv.read_text().splitlines():
        parts = line.split(",")
        if parts[0] == "end":
            end = {"rss_kb": int(parts[1]), "peak_php_bytes": int(parts[2])}
        else:
            points.append((int(parts[0]), int(parts[1])))
    after_first = [kb for n, kb in points if n >= 10000]
    result = {"ticks": points[-1][0], "seconds": seconds, "rss_start_kb": points[0][1],
              "rss_at_10k_kb": after_first[0], "rss_end_kb": points[-1][1], "rss_max_kb": max(kb for _, kb in points),
              "growth_after_10k_kb": max(after_first) - after_first[0], "peak_php_bytes": end and end["peak_php_bytes"]}
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
        ax.plot([n for n, _ in points], [kb / 1024 for _, kb in points], lw=1.5)
        ax.set_xlabel("timer ticks (each sends one event)")
        ax.set_ylabel("RSS of the php process (MiB)")
        lo = min(kb for _, kb in points) / 1024
        ax.set_ylim(lo - 1, lo + 3)
        ax.set_title(f"SseEmitter: RSS over {points[-1][0]:,} ticks of every(0.001), virtual clock")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(B.RESULTS / "rss_ticks.png")
        result["plot"] = "rss_ticks.png"
    except ImportError:
        print("matplotlib missing: no plot (apt-get install python3-matplotlib)", file=sys.stderr)
    return result


def fpm():
    """Baseline worker after a plain request; then during an idle stream (heartbeat 15)."""
    res = {}
    with B.Stack("runtime", workers=1) as stack:
        (pid,) = stack.worker_pids()
        for _ in range(3):
            B.get(stack.port, "/plain.php")
            B.get(stack.port, "/idle.php?once=1")
        time.sleep(0.3)
        base = B.proc_stat(pid)
        res["baseline"] = {**B.mem_kb(pid), "threads": base["threads"]}
        s = B.Stream(stack.port, f"/idle.php?hb=15&d={IDLE_SECONDS + 2}", timeout=IDLE_SECONDS + 30).read_head()
        frames = s.frames()
        next(frames)  # the pid comment: the stream is open and waiting in run()
        time.sleep(1.0)
        during = B.proc_stat(pid)
        res["during"] = {**B.mem_kb(pid), "threads": during["threads"]}
        # Heartbeats (every 15 s) are read by a thread meanwhile; this one only sleeps.
        beats = []
        reader = threading.Thread(target=lambda: [beats.extend(got) for _, got in frames], daemon=True)
        reader.start()
        t0, c0, n0 = time.monotonic(), B.proc_stat(pid)["cpu"], B.cpu_ns(pid)
        time.sleep(IDLE_SECONDS)
        t1, c1, n1 = time.monotonic(), B.proc_stat(pid)["cpu"], B.cpu_ns(pid)
        beats = len(beats)
        s.close()
        res["idle"] = {"seconds": t1 - t0, "cpu_s": c1 - c0, "cpu_ns": n1 - n0,
                       "percent_of_core": 100 * (n1 - n0) / 1e9 / (t1 - t0),
                       "heartbeats": beats, "clk_tck": B.CLK_TCK}
        time.sleep(0.5)
        res["after"] = {**B.mem_kb(pid), "threads": B.proc_stat(pid)["threads"]}
        errors = stack.errors()
        if errors:
            res["errors"] = errors
    return res


def report(r):
    lines = ["## Runtime", "",
             f"Machine: {B.machine()}; load average at start {r['load']}.", "",
             "Command: `python3 bench/runtime/run.py` (alone; part of `bench/run.sh`).", ""]
    if "timers" in r:
        t = r["timers"]
        e, u = t["emitter"], t["usleep"]
        lines += ["### Timer lateness (1,000 ticks of 10 ms)", "",
                  "PHP CLI, production defaults off (`php -n`), same run. Emitter: `$sse->every(0.01, ...)` in "
                  "`run()`, lateness = callback's `hrtime()` minus the tick's place on the fixed 10 ms grid. "
                  "PHP loop: `usleep(10000)` then `hrtime()`, lateness = how much longer than asked the "
                  "`usleep()` took (the loop's drift from the grid is shown apart).", "",
                  "| | p50 | p99 | max | drift from the grid after 1,000 ticks | CPU for 10 s |",
                  "|---|---|---|---|---|---|",
                  f"| emitter `every(0.01)` | {e['p50_us']:.0f} µs | {e['p99_us']:.0f} µs | {e['max_us']:.0f} µs | "
                  f"{e['drift_us']:.0f} µs | {e['cpu_s'] * 1000:.0f} ms |",
                  f"| PHP `usleep()` loop | {u['p50_us']:.0f} µs | {u['p99_us']:.0f} µs | {u['max_us']:.0f} µs | "
                  f"{u['drift_us'] / 1000:.1f} ms | {u['cpu_s'] * 1000:.0f} ms |", "",
                  f"Target p99 < 1 ms: **{B.yes_no(e['p99_us'] < 1000)}** ({e['p99_us']:.0f} µs).", ""]
    if "timer_syscalls" in r:
        sc = r["timer_syscalls"]
        n = sc["emitter"]["ticks"]
        lines += [f"Syscalls per tick, all threads, counted by `strace -f -c` over {n} ticks of each loop (the "
                  "figures include the process's start and end):", "",
                  "| | syscalls per tick | most frequent (per tick) |", "|---|---|---|"]
        for mode, label in (("emitter", "emitter `every(0.01)`"), ("usleep", "PHP `usleep()` loop")):
            calls = sc[mode]["calls"]
            top = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1])[:6])
            lines.append(f"| {label} | {sum(calls.values()) / n:.2f} | {top} |")
        lines.append("")
    if "fpm" in r:
        f = r["fpm"]
        b, du, af = f["baseline"], f["during"], f["after"]
        d_rss = du["rss_kb"] - b["rss_kb"]
        d_anon = du["anon_kb"] - b["anon_kb"]
        d_thr = du["threads"] - b["threads"]
        idle = f["idle"]
        lines += ["### Idle stream and what the runtime adds to a php-fpm worker", "",
                  "nginx + php-fpm (pm = static, 1 worker), production php.ini. Baseline: the worker after "
                  "three plain requests and three short streams of the same script that never wait (so the "
                  "runtime thread is not started, but the code and opcache are warm). Then `bench/www/idle.php`: an emitter with `heartbeat` 15 and nothing "
                  "to send, in `run()`. Memory from /proc/PID/status (RssAnon: private heap and stacks; "
                  "RssFile: pages of mapped files such as libsse.so's code, shared by all workers), threads and "
                  f"CPU (utime + stime, {idle['clk_tck']} ticks/s) from /proc/PID/stat of the worker.", "",
                  "| | VmRSS | RssAnon | RssFile | threads |", "|---|---|---|---|---|"]
        for label, m in (("warm, runtime not started", b), ("during the idle stream", du), ("after the stream ended", af)):
            lines.append(f"| {label} | {m['rss_kb']} KB | {m['anon_kb']} KB | {m['file_kb']} KB | {m['threads']} |")
        lines += ["",
                  f"Added by a stream and its runtime: **{d_rss} KB** VmRSS, of which **{d_anon} KB** private "
                  f"(RssAnon) and {d_rss - d_anon} KB file-backed (shared code pages faulted in); **{d_thr}** thread. "
                  f"Target ≤ 1 MB, 1 thread: private memory **{B.yes_no(d_anon <= 1024 and d_thr <= 1)}**, "
                  f"total VmRSS **{B.yes_no(d_rss <= 1024 and d_thr <= 1)}**.", "",
                  f"Idle CPU over {idle['seconds']:.0f} s: {idle['cpu_ns'] / 1e6:.2f} ms of CPU (all threads' "
                  f"/proc/PID/task/*/schedstat; /proc/PID/stat says {idle['cpu_s'] * 1000:.0f} ms) = "
                  f"**{idle['percent_of_core']:.3f} % of a core** ({idle['heartbeats']} heartbeats received; "
                  f"target < 0.1 %: **{B.yes_no(idle['percent_of_core'] < 0.1)}**).", ""]
    if "ticks" in r:
        k = r["ticks"]
        lines += [f"### RSS over {k['ticks']:,} timer ticks", "",
                  "PHP CLI (`php -n`), virtual clock: `every(0.001)` whose callback sends an event "
                  "(`id`, `event`, `data`) to stdout (/dev/null); VmRSS read every 10,000 ticks. "
                  f"{k['ticks']:,} ticks took {k['seconds']:.1f} s.", "",
                  f"RSS at start {k['rss_start_kb']} KB, after 10,000 ticks {k['rss_at_10k_kb']} KB, "
                  f"at the end {k['rss_end_kb']} KB; growth after the first 10,000 ticks: "
                  f"**{k['growth_after_10k_kb']} KB** (target: flat, < 1 MB: "
                  f"**{B.yes_no(k['growth_after_10k_kb'] < 1024)}**).", ""]
        if k.get("plot"):
            lines += ["![RSS over timer ticks](bench/plots/rss_ticks.png)", ""]
    return "\n".join(lines)


def main():
    B.run_parts("runtime", {
        "timers": lambda: {"timers": timers(), "timer_syscalls": timer_syscalls()},
        "ticks": lambda: {"ticks": ticks_rss()},
        "fpm": lambda: {"fpm": fpm()},
    }, report)

if __name__ == "__main__":
    main()
