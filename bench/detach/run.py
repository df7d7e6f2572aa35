#!/usr/bin/env python3
"""Detached streams (issue 11): thousands of open streams on a pool of 4 php-fpm workers.

    python3 bench/detach/run.py    # STREAMS=10000 ALSO_AT=5000 IDLE_SECONDS=30 PUBLISHES=5 PIN=0 PRIO=-10
                                   # ROUNDS=5 CASES="detach floor better-sse sse-starlette attached rounds"
                                   # PERF=1: perf record over the detach case's publishes

Side by side, in this order, each server alone on the machine while measured:
  detach      nginx (2 workers, reuseport) + php-fpm (pm = static, 4 workers):
              bench/detach/www/stream.php subscribes to 'all' on the embedded broker and detach()es
  floor       the same nginx in front of bench/detach/floor (native, no PHP, no broker) in
              php-fpm's place: what one event to every stream costs nginx and the kernel alone
  better-sse  Node, bench/detach/peers/better-sse.mjs: sessions on one channel, channel.broadcast()
  sse-starlette  uvicorn (uvloop, httptools), bench/detach/peers/starlette_app.py: one queue per
              stream, the publish puts the event on every queue
  attached    the detach stack, bench/detach/www/attached.php: run() instead of detach(), as many
              streams as the pool has workers (4)
  rounds      one detach stack, ROUNDS times: STREAMS streams, one event, the client leaves; the
              workers' memory with the streams open and 3 s after they left

The client (bench/lib/client, Rust, tokio, one thread) opens the streams 200 at a time and reads
them all; each event's data is its publish time (CLOCK_REALTIME ns, taken just before the publish
call) and the read that completes it is stamped with the kernel's receive time of its bytes
(SO_TIMESTAMPNS, the same clock). The servers share both CPUs and the client runs at SCHED_IDLE, so
it takes no CPU from them (PIN=1 instead: servers on CPU 0, client and publisher on CPU 1).
Servers and publisher run at nice PRIO (-10 by default, as root) so that other work on the machine
disturbs the figures less.

Per server: streams open; an ordinary page's time (200 sequential GETs on new connections while
the streams are open); the server's private memory (Private_Clean + Private_Dirty from
/proc/PID/smaps_rollup) before the streams and with them open, per stream; PUBLISHES events, one a
second, and the time until the last stream has each; CPU (all threads, schedstat) over
IDLE_SECONDS with the streams idle (heartbeats only, every 15 s); then the client leaves and the
detached-stream counters and the workers' descriptors are read again. Then the three servers again
at each count of ALSO_AT (5000: the count of the figures measured earlier), open, memory and the
publishes only.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402

HERE = Path(__file__).resolve().parent
WWW = HERE / "www"
PEERS = HERE / "peers"
FLOOR = HERE / "floor/target/release/fastcgi-floor"
VENV = B.RESULTS / "detach-venv"
STREAMS = int(os.environ.get("STREAMS", 10000))
IDLE = float(os.environ.get("IDLE_SECONDS", 30))
PUBLISHES = int(os.environ.get("PUBLISHES", 5))
POOL = 4
PIN = os.environ.get("PIN", "0") != "0"
NGINX_WORKERS = 2
STARLETTE_ARGV = [VENV / "bin/python", "-m", "uvicorn", "starlette_app:app", "--host", "127.0.0.1", "--port", "{port}",
                  "--backlog", "4096", "--log-level", "warning", "--no-access-log", "--loop", "uvloop",
                  "--http", "httptools"]
STARLETTE_PINS = ["sse-starlette==3.7.0", "uvicorn==0.54.0", "uvloop==0.23.0", "httptools==0.9.0"]


PRIO = int(os.environ.get("PRIO", -10))


def prio():
    return ["nice", "-n", str(PRIO)] if PRIO else []


def server_cpu(argv):
    return prio() + (["taskset", "-c", "0"] if PIN else []) + [str(a) for a in argv]


def client_cpu():
    """The client: on CPU 1 with PIN=1; otherwise at SCHED_IDLE, so that it runs only on a CPU
    no server wants (its arrival times are the kernel's, so its own lateness is not measured)."""
    return prio() + ["taskset", "-c", "1"] if PIN else ["chrt", "--idle", "0"]


def publisher_cpu(argv):
    return prio() + (["taskset", "-c", "1"] if PIN else []) + [str(a) for a in argv]


# ---------------------------------------------------------------- set-up (idempotent)

def prepare():
    B.build_client()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(HERE / "floor/Cargo.toml")],
                   check=True)
    if not (PEERS / "node_modules/better-sse").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEERS, check=True)
    py = VENV / "bin/python"
    probe = "import sse_starlette, uvicorn, uvloop, httptools"
    if not py.exists() or subprocess.run([py, "-c", probe], capture_output=True).returncode:
        subprocess.run(["python3", "-m", "venv", VENV],
                       check=True)
        subprocess.run([VENV / "bin/pip", "install", "-q", *STARLETTE_PINS], check=True)


