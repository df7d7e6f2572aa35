"""A real redis-server (Debian's) on a free loopback port, with AOF on, that tests can stop and
start again on the same port and data directory (a Redis restart as production sees it)."""
import shutil
from pathlib import Path

from .procs import Service, free_port, wait_until_connectable
from .stack import make_tmp


class Redis:
    def __init__(self):
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.tmp = make_tmp("redis")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.service = None

    def start(self):
        # appendfsync always: a publish Redis acknowledged is on disk before the restart.
        argv = ["redis-server", "--port", self.port, "--bind", "127.0.0.1", "--dir", self.tmp,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", self.tmp / "redis.log"]
        self.service = Service("redis", argv, self.tmp)
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


def start() -> Redis:
    return Redis().start()


__all__ = ["Redis", "start", "Path"]
