"""Headless Chromium driven over the DevTools protocol on a pipe: stdlib only, no Node.

`--remote-debugging-pipe` makes Chromium read commands on fd 3 and write replies and events
on fd 4, each a JSON message ended by a NUL byte. That is all this needs: open a page, read a
variable the page fills, close. Each browser gets a fresh profile dir, removed afterwards.
"""
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--ignore-certificate-errors",  # the TLS stack's certificate is made at test time
]


class BrowserError(Exception):
    pass


class Chromium:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="sse-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds():  # in the child: its fd 3 reads our commands, fd 4 carries its replies
            read_end = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire_fds, close_fds=False, start_new_session=True,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._next_id = 0
        self.session = None

    def send(self, method: str, params: dict | None = None, session: bool = True, timeout: float = 10):
        """Sends a command and returns its result (events in between are dropped)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise BrowserError("no reply from Chromium in time")
            data = os.read(self._from_browser, 1 << 20)
            if not data:
                raise BrowserError(f"Chromium went away: {self.stderr()}")
            self._buf += data
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def open(self, url: str):
        """Attaches to the first page and navigates it to url."""
        pages = [t for t in self.send("Target.getTargets", session=False)["targetInfos"] if t["type"] == "page"]
        if not pages:
            raise BrowserError("Chromium has no page")
        attached = self.send("Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True},
                             session=False)
        self.session = attached["sessionId"]
        navigated = self.send("Page.navigate", {"url": url})
        if navigated.get("errorText"):
            raise BrowserError(f"navigating to {url}: {navigated['errorText']}")

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def close(self):
        try:
            if self.proc.poll() is None:
                self.send("Browser.close", session=False, timeout=5)
                self.proc.wait(timeout=5)
        except (BrowserError, OSError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=5)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def record(url: str, timeout: float, linger: float = 0.0, once_open=None) -> dict:
    """Opens url, waits until the page sets window.done (or timeout), keeps it open `linger`
    more seconds, and returns {"timedOut": bool, "recorded": window.recorded}. `once_open()`
    runs in a thread from the moment the page's EventSource is open (its log has `open`), however
    long a busy machine takes to start Chromium; what it raises is raised here."""
    browser = Chromium()
    thread, failures = None, []

    def run():
        try:
            once_open()
        except BaseException as e:  # noqa: BLE001 - raised in the caller below
            failures.append(e)
    try:
        browser.open(url)
        deadline = time.monotonic() + timeout
        done = False
        while time.monotonic() < deadline:
            if once_open and not thread and browser.evaluate(
                    "(window.recorded || {log: []}).log.some((e) => e.kind === 'open')"):
                thread = threading.Thread(target=run)
                thread.start()
            done = browser.evaluate("window.done === true")
            if done:
                break
            time.sleep(0.05)
        recorded = browser.evaluate("window.recorded")
        if linger:
            time.sleep(linger)
    finally:
        if thread:
            thread.join()
        browser.close()
    if failures:
        raise failures[0]
    if once_open and not thread:
        raise BrowserError(f"the page's EventSource never opened within {timeout}s: {recorded}")
    return {"timedOut": not done, "recorded": recorded}
