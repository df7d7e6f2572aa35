"""What a timing test asserts: what the extension controls, never how fast a busy machine
delivers an event (that is bench/latency's figure).

- When the server wrote each event: the test script puts its `microtime(true)` in the event's
  data (`{"at": ...}`), and `on_schedule()` checks those times against the schedule the
  extension keeps (a timer armed at `armed` fires at armed + n * interval: never before, and
  not a tick later).
- That nothing held an event back: `each_before_the_next()` checks that each event reached the
  client before the server wrote the next one (a buffer in the way delivers them together, at
  the end or once it fills up). A busy machine would have to delay an event by a whole interval
  to fail it.
- For streams whose events carry no server time (the framework apps' ticks), `not_batched()`
  checks that consecutive events arrived apart, not in one read.
"""
import json
import time
from itertools import pairwise

# How late a timer may fire on a loaded machine: far less than one interval of the timers
# tested, so a wrong interval (a tick late, or a tick early) still fails.
LATE = 0.12
EARLY = 0.002  # microtime() and the extension's monotonic clock, read a moment apart


def wall(t: float) -> float:
    """A client timestamp (time.monotonic(), as the parser records) on the server's clock."""
    return t + (time.time() - time.monotonic())


def sent_at(event) -> float:
    """The server's microtime(true) when it sent the event (the `at` of its JSON data)."""
    return float(json.loads(event.data)["at"])


def on_schedule(times: list, armed: float, interval: float, late: float = LATE) -> list:
    """The n-th time (n from 1) is armed + n * interval, not earlier and at most `late` after;
    returns each time's offset from its slot (for failure messages), asserting the bounds."""
    offsets = [round(t - (armed + n * interval), 3) for n, t in enumerate(times, start=1)]
    assert all(-EARLY <= o <= late for o in offsets), \
        f"written {offsets} s off a {interval} s schedule (allowed: 0 to {late} s late)"
    return offsets


def each_before_the_next(events: list, sent: list | None = None) -> None:
    """Each event arrived before the server wrote the next one (`sent`: the write times,
    by default each event's `at`)."""
    sent = sent if sent is not None else [sent_at(e) for e in events]
    late = [(i + 1, round(wall(a.t) - s, 3)) for i, (a, s) in enumerate(zip(events, sent[1:])) if wall(a.t) >= s]
    assert not late, f"events held back until after the next was written (event, seconds after): {late}"


def not_batched(events: list, interval: float) -> None:
    """Events written `interval` apart arrived apart: no two in one batch (gaps under a third
    of the interval), and over at least the span they were written in, less one interval."""
    gaps = [round(b.t - a.t, 3) for a, b in pairwise(events)]
    assert all(g >= interval / 3 for g in gaps), f"events {interval} s apart arrived {gaps} apart"
    span = events[-1].t - events[0].t
    assert span >= (len(events) - 2) * interval, f"events arrived over {span:.3f} s"
