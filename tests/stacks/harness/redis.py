"""A real redis-server (Debian's) on a free loopback port, with AOF on, that tests can stop and
start again on the same port and data directory (a Redis restart as production sees it).

The same for valkey-server, which speaks the same protocol and takes the same options:
[`servers()`] lists the ones installed, for tests that run against each. [`Cluster`]: three
masters started with `--cluster-enabled yes` and joined by `redis-cli --cluster create` (or
valkey-cli), as an operator makes a cluster.
"""
import os
import shutil
import socket
import subprocess
import time
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
        self.extra = []

    def start(self):
        # appendfsync always: a publish Redis acknowledged is on disk before the restart.
        argv = [self.server, "--port", self.port, "--bind", "127.0.0.1", "--dir", self.tmp,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", self.tmp / "redis.log", *self.extra]
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


def command(port: int, *args) -> bytes:
    """One command over RESP on a fresh connection; the raw reply (small replies only)."""
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    payload = f"*{len(parts)}\r\n".encode() + b"".join(f"${len(p)}\r\n".encode() + p + b"\r\n" for p in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        reply = b""
        conn.settimeout(0.3)
        try:
            while chunk := conn.recv(65536):
                reply += chunk
                if reply.endswith(b"\r\n"):
                    break
        except TimeoutError:
            pass
        return reply


class Cluster:
    """A Redis Cluster (or Valkey cluster) of `masters` nodes, each with `replicas` replicas, on
    loopback."""

    def __init__(self, server: str = "redis-server", masters: int = 3, replicas: int = 0):
        self.nodes = []
        self.replicas = replicas
        for _ in range(masters * (1 + replicas)):
            node = Redis(server)
            # The cluster bus on a free port of its own (by default port + 10000, which a free
            # port above 55535 cannot have).
            # No node is restarted in the cluster tests: no AOF to fsync on every write, which
            # made a reshard under a busy machine's disk take minutes.
            node.extra = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "3000",
                          "--cluster-port", str(free_port()), "--appendonly", "no"]
            self.nodes.append(node)
        self.cli = server.replace("-server", "-cli")
        self.url = "redis-cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:2])

    def start(self):
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        out = subprocess.run([self.cli, "--cluster", "create", *addresses, "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{self.cli} --cluster create failed: {out.stdout[-2000:]} {out.stderr[-2000:]}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok = all(b"cluster_state:ok" in command(n.port, "CLUSTER", "INFO") for n in self.nodes)
            # Replicas are in sync with their masters (a failover needs them there).
            synced = all(b"connected" in reply for reply in (command(n.port, "ROLE") for n in self.nodes)
                         if b"slave" in reply or b"replica" in reply)
            if ok and synced:
                return self
            time.sleep(0.2)
        raise RuntimeError("the cluster never reached cluster_state:ok: " + self.nodes[0].describe())

    def remove(self):
        for node in self.nodes:
            node.remove()

    def keyslot(self, key: str) -> int:
        return int(command(self.nodes[0].port, "CLUSTER", "KEYSLOT", key).split(b"\r\n")[0][1:])

    def master_of_slot(self, slot: int) -> int:
        """The port of the master that serves `slot` (from CLUSTER NODES)."""
        reply = command(self.nodes[0].port, "CLUSTER", "NODES").decode()
        for line in reply.split("\r\n", 1)[1].splitlines():
            fields = line.split()
            if len(fields) < 9 or not ("master" in fields[2] or "primary" in fields[2]):
                continue
            for served in fields[8:]:
                low, _, high = served.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return int(fields[1].split("@")[0].rsplit(":", 1)[1])
        raise AssertionError(f"no master serves slot {slot}: {reply}")

    def log_per_master(self, prefix: str) -> dict:
        """A log name (`?log=<name>`) for each master, by the slot of its hash tag
        `{sse.<name>}`: {master port: name}."""
        masters = {n.port for n in self.nodes if command(n.port, "ROLE").split(b"\r\n")[2] in (b"master", b"primary")}
        logs = {}
        for i in range(2000):
            name = f"{prefix}{i}"
            logs.setdefault(self.master_of_slot(self.keyslot(f"{{sse.{name}}}:epoch")), name)
            if len(logs) == len(masters):
                return logs
        raise AssertionError(f"no log name of {prefix} on every master: {logs}")

    def keys_in_slot(self, port: int, slot: int) -> int:
        return int(command(port, "CLUSTER", "COUNTKEYSINSLOT", slot).split(b"\r\n")[0][1:])


def start_cluster(server: str = "redis-server", replicas: int = 0) -> Cluster:
    return Cluster(server, replicas=replicas).start()


__all__ = ["Cluster", "Redis", "command", "servers", "start", "start_cluster", "Path"]
