"""What a deployment must configure, measured: each test backs a claim in FINDINGS.md.

Most start their own stacks with short limits so that the effects show in seconds: nginx's
fastcgi_read_timeout against the heartbeat, php-fpm's request_terminate_timeout against
maxDuration, Apache's mod_proxy_fcgi without flushpackets or with DEFLATE on event streams;
and the worker each open stream holds, on the shared stacks.
"""
import threading
import time

import pytest

from harness import apache_fpm, client, nginx_fpm
from harness.fixtures import checked
from harness.schedule import each_before_the_next


def started(launcher=nginx_fpm.start, **limits):
    return checked(launcher(**limits))


@pytest.fixture(scope="module")
def short_read_timeout():
    stack = started(name="nginx-read-timeout", fastcgi_read_timeout="2s")
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def short_terminate_timeout():
    stack = started(name="fpm-terminate-timeout", request_terminate_timeout=2)
    yield stack
    stack.stop()


def idle_stream(stack, heartbeat, max_duration):
    """Reads idle.php to its end; returns (stream, seconds it lasted)."""
    with client.Stream(stack, f"idle.php?heartbeat={heartbeat}&max={max_duration}", timeout=15) as s:
        s.events_until_end(timeout=15)
        lasted = time.monotonic() - s.started
    assert s.status == 200 and s.parser.events and s.parser.events[0].type == "ready", s.body
    return s, lasted


def test_silent_stream_is_cut_at_fastcgi_read_timeout(short_read_timeout):
    s, lasted = idle_stream(short_read_timeout, heartbeat=0, max_duration=4)
    assert 1.8 <= lasted <= 2.7, f"a silent stream lasted {lasted:.2f}s behind fastcgi_read_timeout 2s"
    assert not s.transport.complete, "nginx ended the response cleanly; expected a cut stream"
    assert "upstream timed out" in short_read_timeout.describe()


def test_heartbeat_shorter_than_fastcgi_read_timeout_keeps_the_stream(short_read_timeout):
    s, lasted = idle_stream(short_read_timeout, heartbeat=1, max_duration=4)
    assert 3.8 <= lasted <= 4.7, f"stream lasted {lasted:.2f}s, expected its maxDuration 4s"
    assert s.transport.complete, "the stream was cut instead of ending at maxDuration"
    assert len(s.parser.comments) >= 3


def test_request_terminate_timeout_kills_a_longer_stream(short_terminate_timeout):
    s, lasted = idle_stream(short_terminate_timeout, heartbeat=0.5, max_duration=4)
    assert 1.8 <= lasted <= 3.2, f"stream lasted {lasted:.2f}s under request_terminate_timeout 2s"
    assert not s.transport.complete, "the stream ended cleanly; expected fpm to kill the worker"
    assert "execution timed out" in short_terminate_timeout.describe()


def test_max_duration_under_request_terminate_timeout_ends_cleanly(short_terminate_timeout):
    s, lasted = idle_stream(short_terminate_timeout, heartbeat=0.5, max_duration=1.5)
    assert 1.3 <= lasted <= 2.0, f"stream lasted {lasted:.2f}s, expected its maxDuration 1.5s"
    assert s.transport.complete
    assert s.parser.retry == 500, "maxDuration should end with the retry the client reconnects after"


@pytest.mark.parametrize("running_stack, release", [
    ("cli", 0.5), ("nginx-fpm", 0.5), ("apache", 0.5), ("apache-fpm", 2.5),
], indirect=["running_stack"])
def test_each_open_stream_holds_a_worker(stack, release):
    """With every worker streaming, the next request waits until a stream ends.

    `release` is how soon after a hang-up the worker must be free: the hang-up detection time.
    """
    streams, answered = [], {}

    def request():
        answered["response"] = client.get(stack, "probe.php", timeout=10)
        answered["at"] = time.monotonic()

    waiter = threading.Thread(target=request, daemon=True)
    try:
        for i in range(stack.workers):
            streams.append(client.Stream(stack, "idle.php?heartbeat=1&max=20"))
            assert streams[-1].next_event(timeout=5), f"stream {i} did not start"
        waiter.start()
        waiter.join(timeout=1.0)
        assert "at" not in answered, f"a request was served while {stack.workers} streams were open"
        streams[0].hang_up()
        freed_at = time.monotonic()
        waiter.join(timeout=release + 5)
        assert "at" in answered, "the waiting request was not served after a stream ended"
        took = answered["at"] - freed_at
        assert took <= release, f"served {took:.2f}s after the hang-up (limit {release}s)"
        assert answered["response"].status == 200
    finally:
        for s in streams:
            s.close()


@pytest.fixture(scope="module")
def apache_fpm_deflating_streams():
    stack = started(apache_fpm.start, name="apache-fpm-deflate", deflate_event_stream=True)
    yield stack
    stack.stop()


def test_mod_deflate_under_php_fpm_compresses_the_stream_but_keeps_it_prompt(apache_fpm_deflating_streams):
    """Behind mod_proxy_fcgi the emitter cannot opt out of mod_deflate (no apache_setenv(), and
    `Cache-Control: no-transform` is not honoured): if an admin adds text/event-stream to
    DEFLATE, the stream is gzipped. With flushpackets on, each event is still flushed through
    the compressor on time, so browsers are fine; clients without gzip support are not."""
    with client.Stream(apache_fpm_deflating_streams, "timing.php") as s:
        events = s.events_until_end(timeout=10)
    assert len(events) == 5, s.body
    assert s.header("content-encoding") == "gzip", "mod_deflate left the stream alone"
    each_before_the_next(events)


@pytest.fixture(scope="module")
def apache_fpm_without_flushpackets():
    stack = started(apache_fpm.start, name="apache-fpm-noflush", flushpackets=False)
    yield stack
    stack.stop()


def test_proxy_fcgi_needs_flushpackets(apache_fpm_without_flushpackets):
    """Apache + php-fpm: without `ProxySet flushpackets=on` mod_proxy_fcgi holds the stream
    back (here: all five events at the end), whatever the emitter flushes."""
    with client.Stream(apache_fpm_without_flushpackets, "timing.php") as s:
        events = s.events_until_end(timeout=10)
    assert len(events) == 5, s.body
    assert s.header("content-encoding") is None
    spread = events[-1].t - events[0].t
    assert spread < 0.1, f"events arrived over {spread:.2f}s: mod_proxy_fcgi no longer holds them back"
