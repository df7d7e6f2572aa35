"""Shared pieces of the ext-sse benchmarks: machine facts, an nginx + php-fpm stack in a temp
dir, process accounting from /proc, a fast HTTP/1.1 event-stream client, and result files.

The stack launcher is adapted from tests/stacks/harness (nginx in front of php-fpm over
FastCGI, as Debian's snippets/fastcgi-php.conf does; Debian's production php.ini), with the
pool size as a parameter so that 200 concurrent streams get 200 workers.
"""
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH / "results"))
WWW = BENCH / "www"
PRODUCTION_INI = Path("/usr/lib/php/8.2/php.ini-production")
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

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Service:
    """A foreground server in its own process group; stop() ends it and all it forked."""

    def __init__(self, name, argv, tmp: Path):
        self.name, self.argv, self.tmp = name, [str(a) for a in argv], tmp
        self.proc = None

    def start(self):
        with open(self.tmp / f"{self.name}.console.log", "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_connectable(address, timeout=20.0):
    deadline = time.monotonic() + timeout
    family = socket.AF_UNIX if isinstance(address, (str, Path)) else socket.AF_INET
    while time.monotonic() < deadline:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(address) if family == socket.AF_UNIX else address)
                return
            except OSError:
                time.sleep(0.05)
    raise RuntimeError(f"nothing accepted on {address} within {timeout}s")


