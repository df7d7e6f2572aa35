"""scripts/demo.sh as a user runs it: PORT= picks the port, and stopping it with SIGTERM (a
service manager, `timeout`, a CI job being cancelled) stops every php -S worker it started.
"""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness import procs

REPO = Path(__file__).resolve().parents[2]

# scripts/demo.sh builds and serves with the machine's own PHP (scripts/setup.sh installs
# Debian 12's PHP 8.2); inside the PHP root of `scripts/test.sh --php` there is no such PHP.
pytestmark = pytest.mark.skipif(bool(os.environ.get("SSE_TEST_PHP_ROOT")),
                                reason="the demo runs on the host's PHP 8.2, not inside a PHP root")


def descendants(pid: int) -> set:
    """Every process below pid, from /proc (children of children included)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, set()).add(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return not Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def connectable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# The demo runs scripts/setup.sh first: an incremental build, which is a full one when an earlier
# build had another environment (ext-php-rs rebuilds when PATH or PHP_CONFIG differ).
@pytest.mark.time_limit(360)
def test_sigterm_stops_the_demo_and_all_its_workers(tmp_path):
    port = procs.free_port()
    log = open(tmp_path / "demo.log", "wb")
    demo = subprocess.Popen([REPO / "scripts/demo.sh"], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PORT": str(port), "PHP_CLI_SERVER_WORKERS": "3"},
                            start_new_session=True)
    php = []
    try:
        deadline = time.monotonic() + 300  # the demo runs scripts/setup.sh (an incremental build) first
        while time.monotonic() < deadline and demo.poll() is None:
            # The demo itself too: a demo that exec()s php -S is the server's master process.
            php = [p for p in descendants(demo.pid) | {demo.pid} if Path(f"/proc/{p}/comm").exists()
                   and Path(f"/proc/{p}/comm").read_text().strip() == "php"]
            if len(php) >= 4 and connectable(port):
                break
            time.sleep(0.2)
        assert demo.poll() is None, (tmp_path / "demo.log").read_text()
        assert len(php) >= 4, f"expected php -S and its 3 workers under the demo, found {php}"
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=10)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(alive(p) for p in php):
            time.sleep(0.05)
        left = [p for p in php if alive(p)]
        assert not left, f"php processes still running after SIGTERM: {left}"
        assert not connectable(port), "the port still accepts connections"
    finally:
        for pid in php:  # only what this test started, by pid
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if demo.poll() is None:
            demo.kill()
        log.close()
