#!/usr/bin/env python3
"""Mercure's active subscriptions (issue 25, item 3): what the hub's `subscriptions` option costs.

    python3 bench/mercure/presence.py   # PRESENCE_ROUNDS=3 PRESENCE_SUBSCRIBERS=100 PRESENCE_WATCHERS=5
                                        # PRESENCE_OPENS=1000 PRESENCE_API_COUNTS=100,1000,10000
                                        # PRESENCE_API_REQUESTS=50 MERCURE_EVENTS=40 MERCURE_GAP_US=250000
                                        # parts: delivery api (both by default)

The hub is the stack tests' presence hub (tests/stacks/www/presence: `Sse\\MercureHub` as the
front controller of nginx + php-fpm, the broker from php.ini's `sse.broker`) with the benchmark's
publisher key and anonymous subscribers, so that bench/mercure/publish.php and the native client
(bench/lib/client) work with it unchanged; `subscriptions` is on or off by the pool's
environment, nothing else differs. nginx (2 workers) + php-fpm (pm = static, 4 workers), the
embedded broker under /dev/shm; every subscription is detached.

delivery, PRESENCE_ROUNDS rounds, each with a stack with the option off and one with it on:
  start/end  PRESENCE_OPENS subscriptions (`GET /.well-known/mercure?topic=bench`) opened one
             after the other from Python, each timed from connect() to the response's first byte
             and kept open; the workers' CPU (all threads, schedstat) over the opens; then all
             are closed at once and the workers' CPU over the next 10 s (the ends, their events
             and lease rewrites, and the idle hub) is read.
  publish    PRESENCE_SUBSCRIBERS subscribers held by the native client; MERCURE_EVENTS updates
             MERCURE_GAP_US apart with mercure_publish(), then as HTTP POSTs, as
             bench/mercure/run.py does (its publish() and deliveries(): latency from just before
             the publish call to the kernel's receive time, over every delivery; every subscriber
             must get every update once, in order). On the stack with the option on, the same
             again with PRESENCE_WATCHERS presence watchers subscribed
             (`match_urlpattern=/.well-known/mercure/subscriptions/:t/:m/:s`, a token granting
             subscribe `*`).
api, one stack with the option on: PRESENCE_API_COUNTS active subscriptions (the native client,
  opened in steps), and at each PRESENCE_API_REQUESTS `GET /.well-known/mercure/subscriptions`
  with a token, one after the other (HTTP/1.0, a new connection each), timed from sending the
  request to its first byte and to its last; the answer's size; the workers' CPU per request.
Figures of each round are per-round p50 / p99; the table gives the median over rounds.
Writes bench/results/mercure-presence.md and mercure-presence.json.
"""
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from urllib.parse import quote

os.environ.setdefault("MERCURE_EVENTS", "40")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[0] / "lib"))
import benchlib as B  # noqa: E402
import run as M  # noqa: E402  bench/mercure/run.py: publish() and deliveries()
from harness import client as http  # noqa: E402
from test_mercure import token  # noqa: E402

ROUNDS = int(os.environ.get("PRESENCE_ROUNDS", 3))
SUBSCRIBERS = int(os.environ.get("PRESENCE_SUBSCRIBERS", 100))
WATCHERS = int(os.environ.get("PRESENCE_WATCHERS", 5))
OPENS = int(os.environ.get("PRESENCE_OPENS", 1000))
API_COUNTS = [int(x) for x in os.environ.get("PRESENCE_API_COUNTS", "100,1000,10000").split(",")]
API_REQUESTS = int(os.environ.get("PRESENCE_API_REQUESTS", 50))
END_WINDOW = 10
POOL = M.POOL
KEY = b"bench-mercure-secret-of-at-least-256-bits!!"   # bench/mercure/publish.php's
EVERYTHING = token({"mercure": {"subscribe": ["*"]}}, KEY)
HUB = "/.well-known/mercure"
API = HUB + "/subscriptions"
WATCH = f"{HUB}?match_urlpattern=" + quote(f"{API}/:t/:m/:s", safe="")
PRESENCE_HUB = Path(__file__).resolve().parents[2] / "tests/stacks/www/presence/index.php"


