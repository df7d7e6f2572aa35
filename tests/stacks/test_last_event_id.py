"""Issue 6: resuming a stream from the id the client last received."""
import pytest

from harness import client
from harness.resume import rotate


def resume(stack, path, headers=None):
    with client.Stream(stack, path, headers) as s:
        events = s.events_until_end(timeout=5)
    assert s.status == 200, s.body
    return [(e.type, e.data, e.id) for e in events]


@pytest.mark.parametrize("path, headers, last", [
    ("last_event_id.php", {"Last-Event-ID": "41"}, "41"),
    ("last_event_id.php?lastEventId=41", None, "41"),
    ("last_event_id.php?lastEventId=3", {"Last-Event-ID": "41"}, "41"),
], ids=["header", "query", "header-wins"])
def test_resume_after_last_event_id(stack, path, headers, last):
    assert resume(stack, path, headers) == [
        ("last", last, ""),
        ("message", "event 42", "42"),
        ("message", "event 43", "43"),
        ("message", "event 44", "44"),
    ]


def test_without_last_event_id_starts_at_one(stack):
    assert [d for _, d, _ in resume(stack, "last_event_id.php")] == ["null", "event 1", "event 2", "event 3"]


@pytest.mark.parametrize("path, headers", [
    ("last_event_id.php", {"Last-Event-ID": "9" * 2000}),
    ("last_event_id.php?lastEventId=4%0A2", None),
    ("last_event_id.php?lastEventId=4%002", None),
], ids=["overlong-header", "query-line-break", "query-nul"])
def test_unacceptable_last_event_id_is_ignored(stack, path, headers):
    assert resume(stack, path, headers)[0] == ("last", "null", "")


def test_max_duration_rotation_loses_and_repeats_nothing(stack):
    """Four connections of ~1 s each, reconnecting the way EventSource does."""
    ids, retry = rotate(stack, "rotate.php")
    assert ids == list(range(1, len(ids) + 1)), f"ids across reconnects: {ids}"
    assert retry == 100
