"""One Redis reader per machine (`sse.relay_dir`): what the relay tests and bench/redis/egress.py
look at.

A "machine" is an nginx + php-fpm stack with `sse.broker` on a Redis URL and `sse.relay_dir` in
a temp dir of its own (or empty: the relay off). With the relay on, one worker of the machine
(the one whose pid `<relay_dir>/<16 hex>/relay.lock` holds) reads Redis on a connection named
`ext-sse-relay-<pid>`; with it off, every worker with a subscribed stream reads Redis on one
named `ext-sse-follow-<pid>`. `CLIENT LIST` and `INFO` are read over RESP here (complete
replies, whatever their size).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from . import client, fpm, nginx_fpm
from .broadcast import take
from .fixtures import checked
from .phpini import extension_path
from .stack import CRASH, make_tmp

RELAY = "ext-sse-relay-"
FOLLOW = "ext-sse-follow-"
URL_DIR = re.compile(r"^(?:relay-)?[0-9a-f]{16}$")  # the extension names it relay-<16 hex>


# ---------------------------------------------------------------- Redis, over RESP

def _reply(f):
    """One RESP reply read from the file `f` (bytes for strings, int, list; RuntimeError for
    an error reply)."""
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError(f"connection closed mid-reply: {line!r}")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = f.read(size + 2)
        return data[:-2]
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_reply(f) for _ in range(size)]
    raise ConnectionError(f"unexpected reply {line!r}")


def call(port: int, *args, timeout: float = 10.0):
    """One command on a fresh connection to 127.0.0.1:port; its whole reply."""
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    payload = f"*{len(parts)}\r\n".encode() + b"".join(f"${len(p)}\r\n".encode() + p + b"\r\n" for p in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(payload)
        with conn.makefile("rb") as f:
            return _reply(f)


def clients(port: int) -> list:
    """CLIENT LIST, one dict per connection (`id`, `name`, `cmd`, ...)."""
    listing = call(port, "CLIENT", "LIST").decode(errors="replace")
    out = []
    for line in listing.splitlines():
        fields = {}
        for item in line.split(" "):
            key, _, value = item.partition("=")
            if key:
                fields[key] = value
        if fields:
            out.append(fields)
    return out


def brief(conns: list) -> str:
    """Connections as `id name cmd age` lines (for failure messages)."""
    return "\n".join(f"id={c.get('id')} name={c.get('name')} cmd={c.get('cmd')} age={c.get('age')}" for c in conns)


def readers(port: int) -> list:
    """The connections that read the log live: those named by the extension as a reader, and
    any other whose last command was XREAD (an unnamed reader would show here)."""
    return [c for c in clients(port) if c.get("name", "").startswith((RELAY, FOLLOW)) or c.get("cmd") == "xread"]


def reader_pid(conn: dict):
    """The pid a reader's connection name carries (None for an unnamed one)."""
    name = conn.get("name", "")
    for prefix in (RELAY, FOLLOW):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return int(name[len(prefix):])
    return None


def info(port: int, *sections) -> dict:
    """INFO `sections` as {field: value} (values as text), and how many bytes the reply took
    (`_reply_bytes`: what this INFO itself adds to total_net_output_bytes)."""
    fields = {}
    text = b""
    for section in sections or ("everything",):
        reply = call(port, "INFO", section)
        text += reply
    for line in text.decode(errors="replace").splitlines():
        if ":" in line and not line.startswith("#"):
            key, _, value = line.partition(":")
            fields[key] = value
    fields["_reply_bytes"] = len(text)
    return fields


def xread_calls(fields: dict) -> int:
    """`cmdstat_xread`'s calls from INFO commandstats (0 when no XREAD ran yet)."""
    stat = fields.get("cmdstat_xread", "")
    found = re.search(r"(?:^|,)calls=(\d+)", stat)
    return int(found.group(1)) if found else 0


# ---------------------------------------------------------------- machines

def start_machine(name: str, url: str, relay: bool = True, children: int = 4, **options):
    """nginx + php-fpm (pm = static, `children` workers) on the broker `url`, checked; with its
    own relay directory (`machine.relay_dir`, in a temp dir of its own, not the stack's: the
    stack's `*.log` files are scanned for crashes), or `sse.relay_dir` empty when `relay` is
    False (`machine.relay_dir` None). `options`: more for nginx_fpm.start."""
    relay_root = make_tmp(f"relay-{name}") if relay else None
    relay_dir = relay_root / "relay" if relay else None
    ini = {"sse.broker": url, "sse.relay_dir": str(relay_dir) if relay else ""}
    ini.update(options.pop("ini", {}))
    try:
        machine = checked(nginx_fpm.start(name=name, ini=ini, children=children, **options))
    except BaseException:
        if relay_root:
            shutil.rmtree(relay_root, ignore_errors=True)
        raise
    machine.relay_dir, machine.relay_root, machine.killed = relay_dir, relay_root, set()
    return machine


def stop_machine(machine):
    machine.stop()
    if machine.relay_root:
        shutil.rmtree(machine.relay_root, ignore_errors=True)


def crashes(machine) -> list:
    """Crash markers in the machine's logs, but for the exit of a worker the test killed itself
    (php-fpm's `child N exited on signal 9`)."""
    killed = [re.compile(rf"child {pid} exited on signal 9\b") for pid in machine.killed]
    found = []
    for log in machine.log_files():
        for line in log.read_text(errors="replace").splitlines():
            if CRASH.search(line) and not any(k.search(line) for k in killed):
                found.append(f"{log.name}: {line}")
    return found


