"""Shared pieces of the ext-sse benchmarks: machine facts, process accounting from /proc, a
timed event-stream client, the native client, and result files.

The servers, their configuration and the HTTP client are the stack tests' own
(tests/stacks/harness): `Stack` is the harness's nginx + php-fpm stack sized for benchmarks (the
pool size as a parameter, so that 200 concurrent streams get 200 workers; nginx workers and
descriptor limits for 10,000 streams), and `Stream` reads through the harness's HTTP/1.1
client, keeping here only what measures: the time of each read, in ns.
"""
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests/stacks"))
from harness import client, nginx_fpm  # noqa: E402
from harness.procs import Service, free_port, wait_until_connectable  # noqa: E402,F401 - used by the benches

RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH / "results"))
WWW = BENCH / "www"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- machine and extension

def extension() -> Path:
    """The extension under test, copied so a rebuild during a run cannot swap it mid-way."""
    src = Path(os.environ.get("SSE_EXT") or REPO / "target/release/libsse.so").resolve()
    if not src.exists():
        raise SystemExit(f"extension not found at {src}: build it (cargo build --release) or set SSE_EXT")
    RESULTS.mkdir(parents=True, exist_ok=True)
    dst = RESULTS / "libsse.so"
    if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime or dst.stat().st_size != src.stat().st_size:
        shutil.copy2(src, dst)
    return dst


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024 // 1024
    php = subprocess.run(["php", "-r", 'echo PHP_VERSION, PHP_ZTS ? " ZTS" : " NTS";'],
                         capture_output=True, text=True).stdout
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    distro = "Linux"
    try:
        distro = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem} GB RAM, {distro}, kernel {platform.release()}, "
            f"PHP {php}, nginx {nginx}; ext-sse {build()}")


def build() -> str:
    """Which build of the extension: SSE_COMMIT if set, else the repository's HEAD (+ dirty)."""
    if os.environ.get("SSE_COMMIT"):
        return f"at commit {os.environ['SSE_COMMIT']}"
    head = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty", "--exclude", "*"],
                          capture_output=True, text=True).stdout.strip()
    return f"built from the work tree at {head or 'unknown commit'}"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------- processes

