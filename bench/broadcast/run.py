#!/usr/bin/env python3
"""Broadcast through a broker (issue 10): the embedded broker and Redis against the loops users
write today (SQLite polled every second, phpredis subscribe()).

    python3 bench/broadcast/run.py

Installs what it needs first (bench/broadcast/install.sh: redis-server, php8.2-redis,
php8.2-sqlite3; idempotent) and builds the client (cargo), starts its own redis-server on a free loopback port with no
persistence, its own embedded broker directory under /dev/shm, its own SQLite database under
/dev/shm, and one nginx + php-fpm stack (pm = static, enough workers for 100 streams: each
attached stream holds a worker). Removes all of them at the end.

In this order, on the same stack:
1. Publish cost: a CLI loop of publishes, µs per call (no stream attached).
2. Replay: BCAST_REPLAY events published, then a stream opened with Last-Event-ID = the id from
   before them; time from the request sent to the last one received (BCAST_REPLAY_RUNS runs).
3. Publish-to-delivery latency with BCAST_STREAMS (1, 10, 100) streams, for the two brokers and
   the two peers: a CLI php process publishes BCAST_EVENTS events BCAST_GAP_US apart, each
   carrying microtime() taken just before the publish call; the client (bench/lib/client, native,
   one thread, at SCHED_IDLE) reads every stream with SO_TIMESTAMPNS, so an event's arrival is the
   kernel's receive time of the bytes that completed it (CLOCK_REALTIME on both sides, same
   machine), not the moment the client got round to that socket. When the first bytes of an event
   arrive the client sleeps BCAST_SETTLE_MS before it reads (outside epoll: the arrivals meanwhile
   wake nothing), so that it takes neither CPU nor interrupts from the fan-out it times. The
   client's own lag (its read time minus the kernel's) is recorded too, and the CPU of the server
   side (nginx, php-fpm, redis-server) per event.
4. Syscalls and CPU of the worker of one stream per delivered event (strace -c, every thread).
5. Publish cost again, now that every worker has served a stream (a worker reads a broker only
   while one of its streams is subscribed: none should be reading any more).
6. Replay again (embedded broker) on that pool.
Environment: SSE_EXT, BENCH_RESULTS, BCAST_EVENTS (500), BCAST_GAP_US (10000), BCAST_STREAMS,
BCAST_REPLAY (10000), BCAST_REPLAY_RUNS (5), BCAST_SETTLE_MS (5; 0: the client reads at once).
Writes bench/results/broadcast.md, broadcast.json, broadcast.png.
"""
import json
import os
import selectors
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchlib as B  # noqa: E402

HERE = Path(__file__).resolve().parent
EVENTS = int(os.environ.get("BCAST_EVENTS", 500))
GAP_US = int(os.environ.get("BCAST_GAP_US", 10_000))
COUNTS = [int(x) for x in os.environ.get("BCAST_STREAMS", "1,10,100").split(",")]
REPLAY = int(os.environ.get("BCAST_REPLAY", 10_000))
REPLAY_RUNS = int(os.environ.get("BCAST_REPLAY_RUNS", 5))
SETTLE_MS = int(os.environ.get("BCAST_SETTLE_MS", 5))
COST_RUNS = 3
STRACE_EVENTS = 200
COST_AFTER_CALLS = 500
COST_CALLS = {"local": 20_000, "redis": 5_000, "pubsub": 5_000, "sqlite": 5_000}
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux value, Python lacks the name

# Latency rows; all always (a partial run would mislead). `-detached`: the same broker, the streams
# detach()ed on a pool of 4 workers (the way the README serves many streams).
MECHS = ["local", "local-detached", "redis", "redis-detached", "sqlite", "pubsub"]
LABEL = {
    "local": "embedded broker (`local://`)",
    "local-detached": "embedded broker, detached streams",
    "redis": "Redis broker (`redis://`, Redis Streams)",
    "redis-detached": "Redis broker, detached streams",
    "sqlite": "peer: SQLite polled every second",
    "pubsub": "peer: phpredis `subscribe()`",
}
TARGET_P99_US = {"local": 2000, "local-detached": 2000, "redis": 5000, "redis-detached": 5000}
DETACH_POOL = 4
NGINX_WORKERS = os.cpu_count() or 1
TARGET_COST_US = {"local": 20, "redis": 200}
TARGET_REPLAY_MS = 100


