"""pytest fixtures: every stack started once per session, checked, and stopped at the end.

`stack` is parametrized over all stacks, so a test written once runs against each of them.
A stack that cannot start errors every test that needs it, with the server logs attached.
"""
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from . import apache, apache_fpm, caddy_fpm, cli_server, client, nginx_fpm
from .phpini import extension_path
from .stack import CRASH, make_tmp

ZLIB = {"zlib.output_compression": "On"}
TEST_TIME_LIMIT = 60  # seconds; the slowest test needs about 10


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# A SIGTERM (a CI job being cancelled, `timeout`) unwinds like Ctrl-C, so fixtures still stop
# every server they started instead of leaving them on their ports.
signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(autouse=True)
def time_limit(request):
    """Fails a test that runs longer than TEST_TIME_LIMIT, whatever it is waiting on; a test
    marked `@pytest.mark.time_limit(SECONDS)` (one that may have to wait for a build) gets that."""
    marked = request.node.get_closest_marker("time_limit")
    limit = int(marked.args[0]) if marked else TEST_TIME_LIMIT

    def expire(signum, frame):
        raise TimeoutError(f"test ran longer than {limit}s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)

STACKS = {
    "cli": lambda: cli_server.start("cli"),
    "cli-zlib": lambda: cli_server.start("cli-zlib", ZLIB),
    "nginx-fpm": lambda: nginx_fpm.start("nginx-fpm"),
    "nginx-fpm-zlib": lambda: nginx_fpm.start("nginx-fpm-zlib", ZLIB),
    "apache": lambda: apache.start("apache"),
    "apache-zlib": lambda: apache.start("apache-zlib", ZLIB),
    "apache-fpm": lambda: apache_fpm.start("apache-fpm"),
    "nginx-h2": lambda: nginx_fpm.start("nginx-h2", tls=True),
}
if caddy_fpm.available():
    STACKS["caddy-fpm"] = lambda: caddy_fpm.start("caddy-fpm")


def check_loaded(stack):
    """The stack really runs our php.ini (production buffering) with the implementation loaded."""
    probe = None
    try:
        probe = client.get(stack, "probe.php")
        info = json.loads(probe.body)
    except Exception as e:  # noqa: BLE001 - any failure here means the stack is unusable
        got = probe and (probe.status, probe.headers, probe.body[:500])
        pytest.fail(f"{stack.name}: probe.php failed: {e!r} {got}\n{stack.describe()}", pytrace=False)
    expected_ini = str(stack.tmp / "php.ini")
    problems = []
    if not info["emitter"]:
        problems.append(f"Sse\\SseEmitter is not defined (extension {extension_path()} not loaded?)")
    if info["ini"] != expected_ini:
        problems.append(f"loaded php.ini is {info['ini']}, not {expected_ini}")
    if info["output_buffering"] != "4096":
        problems.append(f"output_buffering is {info['output_buffering']!r}, not the production 4096")
    if problems:
        pytest.fail(f"{stack.name}: " + "; ".join(problems) + f"\n{stack.describe()}", pytrace=False)


def checked(stack):
    """The stack, once check_loaded() passed; stopped (and the failure passed on) otherwise."""
    try:
        check_loaded(stack)
    except BaseException:
        stack.stop()
        raise
    return stack


def start_checked(name: str):
    if not extension_path().exists():
        pytest.fail(f"SSE_EXT={extension_path()} does not exist: build with cargo build --release",
                    pytrace=False)
    return checked(STACKS[name]())


@pytest.fixture(scope="session", params=list(STACKS))
def running_stack(request):
    stack = start_checked(request.param)
    yield stack
    stack.stop()


@pytest.fixture
def stack(running_stack):
    """A running stack; the test fails if a crash marker shows up in its logs meanwhile."""
    sizes = running_stack.log_sizes()
    yield running_stack
    time.sleep(0.1)  # a worker that died at the end of the test logs it a moment later
    new = running_stack.log_text_since(sizes)
    found = CRASH.search(new)
    if found:
        pytest.fail(f"{running_stack.name}: {found.group(0)!r} in the server logs:\n{new}", pytrace=False)


def marks_dir(stack) -> Path:
    """A fresh dir in the stack's temp dir that the scenario scripts (any server user) may write
    their marks into."""
    directory = stack.tmp / f"marks-{time.monotonic_ns()}"
    directory.mkdir()
    directory.chmod(0o777)
    return directory


@pytest.fixture
def marks(running_stack):
    return marks_dir(running_stack)


@pytest.fixture(scope="module")
def broker_dir(request):
    """An embedded broker's directory for the module's app (SSE_BROKER=local://...), removed
    after its tests. php-fpm runs as root here (harness/fpm.py: -R); 0777 keeps it writable for
    any pool user."""
    path = make_tmp(f"broker-{request.module.__name__}")
    yield path
    if not os.environ.get("SSE_KEEP_TMP"):
        shutil.rmtree(path, ignore_errors=True)


def wait_for_file(path: Path, timeout: float):
    """The JSON a scenario script wrote to `path`, or None if it did not within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                return json.loads(path.read_text())
            except ValueError:
                pass  # still being written
        time.sleep(0.01)
    return None
