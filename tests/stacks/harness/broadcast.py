"""What the broadcast and detach tests do to a stack: publish (through www/broadcast/publish.php
or a CLI php), read a given number of events from a stream, and run two stacks ("machines")
on one broker."""
import json
import subprocess
import time

from . import client, nginx_fpm
from .fixtures import checked
from .phpini import extension_path
from .stack import CRASH


def publish(stack, topics, n=1, **params):
    """Publishes n events to topics through the stack; their ids."""
    query = "&".join(f"{k}={v}" for k, v in {"topics": topics, "n": n, **params}.items())
    response = client.get(stack, f"broadcast/publish.php?{query}", timeout=20)
    assert response.status == 200, response.body
    return json.loads(response.body)["ids"]


def publish_cli(broker, topic, n, event="news"):
    """A publisher outside any web server (php -r, as cron or a queue worker); the ids."""
    code = (f"$b = new Sse\\Broker({broker!r}); for ($i = 0; $i < {n}; $i++) "
            f"{{ echo $b->publish({topic!r}, ['event' => {event!r}, 'data' => (string) $i]), \"\\n\"; }}")
    out = subprocess.run(["php", "-n", "-d", f"extension={extension_path()}", "-r", code],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def take(stream, count, timeout=10.0):
    """The next `count` events of a stream (fewer if it ended or went quiet first)."""
    events, deadline = [], time.monotonic() + timeout
    while len(events) < count:
        try:
            event = stream.next_event(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        if event is None:
            break
        events.append(event)
    return events


def wait_subscribed(stream, timeout=5.0):
    """Reads until the script's `: subscribed` comment (it subscribed before writing it)."""
    deadline = time.monotonic() + timeout
    while "subscribed" not in [c.text for c in stream.parser.comments] and time.monotonic() < deadline \
            and not stream.ended:
        stream.wait_comments(len(stream.parser.comments) + 1, timeout=deadline - time.monotonic())
    assert "subscribed" in [c.text for c in stream.parser.comments], stream.body


def take_all(stream, count, timeout=10.0, quiet=0.3):
    """The next `count` events of a stream, and then nothing more for `quiet` seconds (nothing
    delivered twice, nothing that was not due)."""
    events = take(stream, count, timeout)
    extra = take(stream, 1, timeout=quiet)
    assert extra == [], f"after {len(events)} events, one more: {extra}"
    return events


def start_stack(name, broker, children=6):
    """nginx + php-fpm with `broker` as php.ini's sse.broker, checked."""
    return checked(nginx_fpm.start(name=name, ini={"sse.broker": broker}, children=children))


def no_crash(*stacks):
    for stack in stacks:
        for log in stack.log_files():
            found = CRASH.search(log.read_text(errors="replace"))
            assert not found, f"{stack.name}: {found.group(0)!r} in {log}"


def machines_sharing(server, prefix, children=6, check=no_crash):
    """Two stacks ("machines") on the broker `server` names (a Redis server or cluster), for a
    module fixture to yield: `check`ed (for crashes), then stopped with the server."""
    machines = []
    try:
        machines = [start_stack(f"{prefix}-{n}", server.url, children) for n in ("a", "b")]
        yield server, machines
        check(*machines)
    finally:
        for machine in machines:
            machine.stop()
        server.remove()