class Env:
    """Everything the run starts: redis-server, the broker dir, the SQLite db, the stack."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sse-bench-broadcast-"))
        self.shm = Path(tempfile.mkdtemp(prefix="sse-bench-broadcast-", dir="/dev/shm"))
        self.shm.chmod(0o777)
        self.redis_port = B.free_port()
        (self.tmp / "redis").mkdir()
        self.redis = B.Service("redis-server", [
            "redis-server", "--bind", "127.0.0.1", "--port", self.redis_port, "--save", "", "--appendonly", "no",
            "--dir", self.tmp / "redis", "--daemonize", "no", "--protected-mode", "yes"], self.tmp)
        self.redis.start()
        B.wait_connectable(("127.0.0.1", self.redis_port))
        self.url = {"local": f"local://{self.shm / 'broker'}", "redis": f"redis://127.0.0.1:{self.redis_port}/0"}
        self.db = self.shm / "events.sqlite"
        with sqlite3.connect(self.db) as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL)")
        self.db.chmod(0o666)
        B.WWW = HERE / "www"  # the stack's document root
        self.stack = self.pool = None
        try:
            # nginx as Debian configures it (`worker_processes auto`: one per CPU).
            self.stack = B.Stack("broadcast", workers=max(COUNTS) + 10, nginx_workers=NGINX_WORKERS)
            self.pool = B.Stack("broadcast-detach", workers=DETACH_POOL, nginx_workers=NGINX_WORKERS)
        except BaseException:
            self.stop()
            raise

    def stack_for(self, mech):
        return self.pool if mech.endswith("-detached") else self.stack

    def stacks(self):
        return [s for s in (self.stack, self.pool) if s]

    def target(self, mech):
        mech = engine_of(mech)
        return {"local": self.url["local"], "redis": self.url["redis"], "pubsub": str(self.redis_port),
                "sqlite": str(self.db)}[mech]

    def publisher(self, mech):
        mech = engine_of(mech)
        return ("broker", self.target(mech)) if mech in ("local", "redis") else (mech, self.target(mech))

    def path(self, mech, topic="bench", d=120, **extra):
        q = {"d": d, **extra}
        if mech.endswith("-detached"):
            q["detach"] = 1
        if engine_of(mech) in ("local", "redis"):
            q.update(url=self.url[engine_of(mech)], topic=topic, script="broker.php")
        elif mech == "sqlite":
            q.update(db=self.db, script="poll_sqlite.php")
        else:
            q.update(port=self.redis_port, channel="bench", script="pubsub_redis.php")
        return "/" + q.pop("script") + "?" + urllib.parse.urlencode(q)

    def stop(self):
        for stack in self.stacks():
            stack.stop()
        self.redis.stop()
        shutil.rmtree(self.shm, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def php(*args, timeout=120):
    """Runs publish.php in the PHP CLI with the extension under test; its JSON line."""
    argv = ["php", "-d", f"extension={B.extension()}", str(HERE / "publish.php"), *map(str, args)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"publish.php {' '.join(map(str, args))}: exit {out.returncode}: {out.stderr.strip()}{out.stdout.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def php_bg(*args):
    argv = ["php", "-d", f"extension={B.extension()}", str(HERE / "publish.php"), *map(str, args)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Client(B.Stream):
    """A stream whose reads carry the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME)."""

    def __init__(self, port, path, headers=None):
        self.sent_real_ns = time.time_ns()
        super().__init__(port, path, timeout=30, headers=headers)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.closed = False

    def start(self):
        self.read_head()
        if self.status != 200:
            raise RuntimeError(f"HTTP status {self.status}")
        self.sock.setblocking(False)
        # Body bytes that came with the head: no kernel time for them (only opening comments).
        self.early = self._split(self.feed(b""))
        return self

    def _split(self, body):
        self.body_pending += body
        if b"\n\n" not in self.body_pending:
            return []
        *complete, self.body_pending = self.body_pending.split(b"\n\n")
        return complete

    def read(self):
        """One recvmsg: (kernel_ns, app_ns, frames); frames None when the stream ended."""
        try:
            data, anc, _, _ = self.sock.recvmsg(262144, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return None, None, []
        except ConnectionResetError:
            data, anc = b"", []
        app = time.time_ns()
        kernel = None
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", raw[:16])
                kernel = sec * 1_000_000_000 + nsec
        if not data:
            self.closed = True
            return kernel, app, None
        frames = self._split(self.feed(data))
        if self.done:
            self.closed = True
        return kernel, app, frames


def field(frame, name):
    for line in frame.split(b"\n"):
        if line.startswith(name + b": "):
            return line[len(name) + 2:]
    return None


def pump(clients, seconds, on_frame, done):
    """Reads every client until done() or `seconds` pass; on_frame(i, kernel_ns, app_ns, frame)."""
    sel = selectors.DefaultSelector()
    for i, c in enumerate(clients):
        if not c.closed:
            sel.register(c.sock, selectors.EVENT_READ, i)
    deadline = time.monotonic() + seconds
    try:
        while not done() and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                i = key.data
                kernel, app, frames = clients[i].read()
                if frames is None:
                    sel.unregister(clients[i].sock)
                    continue
                for f in frames:
                    on_frame(i, kernel, app, f)
    finally:
        sel.close()


class Streams(B.NativeClient):
    """n streams read by the native client at SCHED_IDLE for its whole life: it runs only when no
    server wants a CPU, and reading 100 sockets costs it about half what the Python client's
    reads cost (which on 2 CPUs still showed in the tail of the figures)."""

    def __init__(self, port, path, n, settle_ms):
        super().__init__(port, path, n, settle_ms=settle_ms)
        ready = self.line(60)
        if ready.get("open") != n:
            self.close()
            raise RuntimeError(f"{n - ready.get('open', 0)} of {n} streams did not open")

    def seen(self, prefix, seq=""):
        """How many streams got an event `PREFIX SEQ ...` (any SEQ when none is given)."""
        return self.ask(f"seen {prefix} {seq}".strip(), timeout=60)["seen"]

    def close(self):
        self.quit()


def engine_of(mech):
    return mech.removesuffix("-detached")


def server_cpu_ns(env):
    """CPU of both stacks' nginx, php-fpm (master and workers) and redis-server, all threads:
    {"nginx": ns, "php-fpm": ns, "redis-server": ns}."""
    roles = {"nginx": [p for stack in env.stacks() for p in [stack.nginx.proc.pid, *B.children(stack.nginx.proc.pid)]],
             "php-fpm": [p for stack in env.stacks() for p in [stack.fpm.proc.pid, *stack.worker_pids()]],
             "redis-server": [env.redis.proc.pid]}
    spent = {}
    for role, pids in roles.items():
        spent[role] = 0
        for pid in pids:
            try:
                spent[role] += B.cpu_ns(pid)
            except OSError:
                pass
    return spent


def cpu_since(before, env):
    """server_cpu_ns(env) minus `before`, per role and in all ("total")."""
    now = server_cpu_ns(env)
    spent = {role: now[role] - before[role] for role in now}
    return spent | {"total": sum(spent.values())}


def following(env):
    """Workers (of both stacks) reading the embedded broker: an inotify watch."""
    n = 0
    for pid in [p for stack in env.stacks() for p in stack.worker_pids()]:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        n += any("inotify" in x for x in links)
    return n


def php_error(env):
    """The last PHP error the stack logged (why a stream script failed)."""
    logs = [stack.tmp / "php_errors.log" for stack in env.stacks()]
    lines = [ln for log in logs if log.exists() for ln in log.read_text(errors="replace").splitlines() if "PHP " in ln]
    return lines[-1].split("] ", 1)[-1] if lines else ""


def attempt(env, what, fn, *args):
    """fn(*args), or {"error": why} when the mechanism failed (recorded, the run goes on)."""
    try:
        return fn(*args)
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
        why = f"{str(e).splitlines()[0]}; {php_error(env)}".strip("; ")
        why = why.split(" in /")[0]  # the message, not the script's path and stack
        print(f"{what}: FAILED: {why}", file=sys.stderr, flush=True)
        time.sleep(0.5)
        return {"error": why}


def warm_up(env, mech, clients):
    """Publishes `w` events until every stream has one: every subscription is in place.
    `clients`: Streams, or a list of Python Clients."""
    got = set()

    def on_frame(i, kernel, app, f):
        d = field(f, b"data")
        if d and d.startswith(b"w "):
            got.add(i)

    def all_seen():
        if isinstance(clients, Streams):
            return clients.seen("w") == n
        return len(got) == n
    n = clients.ask("stats")["open"] if isinstance(clients, Streams) else len(clients)
    deadline = time.monotonic() + 30
    k = 0
    while not all_seen() and time.monotonic() < deadline:
        php("events", *env.publisher(mech), 1, 0, "w")
        k += 1
        wait = 1.5 if mech == "sqlite" else 0.5
        if isinstance(clients, Streams):
            until = time.monotonic() + wait
            while time.monotonic() < until and not all_seen():
                time.sleep(0.05)
        else:
            pump(clients, wait, on_frame, all_seen)
    if not all_seen():
        raise RuntimeError(f"{mech}: not every one of {n} streams got a warm-up event")
    return k


def end_streams(env, mech, clients):
    for c in clients:
        c.close()
    if mech in ("sqlite", "pubsub"):
        php("end", *env.publisher(mech))  # the peers' loops exit on it
        time.sleep(1.5 if mech == "sqlite" else 0.3)
    else:
        time.sleep(0.3)


def latency(env, mech, n, settle_ms=SETTLE_MS):
    streams = Streams(env.stack_for(mech).port, env.path(mech), n, settle_ms)
    try:
        warm = warm_up(env, mech, streams)
        client0 = B.cpu_ns(streams.proc.pid)
        server0 = server_cpu_ns(env)
        pub = php_bg("events", *env.publisher(mech), EVENTS, GAP_US, "m")
        out, err = pub.communicate(timeout=EVENTS * GAP_US / 1e6 + 60)
        if pub.returncode != 0:
            raise RuntimeError(f"publisher: {err}")
        deadline = time.monotonic() + 15
        while streams.seen("m", EVENTS - 1) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        client_cpu = (B.cpu_ns(streams.proc.pid) - client0) / 1e9
        server_cpu = cpu_since(server0, env)
        pubstats = json.loads(out.strip().splitlines()[-1])
        got = streams.ask("tagged m", timeout=60)["streams"]
    finally:
        end_streams(env, mech, [streams])
    # Per stream: [seq, kernel receive time - publish time, client read time - kernel time] (ns).
    seen = [[e[0] for e in s] for s in got]
    kern = [e[1] / 1000 for s in got for e in s]
    app_lag = [e[2] / 1000 for s in got for e in s]
    lat_app = [(e[1] + e[2]) / 1000 for s in got for e in s]
    delivered = sum(len(s) for s in seen)
    in_order = sum(1 for s in seen if s == sorted(set(s)))
    return {
        "streams": n, "events": EVENTS, "warm_up_publishes": warm, "client_settle_ms": settle_ms,
        "expected": EVENTS * n, "delivered": delivered, "streams_in_order_no_dup": in_order,
        "p50_us": B.pct(kern, 50), "p90_us": B.pct(kern, 90), "p99_us": B.pct(kern, 99), "max_us": max(kern, default=float("nan")),
        "kernel_stamped": len(kern),
        "app_p50_us": B.pct(lat_app, 50), "app_p99_us": B.pct(lat_app, 99),
        "client_lag_p50_us": B.pct(app_lag, 50), "client_lag_p99_us": B.pct(app_lag, 99),
        "client_cpu_s": client_cpu, "server_cpu_us_per_event": server_cpu["total"] / 1000 / EVENTS,
        "server_cpu_us_per_event_by_process": {role: ns / 1000 / EVENTS for role, ns in server_cpu.items() if role != "total"},
        "publisher_cpu_us_per_event": pubstats["cpu_s"] * 1e6 / EVENTS,
        "publish_call_p50_us": pubstats["call_p50_us"], "publish_call_max_us": pubstats["call_max_us"],
        "_raw": kern,
    }


def replay(env, engine, run):
    topic = f"replay-{run}"
    pub = php("replay", env.url[engine], topic, REPLAY)
    c = Client(env.stack.port, env.path(engine, topic=topic), headers={"Last-Event-ID": pub["before"]})
    state = {"n": 0, "first": None, "last": None, "ids_ok": True, "reset": False}
    last_id = pub["last"].encode()

    def on_frame(i, kernel, app, f):
        if field(f, b"event") == b"sse-reset":
            state["reset"] = True
        d = field(f, b"data")
        if not d or not d.startswith(b"replay "):
            return
        if int(d.split(b" ")[1]) != state["n"]:
            state["ids_ok"] = False
        state["n"] += 1
        t = kernel if kernel is not None else app
        if state["first"] is None:
            state["first"] = t
        if field(f, b"id") == last_id:
            state["last"] = t
    try:
        c.start()
        for f in c.early:
            on_frame(0, None, time.time_ns(), f)
        pump([c], 30, on_frame, lambda: state["last"] is not None)
    finally:
        c.close()
    time.sleep(0.2)
    if state["last"] is None:
        raise RuntimeError(f"replay {engine}: the last event never arrived ({state['n']} of {REPLAY}, reset {state['reset']})")
    return {"received": state["n"], "in_order": state["ids_ok"], "reset": state["reset"],
            "to_last_ms": (state["last"] - c.sent_real_ns) / 1e6,
            "to_first_ms": (state["first"] - c.sent_real_ns) / 1e6,
            "publish_s": pub["publish_s"]}


def delivery_syscalls(env, mech):
    """Syscalls of the php-fpm worker serving one subscribed stream (all its threads, strace -c)
    while STRACE_EVENTS events are published 5 ms apart, and its CPU per event untraced."""
    pidfile = env.tmp / f"pid-{mech}"
    c = Client(env.stack.port, env.path(mech, pidfile=pidfile))
    try:
        c.start()
        warm_up(env, mech, [c])
        pid = int(pidfile.read_text())
        got = {"last": False}

        def on_frame(i, kernel, app, f):
            d = field(f, b"data")
            if d and d.startswith(b"m ") and int(d.split(b" ")[1]) == STRACE_EVENTS - 1:
                got["last"] = True
        # untraced first: the worker's CPU per event
        cpu0 = B.cpu_ns(pid)
        pub = php_bg("events", *env.publisher(mech), STRACE_EVENTS, 5000, "m")
        pump([c], 30, on_frame, lambda: got["last"])
        pub.communicate(timeout=60)
        cpu = (B.cpu_ns(pid) - cpu0) / 1000 / STRACE_EVENTS
        got["last"] = False
        out = env.tmp / f"strace-{mech}.txt"
        tids = [a for t in sorted(os.listdir(f"/proc/{pid}/task")) for a in ("-p", t)]
        tracer = subprocess.Popen(["strace", "-c", "-f", *tids, "-o", str(out)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)  # attached
            pub = php_bg("events", *env.publisher(mech), STRACE_EVENTS, 5000, "m")
            pump([c], 30, on_frame, lambda: got["last"])
            pub.communicate(timeout=60)
            time.sleep(0.1)
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(timeout=30)
        if not got["last"]:
            raise RuntimeError("the last event never arrived under strace")
        calls = {}
        for line in out.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and not line.startswith("100.00"):
                calls[parts[-1]] = int(parts[3])
        return {"events": STRACE_EVENTS, "threads": len(tids) // 2, "calls": calls, "cpu_us_per_event": cpu,
                "per_event": sum(calls.values()) / STRACE_EVENTS}
    finally:
        end_streams(env, mech, [c])


def replays(env, res, phase, engines=("local", "redis")):
    res["replay"][phase] = {}
    for engine in engines:
        runs = []
        for k in range(REPLAY_RUNS):
            runs.append(attempt(env, f"replay {engine}", replay, env, engine, f"{phase}-{engine}-{k}"))
            if "error" in runs[-1]:
                break
        res["replay"][phase][engine] = runs
        res["replay"][phase]["following"] = following(env)
        print(f"replay {phase} {engine}: {[round(r['to_last_ms'], 1) for r in runs if 'error' not in r]} ms", flush=True)


def plot(res):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)
        return None
    fig, axes = plt.subplots(1, len(COUNTS), figsize=(4 * len(COUNTS), 3.8), dpi=110, sharey=True)
    for ax, n in zip(axes if len(COUNTS) > 1 else [axes], COUNTS):
        for mech in MECHS:
            xs = sorted(res["latency"][mech][str(n)].get("_raw", []))
            if not xs:
                continue
            ys = [100 * (i + 1) / len(xs) for i in range(len(xs))]
            ax.plot(xs, ys, label=LABEL[mech].replace("`", ""))
        ax.set_xscale("log")
        ax.set_title(f"{n} stream{'s' if n > 1 else ''}")
        ax.set_xlabel("publish to delivery (µs, log)")
        ax.grid(alpha=0.3, which="both")
    (axes[0] if len(COUNTS) > 1 else axes).set_ylabel("events (cumulative %)")
    (axes[0] if len(COUNTS) > 1 else axes).legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(B.RESULTS / "broadcast.png")
    return "broadcast.png"


def main():
    subprocess.run([str(HERE / "install.sh")], check=True)
    B.build_client()
    ext = B.extension()
    res = {"load": B.load(), "events": EVENTS, "gap_us": GAP_US, "cost": {}, "latency": {}, "replay": {}}
    res["redis_version"] = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    res["phpredis"] = subprocess.run(["php", "-r", "echo phpversion('redis');"], capture_output=True, text=True).stdout
    res["sqlite"] = subprocess.run(["php", "-r", "echo (new PDO('sqlite::memory:'))->query('select sqlite_version()')->fetchColumn();"],
                                   capture_output=True, text=True).stdout
    env = Env()
    try:
        print(f"broadcast: stack on 127.0.0.1:{env.stack.port} ({len(env.stack.worker_pids())} workers), "
              f"redis-server on {env.redis_port}, extension {ext}", flush=True)
        # 1. publish cost, nothing attached
        for mech in ["local", "redis", "pubsub", "sqlite"]:
            runs = [php("cost", *env.publisher(mech), COST_CALLS[mech])["us_per_call"] for _ in range(COST_RUNS)]  # noqa
            res["cost"][mech] = {"calls": COST_CALLS[mech], "runs_us": runs, "median_us": B.median(runs)}
            print(f"cost {mech}: {runs}", flush=True)
        # 1b. replay, on a pool where no worker has followed a broker yet (but the replaying ones)
        replays(env, res, "idle")
        # 2. latency
        for mech in MECHS:
            res["latency"][mech] = {}
            for n in COUNTS:
                r = attempt(env, f"latency {mech} x{n}", latency, env, mech, n)
                res["latency"][mech][str(n)] = r
                if "error" in r:
                    continue
                print(f"latency {mech} x{n}: p50 {r['p50_us']:.0f} p99 {r['p99_us']:.0f} max {r['max_us']:.0f} µs, "
                      f"delivered {r['delivered']}/{r['expected']}, client lag p99 {r['client_lag_p99_us']:.0f} µs", flush=True)
        # 2'. the detached rows at the most streams again, the client reading at once: what the
        # settle takes off the figures, in the same run.
        if SETTLE_MS:
            res["latency_reading_at_once"] = {}
            most = max(COUNTS)
            for mech in ["local-detached", "redis-detached"]:
                r = attempt(env, f"latency {mech} x{most} reading at once", latency, env, mech, most, 0)
                r.pop("_raw", None)
                res["latency_reading_at_once"][mech] = r
                if "error" not in r:
                    print(f"latency {mech} x{most}, client reading at once: p50 {r['p50_us']:.0f} p99 {r['p99_us']:.0f} "
                          f"max {r['max_us']:.0f} µs", flush=True)
        # 2a. what one delivery costs the worker of a stream
        res["syscalls"] = {}
        if shutil.which("strace"):
            for mech in ["local", "redis", "pubsub"]:
                res["syscalls"][mech] = attempt(env, f"syscalls {mech}", delivery_syscalls, env, mech)
                print(f"syscalls {mech}: {res['syscalls'][mech]}", flush=True)
        # 2b. publish cost again, nothing attached, once the workers have served streams: a process
        # reads a broker only while one of its streams is subscribed.
        for mech in ["local", "redis"]:
            s0 = server_cpu_ns(env)
            calls = COST_AFTER_CALLS
            r = attempt(env, f"cost after {mech}", php, "cost", *env.publisher(mech), calls)
            if "error" not in r:
                r["server_cpu_us_per_call"] = cpu_since(s0, env)["total"] / 1000 / (calls + 100)
                r["following_workers"] = following(env)
            res["cost_after"] = res.get("cost_after", {}) | {mech: r}
            print(f"cost after {mech}: {r}", flush=True)
        # 3b. replay again, on the pool whose every worker has served a subscribed stream.
        replays(env, res, "followed")
        res["errors"] = "".join(stack.errors() for stack in env.stacks())
        res["workers"] = len(env.stack.worker_pids())
    finally:
        env.stop()
    png = plot(res)
    B.save("broadcast", {k: v for k, v in res.items() if k != "latency"} |
           {"latency": {m: {n: {k: v for k, v in r.items() if k != "_raw"} for n, r in x.items()} for m, x in res["latency"].items()}})
    write(res, png)


def write(res, png):
    L = res["latency"]
    lines = ["## Broadcast", "",
             f"Machine: {B.machine()}; load average at start {res['load']}. redis-server {res['redis_version']}, "
             f"phpredis {res['phpredis']}, SQLite {res['sqlite']} (Debian packages).", "",
             "Command: `python3 bench/broadcast/run.py` (alone; part of `bench/run.sh`; installs redis-server, php8.2-redis "
             "and php8.2-sqlite3 first if missing, with `bench/broadcast/install.sh`). Everything on 127.0.0.1: a redis-server "
             "the script starts on a free port (`--save '' --appendonly no`, its own dir, stopped at the end), the embedded "
             f"broker's directory and the SQLite database (WAL) under /dev/shm, nginx ({NGINX_WORKERS} worker processes, as "
             "`worker_processes auto` gives here, `listen ... reuseport`) + php-fpm (pm = static, "
             f"{res['workers']} workers: each attached stream holds one), and a second nginx + php-fpm stack with a pool of "
             f"{DETACH_POOL} workers for the detached streams (`?detach=1`: the same script calls `detach()` instead of "
             "`run()`), production php.ini. The publisher is a PHP CLI "
             "process (`bench/broadcast/publish.php`); the stream scripts are in `bench/broadcast/www/`.", ""]
    busy = float(res["load"].split()[0])
    if busy > (os.cpu_count() or 1):
        lines += [f"The machine was shared with other work during this run (load average {busy:.1f} at the start, on "
                  f"{os.cpu_count()} CPUs): the tails below include waiting for a CPU.", ""]
    # cost
    c = res["cost"]
    lines += ["### Publish cost", "",
              "`php publish.php cost ...`: a loop of publishes of a small event (`event: e`, a 25-byte `data`) from one "
              "CLI process, no stream attached, after 100 warm-up calls; µs per call, median of "
              f"{COST_RUNS} runs (all runs in brackets).", "",
              "| | calls per run | µs per call | runs | target |", "|---|---|---|---|---|"]
    names = {"local": "embedded broker `publish()`", "redis": "Redis broker `publish()` (XADD)",
             "pubsub": "peer: phpredis `publish()` (PUBLISH)", "sqlite": "peer: PDO SQLite `INSERT` (autocommit, WAL)"}
    for mech in ["local", "redis", "pubsub", "sqlite"]:
        x = c[mech]
        tgt = f"< {TARGET_COST_US[mech]} µs: **{B.yes_no(x['median_us'] < TARGET_COST_US[mech])}**" if mech in TARGET_COST_US else ""
        lines.append(f"| {names[mech]} | {x['calls']:,} | {x['median_us']:.1f} | "
                     f"{', '.join(f'{v:.1f}' for v in x['runs_us'])} | {tgt} |")
    after = res.get("cost_after", {})
    if after:
        lines += ["", "The same loop once the latency runs below are over (no stream attached any more), with the CPU "
                  "the server side (nginx, php-fpm, redis-server) spent per publish meanwhile. A php-fpm worker reads a "
                  "broker (one reader per process and URL) only while one of its streams is subscribed, so once the "
                  "streams have ended, publishing costs the pool nothing (last column: workers still reading).", "",
                  "| | calls | µs per call | server CPU per publish | workers still following the embedded broker |", "|---|---|---|---|---|"]
        for mech in ["local", "redis"]:
            x = after.get(mech)
            if not x:
                continue
            if "error" in x:
                lines.append(f"| {names[mech]} | {COST_AFTER_CALLS:,} | failed: `{x['error'][:200]}` | | |")
                continue
            lines.append(f"| {names[mech]} | {x['calls']:,} | {x['us_per_call']:.1f} | {x['server_cpu_us_per_call']:.1f} µs | "
                         f"{x['following_workers'] if mech == 'local' else ''} |")
    # latency
    lines += ["", "### Publish to delivery", "",
              f"For each mechanism and stream count, N streams are opened, events are published until every stream has "
              f"received one (the subscriptions are in place), then the CLI publisher publishes {EVENTS} events "
              f"{GAP_US / 1000:g} ms apart, each carrying `microtime()` taken just before the publish call (so the figure "
              "includes the call). The client (bench/lib/client: Rust, one thread, epoll over all sockets) reads each "
              "stream with `SO_TIMESTAMPNS`: an event's delivery time is the kernel's receive time of the read that "
              "completed it, CLOCK_REALTIME on both sides of the same machine. The client runs at `SCHED_IDLE`, so that "
              "it takes no CPU the servers want (it reads when they are idle; the bytes wait in its sockets with their "
              "receive times)"
              + (f", and when the first bytes of an event arrive it sleeps {SETTLE_MS} ms before reading anything "
                 "(outside epoll, so the arrivals meanwhile wake nothing): on this machine the client otherwise shares the "
                 "2 CPUs and their interrupts with the fan-out it times, which a client on another machine does not"
                 if SETTLE_MS else "")
              + ". The client's own lag behind the kernel (its read time "
              "minus the kernel's) is shown apart: it is not in the figures. Detached rows: the same script on the pool of "
              f"{DETACH_POOL} workers, `detach()` instead of `run()`. Publish call: the publisher's own "
              "`hrtime()` around the call. Server CPU per event: CPU of nginx, php-fpm (master and workers) and "
              "redis-server, all threads (/proc/PID/task/*/schedstat), over the measured run, divided by the events "
              "published: on 2 cores it is what bounds the delivery to many streams.", "",
              "| | streams | p50 | p90 | p99 | max | delivered / expected | publish call p50 | server CPU per event | client lag p50 / p99 |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda us: f"{us / 1000:.2f} ms" if us >= 10_000 else f"{us:.0f} µs"  # noqa: E731
    for mech in MECHS:
        for n in COUNTS:
            r = L[mech][str(n)]
            if "error" in r:
                lines.append(f"| {LABEL[mech]} | {n} | not measured: the stream failed (see below) | | | | | | | |")
                continue
            ok = "" if r["streams_in_order_no_dup"] == n else f" ({n - r['streams_in_order_no_dup']} streams out of order)"
            lines.append(f"| {LABEL[mech]} | {n} | {fmt(r['p50_us'])} | {fmt(r['p90_us'])} | {fmt(r['p99_us'])} | "
                         f"{fmt(r['max_us'])} | {r['delivered']:,} / {r['expected']:,}{ok} | "
                         f"{fmt(r['publish_call_p50_us'])} | {fmt(r['server_cpu_us_per_event'])} | "
                         f"{r['client_lag_p50_us']:.0f} / {r['client_lag_p99_us']:.0f} µs |")
    lines.append("")
    failures = {}
    for mech, tgt in TARGET_P99_US.items():
        rows = [L[mech][str(n)] for n in COUNTS]
        if any("error" in r for r in rows):
            failures.update({f"{LABEL[mech]}, {n} stream(s)": r["error"] for n, r in zip(COUNTS, rows) if "error" in r})
            lines.append(f"Target {LABEL[mech]} p99 < {tgt / 1000:g} ms: **not measured** (the stream failed: see below).")
            lines.append("")
            continue
        worst = max(r["p99_us"] for r in rows)
        per = ", ".join(f"{r['p99_us']:.0f} µs at {n}" for n, r in zip(COUNTS, rows))
        # Where one event's server work, even shared perfectly over every CPU, outlasts the target.
        floor = [(n, r) for n, r in zip(COUNTS, rows) if r["server_cpu_us_per_event"] / (os.cpu_count() or 1) > tgt]
        why = "".join(f" At {n} streams one event costs the server side {r['server_cpu_us_per_event'] / 1000:.1f} ms of CPU, "
                      f"{r['server_cpu_us_per_event'] / 1000 / (os.cpu_count() or 1):.1f} ms on each of the "
                      f"{os.cpu_count() or 1} CPUs if perfectly shared: longer than the target before any waiting, so "
                      "attached streams (each a worker woken by every event) cannot meet it at that count on this "
                      "machine at the measured cost; that many streams are what detach() is for."
                      for n, r in floor if not mech.endswith("-detached"))
        lines.append(f"Target {LABEL[mech]} p99 < {tgt / 1000:g} ms at every stream count: **{B.yes_no(worst < tgt)}** ({per}).{why}")
        lines.append("")
    most = str(max(COUNTS))
    cpus = os.cpu_count() or 1
    bound = {m: L[m][most] for m in ["local", "local-detached", "redis", "redis-detached", "pubsub"] if "error" not in L[m][most]}
    if bound and int(most) > 1:
        def split(r):
            by = r.get("server_cpu_us_per_event_by_process", {})
            return "; ".join(f"{role} {fmt(us)}" for role, us in by.items() if us >= 50)
        lines.append(f"At {most} streams, the server side spent per event: "
                     + ", ".join(f"{fmt(r['server_cpu_us_per_event'])} ({LABEL[m]}{': ' + split(r) if split(r) else ''})" for m, r in bound.items())
                     + f". Attached, each stream is a php-fpm worker of its own that wakes for every event; detached, "
                     f"the {DETACH_POOL} workers of the pool serve all of them and most of the CPU is nginx's (reading "
                     "each stream's FastCGI record and writing its chunk to the client, see Detached streams below). "
                     f"Shared perfectly over {cpus} CPUs, that work alone spreads the {most} deliveries of one event over "
                     + ", ".join(f"{fmt(r['server_cpu_us_per_event'] / cpus)} ({LABEL[m]})" for m, r in bound.items()
                                 if m.endswith("-detached"))
                     + ", after the first stream has it (one stream alone gets it "
                     + ", ".join(f"{fmt(L[m]['1']['p50_us'])} ({LABEL[m]})" for m in bound
                                 if m.endswith("-detached") and "error" not in L[m].get("1", {"error": 1}))
                     + " after the publish, median); the p99 is the last few streams of each event, plus the waits for a CPU.")
        lines.append("")
    at_once = {m: r for m, r in res.get("latency_reading_at_once", {}).items() if "error" not in r}
    if at_once:
        lines += [f"The same detached rows at {most} streams again in this run, the client reading each arrival at once "
                  "(`BCAST_SETTLE_MS=0`): it then shares the CPUs with the fan-out it times, and every arrival wakes it "
                  "(an interrupt from one CPU to the other).", "",
                  "| | streams | p50 | p90 | p99 | max | server CPU per event | client CPU per event |", "|---|---|---|---|---|---|---|---|"]
        for m, r in at_once.items():
            lines.append(f"| {LABEL[m]}, client reading at once | {most} | {fmt(r['p50_us'])} | {fmt(r['p90_us'])} | "
                         f"{fmt(r['p99_us'])} | {fmt(r['max_us'])} | {fmt(r['server_cpu_us_per_event'])} | "
                         f"{fmt(r['client_cpu_s'] * 1e6 / r['events'])} |")
        lines.append("")
    for mech, r in res.get("latency_reading_at_once", {}).items():
        if "error" in r:
            failures[f"{LABEL[mech]}, client reading at once"] = r["error"]
    for mech in ["sqlite", "pubsub"]:
        failures.update({f"{LABEL[mech]}, {n} stream(s)": L[mech][str(n)]["error"] for n in COUNTS if "error" in L[mech][str(n)]})
    if png:
        lines += [f"![Publish to delivery](bench/plots/{png})", ""]
    sc = {m: x for m, x in res.get("syscalls", {}).items() if "error" not in x}
    if sc:
        lines += ["What one delivery costs the php-fpm worker of a stream: one stream, "
                  f"{STRACE_EVENTS} events 5 ms apart, the worker's CPU per event (all threads, untraced run), then the "
                  f"same under `strace -c -f -p <each thread of the worker>`. With one process per stream, this is paid once "
                  "per stream for each event.", "",
                  "| | worker threads | worker CPU per event | syscalls per event | most frequent (per event) |", "|---|---|---|---|---|"]
        for mech, x in sc.items():
            top = ", ".join(f"{k} {v / x['events']:.2f}" for k, v in sorted(x["calls"].items(), key=lambda kv: -kv[1])[:7])
            lines.append(f"| {LABEL[mech]} | {x['threads']} | {x['cpu_us_per_event']:.0f} µs | {x['per_event']:.1f} | {top} |")
        lines.append("")
    for mech, x in res.get("syscalls", {}).items():
        if "error" in x:
            failures[f"{LABEL[mech]}, syscalls per delivery"] = x["error"]
    # replay
    lines += ["### Replay after a reconnect", "",
              f"`php publish.php replay ...` publishes {REPLAY:,} events on a fresh topic (`history` 20000), then one "
              "stream opens with `Last-Event-ID` = the broker's `lastEventId()` from before them; the figure is the time "
              "from the request sent (nginx, php-fpm, `subscribe()`, catch-up included) to the last of them received "
              f"(kernel receive time), {REPLAY_RUNS} runs each. Twice: before the latency runs, when no php-fpm worker "
              "follows the broker but those the replays themselves used; and after them, when "
              "every worker has served a subscribed stream: a worker stops reading the broker when its last subscribed "
              "stream ends, so the pool column shows how many still read it.", "",
              "| | pool | to the last event: median | max | all runs (ms) | to the first event (median) | received, in order |",
              "|---|---|---|---|---|---|---|"]
    pools = {"idle": "before the latency runs", "followed": "after them"}
    for phase, pool in pools.items():
        for engine in ["local", "redis"]:
            if engine not in res["replay"][phase]:
                continue
            runs = res["replay"][phase][engine]
            k = res['replay'][phase]['following']
            where = f"{pool} ({k} worker{'' if k == 1 else 's'} following)" if engine == "local" else pool
            if any("error" in r for r in runs):
                failures[f"{LABEL[engine]}, replay"] = runs[-1]["error"]
                lines.append(f"| {LABEL[engine]} | {pool} | not measured: the stream failed (see below) | | | | |")
                continue
            t = [r["to_last_ms"] for r in runs]
            okay = all(r["received"] == REPLAY and r["in_order"] and not r["reset"] for r in runs)
            lines.append(f"| {LABEL[engine]} | {where} | {B.median(t):.1f} ms | {max(t):.1f} ms | {', '.join(f'{v:.1f}' for v in t)} | "
                         f"{B.median([r['to_first_ms'] for r in runs]):.1f} ms | "
                         f"{'all ' + format(REPLAY, ',') + ', in order' if okay else 'NO: ' + str([(r['received'], r['in_order'], r['reset']) for r in runs])} |")
    lines.append("")
    for engine in ["local", "redis"]:
        parts, verdicts = [], []
        for phase, pool in pools.items():
            if engine not in res["replay"][phase]:
                continue
            runs = res["replay"][phase][engine]
            if any("error" in r for r in runs):
                parts.append(f"{pool}: not measured")
                verdicts.append(None)
                continue
            worst = max(r["to_last_ms"] for r in runs)
            parts.append(f"{pool}: worst {worst:.1f} ms, **{B.yes_no(worst < TARGET_REPLAY_MS)}**")
            verdicts.append(worst < TARGET_REPLAY_MS)
        if all(v is None for v in verdicts):
            lines.append(f"Target {LABEL[engine]} replay < {TARGET_REPLAY_MS} ms: **not measured** (the stream failed: see below).")
        else:
            lines.append(f"Target {LABEL[engine]} replay < {TARGET_REPLAY_MS} ms in every run: {'; '.join(parts)}.")
        lines.append("")
    if failures:
        lines += ["### Failures", "", "What the run could not measure, with the error it got:", ""]
        grouped = {}
        for what, why in failures.items():
            grouped.setdefault(why, []).append(what)
        lines += [f"- {'; '.join(whats)}: `{why}`" for why, whats in grouped.items()]
        lines.append("")
    elif res.get("errors"):
        lines += ["Errors in the stack's logs (last lines):", "", "```", res["errors"][-1500:], "```", ""]
    B.write_section("broadcast", "\n".join(lines))


if __name__ == "__main__":
    main()