def proc_stat(pid: int) -> dict:
    """utime+stime (seconds), threads and RSS (bytes) of one process."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15, num_threads 20, rss 24.
    return {
        "cpu": (int(fields[11]) + int(fields[12])) / CLK_TCK,
        "threads": int(fields[17]),
        "rss": int(fields[21]) * PAGE,
    }


def cpu_ns(pid: int) -> int:
    """CPU time of all threads of a process in ns (/proc/PID/task/*/schedstat, finer than stat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def children(pid: int) -> list:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_kb(pid: int) -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def mem_kb(pid: int) -> dict:
    """VmRSS and its anonymous / file-backed parts (KB) from /proc/PID/status."""
    text = Path(f"/proc/{pid}/status").read_text()
    get = lambda key: int(re.search(rf"{key}:\s+(\d+)", text).group(1))  # noqa: E731
    return {"rss_kb": get("VmRSS"), "anon_kb": get("RssAnon"), "file_kb": get("RssFile")}


def wait_connectable(address, timeout=20.0):
    wait_until_connectable(address, [], lambda: "", timeout)


class Stack:
    """The stack tests' nginx + php-fpm (tests/stacks/harness/nginx_fpm.py) serving `www`
    (bench/www by default), with `workers` php-fpm children (pm = static) and
    `nginx_workers` nginx workers; no access log. `connections`: what each nginx worker may hold
    (descriptor limits and listen backlogs follow); `env`: variables for the pool; `wrap(argv)`:
    how the servers are started (a priority or CPU set); `upstream(socket)`: the argv of another
    FastCGI server to start in php-fpm's place, on the same socket behind the same nginx
    (bench/detach's floor); `ext`: the extension to load instead of the one under test."""

    def __init__(self, name="bench", workers=1, ini=None, nginx_workers=1, www=None, connections=2048, env=None,
                 wrap=lambda argv: argv, read_timeout=120, upstream=None, ext=None):
        # The copy (a rebuild cannot swap it mid-run), or `ext`: another build to compare with.
        os.environ["SSE_EXT"] = str(ext or extension())
        self.workers = workers
        backlog = 1024 if connections <= 2048 else 4096
        pool = f"listen.backlog = {backlog}\n" + "".join(f"env[{k}] = {v}\n" for k, v in (env or {}).items())
        self.stack = nginx_fpm.start(
            f"bench-{name}", ini=ini, root=www or WWW, children=workers, fastcgi_read_timeout=f"{read_timeout}s",
            pool_extra=pool, fpm_global=f"process.max = {workers + 8}\nrlimit_files = {max(4096, connections + 384)}",
            worker_connections=connections, nginx_workers=nginx_workers, backlog=backlog, quiet_logs=True,
            rlimit_nofile=4096 if connections <= 2048 else connections + 3000, wrap=wrap, upstream=upstream)
        self.tmp, self.port = self.stack.tmp, self.stack.port
        self.fpm, self.nginx = self.stack.services
        try:
            self.marks = self.tmp / "marks"
            self.marks.mkdir()
            self.marks.chmod(0o777)
            deadline = time.monotonic() + 30
            while not upstream and len(self.worker_pids()) < workers and time.monotonic() < deadline:
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    def worker_pids(self) -> list:
        return children(self.fpm.proc.pid)

    def all_pids(self) -> list:
        """Every process of the stack: fpm master and workers, nginx master and worker."""
        return [self.fpm.proc.pid, *self.worker_pids(), self.nginx.proc.pid, *children(self.nginx.proc.pid)]

    def stop(self):
        self.stack.stop()

    def errors(self) -> str:
        out = []
        for p in self.tmp.glob("*.log"):
            text = p.read_text(errors="replace")
            if re.search(r"segfault|SIGSEGV|panicked|Fatal error|exited on signal|too many open|\[alert\]|\[crit\]",
                         text, re.I):
                out.append(f"--- {p.name}\n{text[-2000:]}")
        return "\n".join(out)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- client

def _server(port: int):
    return SimpleNamespace(host="127.0.0.1", port=port, scheme="http", http2=False)


class Stream:
    """One event-stream GET through the harness's HTTP/1.1 client (tests/stacks/harness/client.py),
    timed: `chunks()` yields (recv_time_ns, body bytes) per read, `frames()` (recv_time_ns, the
    frames that read completed), a frame being the bytes of one event or comment without its
    closing empty line. A bench that reads the socket itself (`sock`, e.g. non-blocking) hands
    what it read to `feed()` for the body bytes."""

    def __init__(self, port: int, path: str, timeout: float = 60.0, headers: dict | None = None):
        self.timeout = timeout
        self.sent_ns = time.monotonic_ns()
        self.transport = client.Http1(_server(port), path, {"Accept": "text/event-stream", "Cache-Control": "no-cache",
                                                            **(headers or {})}, timeout)
        self.sock = self.transport.sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.status = None
        self.headers = {}
        self.body_pending = b""  # body bytes not yet split into frames

    def read_head(self):
        _, self.status, headers = self.transport.head(time.monotonic() + self.timeout)
        self.headers = dict(headers)
        return self

    @property
    def done(self) -> bool:
        """The response ended as its framing says (the last chunk came)."""
        return self.transport.done

    def feed(self, data: bytes) -> bytes:
        """The body bytes in `data` read from `sock` (and in what came with the head), without
        the transfer framing."""
        self.transport.buf += data
        return self.transport._take()

    def chunks(self):
        """Yields (recv_time_ns, body bytes) until the response ends."""
        early = self.feed(b"")
        if early:
            yield time.monotonic_ns(), early
        while True:
            data = self.transport.read(time.monotonic() + self.timeout)
            t = time.monotonic_ns()
            if not data:
                break
            yield t, data

    def frames(self):
        """Yields (recv_time_ns, frames completed by that read)."""
        for t, body in self.chunks():
            self.body_pending += body
            if b"\n\n" not in self.body_pending:
                continue
            *complete, self.body_pending = self.body_pending.split(b"\n\n")
            yield t, complete

    def close(self):
        self.transport.close()


def get(port: int, path: str, timeout: float = 30.0) -> bytes:
    """The body of a plain GET."""
    return client.get(_server(port), path, timeout=timeout).body


# ---------------------------------------------------------------- numbers and results

def command(script: str, prefix: str) -> str:
    """How a benchmark was run, for its section: the variables starting with `prefix` that are
    set, then `python3 <script>`."""
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith(prefix))
    return f"{env + ' ' if env else ''}python3 {script}"


def fmt(x, digits=0):
    """A figure with thousands separators: 11,586 or 7.8."""
    return f"{x:,.{digits}f}"


def pct(values, p):
    """The p-th percentile (nearest rank) of a list."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def median(values):
    return statistics.median(values)


def save(name: str, data: dict):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))


def write_section(name: str, markdown: str):
    """bench/results/<name>.md: one section of BENCHMARKS.md, assembled by bench/run.sh."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(markdown.rstrip() + "\n")
    print(markdown)


def run_parts(name: str, parts: dict, report) -> dict:
    """A benchmark of several parts: runs those named on the command line (all by default), each
    `parts[part]()` giving results by key; when only some run, the others keep their figures
    from the last run. Saves bench/results/<name>.json and writes the section `report(results)`."""
    chosen = sys.argv[1:] or list(parts)
    results = {"load": load()}
    previous = RESULTS / f"{name}.json"
    if sys.argv[1:] and previous.exists():
        results = {**json.loads(previous.read_text()), **results}
    for part in chosen:
        results.update(parts[part]())
    save(name, results)
    write_section(name, report(results))
    return results


def yes_no(ok: bool) -> str:
    return "met" if ok else "MISSED"


# ---------------------------------------------------------------- the native client

CLIENT_DIR = BENCH / "lib/client"
CLIENT = CLIENT_DIR / "target/release/bench-client"


def build_client():
    """Builds bench/lib/client (cargo; quick when it is up to date)."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(CLIENT_DIR / "Cargo.toml")],
                   check=True)


class NativeClient:
    """bench/lib/client holding `streams` event streams to 127.0.0.1:`port` `path` on one thread;
    it answers each command with one JSON line (see the head of its main.rs). `prefix` starts it
    (by default at SCHED_IDLE, so that it reads only when no server wants a CPU)."""

    def __init__(self, port, path, streams, prefix=("chrt", "--idle", "0"), ramp=200, settle_ms=0):
        argv = [*prefix, CLIENT, "--addr", f"127.0.0.1:{port}", "--path", path, "--streams", streams, "--ramp", ramp,
                "--settle", settle_ms]
        self.proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)

    def line(self, timeout=180):
        """The client's next line (its `ready` line first), waited for at most `timeout` s."""
        import select
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise TimeoutError("the client did not answer")
        text = self.proc.stdout.readline()
        if not text:
            raise RuntimeError("the client exited")
        return json.loads(text)

    def ask(self, command, timeout=180):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.line(timeout)

    def quit(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)