class Stack:
    """nginx (`nginx_workers` worker processes, 1 by default) + php-fpm (pm = static, `workers`
    children), production php.ini, serving `www` (bench/www by default). `connections`: what
    each nginx worker may hold (descriptor limits and listen backlogs follow); `env`: variables
    for the pool; `wrap(argv)`: how the servers are started (a priority or CPU set);
    `upstream(socket)`: the argv of another FastCGI server to start in php-fpm's place, on the
    same socket behind the same nginx (bench/detach's floor)."""

    def __init__(self, name="bench", workers=1, ini=None, nginx_workers=1, www=None, connections=2048, env=None,
                 wrap=lambda argv: argv, read_timeout=120, upstream=None):
        self.tmp = Path(tempfile.mkdtemp(prefix=f"sse-bench-{name}-"))
        self.tmp.chmod(0o777)
        self.port = free_port()
        self.workers = workers
        self.marks = self.tmp / "marks"
        self.marks.mkdir()
        self.marks.chmod(0o777)
        ext = extension()
        php_ini = self.tmp / "php.ini"
        extra = {"error_log": self.tmp / "php_errors.log", **(ini or {})}
        php_ini.write_text(PRODUCTION_INI.read_text() + "\n; --- ext-sse bench ---\n"
                           + f"extension = {ext}\n"
                           + "".join(f"{k} = {v}\n" for k, v in extra.items()))
        sock = self.tmp / "fpm.sock"
        fpm_conf = self.tmp / "php-fpm.conf"
        backlog = 1024 if connections <= 2048 else 4096
        fpm_conf.write_text(f"""[global]
pid = {self.tmp / 'fpm.pid'}
error_log = {self.tmp / 'fpm.log'}
daemonize = no
process.max = {workers + 8}
rlimit_files = {max(4096, connections + 384)}

[www]
listen = {sock}
listen.backlog = {backlog}
pm = static
pm.max_children = {workers}
request_terminate_timeout = 0
catch_workers_output = yes
clear_env = no
""" + "".join(f"env[{k}] = {v}\n" for k, v in (env or {}).items()))
        nginx_conf = self.tmp / "nginx.conf"
        nginx_conf.write_text(f"""daemon off;
master_process on;
worker_processes {nginx_workers};
worker_rlimit_nofile {4096 if connections <= 2048 else connections + 3000};
user root;
pid {self.tmp / 'nginx.pid'};
error_log {self.tmp / 'nginx-error.log'} warn;
events {{ worker_connections {connections}; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {self.tmp / 'client_body'};
    fastcgi_temp_path {self.tmp / 'fastcgi_temp'};
    proxy_temp_path {self.tmp / 'proxy_temp'};
    uwsgi_temp_path {self.tmp / 'uwsgi_temp'};
    scgi_temp_path {self.tmp / 'scgi_temp'};
    gzip on;
    server {{
        listen 127.0.0.1:{self.port} backlog={backlog}{" reuseport" if nginx_workers != 1 else ""};
        root {www or WWW};
        location ~ \\.php$ {{
            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
            try_files $fastcgi_script_name =404;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            include /etc/nginx/fastcgi.conf;
            fastcgi_pass unix:{sock};
            fastcgi_read_timeout {read_timeout}s;
        }}
    }}
}}
""")
        fpm_argv = upstream(sock) if upstream else ["php-fpm8.2", "-F", "-R", "-y", fpm_conf, "-c", php_ini]
        self.fpm = Service("php-fpm" if not upstream else "upstream", wrap(fpm_argv), self.tmp)
        self.nginx = Service("nginx", wrap(["nginx", "-e", self.tmp / "nginx-error.log", "-c", nginx_conf]), self.tmp)
        try:
            self.fpm.start()
            wait_connectable(sock)
            self.nginx.start()
            wait_connectable(("127.0.0.1", self.port))
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
        self.nginx.stop()
        self.fpm.stop()
        if not os.environ.get("SSE_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

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

class Stream:
    """One HTTP/1.1 GET on a raw socket: headers, then the de-chunked body as it arrives.

    `events()` yields (recv_time_ns, [event blocks]) where a block is the bytes of one frame
    without its closing empty line; heartbeats (comment-only frames) are blocks too.
    """

    def __init__(self, port: int, path: str, timeout: float = 60.0, headers: dict | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream",
                 "Cache-Control: no-cache"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sent_ns = time.monotonic_ns()
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.raw = b""
        self.status = None
        self.headers = {}
        self.chunked = False
        self.chunk_left = 0
        self.body_pending = b""  # de-chunked bytes not yet split into frames
        self.done = False

    def read_head(self):
        while b"\r\n\r\n" not in self.raw:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"closed before the headers: {self.raw!r}")
            self.raw += data
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        for line in lines:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "")
        return self

    def _dechunk(self, data: bytes) -> bytes:
        if not self.chunked:
            return data
        self.raw += data
        out = []
        while True:
            if self.chunk_left > 0:
                take = self.raw[:self.chunk_left]
                out.append(take)
                self.chunk_left -= len(take)
                self.raw = self.raw[len(take):]
                if self.chunk_left > 0:
                    break
                continue
            if self.chunk_left == 0:
                # size line (preceded by the CRLF that ends the previous chunk, if any)
                if self.raw.startswith(b"\r\n"):
                    self.raw = self.raw[2:]
                end = self.raw.find(b"\r\n")
                if end < 0:
                    break
                size = int(self.raw[:end].split(b";")[0], 16)
                if size == 0:
                    self.done = True
                    self.raw = b""
                    break
                self.raw = self.raw[end + 2:]
                self.chunk_left = size
        return b"".join(out)

    def chunks(self):
        """Yields (recv_time_ns, de-chunked bytes) until the response ends."""
        if self.raw and not self.chunked:
            first, self.raw = self.raw, b""
            yield time.monotonic_ns(), first
        elif self.raw:
            pending, self.raw = self.raw, b""
            body = self._dechunk(pending)
            if body:
                yield time.monotonic_ns(), body
        while not self.done:
            try:
                data = self.sock.recv(262144)
            except ConnectionResetError:
                data = b""
            t = time.monotonic_ns()
            if not data:
                break
            body = self._dechunk(data)
            if body:
                yield t, body

    def frames(self):
        """Yields (recv_time_ns, frames completed by that read)."""
        for t, body in self.chunks():
            self.body_pending += body
            if b"\n\n" not in self.body_pending:
                continue
            *complete, self.body_pending = self.body_pending.split(b"\n\n")
            yield t, complete

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def get(port: int, path: str, timeout: float = 30.0) -> bytes:
    s = Stream(port, path, timeout).read_head()
    body = b"".join(b for _, b in s.chunks())
    s.close()
    return body


# ---------------------------------------------------------------- numbers and results

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
