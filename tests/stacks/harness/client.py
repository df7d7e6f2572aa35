"""HTTP clients that show when each byte of a response arrived.

HTTP/1.1 goes over a raw socket (TLS optional) so nothing between the server and the test
buffers; HTTP/2 goes through `curl --http2 -N`, whose output is read as it comes. Both decode
chunked framing and gzip (if a server wrongly compresses, the events still parse and the
header tests say why), then feed an SSE parser that timestamps each event.
"""
import codecs
import os
import select
import socket
import ssl
import subprocess
import time
import zlib

from .sse import Parser

EVENTSOURCE_HEADERS = {
    "Accept": "text/event-stream",
    "Cache-Control": "no-cache",
    "Accept-Encoding": "gzip, deflate",
}



def parse_head(head: bytes):
    """The protocol, status and (lower-cased name, value) headers of a response head."""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    protocol, status, *_ = status_line.split(" ", 2)
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return protocol, int(status), headers

class Closed(Exception):
    """The server ended the response."""


class Http1:
    def __init__(self, stack, path: str, headers: dict, timeout: float):
        raw = socket.create_connection((stack.host, stack.port), timeout=timeout)
        if stack.scheme == "https":
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            raw = ctx.wrap_socket(raw, server_hostname=stack.host)
        self.sock = raw
        lines = [f"GET /{path.lstrip('/')} HTTP/1.1", f"Host: {stack.host}:{stack.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.mode = None
        self.remaining = None
        self.chunk_left = 0
        self.done = False
        self.complete = False  # the body ended as its framing says, not by a dropped connection

    def _recv(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data before the deadline")
        self.sock.settimeout(left)
        try:
            return self.sock.recv(65536)
        except socket.timeout as e:
            raise TimeoutError("no data before the deadline") from e
        except (ConnectionResetError, ssl.SSLError):
            return b""

    def head(self, deadline: float):
        while b"\r\n\r\n" not in self.buf:
            data = self._recv(deadline)
            if not data:
                raise Closed(f"connection closed before the headers ended: {self.buf!r}")
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        protocol, status, headers = parse_head(head)
        names = {n for n, _ in headers}
        if status in (204, 304):
            self.mode = "none"
        elif "chunked" in dict(headers).get("transfer-encoding", ""):
            self.mode = "chunked"
        elif "content-length" in names:
            self.mode, self.remaining = "length", int(dict(headers)["content-length"])
        else:
            self.mode = "close"
        return protocol, status, headers

    def read(self, deadline: float) -> bytes:
        """Body bytes as they arrive, without transfer framing; b'' at the end."""
        while not self.done:
            out = self._take()
            if out:
                return out
            if self.done:
                break
            data = self._recv(deadline)
            if not data:
                self.done = True
                return b""
            self.buf += data
        return b""

    def _take(self) -> bytes:
        if self.done:  # anything after the end (a chunked trailer's CRLF) is not body
            return b""
        if self.mode == "none" or (self.mode == "length" and self.remaining == 0):
            self.done = self.complete = True
            return b""
        if self.mode == "length":
            out, self.buf = self.buf[: self.remaining], self.buf[self.remaining:]
            self.remaining -= len(out)
            self.done = self.complete = self.remaining == 0
            return out
        if self.mode == "close":
            out, self.buf = self.buf, b""
            return out
        out = b""
        while True:
            if self.chunk_left > 0:
                piece = self.buf[: self.chunk_left]
                self.buf = self.buf[len(piece):]
                self.chunk_left -= len(piece)
                out += piece
                if self.chunk_left > 0:
                    return out
                self.chunk_left = -2  # the CRLF after the chunk data
            if self.chunk_left == -2:
                if len(self.buf) < 2:
                    return out
                self.buf, self.chunk_left = self.buf[2:], 0
            if b"\r\n" not in self.buf:
                return out
            size_line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                self.done = self.complete = True
                return out
            self.chunk_left = size

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Curl:
    """HTTP/2 (over TLS, ALPN h2) via curl; -N so curl hands on every byte as it comes."""

    def __init__(self, stack, path: str, headers: dict, timeout: float):
        argv = ["curl", "--http2", "-k", "-sS", "-N", "-i", "--max-time", str(int(timeout) + 1)]
        for k, v in headers.items():
            argv += ["-H", f"{k}: {v}"]
        argv.append(stack.url(path))
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.done = False
        self.complete = False  # curl exits 0 only if the response ended properly

    def _recv(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.fd], [], [], left)[0]:
            raise TimeoutError("no data before the deadline")
        return os.read(self.fd, 65536)

    def head(self, deadline: float):
        while b"\r\n\r\n" not in self.buf:
            data = self._recv(deadline)
            if not data:
                err = self.proc.stderr.read().decode(errors="replace")
                raise Closed(f"curl ended before the headers: {self.buf!r} {err}")
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        protocol, status, headers = parse_head(head)
        return protocol, status, headers

    def read(self, deadline: float) -> bytes:
        if self.buf:
            out, self.buf = self.buf, b""
            return out
        if self.done:
            return b""
        data = self._recv(deadline)
        if not data:
            self.done = True
            self.complete = self.proc.wait(timeout=5) == 0
        return data

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()


class Stream:
    """One request whose response body is read as an event stream."""

    def __init__(self, stack, path: str, headers: dict | None = None, timeout: float = 10.0,
                 eventsource: bool = True):
        all_headers = {**(EVENTSOURCE_HEADERS if eventsource else {}), **(headers or {})}
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.transport = (Curl if stack.http2 else Http1)(stack, path, all_headers, timeout)
        self.protocol, self.status, self.headers = self.transport.head(self.deadline)
        self.headers_at = time.monotonic()
        encoding = self.header("content-encoding") or ""
        self._inflate = zlib.decompressobj(wbits=47) if encoding in ("gzip", "deflate") else None
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.body = b""
        self.parser = Parser()
        self.ended = False
        self.hung_up_at = None
        self._consumed = 0  # events already handed out by next_event()

    def header(self, name: str):
        values = [v for n, v in self.headers if n == name.lower()]
        return ", ".join(values) if values else None

    def _pump(self, deadline: float) -> bool:
        """Reads one piece of body; False once the response ended."""
        data = self.transport.read(min(deadline, self.deadline))
        t = time.monotonic()
        if not data:
            self.ended = True
            return False
        if self._inflate:
            data = self._inflate.decompress(data)
        self.body += data
        self.parser.feed(self._text.decode(data), t)
        return True

    def next_event(self, timeout: float = 5.0):
        """The next event, or None when the response ended first."""
        seen = self._consumed
        deadline = time.monotonic() + timeout
        while len(self.parser.events) <= seen:
            if self.ended or not self._pump(deadline):
                return None
        self._consumed = seen + 1
        return self.parser.events[seen]

    def events_until_end(self, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while not self.ended and self._pump(deadline):
            pass
        return self.parser.events

    def wait_comments(self, count: int, timeout: float) -> list:
        deadline = time.monotonic() + timeout
        while len(self.parser.comments) < count and not self.ended:
            self._pump(deadline)
        return self.parser.comments

    def hang_up(self) -> float:
        """Drops the connection like a closed browser tab; returns the wall-clock time of it."""
        self.hung_up_at = time.time()
        self.transport.close()
        return self.hung_up_at

    def close(self):
        if self.hung_up_at is None:
            self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def get(stack, path: str, headers: dict | None = None, timeout: float = 10.0) -> Stream:
    """A plain request read to the end (status, headers, body)."""
    s = Stream(stack, path, headers, timeout, eventsource=False)
    s.events_until_end(timeout)
    s.close()
    return s


def require_pong(stack, name: str, timeout: float = 10) -> None:
    """A framework app's /ping must answer 200 "pong" (it booted); otherwise the stack is
    stopped and the test fails with the logs."""
    import pytest  # here, not at the top: the benches import this module without pytest

    try:
        ping = get(stack, "ping", timeout=timeout)
        if (ping.status, ping.body) != (200, b"pong"):
            pytest.fail(f"{name}: /ping answered {ping.status} {ping.body[:500]!r}\n{stack.describe()}",
                        pytrace=False)
    except BaseException:
        stack.stop()
        raise
