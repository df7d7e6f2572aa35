"""A real redis-server (Debian's) on a free loopback port, with AOF on, that tests can stop and
start again on the same port and data directory (a Redis restart as production sees it).

The same for valkey-server, which speaks the same protocol and takes the same options:
[`servers()`] lists the ones installed, for tests that run against each.
"""
import os
import shutil
from pathlib import Path

from .procs import Service, free_port, wait_until_connectable
from .stack import make_tmp


def servers() -> list:
    """The Redis-protocol servers installed here: redis-server always (the suites need it), and
    valkey-server where its Debian package is (sid; SSE_REQUIRE_VALKEY=1 makes its absence a
    failure)."""
    found = ["redis-server"]
    if shutil.which("valkey-server"):
        found.append("valkey-server")
    elif os.environ.get("SSE_REQUIRE_VALKEY"):
        raise RuntimeError("SSE_REQUIRE_VALKEY is set but valkey-server is not installed (apt-get install valkey-server)")
    return found


class Redis:
    def __init__(self, server: str = "redis-server"):
        if not shutil.which(server):
            raise RuntimeError(f"{server} is not installed (apt-get install {server})")
        self.server = server
        self.tmp = make_tmp(server.removesuffix("-server"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.service = None

    def start(self):
        # appendfsync always: a publish Redis acknowledged is on disk before the restart.
        argv = [self.server, "--port", self.port, "--bind", "127.0.0.1", "--dir", self.tmp,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", self.tmp / "redis.log"]
        self.service = Service(self.server.removesuffix("-server"), argv, self.tmp)
        self.service.start()
        wait_until_connectable(("127.0.0.1", self.port), [self.service], self.describe)
        return self

    def stop(self):
        if self.service:
            self.service.stop()

    def describe(self) -> str:
        log = self.tmp / "redis.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else "(no redis log)"

    def remove(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start(server: str = "redis-server") -> Redis:
    return Redis(server).start()


__all__ = ["Redis", "servers", "start", "Path"]