def workers(machine) -> set:
    """The pids of the machine's php-fpm workers."""
    return fpm.workers(machine.services[0])


def url_dirs(machine) -> list:
    """The per-URL directories under the machine's relay directory."""
    if not machine.relay_dir or not machine.relay_dir.is_dir():
        return []
    return sorted(p for p in machine.relay_dir.iterdir() if p.is_dir())


def lock_pid(machine):
    """The pid relay.lock names (None while there is none, or it is being written)."""
    for directory in url_dirs(machine):
        try:
            text = (directory / "relay.lock").read_text()
        except OSError:
            continue
        if re.fullmatch(r"\d+\n", text):
            return int(text)
    return None


def relay_readers(port: int, machine) -> dict:
    """This machine's live readers on Redis, by kind: {"relay": [pids], "follow": [pids]}."""
    pids = workers(machine)
    mine = {"relay": [], "follow": []}
    for conn in readers(port):
        pid = reader_pid(conn)
        if pid in pids:
            mine["relay" if conn["name"].startswith(RELAY) else "follow"].append(pid)
    return mine


def wait_for(check, timeout: float = 20.0, interval: float = 0.1):
    """Calls check() until it returns (ok, what) with ok true, or `timeout` passes: the last
    `what` either way (the assertion message), and whether it got there."""
    deadline = time.monotonic() + timeout
    while True:
        ok, what = check()
        if ok or time.monotonic() >= deadline:
            return ok, what
        time.sleep(interval)


def kill(machine, pid: int):
    """SIGKILLs one worker of the machine (its exit then is not a crash for `crashes`)."""
    assert pid in workers(machine), f"{pid} is not a worker of {machine.name}: {workers(machine)}"
    machine.killed.add(pid)
    os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- streams and publishers

def stream_path(topics: str, seconds: int = 90, detach: bool = False) -> str:
    return f"relay/stream.php?topics={topics}&seconds={seconds}" + ("&detach=1" if detach else "")


def open_stream(machine, topics: str, seconds: int = 90, detach: bool = False, headers=None, timeout: float = 15.0):
    """A stream of www/relay/stream.php, read up to its `: subscribed` comment; `.pid` is the
    worker that subscribed it (its `: pid N` comment)."""
    s = client.Stream(machine, stream_path(topics, seconds, detach), headers, timeout=seconds + 30)
    assert s.status == 200, s.body
    deadline = time.monotonic() + timeout
    while "subscribed" not in [c.text for c in s.parser.comments] and not s.ended and time.monotonic() < deadline:
        try:
            s.wait_comments(len(s.parser.comments) + 1, timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
    texts = [c.text for c in s.parser.comments]
    assert "subscribed" in texts, f"{machine.name}: no `: subscribed` within {timeout}s: {s.body!r}"
    s.pid = next(int(t.split()[1]) for t in texts if t.startswith("pid "))
    s.machine, s.topics, s.detached = machine, topics, detach
    return s


class Publisher:
    """A CLI php process (no web server: as cron or a queue worker does) publishing `n` events
    to `topic`, `gap` seconds apart, data `<size x's><prefix><i>` (with the broker's `history`
    option when given: Redis trims to about that many); `ids()` waits for it and answers the
    ids in publishing order."""

    def __init__(self, url: str, topic: str, n: int, gap: float = 0.0, prefix: str = "p", size: int = 0,
                 history: int = 0):
        code = ("[, $url, $topic, $n, $gap, $prefix, $size, $history] = $argv; "
                "$b = new Sse\\Broker($url, $history > 0 ? ['history' => (int) $history] : []); "
                "$pad = str_repeat('x', (int) $size); "
                "for ($i = 0; $i < (int) $n; $i++) { if ($i > 0 && $gap > 0) { usleep((int) ($gap * 1e6)); } "
                "echo $b->publish($topic, ['event' => 'news', 'data' => $pad . $prefix . $i]), \"\\n\"; flush(); }")
        # Its sse.relay_dir empty: a publisher needs no relay, and the default one would leave a
        # directory per test Redis in /dev/shm.
        self.proc = subprocess.Popen(["php", "-n", "-d", f"extension={extension_path()}", "-d", "sse.relay_dir=", "-r", code, "--",
                                      url, topic, str(n), str(gap), prefix, str(size), str(history)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.n = n

    def ids(self, timeout: float = 120.0) -> list:
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, err
        ids = out.split()
        assert len(ids) == self.n, (out, err)
        return ids

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def warm_up(url: str, streams: list, topic: str) -> int:
    """Publishes to `topic` on the broker `url` until each of `streams` got an event, then takes
    the rest of those events from each; how many were published. Streams that miss one are an
    error (a RuntimeError: a benchmark reports it, a test fails)."""
    warm, pending = 0, list(streams)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        Publisher(url, topic, 1, prefix="warm").ids()
        warm += 1
        pending = [s for s in pending if not take(s, 1, timeout=1.0)]
    if pending:
        raise RuntimeError(f"{len(pending)} of {len(streams)} streams of {topic} got no warm-up event")
    for s in streams:
        if len(take(s, warm - 1, timeout=10)) != warm - 1:
            raise RuntimeError(f"a stream of {topic} missed a warm-up event")
    return warm
