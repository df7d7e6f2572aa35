"""display_errors = On (a development php.ini): once an event stream has started, PHP's errors
must not be written into it (the text or HTML of a warning or a fatal error would reach the
client as stray lines, never shown by a page); they go to the error log.
"""
import time

import pytest

from harness import cli_server, client, nginx_fpm

DISPLAY = {"display_errors": "On", "html_errors": "On"}


@pytest.fixture(scope="module", params=["cli", "nginx-fpm"])
def running_stack(request):
    """Overrides the parametrized stacks: php -S and nginx + php-fpm, with display_errors on."""
    start = cli_server.start if request.param == "cli" else nginx_fpm.start
    started = start(f"{request.param}-display-errors", DISPLAY)
    yield started
    started.stop()


def php_error_log(stack) -> str:
    path = stack.tmp / "php_errors.log"
    return path.read_text(errors="replace") if path.exists() else ""


# running_stack, not stack: the errors this test causes are in the log on purpose, where the
# `stack` fixture would take them for a crash.
def test_errors_after_the_stream_started_are_logged_not_streamed(running_stack):
    stack = running_stack
    with client.Stream(stack, "errors_after_start.php") as s:
        events = s.events_until_end(timeout=5)
    assert s.status == 200, s.body
    assert [(e.type, e.data) for e in events] == [("before", "ok"), ("after-warning", "default")], s.body
    for text in (b"Warning", b"Fatal error", b"<b>", b"<br", b"sse_test_function_that_does_not_exist"):
        assert text not in s.body, s.body
    deadline = time.monotonic() + 2
    while "sse_test_function_that_does_not_exist" not in php_error_log(stack) and time.monotonic() < deadline:
        time.sleep(0.05)
    log = php_error_log(stack)
    assert "Undefined variable $undefinedVariable" in log, log
    assert "Call to undefined function sse_test_function_that_does_not_exist()" in log, log

