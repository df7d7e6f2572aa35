"""The client side of an event stream, as the WHATWG spec says EventSource reads it.

Written independently of the extension so that a framing bug there shows up here. Each event
and comment carries the monotonic time at which the bytes that completed it arrived, which is
what the timing tests assert on.
"""
from dataclasses import dataclass


@dataclass
class Event:
    type: str
    data: str
    id: str  # the last event id after this event, as EventSource reports it
    t: float


@dataclass
class Comment:
    text: str
    t: float


class Parser:
    def __init__(self):
        self.events: list = []
        self.comments: list = []
        self.retry = None
        self.last_id = ""
        self._pending = ""
        self._skipped_bom = False
        self._after_cr = False
        self._type = ""
        self._data = []
        self._has_data = False

    def feed(self, text: str, t: float) -> list:
        """Feeds decoded text that arrived at time t; returns the events it completed."""
        if not self._skipped_bom and text:
            self._skipped_bom = True
            text = text.removeprefix("\ufeff")
        done = len(self.events)
        for ch in text:
            if self._after_cr:
                self._after_cr = False
                if ch == "\n":  # CRLF: the CR already ended the line
                    continue
            if ch in "\r\n":
                self._after_cr = ch == "\r"
                line, self._pending = self._pending, ""
                self._line(line, t)
            else:
                self._pending += ch
        return self.events[done:]

    def _line(self, line: str, t: float):
        if line == "":
            self._dispatch(t)
            return
        if line.startswith(":"):
            self.comments.append(Comment(line[1:].removeprefix(" "), t))
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "id":
            if "\0" not in value:
                self.last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry = int(value)

    def _dispatch(self, t: float):
        if self._has_data:
            self.events.append(Event(self._type or "message", "\n".join(self._data), self.last_id, t))
        self._type, self._data, self._has_data = "", [], False
