"""Reconnecting as EventSource does: each connection sends the last id it received."""
from . import client


def rotate(stack, path: str, connections: int = 4, clean: bool = False) -> tuple:
    """`connections` requests of `path` in a row, each ended by the server (its maxDuration)
    and the next sent with the Last-Event-ID the one before left; each carries at least 5
    events `n=<id>`. `clean`: each response also ended as HTTP says (not a dropped
    connection). Returns (every id received, the last retry)."""
    ids, retry, last = [], None, None
    for connection in range(connections):
        headers = {"Last-Event-ID": last} if last else None
        with client.Stream(stack, path, headers) as s:
            events = s.events_until_end(timeout=5)
        assert s.status == 200, s.body
        assert s.ended, f"connection {connection} was not ended by the server"
        assert s.transport.complete or not clean, f"connection {connection} was cut, not ended"
        assert len(events) >= 5, f"connection {connection}: {s.body!r}"
        assert [e.data for e in events] == [f"n={e.id}" for e in events]
        ids += [int(e.id) for e in events]
        retry, last = s.parser.retry, s.parser.last_id
    return ids, retry