def versions():
    def out(argv, **kw):
        r = subprocess.run(argv, capture_output=True, text=True, **kw)
        return (r.stdout or r.stderr).strip()
    better = json.loads((PEERS / "node_modules/better-sse/package.json").read_text())["version"]
    py = out([VENV / "bin/python", "-c", "import sys, importlib.metadata as m; print(sys.version.split()[0], "
              "*(m.version(p) for p in ('sse-starlette', 'uvicorn', 'uvloop', 'httptools')))"])
    p, s, u, l, h = py.split()
    return {"node": out(["node", "--version"]), "better-sse": better, "python": p, "sse-starlette": s,
            "uvicorn": u, "uvloop": l, "httptools": h}


# ---------------------------------------------------------------- memory

def private_kb(pid):
    """Private_Clean + Private_Dirty of a process (KB), and its PSS."""
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    get = lambda k: int(re.search(rf"^{k}:\s+(\d+)", text, re.M).group(1))  # noqa: E731
    return {"private": get("Private_Clean") + get("Private_Dirty"), "pss": get("Pss")}


def private_total(pids):
    ms = [private_kb(p) for p in pids]
    return {"private": sum(m["private"] for m in ms), "pss": sum(m["pss"] for m in ms)}


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


# ---------------------------------------------------------------- servers

class FpmStack(B.Stack):
    """nginx (2 workers, reuseport) + php-fpm (pm = static, 4 workers) on bench/detach/www, sized
    for 10,000 streams and more; the publisher's broker under /dev/shm. `upstream`: another
    FastCGI server in php-fpm's place (the floor)."""

    def __init__(self, name, upstream=None):
        self.broker = Path(f"/dev/shm/sse-bench-detach-{os.getpid()}")
        shutil.rmtree(self.broker, ignore_errors=True)
        super().__init__(name, workers=POOL, nginx_workers=NGINX_WORKERS, www=WWW, connections=16000,
                         env={"SSE_BENCH_BROKER": self.broker}, wrap=server_cpu, read_timeout=300, upstream=upstream)

    def nginx_pids(self):
        # The wrappers (nice, taskset) exec the servers, so the Popen pids are the servers' own.
        return [self.nginx.proc.pid, *B.children(self.nginx.proc.pid)]

    def measured_pids(self):
        return self.worker_pids()

    def other_pids(self):
        return [self.fpm.proc.pid, *self.nginx_pids()]

    def warm(self):
        for _ in range(3 * POOL):
            B.get(self.port, "/plain.php")

    def publish(self, client):
        out = subprocess.run(publisher_cpu(["php", "-n", "-d", f"extension={B.extension()}", HERE / "publish.php",
                                         self.broker]), capture_output=True, text=True, timeout=30)
        if out.returncode:
            raise RuntimeError(f"publish failed: {out.stdout} {out.stderr}")
        return int(out.stdout.split()[-1])

    def worker_stats(self, tries=40):
        """detachedStats() of each worker, from stats.php answered by whichever worker is free."""
        seen = {}
        for _ in range(tries):
            try:
                d = json.loads(B.get(self.port, "/stats.php", timeout=5))
            except (OSError, ValueError):
                continue
            seen[d["pid"]] = d
            if len(seen) == POOL:
                break
        return seen

    def stop(self):
        super().stop()
        shutil.rmtree(self.broker, ignore_errors=True)


class FloorStack(FpmStack):
    """The floor: the detach stack's nginx, configured the same, in front of bench/detach/floor
    (native, one thread, no PHP and no broker) in php-fpm's place. A publish is one line on its
    control socket; it writes the same record to every stream in one loop. What the fan-out
    costs here is what nginx and the kernel alone cost."""

    def __init__(self):
        super().__init__("floor", upstream=lambda sock: [FLOOR, "--listen", sock, "--control",
                                                         sock.parent / "control.sock"])
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        B.wait_connectable(self.tmp / "control.sock")
        self.control.connect(str(self.tmp / "control.sock"))
        self.answers = self.control.makefile("r")

    def measured_pids(self):
        return [self.fpm.proc.pid]

    def other_pids(self):
        return self.nginx_pids()

    def worker_stats(self, tries=40):
        return {}

    def publish(self, client):
        t = time.time_ns() // 1000 * 1000  # to the µs, as publish.php takes it
        self.control.sendall(f"publish {t}\n".encode())
        if not self.answers.readline().strip().isdigit():
            raise RuntimeError("the floor did not answer the publish")
        return t

    def stop(self):
        self.control.close()
        super().stop()