def www() -> Path:
    """The presence hub with the benchmark's key, anonymous subscribers and the option from the
    pool's environment (a temp dir: the front controller gets every path but .php files)."""
    src = PRESENCE_HUB.read_text()
    for old, new in (("'stack-test-secret-of-at-least-256-bits!'", repr(KEY.decode())),
                     ("'subscriptions' => true,", "'subscriptions' => getenv('SSE_BENCH_PRESENCE') === '1',\n"
                                                   "    'anonymous' => true,")):
        if old not in src:
            raise SystemExit(f"{PRESENCE_HUB} changed: no {old}")
        src = src.replace(old, new)
    root = Path(tempfile.mkdtemp(prefix="sse-bench-presence-www-"))
    (root / "index.php").write_text(src)
    (root / "hub.php").write_text(src)   # where bench/mercure/publish.php POSTs
    root.chmod(0o755)
    return root


def start_stack(name, root, presence):
    broker = Path(f"/dev/shm/sse-bench-{name}-{os.getpid()}")
    shutil.rmtree(broker, ignore_errors=True)
    start = B.nginx_fpm.start
    B.nginx_fpm.start = partial(start, front_controller=True)
    try:
        st = B.Stack(name, workers=POOL, nginx_workers=2, www=root, connections=16000, read_timeout=300,
                     ini={"sse.broker": f"local://{broker}"},
                     env={"SSE_BENCH_BROKER": broker, "SSE_BENCH_PRESENCE": "1" if presence else "0"})
    finally:
        B.nginx_fpm.start = start
    for _ in range(3 * POOL):
        api_get(st.port)
    time.sleep(1)
    return st, broker


def cpu(pids):
    return sum(B.cpu_ns(p) for p in pids)


