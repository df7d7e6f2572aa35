"""The instruments themselves: the SSE parser and the chunked decoder the other tests rely on.

No server needed. If these fail, no timing or framing result of this suite can be trusted.
"""
from harness.client import Http1
from harness.sse import Parser


def parse(*chunks):
    p = Parser()
    for i, chunk in enumerate(chunks):
        p.feed(chunk, float(i))
    return p


def test_line_endings_comments_bom_and_fields():
    p = parse("\ufeff: hi\r\nevent: a\rdata: 1\r\ndata:2\n\nid: 7\ndata\n\nretry: x\nretry: 250\n\n")
    assert [(e.type, e.data, e.id) for e in p.events] == [("a", "1\n2", ""), ("message", "", "7")]
    assert [c.text for c in p.comments] == ["hi"]
    assert p.retry == 250


def test_split_anywhere_and_timestamps():
    p = parse("data: o", "ne\r", "\n\r\n", "id: 1\0\ndata: two\n", "\n")
    assert [(e.data, e.id, e.t) for e in p.events] == [("one", "", 2.0), ("two", "", 4.0)]


def test_event_without_data_is_not_dispatched():
    assert parse("event: x\n\n: c\n\n").events == []


def test_chunked_decoding_split_anywhere():
    wire = b"5\r\nhello\r\n3;ext=1\r\n, w\r\n0\r\n\r\n"
    for cut in range(len(wire)):
        h = Http1.__new__(Http1)
        h.buf, h.mode, h.chunk_left, h.done, h.complete = b"", "chunked", 0, False, False
        out = b""
        for piece in (wire[:cut], wire[cut:]):
            h.buf += piece
            out += h._take()
        assert (out, h.complete) == (b"hello, w", True), cut