class PeerServer:
    """One process serving /stream, /publish and /plain."""

    def __init__(self, name, argv, cwd):
        self.name = name
        self.tmp = Path(tempfile.mkdtemp(prefix=f"sse-bench-{name}-"))
        self.port = B.free_port()
        argv = [a.format(port=self.port) if isinstance(a, str) else a for a in argv]
        self.svc = B.Service(name, server_cpu(argv), self.tmp)
        old = os.getcwd()
        os.chdir(cwd)
        try:
            self.svc.start()
        finally:
            os.chdir(old)
        try:
            B.wait_connectable(("127.0.0.1", self.port), timeout=30)
        except BaseException:
            self.stop()
            raise

    def measured_pids(self):
        return [self.svc.proc.pid]

    def other_pids(self):
        return []

    def warm(self):
        for _ in range(10):
            B.get(self.port, "/plain")

    def publish(self, client):
        return int(json.loads(B.get(self.port, "/publish", timeout=30))["sent"])

    def errors(self):
        text = (self.tmp / f"{self.name}.console.log").read_text(errors="replace")
        return text[-1500:] if re.search(r"error|exception|traceback", text, re.I) else ""

    def stop(self):
        self.svc.stop()
        if not os.environ.get("SSE_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- one server

def measure(name, server, stream_path, plain_path, streams, quick=False):
    """quick: open, memory and the publishes only (no plain page, no idle time)."""
    res = {"name": name, "streams_asked": streams, "load": B.load()}
    try:
        server.warm()
        time.sleep(1)
        pids = server.measured_pids()
        res["processes"] = len(pids)
        mem0 = private_total(pids)
        other0 = private_total(server.other_pids()) if server.other_pids() else None
        fds0 = {p: fd_count(p) for p in pids}
        if isinstance(server, FpmStack):
            res["stats_before"] = server.worker_stats()
        t0 = time.monotonic()
        client = B.NativeClient(server.port, stream_path, streams, prefix=client_cpu())
        try:
            ready = client.line(timeout=240)
            res["ready"] = ready
            res["open_seconds"] = time.monotonic() - t0
            time.sleep(3)
            st = client.ask("stats")
            res["open"] = st["open"]
            res["failures"] = st["failures"]
            mem1 = private_total(pids)
            res["mem_before_kb"], res["mem_open_kb"] = mem0, mem1
            res["private_per_stream_b"] = (mem1["private"] - mem0["private"]) * 1024 / max(1, st["open"])
            res["pss_per_stream_b"] = (mem1["pss"] - mem0["pss"]) * 1024 / max(1, st["open"])
            if other0:
                other1 = private_total(server.other_pids())
                res["nginx_fpm_master_before_kb"], res["nginx_fpm_master_open_kb"] = other0, other1
                res["nginx_private_per_stream_b"] = (other1["private"] - other0["private"]) * 1024 / max(1, st["open"])
            res["fds_open"] = {p: fd_count(p) for p in pids}
            if isinstance(server, FpmStack) and name != "attached":
                res["stats_open"] = server.worker_stats()
            if not quick:
                res["plain"] = client.ask(f"plain {plain_path} 200", timeout=120)["plain"]
            sent = []
            c0 = sum(B.cpu_ns(p) for p in pids)
            o0 = sum(B.cpu_ns(p) for p in server.other_pids())
            k0 = B.cpu_ns(client.proc.pid)
            win0 = time.monotonic()
            perf = None
            if os.environ.get("PERF") and name == "detach":
                # PERF=1: a CPU profile of the servers' CPUs over the publishes, for `perf report -i`.
                perf = subprocess.Popen(["perf", "record", "-q", "-g", *(["-C", "0"] if PIN else ["-a"]), "-e",
                                         "cpu-clock", "-o", str(B.RESULTS / "detach-perf.data")])
            for _ in range(PUBLISHES):
                sent.append(server.publish(client))
                time.sleep(1.0)
            time.sleep(1.0)
            res["publish_window_s"] = time.monotonic() - win0
            if perf:
                perf.send_signal(2)
                perf.wait()
            res["publish_cpu_ms"] = {  # per event, heartbeats in the same seconds included
                "measured": (sum(B.cpu_ns(p) for p in pids) - c0) / 1e6 / PUBLISHES,
                "other": (sum(B.cpu_ns(p) for p in server.other_pids()) - o0) / 1e6 / PUBLISHES,
                "client": (B.cpu_ns(client.proc.pid) - k0) / 1e6 / PUBLISHES}
            st = client.ask("stats")
            got = {e["sent"]: e for e in st["published"]}
            res["publishes"] = [got.get(s, {"sent": s, "streams": 0}) for s in sent]
            res["open_at_publish"] = st["open"]
            res["open_end"] = st["open"]
            res["closed_during_run"] = st["closed_after_open"]
            if quick:
                return res
            # Idle: heartbeats only.
            hb0 = st["heartbeats"]
            c0 = sum(B.cpu_ns(p) for p in pids)
            o0 = sum(B.cpu_ns(p) for p in server.other_pids())
            w0 = time.monotonic()
            time.sleep(IDLE)
            c1 = sum(B.cpu_ns(p) for p in pids)
            o1 = sum(B.cpu_ns(p) for p in server.other_pids())
            wall = time.monotonic() - w0
            st = client.ask("stats")
            res["idle"] = {"seconds": wall, "cpu_s": (c1 - c0) / 1e9, "percent": 100 * (c1 - c0) / 1e9 / wall,
                           "other_cpu_s": (o1 - o0) / 1e9, "other_percent": 100 * (o1 - o0) / 1e9 / wall,
                           "heartbeats": st["heartbeats"] - hb0}
            res["open_end"] = st["open"]
            res["closed_during_run"] = st["closed_after_open"]
        finally:
            client.quit()
        # The client left: every stream must be let go of.
        time.sleep(3)
        res["fds_before"] = fds0
        res["fds_after"] = {p: fd_count(p) for p in pids}
        if isinstance(server, FpmStack):
            res["stats_after"] = server.worker_stats()
        res["mem_after_kb"] = private_total(pids)
        res["errors"] = server.errors()
    finally:
        server.stop()
    print(json.dumps({k: v for k, v in res.items() if k not in ("stats_before",)}, default=str), flush=True)
    return res


# ---------------------------------------------------------------- report

def fmt_ms(us):
    return f"{us / 1000:.0f} ms" if us >= 10000 else f"{us / 1000:.1f} ms"


def median_last(r):
    """The median over the publishes of the last stream's time (µs); inf if one was not received."""
    maxes = sorted(p.get("max_us", float("inf")) for p in r["publishes"])
    return maxes[len(maxes) // 2]


def event_cpu(r):
    """CPU (ms) of one event to every stream: measured processes and nginx (+ fpm master), less
    what the same seconds cost when idle (the publish window also holds heartbeats)."""
    pc, idle = r["publish_cpu_ms"], r["idle"]
    share = r["publish_window_s"] / PUBLISHES
    return (pc["measured"] - idle["cpu_s"] / idle["seconds"] * share * 1000,
            pc["other"] - idle["other_cpu_s"] / idle["seconds"] * share * 1000)


def fan_out_targets(by):
    """Issue 20: the detach stack's last stream at most 1.2x the floor's (the same nginx in front
    of a native upstream), and ahead of the peers, in the same run."""
    d, f = by["detach"], by.get("floor")
    out = []
    if f:
        ratio = median_last(d) / median_last(f)
        out.append(f"- publish → last stream at most 1.2x the floor's (median of {PUBLISHES}): "
                   f"**{B.yes_no(ratio <= 1.2)}** ({fmt_ms(median_last(d))} against {fmt_ms(median_last(f))}: "
                   f"{ratio:.2f}x).")
    for peer in ("better-sse", "sse-starlette"):
        if peer in by:
            out.append(f"- publish → last stream ahead of {peer}: **{B.yes_no(median_last(d) < median_last(by[peer]))}** "
                       f"({fmt_ms(median_last(d))} against {fmt_ms(median_last(by[peer]))}).")
    return out


def section(results, vers, load):
    by = {r["name"]: r for r in results}
    d = by.get("detach")
    pin = ("The servers run on CPU 0 and the client and the publisher on CPU 1 (`taskset`), so every server "
           "has one core, and the client has its own. " if PIN else
           "The servers share the machine's 2 CPUs; the client runs at `SCHED_IDLE` (`chrt --idle 0`), so it "
           "reads only when no server wants a CPU and takes nothing from a fan-out it times. ")
    if PRIO:
        pin += (f"Servers{', client' if PIN else ''} and publisher run at `nice -n {PRIO}` so that other work on the "
                "machine (see the load average) disturbs them less. ")
    lines = ["## Detached streams", "",
             f"Machine: {B.machine()}; load average at start {load}.", "",
             "Command: `python3 bench/detach/run.py` (alone; part of `bench/run.sh`; it builds the client and "
             "installs the peers first: `npm ci` in bench/detach/peers, a venv in bench/results/detach-venv). "
             f"Issue 11. {STREAMS:,} streams each, opened 200 at a time by bench/lib/client (Rust, tokio, one "
             "thread in one process, HTTP/1.1, one connection per stream: its sockets stay under the 20,000 "
             "descriptors a process may have here) on 127.0.0.1. " + pin,
             "",
             f"- **detach**: nginx ({NGINX_WORKERS} worker processes, `worker_connections 16000`, "
             "`worker_rlimit_nofile 19000`, `listen ... reuseport` so that the kernel splits the connections "
             "between them: a proxied stream costs nginx two descriptors and a process may have 20,000) + php-fpm "
             f"(`pm = static`, {POOL} workers, `pm.max_requests = 0`, `rlimit_files = 16384`, `listen.backlog = 4096`), "
             "production php.ini. `bench/detach/www/stream.php`: `new Sse\\Broker('local://DIR')`, "
             "`new Sse\\SseEmitter(['retry' => 2000, 'heartbeat' => 15])`, `subscribe('all', $broker)`, `detach()`. "
             "Events are published by `php bench/detach/publish.php DIR` (PHP CLI, the embedded broker), data "
             "the time (`microtime(true)`, in ns) taken just before `publish()`.",
             f"- **floor**: the same nginx, configured the same, in front of `bench/detach/floor` (Rust, tokio on "
             "one thread) in php-fpm's place on the same socket: a minimal FastCGI responder that answers "
             "`/stream.php` with the extension's headers and holds it, and on a publish (a line on its control "
             "socket, the time taken just before it is sent) writes one prebuilt record, `id`, `event: e` and the "
             "`data`, to every stream in one loop of non-blocking writes. No PHP, no broker: what the fan-out "
             "costs here is what nginx and the kernel alone cost.",
             f"- **better-sse** {vers['better-sse']} on Node {vers['node']} (`bench/detach/peers/better-sse.mjs`): "
             "`createSession(req, res, {retry: 2000, keepAlive: 15000})` registered on one `createChannel()`; "
             "`GET /publish` calls `channel.broadcast(t)`, `t` the time (ns) just before.",
             f"- **sse-starlette** {vers['sse-starlette']} on uvicorn {vers['uvicorn']} (uvloop {vers['uvloop']}, "
             f"httptools {vers['httptools']}, Python {vers['python']}; `bench/detach/peers/starlette_app.py`): "
             "`EventSourceResponse(generator, ping=15)`, one `asyncio.Queue` per stream; `GET /publish` puts the "
             "event, data `time.time_ns()`, on every queue.",
             f"- **attached**: the detach stack with `bench/detach/www/attached.php`, `run()` instead of `detach()`: "
             f"{POOL} streams, as many as the pool has workers.",
             "",
             "Publish times and receive times are both CLOCK_REALTIME (a receive time is the kernel's, `SO_TIMESTAMPNS`, "
             "of the read that completed the event); \"last stream\" is the latest arrival "
             f"among all streams of one event ({PUBLISHES} events a second apart; median and worst of the "
             f"{PUBLISHES}). The plain page (`plain.php`, or `/plain` of the peers) is fetched 200 times one after "
             "the other on new connections while the streams are open. Memory is the measured processes' private "
             "memory (Private_Clean + Private_Dirty, /proc/PID/smaps_rollup; kernel socket buffers are not in it): "
             "with the streams open minus before them (after warm-up requests), divided by the streams open. CPU "
             f"is every thread's schedstat over {IDLE:.0f} s while the streams only get heartbeats (every 15 s).",
             "",
             "| | detach | floor | better-sse | sse-starlette | attached |",
             "|---|---|---|---|---|---|"]
    order = ["detach", "floor", "better-sse", "sse-starlette", "attached"]

    def row(label, f):
        cells = []
        for n in order:
            r = by.get(n)
            try:
                cells.append(f(r) if r else "not run")
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def lat(r, which):
        pubs = r["publishes"]
        maxes = sorted(p.get("max_us", float("inf")) for p in pubs)
        v = maxes[len(maxes) // 2] if which == "median" else maxes[-1]
        return "not received" if v == float("inf") else fmt_ms(v)

    row("streams asked / open", lambda r: f"{r['streams_asked']:,} / {r['open']:,}"
        + (f" ({', '.join(f'{k}: {v}' for k, v in r['failures'].items())})" if r["failures"] else ""))
    row("time to open them all", lambda r: f"{r['ready']['seconds']:.1f} s")
    row("load average (1, 5, 15 min) when it started", lambda r: r["load"])
    row("measured processes", lambda r: {"detach": f"{r['processes']} fpm workers",
                                         "attached": f"{r['processes']} fpm workers",
                                         "floor": "1 process (fastcgi-floor)"}.get(r["name"], "1 process"))
    row("plain page while open, p50 / p99 / max", lambda r: (
        f"{fmt_ms(r['plain']['p50_us'])} / {fmt_ms(r['plain']['p99_us'])} / {fmt_ms(r['plain']['max_us'])}"
        if r["plain"]["ok"] else f"no answer ({r['plain']['timeouts']} timeouts of 5 s)"))
    row("private memory before → open", lambda r: f"{r['mem_before_kb']['private'] / 1024:.1f} → "
        f"{r['mem_open_kb']['private'] / 1024:.1f} MB")
    row("private memory 3 s after the client left", lambda r: f"{r['mem_after_kb']['private'] / 1024:.1f} MB")
    row("open descriptors before / open / after", lambda r: " / ".join(
        f"{sum(v or 0 for v in r[k].values()):,}" for k in ("fds_before", "fds_open", "fds_after")))
    row("private memory per stream", lambda r: f"{r['private_per_stream_b'] / 1024:.2f} KiB")
    row("nginx + fpm master private memory per stream", lambda r: "(too few streams to tell)" if r["name"] == "attached" and
        r["open"] < 100 else f"{r['nginx_private_per_stream_b'] / 1024:.2f} KiB")
    row(f"streams that got each event (of {PUBLISHES})", lambda r: ", ".join(f"{p['streams']:,}" for p in r["publishes"]))
    row("publish → last stream, median / worst", lambda r: f"{lat(r, 'median')} / {lat(r, 'worst')}")
    row("publish → p50 stream (median of the events)", lambda r: fmt_ms(sorted(
        p["p50_us"] for p in r["publishes"])[len(r["publishes"]) // 2]))
    row("CPU per published event (heartbeats of those seconds included): measured processes / nginx + fpm master / client", lambda r: " / ".join(
        f"{r['publish_cpu_ms'][k]:.0f} ms" for k in ("measured", "other", "client")))
    row("CPU per stream per event, heartbeats of the same seconds taken off: measured processes / nginx",
        lambda r: " / ".join(f"{v * 1000 / max(1, r['open']):.1f} µs" for v in event_cpu(r)))
    row(f"idle CPU over {IDLE:.0f} s (measured processes)", lambda r: f"{r['idle']['cpu_s'] * 1000:.0f} ms = "
        f"{r['idle']['percent']:.2f} % of a core")
    row("idle CPU of nginx + fpm master", lambda r: f"{r['idle']['other_cpu_s'] * 1000:.0f} ms = "
        f"{r['idle']['other_percent']:.2f} % of a core")
    row("heartbeats received while idle", lambda r: f"{r['idle']['heartbeats']:,}")
    row("streams closed during the run", lambda r: f"{r['closed_during_run']:,}")
    lines.append("")
    if d:
        open_ok = d["open"] >= STREAMS
        plain_ok = d["plain"]["ok"] > 0 and d["plain"]["p99_us"] < 50_000
        mem_ok = d["private_per_stream_b"] <= 10 * 1024
        worst = max(p.get("max_us", float("inf")) for p in d["publishes"])
        all_got = all(p["streams"] >= d["open_at_publish"] for p in d["publishes"])
        cpu_ok = d["idle"]["percent"] < 2.0
        lines += [
            "Targets (detach, pool of 4 workers):",
            "",
            f"- {STREAMS:,} concurrent detached streams open: **{B.yes_no(open_ok)}** ({d['open']:,}).",
            f"- a plain page under 50 ms with them open: **{B.yes_no(plain_ok)}** (p99 "
            f"{fmt_ms(d['plain']['p99_us'])}).",
            f"- at most 10 KB of worker memory per detached stream: **{B.yes_no(mem_ok)}** "
            f"({d['private_per_stream_b']:.0f} bytes).",
            f"- every stream gets every event: **{B.yes_no(all_got)}** (worst last stream of {PUBLISHES}: "
            f"{'not all received' if worst == float('inf') else fmt_ms(worst)}).",
            *fan_out_targets(by),
            f"- idle under 2 % of a core: **{B.yes_no(cpu_ok)}** ({d['idle']['percent']:.2f} %).",
            ""]
        pc = d["publish_cpu_ms"]
        wk, ng = event_cpu(d)
        lines += [
            f"Reading the figures. Per stream, the detach stack's memory is the workers' "
            f"{d['private_per_stream_b'] / 1024:.1f} KiB plus nginx's {d['nginx_private_per_stream_b'] / 1024:.1f} KiB "
            "(its two connections and buffers per proxied stream). One event to every stream cost about "
            f"{wk:.0f} ms of CPU in the fpm workers ({wk * 1000 / max(1, d['open']):.0f} µs per stream: waking the "
            f"stream's task, framing, one write to its FastCGI socket) and {ng:.0f} ms in nginx "
            f"({ng * 1000 / max(1, d['open']):.0f} µs per stream: reading the FastCGI record, writing the chunk to the "
            "client), the CPU per event of the table less what the same seconds cost when idle"
            + (f"; all of it on one core (CPU 0), so this work alone takes about {wk + ng:.0f} ms. " if PIN else
               f"; on 2 CPUs this work alone takes at least {(wk + ng) / 2:.0f} ms. ")
            + f"The client spent {pc['client']:.0f} ms of CPU per event reading the {d['open']:,} sockets"
            + (" on its own core." if PIN else ", when the servers left a CPU idle."),
            ""]
        so, sa = d.get("stats_open", {}), d.get("stats_after", {})

        def tot(s, k):
            return sum(v.get(k, 0) for v in s.values())
        lines += [
            f"`Sse\\SseEmitter::detachedStats()` summed over the workers that answered `stats.php` "
            f"({len(so)} of {POOL} with the streams open, {len(sa)} after the client left): with the streams open "
            f"{tot(so, 'streams'):,} streams, {tot(so, 'events'):,} events; after the client left "
            f"{tot(sa, 'streams'):,} streams, {tot(sa, 'hangUps'):,} hang-ups, {tot(sa, 'slowClientCloses')} slow-client "
            f"closes, {tot(sa, 'events'):,} events. Workers' open descriptors before / with the streams / after: "
            f"{sum(v or 0 for v in d['fds_before'].values()):,} / {sum(v or 0 for v in d['fds_open'].values()):,} / "
            f"{sum(v or 0 for v in d['fds_after'].values()):,}.", ""]
    errs = [f"{r['name']}: {r['errors']}" for r in results if r.get("errors")]
    if errs:
        lines += ["Errors in the servers' logs:", "", "```", *errs, "```", ""]
    return "\n".join(lines)


def extra_table(extra):
    if not extra:
        return ""
    lines = ["", f"The same servers at {', '.join(f'{n:,}' for n in sorted({r['streams_asked'] for r in extra}))} "
             "streams, right after (open, memory, the publishes only), to compare with the figures at that count:", "",
             "| | streams open | private memory per stream | publish → last stream, median / worst | "
             "publish → p50 stream | CPU per event: measured / nginx / client | load average |",
             "|---|---|---|---|---|---|---|"]
    for r in extra:
        try:
            maxes = sorted(p.get("max_us", float("inf")) for p in r["publishes"])
            p50 = sorted(p.get("p50_us", float("inf")) for p in r["publishes"])[len(maxes) // 2]
            pc = r["publish_cpu_ms"]
            lines.append(
                f"| {r['name']} | {r['open']:,} of {r['streams_asked']:,} | {r['private_per_stream_b'] / 1024:.2f} KiB"
                + (f" (+ nginx {r['nginx_private_per_stream_b'] / 1024:.2f} KiB)" if "nginx_private_per_stream_b" in r else "")
                + f" | {fmt_ms(maxes[len(maxes) // 2])} / {fmt_ms(maxes[-1])} | {fmt_ms(p50)} | "
                f"{pc['measured']:.0f} / {pc['other']:.0f} / {pc['client']:.0f} ms | {r['load']} |")
        except (KeyError, TypeError, ValueError, OverflowError):
            lines.append(f"| {r['name']} | failed to measure | | | | | |")
    return "\n".join(lines) + "\n"


ROUNDS = int(os.environ.get("ROUNDS", 5))


def rounds(streams):
    """Memory after the clients leave: ROUNDS rounds on one detach stack, each opening `streams`
    streams, one publish, the client leaving, and the workers' private memory read 3 s later."""
    server = FpmStack("detach")
    res = {"name": "rounds", "streams_asked": streams, "rounds": []}
    try:
        server.warm()
        time.sleep(1)
        pids = server.worker_pids()
        res["mem_start_kb"] = private_total(pids)
        for i in range(ROUNDS):
            client = B.NativeClient(server.port, "/stream.php", streams, prefix=client_cpu())
            try:
                client.line(timeout=240)
                time.sleep(3)
                opened = client.ask("stats")["open"]
                mem_open = private_total(pids)
                sent = server.publish(client)
                time.sleep(1.5)
                got = {e["sent"]: e["streams"] for e in client.ask("stats")["published"]}.get(sent, 0)
            finally:
                client.quit()
            time.sleep(3)
            stats = server.worker_stats()
            res["rounds"].append({"open": opened, "got": got, "mem_open_kb": mem_open,
                                  "mem_after_kb": private_total(pids),
                                  "streams_after": sum(v.get("streams", 0) for v in stats.values()),
                                  "same_workers": sorted(pids) == sorted(server.worker_pids())})
            print(json.dumps({"round": i + 1, **res["rounds"][-1]}, default=str), flush=True)
        res["errors"] = server.errors()
    finally:
        server.stop()
    return res


def rounds_section(r):
    if not r:
        return ""
    mb = lambda kb: f"{kb['private'] / 1024:.1f} MB"  # noqa: E731
    lines = ["", f"Memory after the clients leave (issue 20): {len(r['rounds'])} rounds on one detach stack, each "
             f"{r['streams_asked']:,} streams opened, one event published, the client leaving, the {POOL} workers' "
             f"private memory read 3 s later (before the first round: {mb(r['mem_start_kb'])}).", "",
             "| round | streams open / got the event | workers' private memory, open | 3 s after the client left | "
             "streams still held | same workers |", "|---|---|---|---|---|---|"]
    for i, x in enumerate(r["rounds"], 1):
        lines.append(f"| {i} | {x['open']:,} / {x['got']:,} | {mb(x['mem_open_kb'])} | {mb(x['mem_after_kb'])} | "
                     f"{x['streams_after']} | {'yes' if x['same_workers'] else 'no'} |")
    start = r["mem_start_kb"]["private"]
    after = [x["mem_after_kb"]["private"] for x in r["rounds"]]
    returned = [(x["mem_open_kb"]["private"] - x["mem_after_kb"]["private"])
                / max(1, x["mem_open_kb"]["private"] - start) for x in r["rounds"]]
    lines += ["", "Targets (the workers give back what the streams took, and it does not build up):", "",
              f"- at least 80 % of what the open streams added is given back 3 s after they left, every round: "
              f"**{B.yes_no(min(returned) >= 0.8)}** ({', '.join(f'{x:.0%}' for x in returned)})."]
    if len(after) > 2:
        grows = after[-1] - after[1] > 1024
        lines += [f"- from the second round on, memory after the clients left does not grow (the last within 1 MB of "
                  f"the second): **{B.yes_no(not grows)}** ({(after[-1] - after[1]) / 1024:+.1f} MB)."]
    if r.get("errors"):
        lines += ["", "```", r["errors"], "```"]
    return "\n".join(lines) + "\n"


def main():
    prepare()
    vers = versions()
    load = B.load()
    results = []
    memory = None
    cases = os.environ.get("CASES", "detach floor better-sse sse-starlette attached rounds").split()
    for name in cases:
        print(f"detach bench: {name} ({time.strftime('%T')})", flush=True)
        if name == "detach":
            results.append(measure(name, FpmStack("detach"), "/stream.php", "/plain.php", STREAMS))
        elif name == "attached":
            results.append(measure(name, FpmStack("attached"), "/attached.php", "/plain.php", POOL))
        elif name == "floor":
            results.append(measure(name, FloorStack(), "/stream.php", "/plain.php", STREAMS))
        elif name == "rounds":
            memory = rounds(STREAMS)
        elif name == "better-sse":
            srv = PeerServer(name, ["node", PEERS / "better-sse.mjs", "{port}"], PEERS)
            results.append(measure(name, srv, "/stream", "/plain", STREAMS))
        elif name == "sse-starlette":
            srv = PeerServer(name, STARLETTE_ARGV, PEERS)
            results.append(measure(name, srv, "/stream", "/plain", STREAMS))
        time.sleep(2)
    extra = []
    for count in [int(x) for x in os.environ.get("ALSO_AT", "5000").split() if int(x) != STREAMS]:
        for name in [c for c in cases if c not in ("attached", "rounds")]:
            print(f"detach bench: {name} at {count} ({time.strftime('%T')})", flush=True)
            if name == "detach":
                srv = FpmStack("detach")
                extra.append(measure(name, srv, "/stream.php", "/plain.php", count, quick=True))
            elif name == "floor":
                extra.append(measure(name, FloorStack(), "/stream.php", "/plain.php", count, quick=True))
            elif name == "better-sse":
                srv = PeerServer(name, ["node", PEERS / "better-sse.mjs", "{port}"], PEERS)
                extra.append(measure(name, srv, "/stream", "/plain", count, quick=True))
            elif name == "sse-starlette":
                srv = PeerServer(name, STARLETTE_ARGV, PEERS)
                extra.append(measure(name, srv, "/stream", "/plain", count, quick=True))
            time.sleep(2)
    B.save("detach", {"versions": vers, "results": results, "also": extra, "rounds": memory})
    B.write_section("detach", section(results, vers, load) + extra_table(extra) + rounds_section(memory))


if __name__ == "__main__":
    main()