def api_get(port, path=API):
    """One GET with the token: (status, ns to first byte, ns to last byte, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic_ns()
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {EVERYTHING}\r\n\r\n".encode())
        parts, first = [], None
        while True:
            got = s.recv(1 << 20)
            if not got:
                break
            first = first or time.monotonic_ns()
            parts.append(got)
        t1 = time.monotonic_ns()
    raw = b"".join(parts)
    status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
    return status, (first or t1) - t0, t1 - t0, raw.split(b"\r\n\r\n", 1)[-1]


def listed(port):
    status, _, _, body = api_get(port)
    return len(json.loads(body)["subscriptions"]) if status == 200 else None


def open_close(st, presence):
    """OPENS subscriptions one after the other (connect to first byte), then all closed."""
    pids = st.worker_pids()
    socks, ns = [], []
    request = f"GET {HUB}?topic=bench HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
    c0, w0 = cpu(pids), time.monotonic_ns()
    try:
        for _ in range(OPENS):
            t0 = time.monotonic_ns()
            s = socket.create_connection(("127.0.0.1", st.port), timeout=30)
            socks.append(s)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(request)
            head = s.recv(4096)
            ns.append(time.monotonic_ns() - t0)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"subscription refused: {head[:300]!r}")
        open_s = (time.monotonic_ns() - w0) / 1e9
        open_cpu = cpu(pids) - c0
        time.sleep(2)
        res = {"open_s": open_s, "open_p50_us": B.pct(ns, 50) / 1000, "open_p99_us": B.pct(ns, 99) / 1000,
               "open_cpu_us_each": open_cpu / OPENS / 1000}
        if presence:
            res["listed_open"] = listed(st.port)
    finally:
        c1 = cpu(pids)
        for s in socks:
            s.close()
    time.sleep(END_WINDOW)
    res["end_cpu_us_each"] = (cpu(pids) - c1) / len(socks) / 1000
    res["end_window_s"] = END_WINDOW
    if presence:
        res["listed_after_end"] = listed(st.port)
    return res


def publishes(res, st, broker, label):
    client = B.NativeClient(st.port, f"{HUB}?topic=bench", SUBSCRIBERS, settle_ms=M.SETTLE_MS)
    try:
        client.line(timeout=300)
        time.sleep(3)
        res[f"{label}_open"] = client.ask("stats")["open"]
        watchers = []
        for rounds, mode in enumerate(("function", "http"), 1):
            M.deliveries(res, f"{label}_{mode}", client, M.publish(mode, st.port, broker), rounds)
        if label == "on":
            for _ in range(WATCHERS):
                w = http.Stream(B._server(st.port), WATCH, {"Authorization": f"Bearer {EVERYTHING}"}, timeout=60)
                if w.status != 200:
                    time.sleep(1)
                    logs = {q.name: q.read_text(errors="replace")[-1500:] for q in st.tmp.glob("*.log")}
                    raise RuntimeError(f"watcher refused: {w.status} {w.body} {logs}")
                watchers.append(w)
            time.sleep(2)
            res["watched_listed"] = listed(st.port)
            for rounds, mode in enumerate(("function", "http"), 3):
                M.deliveries(res, f"watched_{mode}", client, M.publish(mode, st.port, broker), rounds)
            seen = 0
            for w in watchers:
                try:
                    while (e := w.next_event(timeout=0.2)) is not None:
                        seen += e.type == "mercure"
                except TimeoutError:
                    pass
            res["watcher_events"] = seen   # the watchers' own joins: 5 + 4 + ... + 1
            for w in watchers:
                w.close()
    finally:
        client.quit()


def measure_round(n, root):
    out = {}
    for presence in (False, True):
        label = "on" if presence else "off"
        st, broker = start_stack(f"presence-{label}", root, presence)
        res = {"load_before": B.load()}
        try:
            res.update(open_close(st, presence))
            time.sleep(2)
            publishes(res, st, broker, label)
            res["load_after"] = B.load()
            res["errors"] = st.errors()
        finally:
            st.stop()
            shutil.rmtree(broker, ignore_errors=True)
        print(json.dumps({"round": n, label: res}), flush=True)
        out[label] = res
    return out


def measure_api(root):
    st, broker = start_stack("presence-api", root, True)
    res = {"load_before": B.load(), "levels": []}
    clients = []
    try:
        pids = st.worker_pids()
        have = 0
        for count in API_COUNTS:
            t0 = time.monotonic()
            clients.append(B.NativeClient(st.port, f"{HUB}?topic=bench", count - have))
            ready = clients[-1].line(timeout=600)
            opened_s = time.monotonic() - t0
            have = count
            time.sleep(6)   # a lease renewal
            first, last, size, status = [], [], 0, {}
            n = listed(st.port)
            c0 = cpu(pids)
            for _ in range(API_REQUESTS):
                code, a, b, body = api_get(st.port)
                first.append(a)
                last.append(b)
                size = len(body)
                status[code] = status.get(code, 0) + 1
            level = {"subscriptions": count, "ready": ready, "open_s": opened_s, "listed": n, "status": status,
                     "bytes": size, "first_p50_us": B.pct(first, 50) / 1000, "first_p99_us": B.pct(first, 99) / 1000,
                     "p50_us": B.pct(last, 50) / 1000, "p99_us": B.pct(last, 99) / 1000,
                     "cpu_us_per_request": (cpu(pids) - c0) / API_REQUESTS / 1000, "load": B.load()}
            print(json.dumps(level), flush=True)
            res["levels"].append(level)
        res["load_after"] = B.load()
        res["errors"] = st.errors()
    finally:
        for c in clients:
            c.quit()
        st.stop()
        shutil.rmtree(broker, ignore_errors=True)
    return res


def med(rounds, label, key):
    return statistics.median(r[label][key] for r in rounds)


def spread(figures):
    return ", ".join(f"{d['p99_us'] / 1000:.1f}" for d in figures)


def section(r):
    rounds, api = r.get("rounds", []), r.get("api")
    lines = [
        "## Mercure presence",
        "",
        "`python3 bench/mercure/presence.py` (issue 25): the cost of the hub's `subscriptions` option. "
        "The stack tests' presence hub (tests/stacks/www/presence, the front controller) with anonymous "
        "subscribers and the option on or off, behind nginx (2 workers) + php-fpm (pm = static, "
        f"{POOL} workers), embedded broker, every subscription detached. Machine: {r.get('machine')}; "
        "shared with other work while measured (load average in the JSON), so each figure is the median "
        f"over {len(rounds)} rounds, the option off and on taking turns.",
        "",
    ]
    ms = lambda v: f"{v / 1000:.2f}"  # noqa: E731
    if rounds:
        lines += [
            f"Publish to delivery, {SUBSCRIBERS} subscribers of `topic=bench`, {M.EVENTS} updates {M.GAP_US // 1000} ms "
            "apart per publisher, from just before the publish call to the kernel's receive time, over every "
            "delivery (per round p50 / p99, median over rounds):",
            "",
            "| hub | `mercure_publish()` p50 / p99 (rounds' p99s) | HTTP `POST` p50 / p99 (rounds' p99s) | every update once, in order |",
            "|---|---|---|---|",
        ]
        for label, name in (("off", "`subscriptions` off"), ("on", "`subscriptions` on"),
                            ("watched", f"on, {WATCHERS} presence watchers subscribed")):
            src = "on" if label == "watched" else label
            f = [x[src][f"{label}_function"] for x in rounds]
            h = [x[src][f"{label}_http"] for x in rounds]
            done = min(min(x[src][f"{label}_function_complete"], x[src][f"{label}_http_complete"]) for x in rounds)
            opened = min(x[src][f"{src}_open"] for x in rounds)
            lines.append(f"| {name} | {ms(statistics.median(d['p50_us'] for d in f))} / "
                         f"{ms(statistics.median(d['p99_us'] for d in f))} ms ({spread(f)}) | "
                         f"{ms(statistics.median(d['p50_us'] for d in h))} / {ms(statistics.median(d['p99_us'] for d in h))} ms "
                         f"({spread(h)}) | {done:,} of {opened:,} (worst round) |")
        lines += [
            "",
            f"Subscription start and end, {OPENS:,} subscriptions opened one after the other from Python "
            "(connect() to the response's first byte, each kept open), then all closed at once; worker CPU "
            f"(all threads) over the opens, and over the {END_WINDOW} s after the close:",
            "",
            "| hub | open p50 / p99 | all opened in | worker CPU per start | worker CPU per end |",
            "|---|---|---|---|---|",
        ]
        for label in ("off", "on"):
            lines.append(f"| `subscriptions` {label} | {ms(med(rounds, label, 'open_p50_us'))} / "
                         f"{ms(med(rounds, label, 'open_p99_us'))} ms | {med(rounds, label, 'open_s'):.2f} s "
                         f"| {med(rounds, label, 'open_cpu_us_each'):.0f} µs | {med(rounds, label, 'end_cpu_us_each'):.0f} µs |")
        lines += [
            "",
            f"With the option on, the API listed {', '.join(str(x['on'].get('listed_open')) for x in rounds)} "
            f"subscriptions with the {OPENS:,} open and {', '.join(str(x['on'].get('listed_after_end')) for x in rounds)} "
            f"{END_WINDOW} s after they closed; with the watchers, "
            f"{', '.join(str(x['on'].get('watched_listed')) for x in rounds)} (subscribers + watchers), the "
            f"watchers having received {', '.join(str(x['on'].get('watcher_events')) for x in rounds)} "
            "subscription events (their own joins) and none during the publishes.",
            "",
        ]
    if api:
        lines += [
            f"Subscription API, one stack with the option on: `GET {API}` with a token, "
            f"{API_REQUESTS} requests one after the other (HTTP/1.0, a new connection each) at each count of "
            "detached subscriptions (held by bench/lib/client), timed from sending the request to the "
            "answer's first and last byte:",
            "",
            "| active subscriptions | listed | answer | first byte p50 / p99 | whole answer p50 / p99 | worker CPU per request | load |",
            "|---|---|---|---|---|---|---|",
        ]
        for lv in api["levels"]:
            lines.append(f"| {lv['subscriptions']:,} | {lv['listed']:,} | {lv['bytes'] / 1024:,.0f} KiB "
                         f"| {ms(lv['first_p50_us'])} / {ms(lv['first_p99_us'])} ms "
                         f"| {ms(lv['p50_us'])} / {ms(lv['p99_us'])} ms | {lv['cpu_us_per_request'] / 1000:.2f} ms "
                         f"| {lv['load']} |")
    return "\n".join(lines)


def main():
    B.build_client()
    print(f"load {B.load()} at the start", flush=True)
    chosen = sys.argv[1:] or ["delivery", "api"]
    results = {"machine": B.machine(), "load": B.load()}
    root = www()
    try:
        if "delivery" in chosen:
            results["rounds"] = [measure_round(n, root) for n in range(ROUNDS)]
        if "api" in chosen:
            results["api"] = measure_api(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    previous = B.RESULTS / "mercure-presence.json"
    if sys.argv[1:] and previous.exists():
        results = {**json.loads(previous.read_text()), **results}
    B.save("mercure-presence", results)
    B.write_section("mercure-presence", section(results))


if __name__ == "__main__":
    main()
