"""Starting and stopping real server processes, with their logs at hand for failure messages.

Every server runs in the foreground in its own process group, so stopping it (also after a
failed test) ends it and every child it forked, and nothing else.
"""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


# Ports for servers come from below the kernel's ephemeral range (32768 and up), where no
# client connection takes one meanwhile, and each pytest-xdist worker (PYTEST_XDIST_WORKER=gwN)
# hands out its own slice, so two workers never pick the same port between the check and the
# server's bind.
PORTS_FROM, PORTS_TO = 10000, 32000
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_WORKERS = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), _WORKER + 1)
_SLICE = (PORTS_TO - PORTS_FROM) // _WORKERS
_next_port = PORTS_FROM + _WORKER * _SLICE + (os.getpid() * 7) % _SLICE


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (nor holds in TIME_WAIT), from
    this worker's slice."""
    global _next_port
    first = PORTS_FROM + _WORKER * _SLICE
    for _ in range(_SLICE):
        port = _next_port
        _next_port = first + (_next_port - first + 1) % _SLICE
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + _SLICE - 1}")


def tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no such file)"
    return text[-limit:]


class Service:
    """One foreground server process whose output goes to a log file in the stack's temp dir."""

    def __init__(self, name: str, argv: list, tmp: Path, env: dict | None = None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.console = tmp / f"{name}.console.log"
        self.env = env
        self.proc = None

    def start(self):
        with open(self.console, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})}, start_new_session=True,
            )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 5.0):
        if not self.running():
            return
        pgid = self.proc.pid  # start_new_session makes the child its own group leader
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
        # Children that outlived their parent (e.g. an fpm worker stuck in a request) share the group.
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until_connectable(address, services: list, describe, timeout: float = 15.0):
    """Waits for a TCP (host, port) or unix socket path to accept; fails with the logs if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for svc in services:
            if svc.proc is not None and not svc.running():
                pytest.fail(f"{svc.name} exited with {svc.proc.returncode} while starting\n{describe()}",
                            pytrace=False)
        family = socket.AF_UNIX if isinstance(address, (str, Path)) else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            try:
                s.connect(str(address) if family == socket.AF_UNIX else address)
                return
            except OSError:
                time.sleep(0.05)
    pytest.fail(f"nothing accepted on {address} within {timeout}s\n{describe()}", pytrace=False)
