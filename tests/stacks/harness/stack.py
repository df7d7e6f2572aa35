"""What every stack launcher returns: where to send requests, and where its logs are."""
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .procs import tail, wait_until_connectable

WWW = Path(__file__).resolve().parents[1] / "www"

# What a crashed or longjmp'd worker leaves in the logs of php-fpm, Apache, nginx or PHP, and
# the PHP errors no scenario should cause (e.g. "Cannot modify header information").
CRASH = re.compile(
    r"segfault|SIGSEGV|SIGABRT|SIGBUS|exited on signal|exit signal|core dumped|bailout"
    r"|Rust panic|panicked at|zend_mm_heap corrupted|double free"
    r"|PHP (?:Warning|Fatal error|Parse error)",
    re.IGNORECASE,
)


def make_tmp(name: str) -> Path:
    """A temp dir the unprivileged server users (Apache's www-data) can write into too.

    Always under /tmp, whatever TMPDIR says: www/lib/mark.php only writes below /tmp/sse-*.
    """
    path = Path(tempfile.mkdtemp(prefix=f"sse-stack-{name}-", dir="/tmp"))
    path.chmod(0o777)
    return path


@dataclass
class Stack:
    name: str
    port: int
    tmp: Path
    services: list = field(default_factory=list)
    scheme: str = "http"
    http2: bool = False
    # Requests one stack serves at the same time: each open stream holds one of them.
    workers: int = 1
    # Whether the SAPI lets the emitter see a hang-up without writing (fast path on the socket).
    sees_hangup_without_write: bool = True
    # Otherwise, how many heartbeat writes after a hang-up it takes to notice: a write to a
    # socket the client closed (FIN) is accepted; only the one after the client's reset fails.
    heartbeats_to_notice: int = 1
    # Whether close() can end the response before the script returns (php-fpm can finish a
    # request early; php -S and mod_php end it only when the script does).
    ends_response_at_close: bool = False
    zlib: bool = False
    # Whether a plain HTML page comes back gzipped (zlib.output_compression, mod_deflate, nginx gzip).
    compresses_html: bool = False

    host = "127.0.0.1"

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/{path.lstrip('/')}"

    def log_files(self) -> list:
        return sorted(p for p in self.tmp.rglob("*.log") if p.is_file())

    def log_sizes(self) -> dict:
        return {p: p.stat().st_size for p in self.log_files()}

    def log_text_since(self, sizes: dict) -> str:
        """Everything appended to any log file after `sizes` was taken."""
        parts = []
        for p in self.log_files():
            with open(p, "rb") as f:
                f.seek(sizes.get(p, 0))
                text = f.read().decode(errors="replace")
            if text.strip():
                parts.append(f"--- {p.name} ---\n{text}")
        return "\n".join(parts)

    def describe(self) -> str:
        """The logs, for failure messages."""
        return "\n".join(f"--- {p} ---\n{tail(p)}" for p in self.log_files())

    def launch(self, *steps) -> "Stack":
        """Starts each (service, address) in turn, waiting until the address (a TCP (host, port)
        or a unix socket path) accepts before the next; the services join the stack's. If one
        fails, the stack is stopped and the failure (with the logs) passed on."""
        try:
            for svc, address in steps:
                if svc not in self.services:
                    self.services.append(svc)
                svc.start()
                wait_until_connectable(address, self.services, self.describe)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for svc in reversed(self.services):
            svc.stop()
        if not os.environ.get("SSE_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
